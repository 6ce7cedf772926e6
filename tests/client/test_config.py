"""Where the client finds its server and token: argument, environment, config file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import cli
from certbound.config import ConfigError, config_path, normalise_server, resolve


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    """An empty environment and config folder; returns the config file's path."""
    for name in ("CERTBOUND_SERVER", "CERTBOUND_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = tmp_path / "certbound" / "client.toml"
    path.parent.mkdir()
    return path


def test_the_argument_wins_over_the_environment_which_wins_over_the_file(config_home, monkeypatch):
    config_home.write_text('server = "http://file:1"\ntoken = "from-file"\n')
    assert (resolve().server, resolve().token) == ("http://file:1", "from-file")
    monkeypatch.setenv("CERTBOUND_SERVER", "http://env:2")
    monkeypatch.setenv("CERTBOUND_TOKEN", "from-env")
    assert (resolve().server, resolve().token) == ("http://env:2", "from-env")
    given = resolve("http://arg:3", "from-arg")
    assert (given.server, given.token) == ("http://arg:3", "from-arg")


def test_without_a_server_anywhere_it_is_the_local_serve(config_home, monkeypatch):
    monkeypatch.setenv("CERTBOUND_TOKEN", "t")
    assert resolve().api_url == "http://127.0.0.1:8000/api/v1"
    assert config_path() == config_home


@pytest.mark.parametrize("given", ["example.org:8000", "http://example.org:8000/", "http://example.org:8000/api/v1",
                                   "http://example.org:8000/api/v1/"])
def test_a_server_is_named_with_or_without_scheme_and_api_prefix(given):
    assert normalise_server(given) == "http://example.org:8000"


def test_no_token_anywhere_says_where_to_put_one(config_home):
    with pytest.raises(ConfigError, match=f"set CERTBOUND_TOKEN, or `token = .*` in {config_home}"):
        resolve()


@pytest.mark.parametrize("text, problem", [("token = ", "Invalid value"), ("tokn = 'x'", "unknown key 'tokn'"),
                                           ("token = 5", "token must be a string")])
def test_a_bad_config_file_is_named_with_its_problem(config_home, text, problem):
    config_home.write_text(text)
    with pytest.raises(ConfigError, match=problem) as error:
        resolve()
    assert str(error.value).startswith(str(config_home))


def test_the_environment_alone_needs_no_readable_config_file(config_home, monkeypatch):
    config_home.write_text("not toml at all [")
    monkeypatch.setenv("CERTBOUND_SERVER", "http://env:2")
    monkeypatch.setenv("CERTBOUND_TOKEN", "from-env")
    assert resolve().token == "from-env"


def test_a_command_without_a_token_exits_2_with_one_line(config_home):
    result = CliRunner().invoke(cli, ["status", "some-job"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: no API token")


def test_submit_of_a_missing_file_exits_2_before_any_request(config_home, tmp_path):
    result = CliRunner().invoke(cli, ["submit", str(tmp_path / "net.onnx"), str(tmp_path / "p.vnnlib")])
    assert (result.exit_code, result.stderr) == (2, f"error: {tmp_path / 'net.onnx'}: no such file\n")
