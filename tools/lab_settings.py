"""JupyterLab settings that `make lab` gives the book's environment (merged into its overrides.json).

* Widget state is saved with the notebook (``saveState``): a chapter saved after a run and reopened
  without a kernel — or shown by any viewer that reads saved widget state — then shows each interactive
  figure's sliders and the last frame drawn, instead of "Error displaying widget: model not found".
  The git filter (``make lab``) strips that state, like the outputs, before anything reaches git.
* Every cell of a notebook is rendered (``windowingMode: none``). By default JupyterLab creates cells out
  of view as placeholders and renders them later, and its MyST extension evaluates the ``{eval}`` numbers
  of rendered cells only: a Run All right after opening a chapter left most of its numbers unevaluated.

    python tools/lab_settings.py PREFIX    # PREFIX: the environment, e.g. .venv
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SETTINGS = {
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def write(prefix: Path) -> Path:
    path = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    for plugin, values in SETTINGS.items():
        current.setdefault(plugin, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(f"lab settings: {write(Path(sys.argv[1]))}")
