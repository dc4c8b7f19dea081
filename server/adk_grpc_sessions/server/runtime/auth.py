"""Bearer tokens, each scoped to a set of apps.

Tokens are never stored: the server holds only their SHA-256 digests, read
from a tokens file or an environment variable, one entry per line::

    # name      sha256 of the token (hex)                                          apps
    billing     5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8   billing,billing-eval
    operator    8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92   *

``*`` grants every app. ``adk-grpc-sessions token new --name N --apps A,B``
prints a fresh token and the line to add. A presented token is hashed and
compared with every digest in constant time, so neither a match nor its
position leaks through timing.

The tokens file is read again when it changes (``watched_files``, looked at
most once a second, as calls arrive): a token removed from it is refused
from then on, also on append streams opened before, and a token added works
without a restart. An edit that does not parse, or a file that goes missing,
keeps the last good grants and logs one error: a bad edit never opens the
server nor locks every client out.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from adk_grpc_sessions.server.runtime.watched_files import WatchedFiles

ALL_APPS: Final = "*"
_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")
RELOAD_INTERVAL: Final = 1.0
"""Seconds between two looks at the tokens file: how long a revoked token may still be let in."""


class UnauthenticatedError(Exception):
    """No valid credentials were presented (UNAUTHENTICATED)."""


class PermissionDeniedError(Exception):
    """Valid credentials that do not cover the app asked for (PERMISSION_DENIED)."""


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """One token's digest, a name for logs, and the apps it may touch."""

    name: str
    digest: bytes
    apps: frozenset[str]

    def allows(self, app_name: str) -> bool:
        """Whether this token may act on ``app_name``."""
        return ALL_APPS in self.apps or app_name in self.apps


def digest_of(token: str) -> bytes:
    """The SHA-256 digest a token is stored as."""
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def grant_line(name: str, token: str, apps: Sequence[str]) -> str:
    """The tokens-file line granting ``token`` the given apps."""
    return f"{name} {digest_of(token).hex()} {','.join(apps)}"


def parse_grants(text: str, source: str) -> list[TokenGrant]:
    """Reads grant lines (blank lines and ``#`` comments ignored).

    Raises:
        ValueError: a line is malformed; the message names ``source`` and the
            line number but never echoes the line (it may hold a secret pasted
            by mistake).
    """
    grants, names = [], set()
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or not _DIGEST.match(parts[1]):
            raise ValueError(
                f"{source}, line {number}: expected 'NAME SHA256-HEX APP[,APP...]' "
                "(the digest, never the token itself)"
            )
        name, digest, apps = parts
        if name in names:
            raise ValueError(f"{source}, line {number}: token name {name!r} appears twice")
        names.add(name)
        grants.append(TokenGrant(name, bytes.fromhex(digest), frozenset(a for a in apps.split(",") if a)))
    return grants


def load_grants(tokens_file: Path | None, tokens_env: str | None) -> list[TokenGrant]:
    """Grants from a tokens file and/or an environment variable's value (``;`` or newlines separate lines).

    Raises:
        ValueError: unreadable file or malformed line.
    """
    grants: list[TokenGrant] = []
    if tokens_file is not None:
        try:
            grants += parse_grants(tokens_file.read_text(), str(tokens_file))
        except OSError as exc:
            raise ValueError(f"cannot read tokens file {tokens_file}: {exc.strerror}") from None
    if tokens_env:
        grants += parse_grants(tokens_env.replace(";", "\n"), "the tokens environment variable")
    names = [g.name for g in grants]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"token names defined twice: {', '.join(sorted(duplicates))}")
    return grants


class _Grants:
    """The grants in force, and each by its digest (to check that a grant in hand is still one)."""

    __slots__ = ("all", "by_digest")

    def __init__(self, grants: Iterable[TokenGrant]) -> None:
        self.all = tuple(grants)
        self.by_digest = {grant.digest: grant for grant in self.all}


class TokenAuthorizer:
    """Checks the ``authorization: Bearer <token>`` metadata of each call against the grants."""

    def __init__(self, grants: Iterable[TokenGrant]) -> None:
        """An authorizer of a fixed set of grants (see ``watching`` for one that follows a tokens file)."""
        self._fixed = _Grants(grants)
        self._watched: WatchedFiles[_Grants] | None = None

    @classmethod
    def watching(cls, tokens_file: Path | None, tokens_env: str | None) -> TokenAuthorizer:
        """An authorizer of ``load_grants(tokens_file, tokens_env)``, read again when the file changes.

        Raises:
            ValueError: as ``load_grants``, at start; later failures keep the last good grants.
        """
        authorizer = cls(())
        if tokens_file is None:
            authorizer._fixed = _Grants(load_grants(None, tokens_env))
        else:
            authorizer._watched = WatchedFiles(
                [tokens_file],
                lambda: _Grants(load_grants(tokens_file, tokens_env)),
                "tokens file",
                interval=RELOAD_INTERVAL,
            )
        return authorizer

    def _grants(self) -> _Grants:
        return self._fixed if self._watched is None else self._watched.latest()

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]]) -> TokenGrant:
        """The grant of the call's token.

        Raises:
            UnauthenticatedError: no bearer token, or one that matches no grant.
        """
        token = None
        for key, value in metadata:
            if key == "authorization" and isinstance(value, str):
                scheme, _, credential = value.partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    token = credential.strip()
        if token is None:
            raise UnauthenticatedError("missing credentials: send 'authorization: Bearer <token>'")
        presented = digest_of(token)
        matched = None
        for grant in self._grants().all:  # every grant is compared, whatever matches
            if hmac.compare_digest(presented, grant.digest):
                matched = grant
        if matched is None:
            raise UnauthenticatedError("invalid token")
        return matched

    def apps_of(self, grant: TokenGrant) -> frozenset[str] | None:
        """The apps ``grant`` covers, as the grants now in force say; None if it covers every app.

        Raises:
            UnauthenticatedError: the token was revoked since it was authenticated.
        """
        current = self._grants().by_digest.get(grant.digest)
        if current is None:
            raise UnauthenticatedError("invalid token: it was revoked")
        return None if ALL_APPS in current.apps else current.apps

    def authorize(self, grant: TokenGrant, app_name: str) -> None:
        """Checks that ``grant``, as the grants now in force say, covers ``app_name``.

        A grant authenticated earlier (a stream's, a batch's) is looked up again,
        so a token revoked or narrowed since then is held to what the file says now.

        Raises:
            UnauthenticatedError: the token was revoked since it was authenticated.
            PermissionDeniedError: the token does not cover ``app_name``.
        """
        current = self._grants().by_digest.get(grant.digest)
        if current is None:
            raise UnauthenticatedError("invalid token: it was revoked")
        if not current.allows(app_name):
            raise PermissionDeniedError(f"token {current.name!r} is not allowed to use app {app_name!r}")
