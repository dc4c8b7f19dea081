"""CPU time per operation: the benchmark's own process (the client) and the server process.

Throughput on a shared 2-core machine moves with whatever else runs on it;
CPU time per operation barely does, so it shows where the cost of an append
lies (the client, the server, or neither) when the ratios drift from run to
run. A database server's own processes are not counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuReading:
    """CPU seconds used so far by this process and by the server process (None without one)."""

    client: float
    server: float | None


class CpuMeter:
    """Reads this process's CPU time and, given its pid, a server process's."""

    def __init__(self, server_pid: int | None) -> None:
        """A meter for this process and the server ``server_pid`` (None: an in-process service)."""
        self._server_stat = Path(f"/proc/{server_pid}/stat") if server_pid is not None else None

    def read(self) -> CpuReading:
        """The CPU seconds (user and system, all threads) used so far."""
        times = os.times()
        server = None
        if self._server_stat is not None:
            # Fields 14 and 15 (utime, stime) follow the parenthesised command name.
            fields = self._server_stat.read_text().rpartition(")")[2].split()
            server = (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND
        return CpuReading(client=times.user + times.system, server=server)

    @staticmethod
    def per_operation(before: CpuReading, after: CpuReading, operations: int) -> dict[str, float]:
        """Microseconds of CPU per operation between two readings, by process."""
        if operations <= 0:
            return {}
        per_op = {"client_cpu_us": (after.client - before.client) / operations * 1e6}
        if before.server is not None and after.server is not None:
            per_op["server_cpu_us"] = (after.server - before.server) / operations * 1e6
        return per_op
