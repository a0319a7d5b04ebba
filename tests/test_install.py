"""The wheel installs and runs without the checkout (issue 26: installs that work).

How, and why this way:

- The wheel is built by ``python -m build --wheel --no-isolation`` from a copy of the package's
  sources (pyproject.toml, README.md, kerascnn/) in a temporary folder: nothing is written into
  the checkout (no build/, no egg-info beside other people's work) and nothing is fetched (the
  ``test`` extra has build, setuptools>=68 and wheel, the build-system requirements).
- It is installed with ``pip install --no-deps --no-index`` into a fresh virtual environment made
  from the base interpreter of the one running the tests (``sys._base_executable``, no system
  site-packages), by this environment's pip (``pip --python NEW/bin/python``): installing
  kerascnn's dependencies from PyPI (TensorFlow alone is ~600 MB) is not this test's subject.
- The dependencies come from this environment's site-packages through one *path line* in a
  ``.pth`` file of the new environment. Python appends such a folder to sys.path after the new
  environment's own site-packages and does not process the ``.pth`` files inside it, so the
  editable finder that ``pip install -e`` leaves there (``__editable__.kerascnn-*.pth``) never
  runs: ``import kerascnn`` can only find the wheel's copy.
- Every command runs from a temporary folder outside the checkout, with PYTHONPATH unset and the
  user site off; the test asserts that ``kerascnn.__file__`` lies in the new environment and that
  the bench record finds no git checkout around the code it ran.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _run(args, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """kerascnn's wheel, built from a copy of the sources (the checkout stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "kerascnn", src / "kerascnn", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, src], src)
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("VIRTUAL_ENV", None)
    return {**env, "PYTHONNOUSERSITE": "1", "KERASCNN_NO_DOWNLOAD": "1", **extra}


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (--no-deps); its dependencies seen through a .pth."""
    venv = tmp_path_factory.mktemp("venv")
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", "--without-pip", "--clear", venv], venv)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python]
    _run([*pip, "install", "-q", "--no-deps", "--no-index", wheel], venv)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([python, "-c", where], venv).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_kerascnn_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    return venv


def test_the_wheel_holds_the_package_data_and_the_command(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "kerascnn"
    for pattern in PYPROJECT["tool"]["setuptools"]["package-data"]["kerascnn"]:
        for path in sorted(package.glob(pattern)):
            assert path.relative_to(ROOT).as_posix() in names, f"{path} is not in {wheel.name}"
    assert "kerascnn/data/embedded/fashion_mnist_mini.npz" in names
    assert "kerascnn/models/param_counts.json" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "kerascnn = kerascnn.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_readme_installs_the_wheel_that_build_makes(wheel):
    readme = (ROOT / "README.md").read_text()
    assert f'pip install "dist/{wheel.name}[deploy]"' in readme
    version = PYPROJECT["project"]["version"]
    assert wheel.name == f"kerascnn-{version}-py3-none-any.whl"


def test_the_installed_package_is_the_wheels(installed, tmp_path):
    code = (
        "import json, sys, kerascnn; from kerascnn.errors import install_hint; "
        "print(json.dumps({'file': kerascnn.__file__, 'path': sys.path, "
        "'hint': install_hint('deploy')}))"
    )
    proc = _run([installed / "bin" / "python", "-c", code], tmp_path, _clean_env())
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(seen["file"]).resolve().is_relative_to(installed.resolve()), seen["file"]
    assert str(ROOT) not in seen["path"]
    # the extra's packages come from the wheel's own metadata
    assert 'pip install -e ".[deploy]"' in seen["hint"] and "onnxruntime==" in seen["hint"]


def test_the_installed_command_runs_outside_the_checkout(installed, tmp_path):
    kerascnn, env = installed / "bin" / "kerascnn", _clean_env()
    assert "Usage: kerascnn" in _run([kerascnn, "--help"], tmp_path, env).stdout
    assert "61,706" in _run([kerascnn, "models", "lenet"], tmp_path, env).stdout  # the json
    out = tmp_path / "run"
    _run([kerascnn, "bench", "--models", "lenet", "--steps", "2", "--out", out], tmp_path, env)
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 2 and ",ok," in rows[1], rows
    environment = json.loads((out / "suite.json").read_text())["environment"]
    assert environment["git"]["commit"] is None  # the code it ran lies in no git checkout
