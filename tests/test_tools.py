"""The build tools: the execution cache must be invalidated by any change to lib."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_cache_guard():
    spec = importlib.util.spec_from_file_location("cache_guard", ROOT / "tools" / "cache_guard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_repo(tmp_path: Path) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "layers.py").write_text("SCALE = 1\n")
    for name in ("requirements.txt", "pyproject.toml", "_config.yml"):
        (tmp_path / name).write_text(f"# {name}\n")
    return tmp_path


def test_key_is_stable_and_changes_with_lib(tmp_path):
    guard = _load_cache_guard()
    root = _fake_repo(tmp_path)
    key = guard.environment_key(root)
    assert guard.environment_key(root) == key
    (root / "lib" / "layers.py").write_text("SCALE = 2\n")
    assert guard.environment_key(root) != key


def test_key_changes_with_requirements_and_new_modules(tmp_path):
    guard = _load_cache_guard()
    root = _fake_repo(tmp_path)
    key = guard.environment_key(root)
    (root / "requirements.txt").write_text("numpy<3\n")
    key2 = guard.environment_key(root)
    assert key2 != key
    (root / "lib" / "new_module.py").write_text("")
    assert guard.environment_key(root) != key2


def test_key_changes_with_shipped_data(tmp_path):
    guard = _load_cache_guard()
    root = _fake_repo(tmp_path)
    (root / "data").mkdir()
    (root / "data" / "clips.npz").write_bytes(b"one")
    key = guard.environment_key(root)
    (root / "data" / "clips.npz").write_bytes(b"two")
    assert guard.environment_key(root) != key


def test_lab_settings_save_widget_state_and_keep_other_settings(tmp_path):
    """`make lab` turns on saving widget state (a chapter reopened without a kernel shows its last frame)
    and renders every cell (windowingMode none: jupyterlab-myst then evaluates every {eval} in a Run All),
    merged into whatever overrides the environment already has; both settings exist in the installed
    schemas."""
    import json

    spec = importlib.util.spec_from_file_location("lab_settings", ROOT / "tools" / "lab_settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}))
    module.write(tmp_path)
    module.write(tmp_path)  # idempotent
    settings = json.loads(path.read_text())
    assert settings == {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
                        "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
                        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
    import sys

    schemas = list(Path(sys.prefix, "share", "jupyter", "labextensions").glob(
        "@jupyter-widgets/jupyterlab-manager/schemas/@jupyter-widgets/jupyterlab-manager/plugin.json"))
    assert schemas, "jupyterlab_widgets' settings schema is not installed"
    assert "saveState" in json.loads(schemas[0].read_text())["properties"]
    tracker = Path(sys.prefix, "share", "jupyter", "lab", "schemas", "@jupyterlab", "notebook-extension",
                   "tracker.json")
    modes = json.loads(tracker.read_text())["properties"]["windowingMode"]["oneOf"]
    assert {"const": "none", "title": "None"} in modes, modes
