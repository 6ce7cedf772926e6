"""docker-compose.yml and the Dockerfile agree with the settings and the CLI (Docker
itself does not run here, so the files are parsed and checked)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import typer
import yaml

from app.cli import cli
from app.settings import Settings
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = [name for name, service in SERVICES.items() if service.get("build")]


def test_the_expected_services_exist():
    assert {"postgres", "redis", "migrate", "api", "worker-cpu"} <= set(SERVICES)
    assert any(name.startswith("worker-gpu") for name in SERVICES)
    assert SERVICES["migrate"]["command"] == ["alembic", "upgrade", "head"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_environment_names_real_settings_and_real_services(name):
    env = SERVICES[name]["environment"]
    fields = set(Settings.model_fields)
    assert all(key.startswith("CERTBOUND_") and key.removeprefix("CERTBOUND_").lower() in fields for key in env)
    settings = Settings(**{key.removeprefix("CERTBOUND_").lower(): value for key, value in env.items()})
    database, broker = urlsplit(settings.database_url), urlsplit(settings.broker_url)
    assert database.scheme == "postgresql+psycopg" and database.hostname in SERVICES
    assert broker.scheme == "redis" and broker.hostname in SERVICES
    postgres_env = SERVICES["postgres"]["environment"]
    assert (database.username, database.password, database.path.lstrip("/")) == (
        postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_PASSWORD"], postgres_env["POSTGRES_DB"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_service_shares_the_artifacts_volume_at_the_data_dir(name):
    service = SERVICES[name]
    assert f"artifacts:{service['environment']['CERTBOUND_DATA_DIR']}" in service["volumes"]
    assert "artifacts" in COMPOSE["volumes"]


@pytest.mark.parametrize("name", [n for n in APP_SERVICES if n != "migrate"])
def test_commands_parse_with_the_real_cli_and_wait_for_migrations(name):
    command = SERVICES[name]["command"]
    assert command[0] == "certbound"
    group = typer.main.get_command(cli)
    context = group.make_context("certbound", list(command[1:]), resilient_parsing=True)
    subcommand = group.get_command(context, command[1])
    parsed = subcommand.make_context(command[1], list(command[2:])).params
    if command[1] == "worker":
        from worker.main import parse_queues

        parse_queues(parsed["queues"], parsed["gpu"])
    depends = SERVICES[name]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_gpu_workers_reserve_exactly_their_device():
    for name, service in SERVICES.items():
        if not name.startswith("worker-gpu"):
            continue
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1 and devices[0]["capabilities"] == ["gpu"] and len(devices[0]["device_ids"]) == 1
        assert service["command"][service["command"].index("--gpu") + 1] == "0"  # the only device it can see
        assert "gpu" in service["command"][service["command"].index("--queues") + 1].split(",")


def test_api_port_and_dockerfile_agree():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "EXPOSE 8000" in dockerfile and SERVICES["api"]["ports"] == ["8000:8000"]
    assert "--port" in SERVICES["api"]["command"] and "8000" in SERVICES["api"]["command"]
    for package in ("core", "app", "worker", "migrations"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "alembic.ini" in dockerfile and "CERTBOUND_DATA_DIR=/data" in dockerfile
