"""Build a preview of a few chapters, alone, with the book's real configuration.

    make preview CHAPTERS="chapters/gradient_descent.ipynb chapters/backpropagation.ipynb"

The chapters are copied with the book's config, bibliography and assets into a
private directory (``_build/preview/`` by default) with a table of contents that
lists only them, and built there with warnings as errors — so authors can check a
page without executing the whole book, and without touching the main build or its
execution cache.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LABEL = re.compile(r"^\((chap-[\w-]+)\)=", re.M)
REF = re.compile(r"\{ref\}`(?:(?P<text>[^`<]+?)\s*<)?(?P<label>chap-[\w-]+)>?`")
COPY = ["_config.yml", "references.bib", "intro.md", "_ext", "assets", "_vendor", "data"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="+", type=Path, help="chapter notebooks or pages")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "preview", help="preview directory")
    args = parser.parse_args()

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src, dst = ROOT / name, out / name
        if not src.exists():
            sys.exit(f"preview: {src} is missing (run make book once to fetch _vendor/)")
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        if name in ("_vendor", "data"):
            dst.symlink_to(src)
        elif src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    # Reference pages (Markdown, nothing to execute) come along so that links to the glossary,
    # the notation page and the bibliography resolve.
    main_toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [entry["file"] for part in main_toc.get("parts", []) for entry in part.get("chapters", [])
             if (ROOT / f"{entry['file']}.md").exists()]
    requested = [chapter.resolve().relative_to(ROOT) for chapter in args.chapters]
    extra = [Path(f"{page}.md") for page in pages if Path(f"{page}.md") not in requested]
    labels = {label for rel in requested + extra for label in LABEL.findall((ROOT / rel).read_text())}
    files = []
    for rel in requested + extra:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        text = (ROOT / rel).read_text()
        if rel in extra:
            # A reference page links to every chapter; those not in this preview become plain text.
            text = REF.sub(lambda m: m[0] if m["label"] in labels else (m["text"] or m["label"]), text)
        (out / rel).write_text(text)
        files.append({"file": str(rel.with_suffix(""))})
    toc = {"format": "jb-book", "root": "intro", "parts": [{"caption": "Preview", "chapters": files}]}
    (out / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    # Executed by tools/execute.py as in make book (the prose's {eval} values too), into the preview's own
    # cache, which tools/cache_guard.py does not clear: `rm -r _build/preview` after changing lib.
    executed = subprocess.run([sys.executable, str(ROOT / "tools" / "execute.py"), "--root", str(out)], cwd=out)
    if executed.returncode:
        return executed.returncode
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(out), "--builder", "html",
           "-W", "-n", "--keep-going"]
    result = subprocess.run(cmd, cwd=out)
    print(f"preview: {out / '_build' / 'html' / 'index.html'}")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
