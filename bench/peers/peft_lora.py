#!/usr/bin/env python3
"""PyTorch + transformers + PEFT peer for bench/train: LoRA training throughput as people run it.

The same measurement as torch_lora.py, with the real libraries instead of a model written here:
transformers builds the model class of the architecture from bench/train's shape (random init,
nothing downloaded; SDPA attention), PEFT attaches LoRA to all seven linear projections of every
layer with its defaults, and AdamW trains the adapter on random token windows in eager mode, the
loss being the model's own causal-LM loss (labels = input_ids, shifted inside the model).

Measures tokens per second over all steps but the first (warm-up), the peak RSS of the process,
on --device cuda the caching allocator's peak, and the last step's loss. The last stdout line is
one JSON object ({"error": ...} where it cannot run: transformers or peft missing, no CUDA device,
an unknown architecture, a failure while training); progress goes to stderr.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import resource
import sys
from typing import Any

from peer_common import cuda_facts, emit, step_clock, measurement, peer_argument_parser, run_peer, set_thread_environment, stderr_logger


log = stderr_logger("peft_lora")
args = peer_argument_parser(__doc__.splitlines()[0]).parse_args()
set_thread_environment(args.threads)
# Everything is built from the config; the hub must never be asked (bench machines may have no network).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

try:
    import torch
    import transformers
    import peft
except ImportError as error:
    emit({"error": f"peer not installed: {error}"})
    sys.exit(0)

# Every linear projection of a block, as torch_lora.py and bench/train's LoRA rows train them.
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def peak_resident_bytes() -> int:
    """VmHWM: ru_maxrss survives exec, so it could report the peak of the Node process that started us."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def model_config(cfg: dict[str, Any]) -> tuple[Any, Any]:
    """The transformers config and model class for bench/train's shape. Only what shapes the compute
    is set; rope bases and the like keep the library's defaults (they change no FLOP)."""
    arch = cfg["architecture"]
    classes = {
        "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
        "llama": ("LlamaConfig", "LlamaForCausalLM"),
        "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM"),
        "qwen3": ("Qwen3Config", "Qwen3ForCausalLM"),
    }
    if arch not in classes:
        raise ValueError(f"no transformers class for architecture {arch!r} (known: {', '.join(classes)})")
    config_name, model_name = classes[arch]
    config_class = getattr(transformers, config_name, None)
    model_class = getattr(transformers, model_name, None)
    if config_class is None or model_class is None:
        raise ValueError(f"transformers {transformers.__version__} has no {config_name}/{model_name}")
    fields: dict[str, Any] = {
        "vocab_size": cfg["vocab"],
        "hidden_size": cfg["hidden"],
        "intermediate_size": cfg["intermediate"],
        "num_hidden_layers": cfg["layers"],
        "num_attention_heads": cfg["heads"],
        "num_key_value_heads": cfg["kvHeads"],
        "tie_word_embeddings": bool(cfg.get("tiedEmbeddings", False)),
        "max_position_embeddings": max(args.ctx, 8192),
        "use_cache": False,
    }
    if "rmsNormEps" in cfg:
        fields["rms_norm_eps"] = float(cfg["rmsNormEps"])
    if cfg.get("headDim"):
        fields["head_dim"] = int(cfg["headDim"])
    # Qwen2's q/k/v biases are built into its attention; llama's attention_bias would add o's too
    if arch == "gemma3":
        fields["sliding_window"] = int(cfg["slidingWindow"])
        pattern = int(cfg.get("slidingWindowPattern") or 6)
        # newer transformers take the layers' kinds; older ones only the pattern (layer i + 1 full every pattern-th)
        try:
            accepted = inspect.signature(config_class).parameters
        except (TypeError, ValueError):
            accepted = {}
        if "layer_types" in accepted:
            fields["layer_types"] = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(cfg["layers"])]
        else:
            fields["sliding_window_pattern"] = pattern
    try:
        config = config_class(**fields, attn_implementation="sdpa")
    except TypeError:
        # a config that takes no attn_implementation: the attribute the model class reads instead
        config = config_class(**fields)
        config._attn_implementation = "sdpa"
    return config, model_class


def main() -> None:
    cfg = json.loads(args.config)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    alpha = args.alpha if args.alpha is not None else 2.0 * args.rank
    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        built = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "built without CUDA"
        emit({"error": f"--device cuda: torch {torch.__version__} ({built}) sees no CUDA device", **versions})
        return
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    config, model_class = model_config(cfg)
    # Built straight in the dtype and on the device, as from_config(torch_dtype=...) does: an f32
    # copy first would set the peak RSS, and initialising on the GPU is much faster. (Casting a
    # whole model afterwards would also round the rotary inv_freq buffers, which stay f32 this way.)
    previous_dtype = torch.get_default_dtype()
    with contextlib.suppress(TypeError, RuntimeError):
        torch.set_default_dtype(dtype)
    # torch.device is a context manager from torch 2.0 on; before it, the model is built on the CPU and moved
    on_device = device if hasattr(torch.device, "__enter__") else contextlib.nullcontext()
    try:
        with on_device:
            model = model_class(config)
    finally:
        torch.set_default_dtype(previous_dtype)
    model.to(device)
    if model.get_input_embeddings().weight.dtype != dtype:
        model.to(dtype=dtype)
    model.train()
    # what the model resolved (older transformers copy the config while choosing it)
    attention = getattr(model.config, "_attn_implementation", None)
    lora = peft.LoraConfig(r=args.rank, lora_alpha=int(alpha) if float(alpha).is_integer() else alpha, lora_dropout=0.0,
                           target_modules=TARGET_MODULES, task_type="CAUSAL_LM")
    # PEFT's defaults otherwise, autocast_adapter_dtype among them: on a bf16 base it keeps the adapter in f32
    model = peft.get_peft_model(model, lora)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    adapter_dtype = str(params[0].dtype).replace("torch.", "") if params else None
    gpu = torch.cuda.get_device_name(device) if cuda else None
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
        f"{model_class.__name__} {args.dtype} (adapter {adapter_dtype}, attention {attention}), "
        f"{gpu or f'{args.threads} threads'}, {sum(p.numel() for p in params)} LoRA params, ctx {args.ctx}, {args.steps} steps")

    now = step_clock(torch, device, cuda)

    # on the CPU generator, so both devices train on the same windows
    data_g = torch.Generator().manual_seed(args.seed + 1)
    times: list[float] = []
    loss_val = float("nan")
    for step in range(args.steps):
        ids = torch.randint(0, cfg["vocab"], (1, args.ctx), generator=data_g).to(device)
        t0 = now()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(now() - t0)
        loss_val = loss.item()
        log(f"step {step + 1}/{args.steps}: loss {loss_val:.4f}, {times[-1]:.3f}s")

    timed = times[1:]
    tps = (len(timed) * args.ctx / sum(timed)) if timed else 0.0
    result = measurement(args, tps, peak_resident_bytes(), loss_val, **versions, model=model_class.__name__, attention=attention,
                         adapterDtype=adapter_dtype, loraParameters=sum(p.numel() for p in params))
    if cuda:
        result.update(cuda_facts(torch, device, gpu))
    emit(result)


if __name__ == "__main__":
    run_peer(main)
