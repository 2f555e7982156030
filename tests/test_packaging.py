"""The wheel ships the whole product: every module and every data file of the four packages.

``pip install .`` (not ``-e``) once produced a wheel without ``localnode.index`` and
``localnode.mapping`` (folders without ``__init__.py`` are not packages for ``find:``), so
``pinsearch.connect`` failed with ``ModuleNotFoundError``. The editable install used by the test
suite reads the source tree and cannot see this, so the check here builds a real wheel (no install)
and compares its file list with the source tree.

The wheel is built from a copy of the files git tracks (a checkout's view; stray build output and
untracked work in progress stay out of both sides). Outside a git checkout the tree is walked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("localnode", "indexer", "ranking", "pinsearch")
BUILD_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README.md")
# Files under the packages that are deliberately not installed (paths relative to the root).
NOT_SHIPPED: frozenset[str] = frozenset()


def _source_files() -> list[str]:
    """Every file of the four packages, as POSIX paths relative to the repository root."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *PACKAGES], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
        files = [f for f in out.split("\0") if f and (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = []
    if not files:   # not a git checkout (an unpacked sdist, a copy): the tree itself
        files = [p.relative_to(ROOT).as_posix() for pkg in PACKAGES for p in (ROOT / pkg).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return sorted(files)


def _build_wheel(src_files: list[str], tmp: Path) -> Path:
    src = tmp / "src"
    for rel in [*src_files, *(f for f in BUILD_FILES if (ROOT / f).is_file())]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    dist = tmp / "dist"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    wheels = list(dist.glob("pinsearch-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_every_module_and_data_file(tmp_path: Path) -> None:
    src_files = _source_files()
    assert any(f.startswith("localnode/index/") for f in src_files), "source tree not found"
    with zipfile.ZipFile(_build_wheel(src_files, tmp_path)) as whl:
        shipped = set(whl.namelist())

    expected = [f for f in src_files if f not in NOT_SHIPPED]
    missing = [f for f in expected if f not in shipped]
    assert not missing, (f"{len(missing)} file(s) of the source tree are not in the wheel (a folder of modules "
                         f"without __init__.py, or a data file type missing from [options.package_data] in "
                         f"setup.cfg): {missing}")

    # Each folder of modules is a regular package, so the import system and importlib.resources agree.
    for f in expected:
        if f.endswith(".py"):
            init = PurePosixPath(f).parent / "__init__.py"
            assert str(init) in shipped, f"{init} is missing: {PurePosixPath(f).parent} is not a package"

    # Nothing else lands in site-packages: no generic top-level names (``mappings``), no tests.
    top = {PurePosixPath(n).parts[0] for n in shipped if not n.split("/")[0].endswith(".dist-info")}
    assert top == set(PACKAGES), f"top-level names in the wheel: {sorted(top)}"
    extra = sorted(n for n in shipped if not n.split("/")[0].endswith(".dist-info") and n not in expected)
    assert not extra, f"the wheel ships files that are not in the source tree: {extra}"
