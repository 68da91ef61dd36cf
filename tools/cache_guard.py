"""Clear the notebook execution cache when anything a notebook imports has changed.

jupyter-cache keys a notebook's outputs on its cell source only, so a change to
``lib/`` (or to an installed package) would otherwise leave stale outputs in the
book. We key the cache on everything outside the notebooks that can change what
a cell prints: the source of ``lib``, the files in ``data/``, the requirements, the book's config and the
exact versions of every installed distribution.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".jupyter_cache"
KEY_FILE = ROOT / "_build" / "cache-key.txt"


def environment_key(root: Path = ROOT) -> str:
    """A digest of lib's source, the requirements, the config and installed versions."""
    h = hashlib.sha256()
    files = sorted((root / "lib").rglob("*.py")) + sorted(p for p in (root / "data").rglob("*") if p.is_file())
    files += [root / name for name in ("requirements.txt", "pyproject.toml", "_config.yml")]
    for path in files:
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    versions = sorted(
        f"{d.metadata['Name']}=={d.version}".lower() for d in importlib.metadata.distributions()
    )
    h.update("\n".join(versions).encode())
    return h.hexdigest()


def main() -> None:
    key = environment_key()
    old = KEY_FILE.read_text().strip() if KEY_FILE.exists() else None
    if old != key:
        if CACHE.exists():
            print("cache_guard: lib, requirements or environment changed; clearing .jupyter_cache")
            shutil.rmtree(CACHE)
        # Pages built from the old cache are stale too.
        shutil.rmtree(ROOT / "_build" / "html", ignore_errors=True)
        shutil.rmtree(ROOT / "_build" / ".doctrees", ignore_errors=True)
        shutil.rmtree(ROOT / "_build" / "jupyter_execute", ignore_errors=True)
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.write_text(key + "\n")
    else:
        print("cache_guard: execution cache is current")


if __name__ == "__main__":
    main()
