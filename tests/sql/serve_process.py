"""Runs ``adk-grpc-sessions serve`` as a real subprocess, as users and deployments do."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.databases import free_port

_READY_TIMEOUT_SECONDS = 60.0


@contextlib.contextmanager
def serve_process(*args: str, cwd: pathlib.Path) -> Iterator[str]:
    """Starts ``adk-grpc-sessions serve ARGS`` in ``cwd`` on a free port; yields ``host:port`` once it serves.

    No ``ADK_GRPC_SESSIONS_*`` variable of ours leaks in, so defaults are the real defaults.
    """
    address = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADK_GRPC_SESSIONS_")}
    command = [sys.executable, "-m", "adk_grpc_sessions.server.cli", "serve", "--listen", address, *args]
    log = (cwd / f"serve-{address.replace(':', '-')}.log").open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(address, process)
        yield address
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_serving(address: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"adk-grpc-sessions serve exited with {process.returncode}")
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise RuntimeError(
        f"adk-grpc-sessions serve did not serve on {address} within {_READY_TIMEOUT_SECONDS} s"
    )
