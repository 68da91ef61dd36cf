"""Execute the book's notebooks in parallel into the jupyter-cache, before the build.

Jupyter Book 1 executes notebooks one after another. On a 2-core machine that
leaves a core idle while a chapter trains, so ``make book`` first runs this
script: every notebook in ``_toc.yml`` whose current source has no cached
outputs is executed — ``--jobs`` at a time, each in a fresh kernel, in its own
directory — and stored in ``.jupyter_cache`` exactly as myst-nb would store it.
The build then finds every notebook cached and only renders. A notebook that
fails is reported with its traceback and the script exits non-zero.

The prose's numbers come from the kernel too: after a notebook's last cell, every
``{eval}`` expression in its Markdown (e.g. ``{eval}`f"{glue.acc:.3f}"```) is
evaluated in the same kernel — the way JupyterLab's MyST extension evaluates them
for a reader, through IPython's ``user_expressions`` — and the results are stored
in the notebook's cache record (``data["eval"]``), where the book's ``eval`` role
(``_ext/nnbook_eval.py``) reads them. A notebook whose prose has an expression
the record lacks is executed again; one whose expression raises fails here, with
the expression and the error.

Each kernel gets one BLAS thread (``--jobs`` kernels share the cores).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")

# Run after a notebook's last cell: refuse a name glued twice with different values (the prose shows one
# value per name), then evaluate the prose's expressions as JupyterLab's MyST extension does.
EVAL_CELL = """\
import json as _nnbook_json

from IPython import get_ipython as _nnbook_ipython

_nnbook_glue = globals().get("glue")
if hasattr(type(_nnbook_glue), "changed") and _nnbook_glue.changed():
    raise ValueError(f"glued twice with different values: {_nnbook_glue.changed()} (the prose shows one)")
print(_nnbook_json.dumps(_nnbook_ipython().user_expressions(_nnbook_json.loads(%r))))
"""


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


def _strings(value) -> list[str]:
    """Every string in a cell's metadata (figure captions are MyST too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def prose_expressions(nb) -> list[str]:
    """The ``{eval}`` expressions of a notebook's prose, each once, in reading order: its Markdown cells
    and the MyST in its cells' metadata (figure captions)."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        texts.extend(_strings(cell.get("metadata", {})))
    return list(dict.fromkeys(m.group(1) for text in texts for m in EVAL_ROLE.finditer(text)))


def _execute(path: str, timeout: int) -> tuple[str, object, float, str | None, dict]:
    """Run one notebook in a fresh kernel (in a worker process), then evaluate its prose's expressions.

    Returns the path, the executed notebook (as cached: the evaluation cell removed), the time, the
    error text (None when it ran) and the results, keyed by expression (IPython's user_expressions form).
    """
    nb = nbformat.read(path, as_version=4)
    expressions = prose_expressions(nb)
    run = copy.deepcopy(nb)
    run.cells.append(new_code_cell(EVAL_CELL % json.dumps({str(i): e for i, e in enumerate(expressions)})))
    result = single_nb_execution(run, cwd=str(Path(path).parent), allow_errors=False,
                                 timeout=timeout, meta_override=True)
    if result.err is not None:
        return path, nb, result.time, result.exc_string, {}
    eval_cell = run.cells.pop()
    printed = "".join(o.get("text", "") for o in eval_cell.outputs if o.get("name") == "stdout")
    by_index = json.loads(printed)
    values = {expressions[int(i)]: value for i, value in by_index.items()}
    errors = [f"  {{eval}}`{e}`: {v.get('ename')}: {v.get('evalue')}" for e, v in values.items()
              if v.get("status") != "ok"]
    if errors:
        return path, run, result.time, "prose expressions that raised:\n" + "\n".join(errors), values
    return path, run, result.time, None, values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (default: this one)")
    args = parser.parse_args()
    root = args.root.resolve()

    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    # The book reads its outputs and prose values from <book>/.jupyter_cache (_ext/nnbook_eval.py); this script,
    # tools/cache_guard.py, tools/exec_report.py and `make clean` all use that folder, so _config.yml must too.
    execute = yaml.safe_load((root / "_config.yml").read_text()).get("execute") or {}
    if execute.get("cache") != ".jupyter_cache" or execute.get("execute_notebooks") != "cache":
        print(f"execute: {root / '_config.yml'} must say execute_notebooks: cache and cache: .jupyter_cache "
              f"(the book's tools assume them), found {execute}", file=sys.stderr)
        return 2
    cache = get_cache(root / ".jupyter_cache")
    notebooks, todo = toc_notebooks(root), []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            record = cache.match_cache_notebook(nb)
        except KeyError:
            todo.append(path)
            continue
        if not set(prose_expressions(nb)) <= set(record.data.get("eval", {})):
            todo.append(path)  # the prose has an expression this record has not evaluated
    if not todo:
        print("execute: every notebook is cached")
        return 0
    print(f"execute: {len(todo)} notebook(s), {args.jobs} at a time")
    start = time.perf_counter()
    failed = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(_execute, str(p), args.timeout) for p in todo]
        for future in as_completed(futures):
            path, nb, seconds, error, values = future.result()
            rel = Path(path).relative_to(root)
            if error:
                failed.append(rel)
                print(f"execute: FAILED {rel} after {seconds:.1f} s\n{error}", file=sys.stderr)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, path, data={"execution_seconds": seconds, "eval": values}),
                check_validity=False, overwrite=True,
            )
            print(f"execute: {rel} in {seconds:.1f} s")
    wall = time.perf_counter() - start
    print(f"execute: wall time {wall:.1f} s")
    (root / "_build").mkdir(exist_ok=True)
    (root / "_build" / "exec_wall.json").write_text(json.dumps(
        {"wall_seconds": wall, "jobs": args.jobs, "executed": len(todo), "in_toc": len(notebooks)}) + "\n")
    if failed:
        print(f"execute: {len(failed)} notebook(s) failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
