"""serve's listening sockets, bound before anything else starts.

Binding first (and handing the sockets to uvicorn) means a busy port is reported before
serve touches the data directory or starts a worker, and no other program can take the
port between a check and uvicorn's own bind. The options are uvicorn's and asyncio's, so
a port counts as busy exactly when uvicorn would fail on it: SO_REUSEADDR, as they set it,
lets a port whose old connections linger in TIME_WAIT be bound again, while on Linux a
port another socket listens on stays refused.
"""

from __future__ import annotations

import errno
import socket


class PortUnavailable(Exception):
    """serve cannot listen where it was asked to; the message is one line for the user."""


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening TCP sockets on every address `host` resolves to (both loopbacks for
    `localhost`), all on one port (the first one's when `port` is 0)."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(f"--host {host!r}: no such address ({exc.strerror})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as asyncio: IPv4 gets its own socket
            if sockets[0] is not sock:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            try:
                sock.bind(address)
                sock.listen(socket.SOMAXCONN)  # now, so that nobody else can bind it meanwhile
            except OSError as exc:
                raise PortUnavailable(_reason(exc, host, address[1])) from None
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _reason(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use by another program; stop it or pick another port with --port"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port}; pick a port above 1023 with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host!r} is not an address of this machine"
    return f"cannot listen on {host} port {port}: {exc.strerror or exc}"


def base_url(host: str, port: int) -> str:
    """The URL to print for a server on `host`: IPv6 literals in brackets, wildcard
    addresses shown as the loopback address that reaches them from this machine."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
