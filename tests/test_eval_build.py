"""The prose's numbers and the outputs beside them come from the same run (tools/execute.py, _ext/nnbook_eval.py).

A tiny book — the book's own ``_config.yml`` and ``_ext``, one chapter whose cells glue a value read from a
helper module and print another, with ``{eval}`` in its prose and in a figure caption — is built the way
``make book`` builds, but from another folder. After the helper's values change and the execution cache is
cleared, the rebuilt page shows the new value in the prose, the caption and the output (not the outputs of the
premature build before, which tools/execute.py had not evaluated and which failed under -W); after only the
printed value changes, the page is rebuilt too. A notebook that myst-nb would execute itself — under a kernel
alias that changes its cache key, or in its own execution mode — fails the build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CAPTION = "A line up to {eval}`glue.value`."


def _book(src: Path) -> None:
    (src / "chapters").mkdir(parents=True)
    shutil.copy2(ROOT / "_config.yml", src / "_config.yml")
    for name in ("_ext", "assets", "_vendor"):
        if (ROOT / name).exists():
            (src / name).symlink_to(ROOT / name)
    if not (ROOT / "_vendor").exists():
        (src / "_vendor").mkdir()
    shutil.copy2(ROOT / "references.bib", src / "references.bib")
    (src / "intro.md").write_text("# Eval probe\n\nThe root page.\n")
    cells = [
        {"cell_type": "markdown", "id": "title", "metadata": {},
         "source": '# Probe\n\nThe helper says {eval}`glue.value`, squared {eval}`f"{glue.square:.1f}"`.'},
        {"cell_type": "code", "id": "run", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "import lib\nfrom helper import other, value\n\nglue = lib.Glue()\nglue('value', value())\n"
                   "glue('square', value() ** 2)\nprint('printed', value(), 'other', other())"},
        {"cell_type": "code", "id": "figure", "execution_count": None, "outputs": [],
         "metadata": {"mystnb": {"figure": {"caption": CAPTION, "name": "fig-probe"}}},
         "source": "import matplotlib.pyplot as plt\n\nfig, ax = plt.subplots(figsize=(2, 2))\n"
                   "ax.plot([0, value()])\nax.set_xlabel('x')\nax.set_ylabel('y')\nplt.show()"},
    ]
    notebook = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                            "name": "python3"}}}
    (src / "chapters" / "probe.ipynb").write_text(json.dumps(notebook))
    toc = {"format": "jb-book", "root": "intro", "chapters": [{"file": "chapters/probe"}]}
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))


def _helper(src: Path, value: int, other: int) -> None:
    helper = f"def value():\n    return {value}\n\n\ndef other():\n    return {other}\n"
    (src / "chapters" / "helper.py").write_text(helper)
    shutil.rmtree(src / ".jupyter_cache", ignore_errors=True)  # the cache only (cache_guard also removes the pages)


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _build(cwd: Path, src: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src), "--builder", "html", "-W", "-n",
               "--keep-going"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=None if env is None else {**os.environ, **env})


def _shown(src: Path) -> tuple[list[str], str]:
    page = (src / "_build" / "html" / "chapters" / "probe.html").read_text(encoding="utf-8")
    values = re.findall(r'class="pasted-text">([^<]*)<', page)
    printed = re.search(r"printed \d+ other \d+", re.sub(r"<[^>]+>", "", page))
    return values, printed.group(0) if printed else ""


def test_numbers_and_outputs_come_from_one_run_built_from_elsewhere(tmp_path):
    src = tmp_path / "book"
    _book(src)
    _helper(src, 1, 1)
    premature = _build(tmp_path, src)  # myst-nb executes, but nothing has evaluated the prose
    assert premature.returncode != 0 and "{eval}`glue.value`" in premature.stdout + premature.stderr

    for value, other in ((2, 2), (2, 3)):  # the second: only the printed, unglued value changes
        _helper(src, value, other)
        executed = _run(tmp_path, str(ROOT / "tools" / "execute.py"), "--root", str(src))
        assert executed.returncode == 0, executed.stdout + executed.stderr
        built = _build(tmp_path, src)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        values, printed = _shown(src)
        # prose: value, square; caption: value — all from the run whose output the page prints
        assert values == [str(value), f"{value ** 2:.1f}", str(value)], values
        assert printed == f"printed {value} other {other}", printed
    assert not (tmp_path / ".jupyter_cache").exists(), "a cache in the working directory: myst-nb executed there"

    # A kernel alias changes the notebook's cache key for myst-nb, which then executes it itself: its outputs
    # would come from another run than the numbers (the check on the record myst-nb merged).
    from jupyter_client.kernelspec import KernelSpecManager

    shutil.copytree(KernelSpecManager().get_kernel_spec("python3").resource_dir,
                    tmp_path / "jupyter" / "kernels" / "python3alias")
    config = yaml.safe_load((src / "_config.yml").read_text())
    config["sphinx"]["config"]["nb_kernel_rgx_aliases"] = {"python3": "python3alias"}
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    aliased = _build(tmp_path, src, env={"JUPYTER_PATH": str(tmp_path / "jupyter")})
    assert aliased.returncode != 0 and "do not come from the cache record" in aliased.stdout + aliased.stderr
    shutil.copy2(ROOT / "_config.yml", src / "_config.yml")

    # A notebook that myst-nb executes itself (its own execution mode) would show another run's outputs.
    notebook = json.loads((src / "chapters" / "probe.ipynb").read_text())
    notebook["metadata"]["mystnb"] = {"execution_mode": "force"}
    (src / "chapters" / "probe.ipynb").write_text(json.dumps(notebook))
    forced = _build(tmp_path, src)
    assert forced.returncode != 0 and "would not come from the cache record" in forced.stdout + forced.stderr
