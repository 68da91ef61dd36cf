"""Time forward + backward of lib's LSTM and GRU against torch.nn on the CPU.

    python benchmarks/bench_rnn.py [--quick] [--only LSTM:float32] [--clock cpu] [--threads N] [--out results.md]

For every case of the grid (layer × dtype × batch × time × hidden) both
implementations run the same work — a forward pass over a batch-first sequence
and a backward pass from a fixed output gradient — with the same number of
threads (``torch.set_num_threads`` and threadpoolctl for NumPy's BLAS). Repeats
are interleaved (lib, torch, lib, torch, …) so drifts in machine load hit both
alike, and the median of each is reported with the ratio lib/torch. The summary
is the geometric mean of the ratios. This is a benchmark, not a test.

``--clock cpu`` times with the process's CPU time instead of the wall clock: on a
machine shared with other busy processes, waiting for a core then counts for
neither side (both run on one thread, so on a quiet machine the two clocks agree).
``--only`` keeps the cases whose "layer:dtype:batch:time:hidden" starts with it.
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import lib

GRID = {
    "layer": ["LSTM", "GRU"],
    "dtype": ["float32", "float64"],
    "batch": [1, 16, 64],
    "time": [20, 200],
    "hidden": [64, 256],
}
QUICK = {"layer": ["LSTM", "GRU"], "dtype": ["float64"], "batch": [1, 64], "time": [20, 200], "hidden": [64, 256]}
INPUT_SIZE = 32


def _lib_step(layer, x, g):
    layer.forward(x)
    layer.backward(g)


def _torch_step(layer, x, g):
    x = x.detach().requires_grad_(True)
    out, _ = layer(x)
    out.backward(g)


def time_case(kind: str, dtype: str, batch: int, steps: int, hidden: int, repeats: int,
              clock=time.perf_counter) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    ours = getattr(lib, kind)(INPUT_SIZE, hidden, dtype=np.dtype(dtype), rng=rng)
    theirs = getattr(torch.nn, kind)(INPUT_SIZE, hidden, batch_first=True).to(getattr(torch, dtype))
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((batch, steps, INPUT_SIZE)).astype(dtype)
    g = rng.standard_normal((batch, steps, hidden)).astype(dtype)
    xt, gt = torch.tensor(x), torch.tensor(g)
    _lib_step(ours, x, g)  # warm up both
    _torch_step(theirs, xt, gt)
    t_lib, t_torch = [], []
    for _ in range(repeats):
        start = clock()
        _lib_step(ours, x, g)
        t_lib.append(clock() - start)
        start = clock()
        _torch_step(theirs, xt, gt)
        t_torch.append(clock() - start)
    return statistics.median(t_lib), statistics.median(t_torch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="threads for both NumPy's BLAS and torch")
    parser.add_argument("--quick", action="store_true", help="a smaller grid (float64 only, batch 1 and 64)")
    parser.add_argument("--repeats", type=int, default=0, help="repeats per case (default: by size)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall clock (default) or the process's CPU time (for a loaded machine)")
    parser.add_argument("--only", default="", help='only cases starting with this, e.g. "LSTM:float32"')
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    torch.set_num_threads(args.threads)
    grid = QUICK if args.quick else GRID
    rows, ratios = [], []
    with threadpool_limits(limits=args.threads):
        blas = ", ".join(f"{i['internal_api']} {i.get('version', '')} ({i.get('architecture', '?')})"
                         for i in threadpool_info() if i["user_api"] == "blas")
        for kind, dtype, batch, steps, hidden in itertools.product(*grid.values()):
            if not f"{kind}:{dtype}:{batch}:{steps}:{hidden}".startswith(args.only):
                continue
            work = batch * steps * hidden * hidden
            repeats = args.repeats or max(5, min(50, int(2e8 / work)))
            t_lib, t_torch = time_case(kind, dtype, batch, steps, hidden, repeats, clock)
            ratio = t_lib / t_torch
            ratios.append(ratio)
            rows.append(f"| {kind} | {dtype} | {batch} | {steps} | {hidden} | {1e3 * t_lib:.2f} | "
                        f"{1e3 * t_torch:.2f} | {ratio:.2f} |")
            print(rows[-1], flush=True)
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    header = [
        f"lib vs torch {torch.__version__}, forward + backward, input size {INPUT_SIZE}, "
        f"{args.threads} thread(s), {args.clock} clock; NumPy {np.__version__} with {blas}; "
        f"{platform.processor() or platform.machine()}",
        "",
        "| layer | dtype | batch | time | hidden | lib (ms) | torch (ms) | lib/torch |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    table = "\n".join(header + rows + ["", f"**Geometric mean of lib/torch: {geomean:.2f}** over {len(ratios)} cases."])
    print(f"\ngeometric mean lib/torch = {geomean:.3f}")
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
