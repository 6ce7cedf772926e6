"""Where the client finds its server and token: arguments, then the environment, then a file.

The config file is TOML, `$XDG_CONFIG_HOME/certbound/client.toml` (by default
`~/.config/certbound/client.toml`), with the keys `server` and `token`. Keeping the token
out of command lines keeps it out of shell histories and process listings.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

SERVER_ENV, TOKEN_ENV = "CERTBOUND_SERVER", "CERTBOUND_TOKEN"
DEFAULT_SERVER = "http://127.0.0.1:8000"  # where `certbound serve` listens by default
API_PREFIX = "/api/v1"
KEYS = ("server", "token")


class ConfigError(ValueError):
    """The client's settings are missing or unreadable; the message says where to fix them."""


@dataclass(frozen=True)
class ClientConfig:
    server: str  # the server's root URL, without /api/v1
    token: str

    @property
    def api_url(self) -> str:
        return self.server + API_PREFIX


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "certbound" / "client.toml"


def read_config_file(path: Path) -> dict[str, str]:
    """The file's settings; an absent file has none."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}")
    wrong = [key for key in KEYS if key in data and not isinstance(data[key], str)]
    if wrong:
        raise ConfigError(f"{path}: {wrong[0]} must be a string")
    return data


def normalise_server(url: str) -> str:
    """`host:port`, `http://host:port/` and `http://host:port/api/v1` all name one server."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url.removesuffix(API_PREFIX).rstrip("/")


def resolve(server: str | None = None, token: str | None = None) -> ClientConfig:
    """Each setting from the first place that has it: the argument, `CERTBOUND_SERVER` /
    `CERTBOUND_TOKEN`, the config file; the server defaults to a local `certbound serve`."""
    need_file = not (server or os.environ.get(SERVER_ENV)) or not (token or os.environ.get(TOKEN_ENV))
    path = config_path()
    stored = read_config_file(path) if need_file else {}
    server = server or os.environ.get(SERVER_ENV) or stored.get("server") or DEFAULT_SERVER
    token = token or os.environ.get(TOKEN_ENV) or stored.get("token")
    if not token:
        raise ConfigError(f"no API token: set {TOKEN_ENV}, or `token = \"...\"` in {path} "
                          "(`certbound serve` prints one and writes it to DATA_DIR/token)")
    return ClientConfig(normalise_server(server), token.strip())
