"""CPU time for the chapters' measurements, on every platform the book runs on."""

from __future__ import annotations

import sys
import time


def cpu_time() -> float:
    """Seconds of CPU time used by this process (``time.process_time``), for timing a computation.

    The chapters time with CPU time, not the wall clock: on a machine shared with other busy
    processes, time spent waiting for a core then counts for no one. In the browser copy of the book
    (Pyodide, ``sys.platform == "emscripten"``) the process clock never advances — Emscripten's
    ``times()`` returns 0 — so there it is the wall clock (``time.perf_counter``): the kernel runs on
    one thread in its own worker, so the two measure the same thing, up to time the browser gives to
    other tabs.
    """
    if sys.platform == "emscripten":
        return time.perf_counter()
    return time.process_time()
