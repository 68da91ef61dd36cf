"""The book's runnable source, downloadable from every chapter page.

A chapter notebook on its own cannot run: it imports ``lib``. At the start of the HTML build this
extension packs the book's source — every file git tracks (chapters, ``lib``, data, requirements, the
Makefile, README, tests, tools), or, outside a git clone, the same top-level folders and files — into
``_build/html/nnbook-source.zip`` (deterministic: fixed timestamps, sorted entries), and puts a link to
it, with its size, under the title of every chapter page.
"""

from __future__ import annotations

import html
import subprocess
import zipfile
from pathlib import Path

from sphinx.application import Sphinx

ZIP_NAME = "nnbook-source.zip"
TOP = "nnbook"  # the folder the zip unpacks into
# Outside a git clone (e.g. a copy unpacked from this zip): what to pack.
FALLBACK = [".ci", ".gitattributes", ".gitignore", "LICENSE", "Makefile", "README.md", "_config.yml", "_ext",
            "_toc.yml", "assets", "benchmarks", "binder", "chapters", "data", "docs", "intro.md", "lib", "lite",
            "pyproject.toml", "references.bib", "requirements-dev.txt", "requirements-lite.txt",
            "requirements.txt", "tests", "tools"]
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def source_files(root: Path) -> list[Path]:
    """The files to pack, relative to ``root``, sorted."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=False)
    if tracked.returncode == 0 and tracked.stdout:
        names = [Path(n) for n in tracked.stdout.decode().split("\0") if n]
    else:
        names = []
        for top in FALLBACK:
            path = root / top
            if path.is_file():
                names.append(Path(top))
            elif path.is_dir():
                names += [p.relative_to(root) for p in path.rglob("*") if p.is_file()]
    return sorted(n for n in names if (root / n).is_file() and not SKIP_PARTS.intersection(n.parts))


def write_zip(root: Path, dest: Path) -> int:
    """Pack the source into ``dest``; returns its size in bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in source_files(root):
            info = zipfile.ZipInfo(f"{TOP}/{name.as_posix()}", date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = ((0o755 if (root / name).stat().st_mode & 0o111 else 0o644) << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (root / name).read_bytes())
    return dest.stat().st_size


def _build_zip(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    app.env.nnbook_source_size = write_zip(Path(app.srcdir), Path(app.outdir) / ZIP_NAME)


def _line(to_root: str, size: int) -> str:
    href = html.escape(f"{to_root}{ZIP_NAME}")
    return (
        f'<p class="nnbook-source">To run the chapters on your machine, <a class="nnbook-source-link" href="{href}" '
        f'download>download the book\'s source</a> (zip, {size / 1e6:.1f} MB: the chapters, the library '
        "<code>lib</code> they import, the data, requirements and Makefile), unpack it and run "
        "<code>make lab</code> in it. A chapter notebook downloaded on its own needs <code>lib</code> "
        "installed: <code>pip install -e .</code> in the unpacked folder.</p>"
    )


def _add_line(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    size = getattr(app.env, "nnbook_source_size", None)
    if size is None or not pagename.startswith("chapters/") or doctree is None:
        return
    if not str(app.env.doc2path(pagename)).endswith(".ipynb"):
        return
    body = context.get("body", "")
    end = body.find("</h1>")
    if end < 0:
        return
    # after the "Run in the browser" line if there is one, else under the title
    at = end + len("</h1>")
    if body[at:].lstrip().startswith('<p class="nnbook-lite'):
        at = body.find("</p>", at) + len("</p>")
    context["body"] = body[:at] + "\n" + _line("../" * pagename.count("/"), size) + body[at:]


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _build_zip)
    # after nnbook_lite's line (priority 500 by default)
    app.connect("html-page-context", _add_line, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
