"""Network helpers for tests that start servers of their own."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Another process may take it before the caller binds it. A server of ours
    should rather be told ``127.0.0.1:0`` and asked where it listens
    (``SessionServer.ports``, ``ServerProcess.address()``); this is for what
    cannot say so: a database server started by its own binary, or an address
    that must have no server at all.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
