"""Real database servers for tests: named by an environment variable, or started here.

Each kind of server comes from ``ADK_GRPC_SESSIONS_TEST_<KIND>_URL`` when it is
set (a server URL whose user may create databases), or else is started as a
throwaway in a temp dir on a free port from the binaries Debian installs
(PostgreSQL: initdb + pg_ctl; MariaDB: mariadb-install-db + mariadbd), and
stopped when the test session ends. ``ServerUnavailableError`` says why a
server could not be had; the fixtures turn it into a skip, or a failure when
``ADK_GRPC_SESSIONS_TEST_REQUIRE_DATABASES=1`` (CI).

Servers started here are shared by the whole process (``shared_server``) and
stopped when it exits. Only ``server_for_tests`` knows pytest; the rest serves
benchmarks and scripts as well.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from sqlalchemy.engine import URL, make_url

from tests.net import free_port

ENV_POSTGRES_URL: Final = "ADK_GRPC_SESSIONS_TEST_POSTGRES_URL"
ENV_MYSQL_URL: Final = "ADK_GRPC_SESSIONS_TEST_MYSQL_URL"
ENV_REQUIRE_DATABASES: Final = "ADK_GRPC_SESSIONS_TEST_REQUIRE_DATABASES"
_START_TIMEOUT_SECONDS: Final = 60.0


class ServerUnavailableError(Exception):
    """No server of this kind can be had here; the message says why and how to provide one."""


class DatabaseServer(Protocol):
    """A database server on which tests create throwaway databases."""

    url: URL
    """The server URL (its maintenance database), without a driver."""

    async def create_database(self) -> str:
        """Creates an empty database; returns its URL (no driver named) as text."""
        ...

    def stop(self) -> None:
        """Stops the server if it was started here; forgets it otherwise."""
        ...


def databases_required() -> bool:
    """Whether a missing server must fail the tests instead of skipping them (CI)."""
    return os.environ.get(ENV_REQUIRE_DATABASES, "") not in ("", "0", "false", "no")


def _database_name() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


def _as_unprivileged(command: list[str], user: str) -> list[str]:
    """``command`` run as ``user`` when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", user, "--", *command]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=_START_TIMEOUT_SECONDS
    )
    if done.returncode != 0:
        raise ServerUnavailableError(
            f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout}"
        )


# --- PostgreSQL ------------------------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A PostgreSQL server: ``start_postgres()``'s own, or ``ADK_GRPC_SESSIONS_TEST_POSTGRES_URL``'s."""

    url: URL
    data_dir: Path | None = None
    _pg_ctl: str | None = None
    _owner: str = "postgres"

    async def create_database(self) -> str:
        """See ``DatabaseServer.create_database``."""
        import asyncpg

        name = _database_name()
        connection = await asyncpg.connect(self.url.set(drivername="postgresql").render_as_string(False))
        try:
            await connection.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        finally:
            await connection.close()
        return self.url.set(database=name).render_as_string(hide_password=False)

    def halt(self) -> None:
        """Shuts a throwaway server down, keeping its data, as a crash or an outage would."""
        assert self.data_dir is not None and self._pg_ctl is not None, "only a server started here"
        _run(self._ctl("-m", "fast", "stop"), "pg_ctl stop")

    def resume(self) -> None:
        """Starts a halted throwaway server again, on the same port."""
        _run(self._ctl("-w", "-t", "60", "start"), "pg_ctl start")

    def crash(self, how: Literal["immediate", "kill"]) -> None:
        """Stops a throwaway server as a crash would, keeping its data; ``resume`` then recovers it.

        ``immediate``: ``pg_ctl stop -m immediate``, every process quits at once,
        with no checkpoint and no flush. ``kill``: SIGKILL of the postmaster
        alone, as the kernel's OOM killer does; its children notice and quit,
        and this returns once every one of them is gone (the next postmaster
        refuses to start while any is alive).

        Raises:
            ServerUnavailableError: the processes did not go away in time.
        """
        assert self.data_dir is not None and self._pg_ctl is not None, "only a server started here"
        if how == "immediate":
            _run(self._ctl("-m", "immediate", "stop"), "pg_ctl stop -m immediate")
            return
        postmaster = int((self.data_dir / "data" / "postmaster.pid").read_text().split()[0])
        processes = {postmaster, *_children_of(postmaster)}
        os.kill(postmaster, signal.SIGKILL)
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while alive := [pid for pid in processes if Path(f"/proc/{pid}").exists()]:
            if time.monotonic() > deadline:
                raise ServerUnavailableError(f"PostgreSQL processes {alive} still there after SIGKILL")
            time.sleep(0.05)

    def _ctl(self, *args: str) -> list[str]:
        assert self.data_dir is not None and self._pg_ctl is not None
        data = str(self.data_dir / "data")
        return _as_unprivileged(
            [self._pg_ctl, "-D", data, "-l", str(self.data_dir / "server.log"), *args], self._owner
        )

    def stop(self) -> None:
        """See ``DatabaseServer.stop``."""
        if self.data_dir is None or self._pg_ctl is None:
            return
        subprocess.run(
            _as_unprivileged(
                [self._pg_ctl, "-D", str(self.data_dir / "data"), "-m", "immediate", "stop"], self._owner
            ),
            capture_output=True,
            check=False,
            timeout=_START_TIMEOUT_SECONDS,
        )
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir = None


def _children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` now (from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def start_postgres(*, durable: bool = False) -> PostgresServer:
    """Starts a throwaway PostgreSQL on a free port of 127.0.0.1.

    ``durable=False`` (tests) turns fsync off; benchmarks pass True to
    measure with PostgreSQL's default, crash-safe settings.

    Raises:
        ServerUnavailableError: PostgreSQL is not installed or did not start.
    """
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise ServerUnavailableError(
            f"PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql, "
            f"or set {ENV_POSTGRES_URL}"
        )
    owner = "postgres"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(owner)
        except KeyError:
            raise ServerUnavailableError(
                "running as root and there is no 'postgres' user to run PostgreSQL as"
            ) from None
    base = Path(tempfile.mkdtemp(prefix="adk-grpc-sessions-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, owner, owner)
    port = free_port()
    settings = {
        "port": str(port),
        "unix_socket_directories": str(base),
        "listen_addresses": "127.0.0.1",
        "max_connections": "200",
    }
    if not durable:
        settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
    try:
        initdb_command = [initdb, "-D", str(base / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        _run(_as_unprivileged([*initdb_command, "--no-locale"], owner), "initdb")
        # In the data directory, so that resume()'s plain "pg_ctl start" uses them too.
        with (base / "data" / "postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())
        server = PostgresServer(
            url=URL.create(
                "postgresql", username="postgres", host="127.0.0.1", port=port, database="postgres"
            ),
            data_dir=base,
            _pg_ctl=pg_ctl,
            _owner=owner,
        )
        server.resume()
        return server
    except (ServerUnavailableError, OSError, subprocess.TimeoutExpired) as exc:
        log = base / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise ServerUnavailableError(f"could not start PostgreSQL: {exc}\n{detail}") from None


def postgres_server() -> PostgresServer:
    """The PostgreSQL server for tests: ``ADK_GRPC_SESSIONS_TEST_POSTGRES_URL``'s, or a throwaway one."""
    given = os.environ.get(ENV_POSTGRES_URL)
    if given:
        return PostgresServer(url=make_url(given).set(drivername="postgresql"))
    return start_postgres()


# --- MariaDB / MySQL -------------------------------------------------------------------------------


@dataclass
class MariaDBServer:
    """A MariaDB (or MySQL) server: ``start_mariadb()``'s own, or ``ADK_GRPC_SESSIONS_TEST_MYSQL_URL``'s."""

    url: URL
    data_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    command: list[str] = field(default_factory=list)
    """How a throwaway server was started (to resume it)."""

    def halt(self) -> None:
        """Shuts a throwaway server down, keeping its data, as a crash or an outage would."""
        assert self.process is not None, "only a running server started here"
        self._terminate()

    def resume(self) -> None:
        """Starts a halted throwaway server again, on the same port, and waits until it answers.

        Raises:
            ServerUnavailableError: it did not come up.
        """
        assert self.command and self.data_dir is not None, "only a server started here"
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        last_error: Exception | None = None
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                _probe_mysql(self.url)
                return
            except Exception as exc:
                last_error = exc
                time.sleep(0.2)
        log = self.data_dir / "error.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ServerUnavailableError(f"MariaDB did not start: {last_error}\n{detail}")

    def _terminate(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=_START_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    async def create_database(self) -> str:
        """See ``DatabaseServer.create_database``."""
        name = _database_name()
        connection = await _mysql_connect(self.url)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        finally:
            connection.close()
        return self.url.set(database=name).render_as_string(hide_password=False)

    def stop(self) -> None:
        """See ``DatabaseServer.stop``."""
        self._terminate()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


async def _mysql_connect(url: URL) -> Any:
    import asyncmy

    return await asyncmy.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=url.database or None,
        connect_timeout=5,
    )


async def mysql_connect(url: URL) -> Any:
    """A connection (asyncmy) to the MySQL/MariaDB server or database of ``url``; the caller closes it."""
    return await _mysql_connect(url)


def _probe_mysql(url: URL) -> None:
    """Connects once; in a thread of its own, as the caller may be inside an event loop."""

    async def probe() -> None:
        connection = await _mysql_connect(url)
        connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, probe()).result()


def start_mariadb(*, durable: bool = False) -> MariaDBServer:
    """Starts a throwaway MariaDB on a free port of 127.0.0.1.

    Raises:
        ServerUnavailableError: MariaDB is not installed or did not start.
    """
    install_db, mariadbd = (
        shutil.which("mariadb-install-db"),
        shutil.which("mariadbd") or ("/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None),
    )
    if install_db is None or mariadbd is None:
        raise ServerUnavailableError(
            f"MariaDB is not installed (no mariadb-install-db/mariadbd): apt-get install mariadb-server, "
            f"or set {ENV_MYSQL_URL}"
        )
    base = Path(tempfile.mkdtemp(prefix="adk-grpc-sessions-mariadb-"))
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    # A temporary directory of its own: MariaDB keeps its internal temporary tables there as
    # "#sql..." files, and deletes every "#sql..." file of its temporary directory when it
    # starts. In a shared /tmp, any other server starting (another test's, a resumed one)
    # would delete the files of tables in use: the statement then fails ("Error on delete of
    # '/tmp/#sql-temptable-....MAI'", an InternalError), or the server crashes.
    tmp_dir = base / "tmp"
    tmp_dir.mkdir()
    try:
        _run(
            [
                install_db,
                "--no-defaults",
                f"--datadir={base / 'data'}",
                f"--tmpdir={tmp_dir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *as_root,
            ],
            "mariadb-install-db",
        )
    except (ServerUnavailableError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        raise ServerUnavailableError(f"could not initialise MariaDB: {exc}") from None
    port = free_port()
    command = [
        mariadbd,
        "--no-defaults",
        f"--datadir={base / 'data'}",
        f"--socket={base / 'mariadb.sock'}",
        f"--pid-file={base / 'mariadb.pid'}",
        f"--log-error={base / 'error.log'}",
        f"--tmpdir={tmp_dir}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        "--skip-log-bin",
        "--max-allowed-packet=64M",
        "--max-connections=300",
        "--innodb-buffer-pool-size=128M",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_bin",
        *as_root,
    ]
    if not durable:
        command += ["--innodb-flush-log-at-trx-commit=2", "--innodb-doublewrite=0"]
    server = MariaDBServer(
        url=URL.create("mysql", username="root", host="127.0.0.1", port=port), data_dir=base
    )
    server.command = command
    try:
        server.resume()
    except ServerUnavailableError:
        server.stop()
        raise
    return server


def mysql_server() -> MariaDBServer:
    """The MySQL/MariaDB server for tests: ``ADK_GRPC_SESSIONS_TEST_MYSQL_URL``'s, or a throwaway MariaDB."""
    given = os.environ.get(ENV_MYSQL_URL)
    if given:
        url = make_url(given)
        return MariaDBServer(url=url.set(drivername=url.get_backend_name()))
    return start_mariadb()


# --- one server of each kind per process -----------------------------------------------------------

Kind = Literal["postgresql", "mariadb"]
_shared: dict[str, DatabaseServer | ServerUnavailableError] = {}


def shared_server(kind: Kind) -> DatabaseServer:
    """This process's server of ``kind``, started (or found) on first use, stopped at exit.

    Raises:
        ServerUnavailableError: none can be had (the same error on every call).
    """
    if kind not in _shared:
        try:
            server: DatabaseServer = postgres_server() if kind == "postgresql" else mysql_server()
        except ServerUnavailableError as exc:
            _shared[kind] = exc
        else:
            _shared[kind] = server
            atexit.register(server.stop)
    found = _shared[kind]
    if isinstance(found, ServerUnavailableError):
        raise found
    return found


def create_database_blocking(server: DatabaseServer) -> str:
    """``server.create_database()`` from synchronous code, even inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, server.create_database()).result()


def server_for_tests(kind: Kind) -> DatabaseServer:
    """``shared_server(kind)``, or the test skipped with the reason (failed instead in CI)."""
    import pytest

    try:
        return shared_server(kind)
    except ServerUnavailableError as exc:
        message = (
            f"no {kind} server for this test: {exc} "
            f"(set {ENV_REQUIRE_DATABASES}=1 to make this a failure, as CI does)"
        )
        if databases_required():
            pytest.fail(message)
        pytest.skip(message)
