"""Server settings: each one a flag, an ``ADK_GRPC_SESSIONS_*`` environment variable, and a default.

``SETTINGS`` is the one table the command line, the environment and
``--help`` are all built from, so the three can never disagree.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from adk_grpc_sessions.server.runtime.tls import TlsFiles
from adk_grpc_sessions.wire import limits

ENV_PREFIX: Final = "ADK_GRPC_SESSIONS_"
DEFAULT_LISTEN: Final = "127.0.0.1:50051"
DEFAULT_BACKEND: Final = "sqlite:///./data/sessions.db"
"""An embedded SQLite file under the working directory: sessions survive a restart with no set-up."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``serve`` needs to run one server."""

    listen: list[str] = field(default_factory=lambda: [DEFAULT_LISTEN])
    """Addresses to listen on: ``HOST:PORT`` or ``unix:PATH``."""
    backend: str = DEFAULT_BACKEND
    """Backend URI, e.g. ``memory://`` or ``sqlite:///data/sessions.db``."""
    no_migrate: bool = False
    """Leave the backend's schema alone at start (and refuse to start unless it is current)."""
    max_message_bytes: int = limits.DEFAULT_MAX_MESSAGE_BYTES
    """Largest request accepted and response sent: room for events with inline images."""
    max_state_bytes: int = limits.DEFAULT_MAX_STATE_BYTES
    """Most bytes one scope of state (an app's, a user's, a session's) may hold (``limits.state_bytes``)."""
    max_session_bytes: int = limits.DEFAULT_MAX_SESSION_BYTES
    """Most bytes of events one session may hold (the sum of their sizes in responses)."""
    max_page_size: int = limits.MAX_PAGE_SIZE
    """Cap on ``page_size`` of list calls."""
    max_call_seconds: float = limits.DEFAULT_MAX_CALL_SECONDS
    """Longest any call may run, whatever the client's deadline."""
    max_pending_requests: int = 10_000
    """Calls that may wait to be served before new ones are refused (gRPC core's default is 1,000)."""
    grace_seconds: float = 10.0
    """How long in-flight calls may run on after a stop signal."""
    reflection: bool = True
    health_interval: float = 2.0
    """Seconds between backend health checks."""
    socket_mode: int = 0o660
    """File mode of Unix sockets the server creates."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    tokens_file: Path | None = None
    tokens: str | None = None
    """Token grant lines given directly (``;`` separates lines)."""
    page_token_key_file: Path | None = None
    """File of page-token keys, one a line; the first signs. None: see ``page_token_keys``."""
    page_token_key: str | None = field(default=None, repr=False)  # a secret: never in a repr or a log
    """Page-token keys given directly (``;`` separates keys); the first signs."""
    allow_unauthenticated: bool = False
    metrics_listen: str | None = None
    log_format: str = "json"
    log_level: str = "INFO"
    event_loop: str = "auto"
    """auto (uvloop where installed, else asyncio), uvloop or asyncio."""
    otel_endpoint: str | None = None
    """OTLP/gRPC endpoint for traces; also enabled by ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
    session_ttl: float | None = None
    """Seconds a session created without an expiry lives; None: until deleted."""
    session_ttl_refresh_on_append: bool = False
    """Each stored append moves its session's expiry to the append's time plus its ttl."""
    closed_session_ttl: float | None = None
    """Seconds a closed session is kept after its close at most; None: as if open."""
    purge_interval: float = 60.0
    """Seconds between the sweeper's runs."""
    purge_batch_size: int = 100
    """Sessions one purge transaction deletes at most."""
    event_cache_bytes: int = 64 * 1024 * 1024
    """Most bytes of stored events a SQLite server keeps in memory to answer reads (0: none).

    ``backends.base.DEFAULT_EVENT_CACHE_BYTES``, written out: every command reads this table, and
    none but ``serve`` should pay for importing the backends."""
    watch_buffer_bytes: int = 8 * 1024 * 1024
    """Most undelivered bytes one watcher may leave on the server before its stream ends (one event,
    however large, is always accepted)."""
    watch_sessions_pending: int = 10_000
    """Most sessions one WatchSessions stream may leave waiting for their notice before it ends."""
    watch_poll_interval: float = 0.25
    """Seconds between polls of watched sessions, on storage that cannot notify (MySQL/MariaDB)."""
    watch_delivery_share: float = 0.03
    """Share of the event loop's time one busy session's deliveries to its watchers may take.

    ``api.watch.DEFAULT_DELIVERY_SHARE`` (which says what it trades), written out: every command reads
    this table, and none but ``serve`` should pay for importing the API."""

    @property
    def tls(self) -> TlsFiles | None:
        """The TLS files, if TLS is configured."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        return TlsFiles(self.tls_cert, self.tls_key, self.tls_client_ca)

    @property
    def has_tokens(self) -> bool:
        """Whether calls must carry a bearer token."""
        return self.tokens_file is not None or bool(self.tokens)

    def check(self) -> None:
        """Rejects settings that cannot work or would expose sessions.

        Raises:
            ValueError: with a one-line explanation.
        """
        if not self.listen:
            raise ValueError("nothing to listen on: give at least one --listen address")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.tls_client_ca is not None and self.tls is None:
            raise ValueError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
        for name in ("max_message_bytes", "max_page_size", "max_pending_requests"):
            if getattr(self, name) <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive")
        limits.check_limits(
            max_message_bytes=self.max_message_bytes,
            max_state_bytes=self.max_state_bytes,
            max_session_bytes=self.max_session_bytes,
        )
        for name in ("session_ttl", "closed_session_ttl"):
            value = getattr(self, name)
            if value is not None and not 0 < value <= limits.MAX_TTL_SECONDS:
                raise ValueError(f"--{name.replace('_', '-')} must be positive and at most 100 years")
        if self.event_cache_bytes < 0:
            raise ValueError("--event-cache-bytes must be 0 or more")
        if self.watch_buffer_bytes <= 0:
            raise ValueError("--watch-buffer-bytes must be positive")
        if self.watch_sessions_pending <= 0:
            raise ValueError("--watch-sessions-pending must be positive")
        if self.purge_batch_size <= 0:
            raise ValueError("--purge-batch-size must be positive")
        if not 0 < self.watch_delivery_share <= 1:
            raise ValueError("--watch-delivery-share must be more than 0 and at most 1")
        for name in ("max_call_seconds", "health_interval", "purge_interval", "watch_poll_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive")
        if self.page_token_key_file is not None and self.page_token_key:
            raise ValueError("give --page-token-key-file or --page-token-key (its variable), not both")
        if self.grace_seconds < 0:
            raise ValueError("--grace-seconds must not be negative")
        if self.event_loop not in ("auto", "uvloop", "asyncio"):
            raise ValueError(f"--event-loop is auto, uvloop or asyncio, got {self.event_loop!r}")
        if self.log_format not in ("json", "text"):
            raise ValueError(f"--log-format is json or text, got {self.log_format!r}")
        exposed = [a for a in self.listen if not is_local_address(a)]
        if exposed and not (self.tls is not None and self.has_tokens) and not self.allow_unauthenticated:
            abstract = any(a.startswith("unix-abstract:") for a in exposed)
            raise ValueError(
                f"refusing to serve sessions unprotected on {', '.join(exposed)}: "
                + (
                    "an abstract Unix socket has no file permissions to keep other processes out "
                    "(unix:PATH has), so like a non-loopback address it "
                    if abstract
                    else "a non-loopback address "
                )
                + "needs TLS (--tls-cert/--tls-key) and tokens (--tokens-file), or an explicit "
                "--allow-unauthenticated"
            )


def is_local_address(address: str) -> bool:
    """Whether ``address`` may serve without TLS and tokens: a Unix socket file or a loopback TCP address.

    A ``unix-abstract:`` socket is not one: it has no file and so no file
    permissions. Anyone who chose a Unix socket to keep other processes out
    (another container of the pod, another user) would not get that, and any
    process may take the name first. Loopback TCP is no more private, but it
    is the development default and promises nothing else.
    """
    if address.startswith("unix:"):
        return True
    if address.startswith("unix-abstract:"):
        return False
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name (or 0.0.0.0-style wildcard) may be reachable from anywhere


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


_DURATION: Final = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[smhd]?)")
_UNIT_SECONDS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration(value: str) -> float:
    """Seconds from ``"30d"``, ``"12h"``, ``"15m"``, ``"90s"`` or plain seconds (``"90"``, ``"0.5"``).

    Raises:
        ValueError: anything else.
    """
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise ValueError(f"expected a duration such as 30d, 12h, 15m, 90s or plain seconds, got {value!r}")
    return float(match["number"]) * _UNIT_SECONDS[match["unit"]]


def _octal(value: str) -> int:
    return int(value, 8)


def _addresses(value: str) -> list[str]:
    return [a.strip() for a in value.split(",") if a.strip()]


@dataclass(frozen=True, slots=True)
class Setting:
    """One configurable value of ``ServerConfig``."""

    name: str
    """The ``ServerConfig`` field; flag ``--name-with-dashes``, env var ``ADK_GRPC_SESSIONS_NAME``."""
    help: str
    parse: Callable[[str], Any] = str
    metavar: str | None = None
    switch: bool = False
    """A flag without a value (``--allow-unauthenticated``, ``--no-reflection``)."""

    @property
    def flag(self) -> str:
        """The command-line flag."""
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        """The environment variable."""
        return ENV_PREFIX + self.name.upper()


SETTINGS: Final = (
    Setting(
        "listen",
        "address to listen on: HOST:PORT or unix:PATH; repeat for several (env: comma-separated)",
        _addresses,
        "ADDRESS",
    ),
    Setting("backend", "where sessions are kept: a backend URI", str, "URI"),
    Setting(
        "no_migrate",
        "do not create or upgrade the backend's schema at start; refuse to start unless it is current "
        "(then run 'adk-grpc-sessions db upgrade')",
        _flag,
        switch=True,
    ),
    Setting(
        "tls_cert",
        "PEM certificate chain; enables TLS on TCP addresses (re-read when it changes)",
        Path,
        "FILE",
    ),
    Setting("tls_key", "PEM private key of --tls-cert", Path, "FILE"),
    Setting(
        "tls_client_ca", "PEM CA bundle: require client certificates signed by it (mutual TLS)", Path, "FILE"
    ),
    Setting(
        "tokens_file",
        "file of bearer-token grants, one 'NAME SHA256-HEX APP[,APP...]' per line; "
        "see 'adk-grpc-sessions token new'",
        Path,
        "FILE",
    ),
    Setting("tokens", "token grant lines given directly, separated by ';'", str, "GRANTS"),
    Setting(
        "page_token_key_file",
        "file of keys that sign page tokens, one a line (at least 32 characters each, e.g. from "
        "'openssl rand -hex 32'); the first signs, every one is accepted (rotate by adding a new first "
        "line). Give replicas the same keys so each accepts the others' tokens. Default: for a SQLite "
        "file, a key generated next to it; otherwise a key of this process only",
        Path,
        "FILE",
    ),
    Setting(
        "page_token_key",
        "page-token keys given directly, separated by ';' (as --page-token-key-file; prefer the "
        "environment variable, as a flag shows in the process list)",
        str,
        "KEYS",
    ),
    Setting(
        "allow_unauthenticated",
        "serve a non-loopback address without TLS and tokens (trusted networks only)",
        _flag,
        switch=True,
    ),
    Setting(
        "metrics_listen", "serve Prometheus metrics over HTTP on HOST:PORT at /metrics", str, "HOST:PORT"
    ),
    Setting("max_message_bytes", "largest request accepted and response sent, in bytes", int, "N"),
    Setting(
        "max_state_bytes",
        "most bytes one scope of state (an app's, a user's, a session's) may hold; "
        "3 x this + 64 KiB must be at most --max-message-bytes",
        int,
        "N",
    ),
    Setting("max_session_bytes", "most bytes of events one session may hold", int, "N"),
    Setting("max_page_size", "largest page a list call returns", int, "N"),
    Setting("max_call_seconds", "longest any call may run, whatever the client's deadline", float, "S"),
    Setting("max_pending_requests", "calls that may queue before new ones are refused", int, "N"),
    Setting("grace_seconds", "on SIGTERM/SIGINT, how long in-flight calls may finish", float, "S"),
    Setting("health_interval", "seconds between backend health checks", float, "S"),
    Setting("socket_mode", "file mode of Unix sockets, in octal", _octal, "MODE"),
    Setting(
        "reflection", "gRPC server reflection (on by default; --reflection false to turn off)", _flag, "BOOL"
    ),
    Setting(
        "event_loop", "auto (uvloop where installed: more calls per second), uvloop or asyncio", str, "LOOP"
    ),
    Setting("log_format", "json (one object per line) or text", str, "FORMAT"),
    Setting("log_level", "DEBUG, INFO, WARNING or ERROR", str, "LEVEL"),
    Setting(
        "session_ttl",
        "how long a session created without an expiry (ttl/expire_time) lives, e.g. 30d, 12h, 90s; "
        "an expired session is gone at once and purged in the background (default: kept until deleted)",
        duration,
        "DURATION",
    ),
    Setting(
        "session_ttl_refresh_on_append",
        "sliding expiry: each stored append moves a session's expiry to now plus its ttl",
        _flag,
        switch=True,
    ),
    Setting(
        "closed_session_ttl",
        "keep a closed session at most this long after its close, e.g. 7d (default: as if open)",
        duration,
        "DURATION",
    ),
    Setting(
        "purge_interval",
        "time between the sweeper's purges of expired sessions, e.g. 60s",
        duration,
        "DURATION",
    ),
    Setting("purge_batch_size", "expired sessions one purge transaction deletes at most", int, "N"),
    Setting(
        "event_cache_bytes",
        "most bytes of stored events a SQLite server keeps in memory, so that a read of a session "
        "it read or appended to lately fetches only newer events (0: keep none)",
        int,
        "N",
    ),
    Setting(
        "watch_buffer_bytes",
        "most bytes of events one WatchSession stream may leave undelivered before it ends "
        "RESOURCE_EXHAUSTED (WATCHER_TOO_SLOW; the watcher resumes from its last revision)",
        int,
        "N",
    ),
    Setting(
        "watch_sessions_pending",
        "most sessions one WatchSessions stream may leave waiting for their notice (each session's "
        "changes fold into one) before it ends RESOURCE_EXHAUSTED (WATCHER_TOO_SLOW; the watcher "
        "watches again, from a new listing)",
        int,
        "N",
    ),
    Setting(
        "watch_poll_interval",
        "on MySQL/MariaDB (which cannot notify), time between polls of the watched sessions' revisions, "
        "e.g. 0.25s: how late a watcher may learn of another server's append",
        duration,
        "DURATION",
    ),
    Setting(
        "watch_delivery_share",
        "share of the event loop's time (more than 0, at most 1) that delivering one session's new "
        "events to its watchers may take while it is appended to without pause; a smaller share costs "
        "that session's appends less and its watchers more latency (fewer, larger messages)",
        float,
        "SHARE",
    ),
    Setting(
        "otel_endpoint",
        "send OpenTelemetry traces to this OTLP/gRPC endpoint (default: $OTEL_EXPORTER_OTLP_ENDPOINT if set)",
        str,
        "URL",
    ),
)


def config_from(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> ServerConfig:
    """Builds the configuration: a flag wins over its environment variable, which wins over the default.

    Raises:
        ValueError: an environment variable does not parse, or the result fails ``ServerConfig.check``.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = flags.get(setting.name)
        if value is None and setting.env in environ:
            try:
                value = setting.parse(environ[setting.env])
            except ValueError as exc:
                raise ValueError(f"{setting.env}: {exc}") from None
        if value is not None:
            values[setting.name] = value
    if "otel_endpoint" not in values and environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        values["otel_endpoint"] = environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    config = ServerConfig(**values)
    config.check()
    return config
