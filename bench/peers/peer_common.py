"""What bench/train's Python peers share: their command line, their answer (one JSON object on the
last stdout line; progress on stderr), and the thread settings torch must see before it is imported."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from typing import Any, Callable


def peer_argument_parser(description: str) -> argparse.ArgumentParser:
    """The flags bench/train passes every peer (runPython in bench/train.mjs)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", required=True, help="model shape as JSON (bench/train's)")
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=float, default=None, help="default: 2*rank")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    return p


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def stderr_logger(name: str) -> Callable[[str], None]:
    return lambda msg: print(f"[{name}] {msg}", file=sys.stderr, flush=True)


def set_thread_environment(threads: int) -> None:
    """OpenBLAS keeps its own thread pool sized to all cores; it and OpenMP read these only at load
    time, so they must be set before torch is imported. Debian's torch runs element-wise ops on OpenMP
    threads but f32 GEMMs on OpenBLAS's own pthreads; with both pools spinning on the same cores, f32
    steps were 2-13x slower and erratic. Passive waiting lets each pool yield to the other."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def measurement(args: Any, tokens_per_second: float, peak_rss_bytes: int, loss: float, **facts: Any) -> dict[str, Any]:
    """A peer's answer: its figures, what it ran (facts), and the run's settings."""
    return {"tokensPerSecond": tokens_per_second, "peakRssBytes": peak_rss_bytes, "loss": loss, **facts,
            "threads": args.threads, "dtype": args.dtype, "device": args.device, "steps": args.steps, "ctx": args.ctx}


def cuda_facts(torch: Any, device: Any, gpu: str | None) -> dict[str, Any]:
    # the caching allocator's peak: tensors only, without the CUDA context nvidia-smi also counts
    return {"peakGpuBytes": torch.cuda.max_memory_allocated(device), "gpu": gpu, "cuda": torch.version.cuda}


def run_peer(main: Callable[[], None]) -> None:
    """main(); where it raises (a CUDA out-of-memory, say), one line of JSON for bench/train's row, the trace on stderr."""
    try:
        main()
    except Exception as error:
        traceback.print_exc()
        emit({"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"})


def step_clock(torch: Any, device: Any, cuda: bool) -> Callable[[], float]:
    """perf_counter, after the GPU has finished what was queued: CUDA kernels run asynchronously."""
    def now() -> float:
        if cuda:
            torch.cuda.synchronize(device)
        return time.perf_counter()
    return now
