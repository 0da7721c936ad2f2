#!/usr/bin/env python3
"""PyTorch peer for bench/train: LoRA training throughput of a decoder-only transformer.

Builds a llama/qwen2- or Gemma 3-shaped model in plain torch (random frozen base weights, no
`transformers`), attaches LoRA to all seven linear projections of every layer as
PEFT would, and trains it with AdamW on random token windows in eager mode.

Measures tokens per second over all steps but the first (warm-up), the peak RSS
of the process, the last step's loss, and which BLAS torch actually calls into;
with --device cuda, model and data on the GPU, the caching allocator's peak too.
The last stdout line is one JSON object ({"error": ...} where it cannot run);
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
from typing import Any

from peer_common import cuda_facts, emit, step_clock, measurement, peer_argument_parser, run_peer, set_thread_environment, stderr_logger


def parse_args() -> argparse.Namespace:
    p = peer_argument_parser(__doc__.splitlines()[0])
    # Sanity check only: train on one repeated window so the loss must fall.
    p.add_argument("--fixed-window", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


log = stderr_logger("torch_lora")
args = parse_args()
set_thread_environment(args.threads)

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    emit({"error": "peer not installed"})
    sys.exit(0)


class LoRALinear(nn.Module):
    """Frozen linear layer plus a trainable low-rank update, as in PEFT."""

    def __init__(self, d_in: int, d_out: int, bias: bool, rank: int, scale: float,
                 dtype: torch.dtype, g: torch.Generator) -> None:
        super().__init__()
        w = torch.empty(d_out, d_in, dtype=dtype).normal_(0.0, 0.02, generator=g)
        self.weight = nn.Parameter(w, requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(d_out, dtype=dtype), requires_grad=False) if bias else None
        self.lora_A = nn.Parameter(torch.empty(rank, d_in, dtype=dtype))
        self.lora_B = nn.Parameter(torch.zeros(d_out, rank, dtype=dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + self.scale * F.linear(F.linear(x, self.lora_A), self.lora_B)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float, dtype: torch.dtype) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim, dtype=dtype), requires_grad=False)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in f32 as HF llama/qwen2 do, so bf16 runs cost what they would there.
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int | None = None) -> torch.Tensor:
    t = q.shape[-2]
    if hasattr(F, "scaled_dot_product_attention") and window is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # torch < 2.0 (Debian 12 ships 1.13) has no SDPA; this is its math backend. A sliding window
    # also masks the keys window or more positions back (Gemma's sliding layers).
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    if window is not None:
        mask = mask | torch.ones(t, t, dtype=torch.bool, device=q.device).tril(-window)
    scores = scores.masked_fill(mask, float("-inf"))
    return scores.softmax(-1) @ v


class Block(nn.Module):
    def __init__(self, cfg: dict[str, Any], rank: int, scale: float, dtype: torch.dtype,
                 g: torch.Generator, window: int | None = None) -> None:
        super().__init__()
        h, inter = cfg["hidden"], cfg["intermediate"]
        self.heads, self.kv_heads = cfg["heads"], cfg["kvHeads"]
        self.head_dim = int(cfg.get("headDim") or h // self.heads)
        qw, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        bias = bool(cfg.get("qkvBias", False))
        eps = float(cfg.get("rmsNormEps", 1e-5))
        # Gemma 3 (Gemma3DecoderLayer): q/k norms per head, norms after attention and the MLP, GELU-tanh
        self.gemma = bool(cfg.get("gemma", False))
        self.window = window

        def lin(i: int, o: int, b: bool = False) -> LoRALinear:
            return LoRALinear(i, o, b, rank, scale, dtype, g)

        self.attn_norm = RMSNorm(h, eps, dtype)
        self.q, self.k, self.v = lin(h, qw, bias), lin(h, kv, bias), lin(h, kv, bias)
        self.o = lin(qw, h)
        self.mlp_norm = RMSNorm(h, eps, dtype)
        self.gate, self.up, self.down = lin(h, inter), lin(h, inter), lin(inter, h)
        if self.gemma:
            self.q_norm, self.k_norm = RMSNorm(self.head_dim, eps, dtype), RMSNorm(self.head_dim, eps, dtype)
            self.post_attn_norm, self.post_mlp_norm = RMSNorm(h, eps, dtype), RMSNorm(h, eps, dtype)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        hn = self.attn_norm(x)
        q = self.q(hn).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(hn).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(hn).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.gemma:
            q, k = self.q_norm(q), self.k_norm(k)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        a = causal_attention(q, k, v, self.window).transpose(1, 2).reshape(b, t, -1)
        if self.gemma:
            x = x + self.post_attn_norm(self.o(a))
            hn = self.mlp_norm(x)
            return x + self.post_mlp_norm(self.down(F.gelu(self.gate(hn), approximate="tanh") * self.up(hn)))
        x = x + self.o(a)
        hn = self.mlp_norm(x)
        return x + self.down(F.silu(self.gate(hn)) * self.up(hn))


class Decoder(nn.Module):
    def __init__(self, cfg: dict[str, Any], rank: int, scale: float, dtype: torch.dtype,
                 g: torch.Generator) -> None:
        super().__init__()
        h, vocab = cfg["hidden"], cfg["vocab"]
        self.embed = nn.Parameter(torch.empty(vocab, h, dtype=dtype).normal_(0.0, 0.02, generator=g),
                                  requires_grad=False)
        # Gemma 3: layer i slides unless (i + 1) % pattern == 0, with its own rope base
        pattern = int(cfg.get("slidingWindowPattern") or 0)
        self.sliding = [pattern > 0 and (i + 1) % pattern != 0 for i in range(cfg["layers"])]
        window = cfg.get("slidingWindow")
        self.layers = nn.ModuleList(Block(cfg, rank, scale, dtype, g, window if self.sliding[i] else None) for i in range(cfg["layers"]))
        self.embed_scale = math.sqrt(h) if cfg.get("gemma", False) else 1.0
        self.norm = RMSNorm(h, float(cfg.get("rmsNormEps", 1e-5)), dtype)
        if cfg.get("tiedEmbeddings", False):
            self.lm_head = self.embed
        else:
            self.lm_head = nn.Parameter(torch.empty(vocab, h, dtype=dtype).normal_(0.0, 0.02, generator=g),
                                        requires_grad=False)
        self.head_dim = int(cfg.get("headDim") or h // cfg["heads"])
        self.theta = float(cfg.get("ropeTheta", 10000.0))
        self.theta_local = float(cfg.get("ropeThetaLocal", self.theta))

    def rope(self, t: int, dtype: torch.dtype, theta: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        inv = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=device) / self.head_dim))
        freqs = torch.outer(torch.arange(t, dtype=torch.float32, device=device), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.embedding(ids, self.embed)
        if self.embed_scale != 1.0:
            x = x * self.embed_scale
        global_rope = self.rope(ids.shape[1], x.dtype, self.theta, ids.device)
        local_rope = self.rope(ids.shape[1], x.dtype, self.theta_local, ids.device)
        for sliding, layer in zip(self.sliding, self.layers):
            x = layer(x, *(local_rope if sliding else global_rope))
        return F.linear(self.norm(x), self.lm_head)


def detect_blas() -> str:
    """Name the BLAS that libblas.so.3 really is; Debian picks it via update-alternatives."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
    except OSError:
        paths = set()
    libs = {os.path.basename(p): os.path.realpath(p) for p in paths if p.startswith("/")}
    blas = [real for name, real in libs.items() if name.startswith("libblas.so")]
    for real in blas:
        for vendor in ("openblas", "mkl", "blis", "atlas"):
            if vendor in real.lower():
                return vendor
    if any(name.startswith("libmkl") for name in libs):
        return "mkl"
    if any(name.startswith("libopenblas") for name in libs):
        return "openblas"
    if blas:
        return "reference"
    for item in torch.__config__.show().replace("\n", ",").split(","):
        if "BLAS_INFO=" in item:
            return item.split("=", 1)[1].strip()
    return "unknown"


def main() -> None:
    cfg = json.loads(args.config)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    alpha = args.alpha if args.alpha is not None else 2.0 * args.rank
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        built = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "built without CUDA"
        emit({"error": f"--device cuda: torch {torch.__version__} ({built}) sees no CUDA device", "torch": torch.__version__})
        return
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # kaiming_uniform_ takes no generator
    g = torch.Generator().manual_seed(args.seed)

    # built on the CPU from the CPU generators, so both devices train the same weights on the same windows
    model = Decoder(cfg, args.rank, alpha / args.rank, dtype, g).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    gpu = torch.cuda.get_device_name(device) if cuda else None
    log(f"torch {torch.__version__}, {args.dtype}, {gpu or f'{args.threads} threads'}, "
        f"{sum(p.numel() for p in params)} LoRA params, ctx {args.ctx}, {args.steps} steps")

    now = step_clock(torch, device, cuda)

    data_g = torch.Generator().manual_seed(args.seed + 1)
    # ctx+1 tokens so every one of the ctx positions has a next-token label.
    window = torch.randint(0, cfg["vocab"], (1, args.ctx + 1), generator=data_g)
    times: list[float] = []
    loss_val = float("nan")
    blas = "unknown"
    for step in range(args.steps):
        if step > 0 and not args.fixed_window:
            window = torch.randint(0, cfg["vocab"], (1, args.ctx + 1), generator=data_g)
        ids = window.to(device)
        t0 = now()
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(now() - t0)
        loss_val = loss.item()
        if step == 0:
            blas = detect_blas()
        log(f"step {step + 1}/{args.steps}: loss {loss_val:.4f}, {times[-1]:.3f}s")

    timed = times[1:]
    tps = (len(timed) * args.ctx / sum(timed)) if timed else 0.0
    result = measurement(args, tps, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, loss_val, blas=blas, torch=torch.__version__)
    if cuda:
        result.update(cuda_facts(torch, device, gpu))
    emit(result)


if __name__ == "__main__":
    run_peer(main)
