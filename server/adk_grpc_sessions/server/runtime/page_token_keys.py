"""Where the server's page-token keys come from.

In order of preference:

1. Configured (``--page-token-key-file`` or ``ADK_GRPC_SESSIONS_PAGE_TOKEN_KEY``):
   replicas given the same keys accept each other's tokens, and a restart
   keeps every token valid.
2. The embedded default, a SQLite file: a key generated at first start and
   kept in a file next to the database (mode 0600), so tokens outlive a
   restart and every server on that file shares it, with nothing to set up.
3. Otherwise a random key of this process. For ``memory://`` that costs
   nothing (the sessions die with the process too); on a database other
   processes share, a token then works only against the process that issued
   it, so the server says so once, in the log.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from adk_grpc_sessions.server.api.page_tokens import PageTokenKeys

_log = logging.getLogger(__name__)

KEY_FILE_SUFFIX: Final = ".page-token-key"
"""Appended to a SQLite database's file name to name the file of its generated key."""
_PROCESS_ONLY_BACKENDS: Final = ("memory",)


def configured_keys(key_file: Path | None, keys_text: str | None) -> PageTokenKeys | None:
    """The keys the settings give, if they give any.

    Raises:
        ValueError: the file cannot be read, or a key is malformed.
    """
    if key_file is not None:
        try:
            text = key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"--page-token-key-file {key_file}: {exc.strerror or exc}") from None
        return PageTokenKeys.parse(text, str(key_file))
    if keys_text:
        return PageTokenKeys.parse(keys_text.replace(";", "\n"), "--page-token-key")
    return None


def sqlite_key_file(backend_uri: str) -> Path | None:
    """Where a SQLite backend's generated key lives: next to its database file; None for other backends."""
    if urlsplit(backend_uri).scheme.lower().split("+", 1)[0] != "sqlite":
        return None
    from adk_grpc_sessions.server.backends.sql.dialects import database_url  # needs SQLAlchemy

    database = database_url(backend_uri).database
    if not database:
        return None
    path = Path(database).expanduser()
    return path.with_name(path.name + KEY_FILE_SUFFIX)


def default_keys(backend_uri: str | None) -> PageTokenKeys:
    """The keys of a server with none configured, serving ``backend_uri`` (None: a backend given in code).

    Raises:
        RuntimeError: a SQLite backend's key file exists but holds no usable key, or cannot be made.
    """
    key_file = sqlite_key_file(backend_uri) if backend_uri else None
    if key_file is not None:
        return load_or_create_key_file(key_file)
    if backend_uri is not None and urlsplit(backend_uri).scheme.lower() not in _PROCESS_ONLY_BACKENDS:
        _log.warning(
            "page tokens are signed with a key of this process only: a next_page_token works only "
            "against this process (not after a restart, not on another replica); give every replica "
            "the same key with --page-token-key-file or ADK_GRPC_SESSIONS_PAGE_TOKEN_KEY"
        )
    return PageTokenKeys.generate()


def load_or_create_key_file(path: Path) -> PageTokenKeys:
    """The keys in ``path``, after writing a new random key there if there is no such file.

    The file is written whole under a temporary name and linked into place,
    so a server never reads half a key, and of two servers starting at once
    on one database, one creates it and both use that one. It is made with
    mode 0600: whoever holds the key can sign page tokens.

    Raises:
        RuntimeError: the file exists but holds no usable key, or cannot be read or made.
    """
    for _ in range(2):  # a second read, if another server created it in between
        try:
            return PageTokenKeys.parse(path.read_text(encoding="utf-8"), str(path))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            raise RuntimeError(
                f"page-token key file {path}: {exc}; fix or remove it (a new key is then generated)"
            ) from None
        _create_key_file(path)
    raise RuntimeError(f"page-token key file {path} vanished as it was created")


def _create_key_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(
                    "# Signs this server's page tokens (generated; keep it private). Servers sharing\n"
                    "# this database read it too. To rotate: put a new key on the first line and keep\n"
                    "# the old one below it for a while.\n"
                    f"{secrets.token_hex(32)}\n"
                )
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                return  # another server made it first: theirs is used
        finally:
            os.unlink(temporary)
        _sync_directory(path.parent)
    except OSError as exc:
        raise RuntimeError(
            f"cannot create the page-token key file {path}: {exc.strerror or exc}; "
            "make its directory writable, or give a key with --page-token-key-file"
        ) from None
    _log.info("generated a page-token key in %s", path)


def _sync_directory(directory: Path) -> None:
    """Makes a new directory entry durable, so the key survives a power cut with the database."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
