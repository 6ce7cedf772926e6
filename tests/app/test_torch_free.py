"""The API process never imports torch, even while it validates uploads and job configs."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

SCRIPT = """
import sys, tempfile
from pathlib import Path
from fastapi.testclient import TestClient
from app.main import create_app
from app.settings import Settings
from app.db.migrate import upgrade
from tests.service.support import new_token
settings = Settings(data_dir=Path(tempfile.mkdtemp()))
settings.data_dir.mkdir(parents=True, exist_ok=True)
upgrade(settings.database_url)
headers = {"Authorization": "Bearer " + new_token(settings)}
bench = Path(sys.argv[1])
with TestClient(create_app(settings, maintenance=False)) as client:
    for kind, path in (("models", "onnx/relu5.onnx.gz"), ("properties", "vnnlib/relu5_sat.vnnlib.gz")):
        data = (bench / "mlp" / path).read_bytes()
        assert client.post("/api/v1/" + kind, files={"file": (path, data)}, headers=headers).status_code == 201
    bad_train = {"kind": "train", "config": {"method": "sgd"}}
    assert client.post("/api/v1/jobs", json=bad_train, headers=headers).status_code == 422
    robust = {"mnist_index": 0, "eps": 0.01}
    assert client.post("/api/v1/properties/robustness", json=robust, headers=headers).status_code == 201
import app.cli
print("torch" in sys.modules)
"""


def test_api_never_imports_torch(bundled_benchmarks):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(bundled_benchmarks)], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
