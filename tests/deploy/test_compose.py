"""docker-compose.yml as the real Docker Compose v2 resolves it (`docker compose config`:
the compose-spec schema, interpolation, anchors), checked against the settings, the CLI
and the Dockerfile. Docker itself does not run here."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import typer

from app.cli import cli
from app.settings import Settings
from tests.conftest import REPO
from tests.deploy.support import CPU_TORCH_INDEX, compose, resolved
from worker.queues import parse_queues, worker_queues

CORE = {"postgres", "redis", "migrate", "api", "worker-cpu"}
PROJECT = resolved(profiles=("gpu",))
SERVICES = PROJECT["services"]
APP_SERVICES = sorted(name for name, service in SERVICES.items() if service.get("build"))
GPU_WORKERS = sorted(name for name in SERVICES if name.startswith("worker-gpu"))
EXTRA_ENV = {"PGPASSWORD", "FORWARDED_ALLOW_IPS"}  # libpq's and uvicorn's, not certbound settings


def test_the_file_is_valid_and_refuses_to_start_without_a_database_password():
    result = compose("config", "--quiet")
    assert result.returncode != 0
    assert "required variable POSTGRES_PASSWORD is missing a value: set POSTGRES_PASSWORD in .env" in result.stderr
    assert compose("config", "--quiet", env={"POSTGRES_PASSWORD": "pw"}).returncode == 0


def test_no_password_is_committed():
    assert resolved(env={"POSTGRES_PASSWORD": "s3cret/@:x"})["services"]["postgres"]["environment"][
        "POSTGRES_PASSWORD"] == "s3cret/@:x"
    example = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert example["POSTGRES_PASSWORD"] == ""
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_gpu_workers_start_only_with_the_gpu_profile():
    assert set(resolved()["services"]) == CORE
    assert set(SERVICES) == CORE | set(GPU_WORKERS) and GPU_WORKERS


@pytest.mark.parametrize("name", APP_SERVICES)
def test_cpu_services_get_the_cpu_torch_and_gpu_workers_the_cuda_one(name):
    build = SERVICES[name]["build"]
    assert build["context"] == str(REPO) and build["dockerfile"] == "Dockerfile"
    if name in GPU_WORKERS:
        assert build["args"]["TORCH_INDEX"] != CPU_TORCH_INDEX and SERVICES[name]["image"] == "certbound:cuda"
    else:
        assert build["args"]["TORCH_INDEX"] == CPU_TORCH_INDEX and SERVICES[name]["image"] == "certbound:cpu"
    assert f'ARG TORCH_INDEX={CPU_TORCH_INDEX}' in (REPO / "Dockerfile").read_text()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_environment_names_real_settings_and_real_services(name):
    env = SERVICES[name]["environment"]
    fields = set(Settings.model_fields)
    settings_env = {key: value for key, value in env.items() if key not in EXTRA_ENV}
    assert all(key.startswith("CERTBOUND_") and key.removeprefix("CERTBOUND_").lower() in fields for key in settings_env)
    settings = Settings(**{key.removeprefix("CERTBOUND_").lower(): value for key, value in settings_env.items()})
    database, broker = urlsplit(settings.database_url), urlsplit(settings.broker_url)
    assert database.scheme == "postgresql+psycopg" and database.hostname in SERVICES
    assert broker.scheme == "redis" and broker.hostname in SERVICES
    postgres_env = SERVICES["postgres"]["environment"]
    assert database.password is None and env["PGPASSWORD"] == postgres_env["POSTGRES_PASSWORD"] == "pw"
    assert (database.username, database.path.lstrip("/")) == (postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_DB"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_service_shares_the_artifacts_volume_at_the_data_dir(name):
    service = SERVICES[name]
    assert {"type": "volume", "source": "artifacts", "target": service["environment"]["CERTBOUND_DATA_DIR"],
            "volume": {}} in service["volumes"]
    assert "artifacts" in PROJECT["volumes"]


@pytest.mark.parametrize("name", [n for n in APP_SERVICES if n != "migrate"])
def test_commands_parse_with_the_real_cli_and_wait_for_migrations(name):
    command = SERVICES[name]["command"]
    assert command[0] == "certbound"
    group = typer.main.get_command(cli)
    context = group.make_context("certbound", list(command[1:]), resilient_parsing=True)
    subcommand = group.get_command(context, command[1])
    parsed = subcommand.make_context(command[1], list(command[2:])).params
    if command[1] == "worker":
        # The queues the worker would consume on the hardware its service is meant for.
        cuda = "" if name in GPU_WORKERS else "this torch is built without CUDA"
        queues = worker_queues(parse_queues(parsed["queues"]), parsed["gpu"], cuda)
        assert ("gpu" in queues) == (name in GPU_WORKERS)
    depends = SERVICES[name]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_gpu_workers_reserve_exactly_their_device():
    for name in GPU_WORKERS:
        service = SERVICES[name]
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1 and devices[0]["capabilities"] == ["gpu"] and len(devices[0]["device_ids"]) == 1
        assert service["command"][service["command"].index("--gpu") + 1] == "0"  # the only device it can see


def test_the_api_listens_on_loopback_for_a_reverse_proxy():
    dockerfile = (REPO / "Dockerfile").read_text()
    api = SERVICES["api"]
    assert "EXPOSE 8000" in dockerfile and api["command"][api["command"].index("--port") + 1] == "8000"
    assert [(port["host_ip"], port["published"], port["target"]) for port in api["ports"]] == [("127.0.0.1", "8000", 8000)]
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "*"  # safe only because of the loopback binding
    assert "CERTBOUND_DATA_DIR=/data" in dockerfile


def test_the_mnist_override_mounts_the_full_copy_where_the_engine_looks():
    from core.data import SHARED_ENV

    files = ("docker-compose.yml", "docker-compose.mnist.yml")
    result = compose("config", "--quiet", env={"POSTGRES_PASSWORD": "pw"}, files=files)
    assert result.returncode != 0 and "required variable MNIST_HOST_DIR is missing a value" in result.stderr
    services = resolved(profiles=("gpu",), env={"MNIST_HOST_DIR": "/srv/mnist"}, files=files)["services"]
    for name in ["worker-cpu", *GPU_WORKERS]:
        target = services[name]["environment"][SHARED_ENV]
        mounts = [(v["source"], v.get("read_only")) for v in services[name]["volumes"] if v["target"] == target]
        assert mounts == [("/srv/mnist", True)]
    assert set(resolved(env={"MNIST_HOST_DIR": "/srv/mnist"}, files=files)["services"]) == CORE
