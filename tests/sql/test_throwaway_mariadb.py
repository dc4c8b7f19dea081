"""The tests' throwaway MariaDB servers keep their temporary tables apart from each other's.

MariaDB deletes every ``#sql...`` file of its temporary directory when it
starts (leftovers of a crash, it assumes). Servers sharing /tmp deleted the
on-disk temporary tables of each other's running statements whenever one
started: a listing failed with an InternalError (errno 6, "Error on delete
of '/tmp/#sql-temptable-...MAI'"), or the server crashed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import databases

pytestmark = pytest.mark.slow


def _started() -> databases.MariaDBServer:
    try:
        return databases.start_mariadb()
    except databases.ServerUnavailableError as exc:
        if databases.databases_required():
            pytest.fail(f"no MariaDB for this test: {exc}")
        pytest.skip(f"no MariaDB for this test: {exc}")


async def _tmp_dir(server: databases.MariaDBServer) -> Path:
    connection = await databases.mysql_connect(server.url)
    try:
        async with connection.cursor() as cursor:
            await cursor.execute("SELECT @@tmpdir")
            (tmp_dir,) = await cursor.fetchone()
    finally:
        connection.close()
    return Path(tmp_dir)


async def test_a_server_starting_leaves_the_temporary_tables_of_another_alone() -> None:
    first = _started()
    table_file: Path | None = None
    try:
        # Named as MariaDB names the index file of an on-disk temporary table.
        table_file = await _tmp_dir(first) / "#sql-temptable-test-1-1.MAI"
        table_file.write_bytes(b"")
        _started().stop()
        assert table_file.exists(), "another server's start deleted a temporary table of this one"
    finally:
        if table_file is not None:
            table_file.unlink(missing_ok=True)
        first.stop()
