"""Ports for the tests' own servers and for services that are gone."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on (bound, then closed again): a server of the test's may take it,
    and connecting to it before then is refused at once, as to a service that went away."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
