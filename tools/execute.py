"""Execute the book's notebooks in parallel into the jupyter-cache, before the build.

Jupyter Book 1 executes notebooks one after another. On a 2-core machine that
leaves a core idle while a chapter trains, so ``make book`` first runs this
script: every notebook in ``_toc.yml`` whose current source has no cached
outputs is executed — ``--jobs`` at a time, each in a fresh kernel, in its own
directory — and stored in ``.jupyter_cache`` exactly as myst-nb would store it.
The build then finds every notebook cached and only renders. A notebook that
fails is reported with its traceback and the script exits non-zero.

Each kernel gets one BLAS thread (``--jobs`` kernels share the cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The .ipynb files listed in _toc.yml, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files: list[str] = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]


def _execute(path: str, timeout: int) -> tuple[str, object, float, str | None]:
    """Run one notebook in a fresh kernel (in a worker process)."""
    nb = nbformat.read(path, as_version=4)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), allow_errors=False,
                                 timeout=timeout, meta_override=True)
    return path, nb, result.time, (result.exc_string if result.err is not None else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args()

    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    cache = get_cache(ROOT / ".jupyter_cache")
    notebooks, todo = toc_notebooks(), []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(path)
    if not todo:
        print("execute: every notebook is cached")
        return 0
    print(f"execute: {len(todo)} notebook(s), {args.jobs} at a time")
    start = time.perf_counter()
    failed = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(_execute, str(p), args.timeout) for p in todo]
        for future in as_completed(futures):
            path, nb, seconds, error = future.result()
            rel = Path(path).relative_to(ROOT)
            if error:
                failed.append(rel)
                print(f"execute: FAILED {rel} after {seconds:.1f} s\n{error}", file=sys.stderr)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, path, data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True,
            )
            print(f"execute: {rel} in {seconds:.1f} s")
    wall = time.perf_counter() - start
    print(f"execute: wall time {wall:.1f} s")
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "exec_wall.json").write_text(json.dumps(
        {"wall_seconds": wall, "jobs": args.jobs, "executed": len(todo), "in_toc": len(notebooks)}) + "\n")
    if failed:
        print(f"execute: {len(failed)} notebook(s) failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
