"""A process that purges a database's expired sessions, for tests of purges in several processes.

``python -m tests.sql.purging_process URI LIMIT [--once]``: starts a backend,
prints ``ready``, waits for a line on stdin, then purges batches of LIMIT
until a batch comes back empty (or one batch with ``--once``), and prints
the keys it purged as one JSON list.
"""

from __future__ import annotations

import asyncio
import json
import sys

from adk_grpc_sessions.server.backends.sql import SqlBackend


async def _purge(uri: str, limit: int, once: bool) -> list[list[str]]:
    backend = SqlBackend.from_uri(uri)
    await backend.start()
    purged: list[list[str]] = []
    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        while True:
            batch = await backend.purge_expired(limit)
            purged += [[key.app_name, key.user_id, key.session_id] for key in batch.purged]
            if once or batch.done:
                return purged
    finally:
        await backend.close()


if __name__ == "__main__":
    print(
        json.dumps(asyncio.run(_purge(sys.argv[1], int(sys.argv[2]), "--once" in sys.argv[3:]))), flush=True
    )
