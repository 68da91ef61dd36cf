"""Report how long each notebook took to execute in the last book build.

Reads the jupyter-cache records written by ``make book`` and prints a table
against the budgets (30 s per page, 4 min for the whole book). It is a report,
not a test: timing depends on the machine. The table is also written to
``_build/exec_report.md`` and ``_build/exec_report.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parent.parent
PAGE_BUDGET_S = 30.0
BOOK_BUDGET_S = 240.0


def execution_times(root: Path = ROOT) -> dict[str, float]:
    """Notebook path (relative to the repo) -> seconds of its newest cached execution."""
    cache = get_cache(root / ".jupyter_cache")
    newest: dict[str, tuple] = {}
    for record in cache.list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is None:
            continue
        uri = Path(record.uri)
        if not uri.exists():
            continue
        rel = str(uri.resolve().relative_to(root))
        if rel not in newest or record.created > newest[rel][0]:
            newest[rel] = (record.created, float(seconds))
    return {rel: seconds for rel, (_, seconds) in sorted(newest.items())}


def main() -> None:
    times = execution_times()
    total = sum(times.values())
    lines = ["| notebook | execution (s) | within 30 s |", "|---|---:|:---:|"]
    for rel, seconds in times.items():
        lines.append(f"| `{rel}` | {seconds:.1f} | {'yes' if seconds <= PAGE_BUDGET_S else '**no**'} |")
    lines.append(f"| all notebooks, one after another | {total:.1f} | — |")
    wall_file = ROOT / "_build" / "exec_wall.json"
    wall = json.loads(wall_file.read_text()) if wall_file.exists() else None
    if wall and wall["executed"] == wall["in_toc"] == len(times):
        # The budget is for the book as it is built: every notebook, {jobs} kernels at a time.
        within = "yes" if wall["wall_seconds"] <= BOOK_BUDGET_S else "**no** (budget 4 min)"
        label, seconds = f"whole book, {wall['jobs']} kernels at a time", wall["wall_seconds"]
        lines.append(f"| **{label}** | **{seconds:.1f}** | {within} |")
    else:
        lines.append("| whole book | (last build executed only changed notebooks: `make clean book` to measure) | — |")
    table = "\n".join(lines)
    print(table)
    out = ROOT / "_build"
    out.mkdir(exist_ok=True)
    (out / "exec_report.md").write_text(table + "\n")
    report = {"notebooks": times, "total": total, "wall": wall}
    (out / "exec_report.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
