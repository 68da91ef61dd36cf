"""lib.cpu_time: the process's CPU time, or the wall clock where the platform has no process clock."""

from __future__ import annotations

import sys
import time

import lib


def test_counts_cpu_not_sleep():
    start = lib.cpu_time()
    time.sleep(0.2)  # waiting uses no CPU
    slept = lib.cpu_time() - start
    start = lib.cpu_time()
    total = 0
    while lib.cpu_time() - start < 0.05:  # spins until 50 ms of CPU have passed: ends only if the clock advances
        total += 1
    assert slept < 0.1 and total > 0


def test_wall_clock_in_the_browser(monkeypatch):
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(time, "process_time", lambda: 0.0)  # what Pyodide's process clock returns, always
    monkeypatch.setattr(time, "perf_counter", lambda: 12.5)
    assert lib.cpu_time() == 12.5
