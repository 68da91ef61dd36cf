"""Peak and retained memory of one forward + backward pass: lib's RNN/LSTM/GRU against torch.nn.

    python benchmarks/bench_memory.py [--quick] [--out benchmarks/memory.md]

Every measurement runs in a fresh subprocess, one layer, batch first, input size 32, after the layer,
the input x and the output gradient g exist (so neither counts), and after one warm-up pass over two
steps (one-time initialisation, e.g. oneDNN's, is not the pass's):

* **lib, tracemalloc** — NumPy reports every array buffer to :mod:`tracemalloc`. *Peak* is the
  highest traced total during ``forward`` + ``backward`` (with the caller still holding the outputs)
  minus the total before; *retained* is what is still traced once the caller has dropped the outputs
  and dx: the layer's new gradients replace the old ones, so this is what the layer keeps after the
  pass. (While tracemalloc traces, ``lib.recurrent.WORK_ARRAYS``, the shared pool of idle work arrays,
  is bypassed: every array is allocated afresh and dropped when given back.)
* **lib, RSS** and **torch, RSS** — the process's peak resident set size during the pass (``VmHWM``,
  reset just before it through ``/proc/self/clear_refs``, so Linux only) minus its resident size just
  before the pass, and the resident size after the pass (outputs dropped) minus the same baseline.
  PyTorch's CPU allocator has no memory statistics of its own; RSS counts pages actually touched, and
  what the C allocator keeps for reuse after ``free`` still counts as resident. For lib this run uses the
  pool as a program would (emptied before the pass), and the pool's idle bytes afterwards are reported.

*Minimum* is what backward needs from forward, for one layer: the LSTM's four gates, cell and hidden
states, T·N·6H numbers; the GRU's r, z, n, W_hn·h + b_hn and h, T·N·5H (PyTorch's GRU keeps the same);
the RNN's hidden states, T·N·H. This is a benchmark, not a test: RSS moves with the C allocator's state.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

GRID = [  # (layer, dtype, batch, time, hidden)
    ("LSTM", "float32", 32, 5000, 256),
    ("GRU", "float32", 32, 5000, 256),
    ("RNN", "float32", 32, 5000, 256),
    ("LSTM", "float32", 64, 200, 256),
    ("GRU", "float32", 64, 200, 256),
    ("RNN", "float32", 64, 200, 256),
    ("LSTM", "float64", 16, 200, 64),
    ("GRU", "float64", 16, 200, 64),
    ("RNN", "float64", 16, 200, 64),
]
QUICK = [case for case in GRID if case[3] != 5000]
INPUT_SIZE = 32
PER_STEP = {"LSTM": 6, "GRU": 5, "RNN": 1}  # numbers per step, sample and hidden unit that backward needs

CHILD = r"""
import json, sys, gc
import numpy as np
kind, dtype, N, T, H, D, who = sys.argv[1:8]
N, T, H, D = int(N), int(T), int(H), int(D)

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

def rss():
    return status("VmRSS:")

def reset_peak():  # Linux ≥ 4.0: start VmHWM (the peak resident size) afresh from the current size
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

def peak():
    return status("VmHWM:")

rng = np.random.default_rng(0)
x = rng.standard_normal((N, T, D)).astype(dtype)
g = rng.standard_normal((N, T, H)).astype(dtype)
if who == "torch":
    import torch
    torch.set_num_threads(1)
    layer = getattr(torch.nn, kind)(D, H, batch_first=True).to(getattr(torch, dtype))
    xt, gt = torch.tensor(x), torch.tensor(g)
    o, _ = layer(xt[:, :2].detach().requires_grad_(True))  # warm-up: one-time initialisation is not the pass's
    o.backward(gt[:, :2])
    del x, g, o
    gc.collect()
    base = rss()
    reset_peak()
    xx = xt.detach().requires_grad_(True)
    out, state = layer(xx)
    out.backward(gt)
    top = peak() - base
    del out, state, xx
    gc.collect()
    print(json.dumps({"rss_peak": top, "rss_retained": rss() - base}))
else:
    import tracemalloc
    import lib
    from lib.recurrent import WORK_ARRAYS
    layer = getattr(lib, kind)(D, H, dtype=np.dtype(dtype), rng=rng)
    layer.forward(x[:, :2])  # warm-up, as for torch
    layer.backward(g[:, :2])
    WORK_ARRAYS.clear()
    gc.collect()
    if who == "lib-trace":
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        out, state = layer.forward(x)
        dx = layer.backward(g)
        peak = tracemalloc.get_traced_memory()[1] - base
        del out, state, dx
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - base
        print(json.dumps({"trace_peak": peak, "trace_retained": retained}))
    else:
        base = rss()
        reset_peak()
        out, state = layer.forward(x)
        dx = layer.backward(g)
        top = peak() - base
        del out, state, dx
        gc.collect()
        print(json.dumps({"rss_peak": top, "rss_retained": rss() - base, "pool": WORK_ARRAYS.idle_bytes}))
"""


def measure(case, who: str) -> dict:
    kind, dtype, N, T, H = case
    out = subprocess.run([sys.executable, "-c", CHILD, kind, dtype, str(N), str(T), str(H), str(INPUT_SIZE), who],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f}" if abs(n) >= 1e6 else f"{n / 1e6:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the T = 5000 cases")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    import numpy as np
    import torch

    rows = []
    header = [
        f"lib vs torch {torch.__version__}, one layer, input size {INPUT_SIZE}, forward + backward; "
        f"NumPy {np.__version__}; {platform.processor() or platform.machine()}. Sizes in MB (10⁶ bytes).",
        "",
        "| layer | dtype | batch | time | hidden | minimum | lib peak | lib peak / min | lib retained "
        "| lib RSS peak | lib RSS retained (pool idle) | torch RSS peak | torch RSS retained |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in (QUICK if args.quick else GRID):
        kind, dtype, N, T, H = case
        minimum = T * N * H * PER_STEP[kind] * np.dtype(dtype).itemsize
        tr, lr, tt = measure(case, "lib-trace"), measure(case, "lib-rss"), measure(case, "torch")
        row = (f"| {kind} | {dtype} | {N} | {T} | {H} | {mb(minimum)} | {mb(tr['trace_peak'])} | "
               f"{tr['trace_peak'] / minimum:.2f} | {mb(tr['trace_retained'])} | {mb(lr['rss_peak'])} | "
               f"{mb(lr['rss_retained'])} ({mb(lr['pool'])}) | {mb(tt['rss_peak'])} | {mb(tt['rss_retained'])} |")
        rows.append(row)
        print(row, flush=True)
    table = "\n".join(header + rows)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
