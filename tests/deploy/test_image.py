"""What the Dockerfile's build gets: the context .dockerignore leaves (resolved by docker-py,
Docker's own Python client, with Docker's pattern rules) holds what the image installs and
nothing heavy, and the package built from it carries its data (the MNIST subset, the
bundled benchmarks, templates, migrations)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatch

import pytest
from docker.utils.build import exclude_paths

from tests.conftest import REPO

PATTERNS = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def context() -> set[str]:
    """The files (relative paths) Docker would send as the build context."""
    return {path for path in exclude_paths(str(REPO), PATTERNS, dockerfile="Dockerfile") if (REPO / path).is_file()}


def test_the_context_leaves_out_the_venv_git_data_and_caches(context):
    tops = {path.split("/", 1)[0] for path in context}
    assert not tops & {".venv", ".git", "tests", "benchmarks", "certbound-data", "docs", "vnncomp", ".env"}
    assert not [path for path in context if "__pycache__" in path or path.endswith(".pyc") or ".egg-info" in path]


def test_the_context_holds_every_package_pyproject_installs(context):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    includes = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {path.parent.name for path in REPO.glob("*/__init__.py")
                if any(fnmatch(path.parent.name, pattern) for pattern in includes)}
    assert packages and all(f"{package}/__init__.py" in context for package in packages)
    assert {"pyproject.toml", "README.md", "alembic.ini", "Dockerfile"} <= context | {"Dockerfile"}
    assert "core/data/mnist-subset.npz" in context


@pytest.mark.slow
def test_the_package_built_from_the_context_carries_its_data(context, tmp_path):
    source = tmp_path / "context"
    for path in context:
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / path, source / path)
    # With build isolation, as the image builds it (pyproject.toml's setuptools, not the venv's).
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                             "-w", str(tmp_path / "wheel"), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    names = set(zipfile.ZipFile(next((tmp_path / "wheel").glob("*.whl"))).namelist())
    bundled = [path for path in context if path.startswith("core/data/") and not path.endswith(".py")]
    assert "core/data/mnist-subset.npz" in bundled and any(path.endswith(".onnx.gz") for path in bundled)
    missing = [path for path in bundled if path not in names]
    assert not missing, f"left out of the installed package: {missing}"
    assert any(name.startswith("app/web/templates/") for name in names)
    assert "migrations/script.py.mako" in names and any(name.startswith("migrations/versions/0001") for name in names)
