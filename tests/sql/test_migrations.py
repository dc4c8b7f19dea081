"""The shipped migrations: from an empty database, and from every earlier revision, to the head.

Parametrised over the revisions the package ships, so each new migration is
covered by adding it, with no change here.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from adk_grpc_sessions.server.backends.base import (
    NEVER,
    Condition,
    EventWindow,
    Field,
    ForkPointUnknownError,
    Metadata,
    Operator,
    OrderBy,
    ScopedState,
    SessionKey,
    SessionQuery,
    SessionUpdate,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema, schema_version
from adk_grpc_sessions.server.cli.main import main
from tests.sql.conftest import DATABASE_KINDS, new_database_uri

EARLIER_REVISIONS = [None, *schema_version.revisions_oldest_first()[:-1]]
"""Where an upgrade may start from: an empty database, or any revision but the head."""


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"version_table": schema.VERSION_TABLE})
    return list(compare_metadata(context, schema.metadata))


@pytest.mark.parametrize("kind", DATABASE_KINDS)
@pytest.mark.parametrize("start", EARLIER_REVISIONS, ids=lambda r: r or "empty")
async def test_upgrade_reaches_the_schema_the_code_expects(
    kind: str, start: str | None, tmp_path: pathlib.Path
) -> None:
    backend = SqlBackend.from_uri(await new_database_uri(kind, tmp_path))
    try:
        if start is not None:
            await schema_version.upgrade(backend.engine, target=start)
        await backend.upgrade_schema()
        assert await schema_version.current_revision(backend.engine) == schema_version.head_revision()
        async with backend.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        await backend.start()
        created = await backend.create_session(SessionKey("a", "u", "s"), ScopedState(app={"k": "1"}), 1.0)
        assert await backend.get_session(created.key, EventWindow()) == created
    finally:
        await backend.close()


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_upgrade_is_idempotent_and_keeps_data(kind: str, tmp_path: pathlib.Path) -> None:
    backend = SqlBackend.from_uri(await new_database_uri(kind, tmp_path))
    try:
        first = await backend.upgrade_schema()
        await backend.start()
        key = SessionKey("a", "u", "s")
        await backend.create_session(key, ScopedState(session={"k": "1"}), 1.0)
        again = await backend.upgrade_schema()
        assert "upgraded from (empty)" in first
        assert "already at" in again
        assert await backend.get_session(key, EventWindow()) is not None
    finally:
        await backend.close()


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_concurrent_upgrades_of_one_database_all_succeed(kind: str, tmp_path: pathlib.Path) -> None:
    import asyncio

    uri = await new_database_uri(kind, tmp_path)
    # Six: on a new SQLite file, six servers starting at once failed in 31 of
    # 40 tries ("database is locked" turning it to WAL) before that waited.
    backends = [SqlBackend.from_uri(uri) for _ in range(6)]
    try:
        await asyncio.gather(*(b.upgrade_schema() for b in backends))
        assert await schema_version.current_revision(backends[0].engine) == schema_version.head_revision()
    finally:
        for b in backends:
            await b.close()


async def test_servers_starting_at_once_on_a_new_sqlite_file_all_succeed(tmp_path: pathlib.Path) -> None:
    import asyncio

    # The race (turning the new file to WAL) is lost only now and then: run it often.
    for attempt in range(15):
        backends = [SqlBackend.from_uri(f"sqlite:///{tmp_path / f'new{attempt}.db'}") for _ in range(6)]
        try:
            await asyncio.gather(*(b.upgrade_schema() for b in backends))
        finally:
            for b in backends:
                await b.close()


async def test_start_refuses_a_database_without_the_schema(tmp_path: pathlib.Path) -> None:
    backend = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(RuntimeError, match="db upgrade"):
            await backend.start()
    finally:
        await backend.close()


def test_db_upgrade_command_creates_then_reports_the_schema_current(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'nested' / 'sessions.db'}"
    assert main(["db", "upgrade", "--backend", uri]) == 0
    assert "upgraded from (empty) to" in capsys.readouterr().out
    assert main(["db", "upgrade", "--backend", uri]) == 0
    assert "already at" in capsys.readouterr().out


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_upgrade_to_the_lifecycle_keeps_sessions_which_never_expire_and_are_open(
    kind: str, tmp_path: pathlib.Path
) -> None:
    backend = SqlBackend.from_uri(await new_database_uri(kind, tmp_path))
    try:
        await schema_version.upgrade(backend.engine, target="0001")
        # Rows as revision 0001 holds them: only the columns it has.
        async with backend.transaction(write=True) as connection:
            await connection.execute(
                sa.insert(schema.sessions).values(
                    session_pk=1,
                    app_name="a",
                    user_id="u",
                    session_id="s",
                    create_time=1.0,
                    last_update_time=2.0,
                    revision=4,
                    last_sequence=1,
                )
            )
            await connection.execute(
                sa.insert(schema.events).values(
                    event_pk=2,
                    session_pk=1,
                    sequence=1,
                    event_id="e1",
                    invocation_id="i",
                    author="user",
                    branch="",
                    timestamp=2.0,
                    event_json='{"id": "e1"}',
                )
            )
            await connection.execute(
                sa.insert(schema.session_state).values(
                    session_pk=1, key_digest=schema.key_digest("k"), state_key="k", value="1"
                )
            )
        await backend.upgrade_schema()
        await backend.start()
        key = SessionKey("a", "u", "s")
        read = await backend.get_session(key, EventWindow())
        assert read is not None
        assert ([e.id for e in read.events], read.state.session, read.revision) == (["e1"], {"k": "1"}, 4)
        assert (read.expiry, read.close_time) == (NEVER, None)
        assert await backend.count_expired() == 0
        closed = await backend.close_session(key, 3.0, None)
        assert closed.close_time == 3.0
    finally:
        await backend.close()


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_upgrade_to_metadata_keeps_sessions_without_metadata_which_fork_whole_only(
    kind: str, tmp_path: pathlib.Path
) -> None:
    backend = SqlBackend.from_uri(await new_database_uri(kind, tmp_path))
    try:
        await schema_version.upgrade(backend.engine, target="0002")
        # Rows as revision 0002 holds them: a session of two invocations whose events set state.
        async with backend.transaction(write=True) as connection:
            # (Keys drawn from the tables' own sequences: the fork below draws the next ones.)
            session_pk = (
                await connection.execute(
                    sa.insert(schema.sessions)
                    .values(
                        app_name="a",
                        user_id="u",
                        session_id="s",
                        create_time=1.0,
                        last_update_time=3.0,
                        revision=6,
                        last_sequence=2,
                        events_bytes=300,
                        state_bytes=2 + 16,
                    )
                    .returning(schema.sessions.c.session_pk)
                )
            ).scalar_one()
            for sequence, invocation in ((1, "i1"), (2, "i2")):
                await connection.execute(
                    sa.insert(schema.events).values(
                        session_pk=session_pk,
                        sequence=sequence,
                        event_id=f"e{sequence}",
                        invocation_id=invocation,
                        author="user",
                        branch="",
                        timestamp=1.0 + sequence,
                        state_delta=f'{{"session": {{"k": "{sequence}"}}}}',
                        event_json=f'{{"id": "e{sequence}"}}',
                        size_bytes=150,
                    )
                )
            await connection.execute(
                sa.insert(schema.session_state).values(
                    session_pk=1,
                    key_digest=schema.key_digest("k"),
                    state_key="k",
                    value="2",
                    entry_bytes=2 + 16,
                )
            )
        await backend.upgrade_schema()
        await backend.start()
        key = SessionKey("a", "u", "s")
        read = await backend.get_session(key, EventWindow())
        assert read is not None
        assert (read.metadata, read.forked_from) == (Metadata(), None)
        assert (read.event_count, read.stored_bytes, read.revision) == (2, 318, 6)
        with pytest.raises(ForkPointUnknownError):
            await backend.fork_session(key, "f", 4.0, before_invocation_id="i2")
        whole = await backend.fork_session(key, "f", 4.0)
        assert (whole.state.session, whole.event_count) == ({"k": "2"}, 2)
        await backend.update_session(key, SessionUpdate(display_name="old", labels={"era": "r0002"}))
        labelled = SessionQuery((Condition(Field.LABEL, Operator.EQ, "r0002", "era"),), OrderBy.CREATE_TIME)
        page = await backend.list_sessions("a", "u", 10, None, query=labelled)
        assert [(r.key.session_id, r.metadata) for r in page.items] == [
            ("s", Metadata("old", {"era": "r0002"}))
        ]
    finally:
        await backend.close()
