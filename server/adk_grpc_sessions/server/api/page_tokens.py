"""Opaque, signed page tokens (AIP-158) for the list calls.

A token wraps the backend's cursor (``backends.base.Cursor``: where the last
page ended, in the backend's own terms, which this module never reads) and
binds it to the request it belongs to (a digest of the filter fields), so a
token is only good for the same query.

Every token is signed with an HMAC-SHA256 under the server's key
(``PageTokenKeys``) in the one encode/decode core, so no kind of token can be
forged or altered: a token this server (or a replica sharing its key) did not
issue is INVALID_ARGUMENT naming ``page_token``, never a silent jump to other
results and never a value the storage chokes on. The backend still parses
what a verified token holds as strictly as a request field (a signature
proves who wrote a token, not that every writer was bug-free, and a leaked
key must not turn into INTERNAL either): a cursor it cannot read is its
``InvalidCursorError``, answered as a bad ``page_token`` too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final

import pydantic_core

from adk_grpc_sessions.server.backends.base import ALL_SESSIONS, Cursor, SessionQuery
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError

_VERSION: Final = 3
_SESSIONS: Final = "s"
_EVENTS: Final = "e"
# A GetSession's continuation (``GetSessionResponse.next_events_page_token``):
# the rest of that read's selection, listed by ListEvents. A kind of its own,
# bound to the session alone (the selection was settled by the read), so it
# is never taken for an ordinary event-listing token, nor the other way round.
_CONTINUATION: Final = "c"
_APPS: Final = "a"
_USERS: Final = "u"
_FIELD: Final = "page_token"
_MAX_TOKEN_LENGTH: Final = 4096
_MAC_BYTES: Final = 32
# Keys the HMAC under a purpose of its own, so a page-token key reused
# elsewhere (it should not be) could never vouch for anything but a page token.
_MAC_CONTEXT: Final = b"adk-grpc-sessions page token\x00"

MIN_KEY_LENGTH: Final = 32
"""Fewest characters a configured page-token key may have (``openssl rand -hex 32`` gives 64)."""


@dataclass(frozen=True, slots=True)
class PageTokenKeys:
    """The keys page tokens are signed and checked with: the first signs, every one is accepted.

    Accepting more than one lets a key be rotated without breaking listings in
    progress: put the new key first and keep the old one after it until
    tokens signed with it have gone out of use.
    """

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one page-token key is needed")

    @classmethod
    def generate(cls) -> PageTokenKeys:
        """A fresh random key (256 bits)."""
        return cls((secrets.token_bytes(32),))

    @classmethod
    def parse(cls, text: str, source: str) -> PageTokenKeys:
        """Keys given as text, one a line; blank lines and ``#`` comments are skipped.

        Each key is its text, taken as it is (UTF-8), and must be at least
        ``MIN_KEY_LENGTH`` characters long.

        Raises:
            ValueError: no key, or a key too short; the message names ``source``.
        """
        keys: list[bytes] = []
        for line in text.splitlines():
            key = line.strip()
            if not key or key.startswith("#"):
                continue
            if len(key) < MIN_KEY_LENGTH:
                raise ValueError(
                    f"{source}: a page-token key must be at least {MIN_KEY_LENGTH} characters "
                    f"(got one of {len(key)}); make one with 'openssl rand -hex 32'"
                )
            keys.append(key.encode())
        if not keys:
            raise ValueError(f"{source}: holds no page-token key")
        return cls(tuple(keys))


def _binding(*query: str | float | None) -> str:
    """A short digest of the request fields a token is valid for."""
    return hashlib.sha256(pydantic_core.to_json(list(query))).hexdigest()[:16]


def _sessions_binding(app_name: str, user_id: str | None, query: SessionQuery) -> str:
    """A session listing's binding: its parsed query too, so a token of another filter or order is refused.

    The parsed query, not the request's text, so spacing does not matter; an
    unfiltered listing in ADK's order binds as it always did.
    """
    if query == ALL_SESSIONS:
        return _binding(app_name, user_id)
    return _binding(app_name, user_id, repr(query))


def _invalid() -> InvalidArgumentError:
    return InvalidArgumentError.single(
        _FIELD,
        "not a page token from a previous response to this same request "
        "(tokens are signed by the server: one from another server, or altered, is refused)",
    )


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(token: str) -> bytes:
    """The bytes of a token, accepting only the exact text ``_b64encode`` writes.

    Raises:
        ValueError: anything else (other characters, or bits the encoding leaves unused).
    """
    raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    if _b64encode(raw) != token:
        raise ValueError("not canonical base64")
    return raw


class PageTokens:
    """Writes and reads the page tokens of one server (and of replicas that share its keys)."""

    def __init__(self, keys: PageTokenKeys | None = None) -> None:
        """Signs with ``keys`` (by default a random key of this process alone)."""
        self._keys = keys or PageTokenKeys.generate()

    def _mac(self, key: bytes, body: bytes) -> bytes:
        return hmac.new(key, _MAC_CONTEXT + body, hashlib.sha256).digest()

    def _encode(self, payload: list[Any]) -> str:
        body = pydantic_core.to_json(payload)
        return _b64encode(self._mac(self._keys.keys[0], body) + body)

    def _decode(self, token: str, kind: str, binding: str) -> Cursor:
        """The cursor in a token of ``kind`` for the request with ``binding``.

        Raises:
            InvalidArgumentError: the token is not one this server signed for this request.
        """
        if len(token) > _MAX_TOKEN_LENGTH:
            raise _invalid()
        try:
            raw = _b64decode(token)
        except (ValueError, binascii.Error):
            raise _invalid() from None
        mac, body = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        # Every key is tried (no early exit) so timing tells nothing about which matched.
        verified = False
        for key in self._keys.keys:
            verified |= hmac.compare_digest(mac, self._mac(key, body))
        if not verified:
            raise _invalid()
        try:
            payload = pydantic_core.from_json(body, allow_inf_nan=False)
        except ValueError:
            raise _invalid() from None
        match payload:
            case [int() as version, str() as token_kind, str() as token_binding, str() as cursor] if (
                version,
                token_kind,
                token_binding,
            ) == (_VERSION, kind, binding) and cursor:
                return cursor
        raise _invalid()

    def encode_sessions_token(
        self, app_name: str, user_id: str | None, cursor: Cursor, query: SessionQuery = ALL_SESSIONS
    ) -> str:
        """A token resuming a session listing (of ``query``'s filter and order) at ``cursor``."""
        return self._encode([_VERSION, _SESSIONS, _sessions_binding(app_name, user_id, query), cursor])

    def decode_sessions_token(
        self, token: str, app_name: str, user_id: str | None, query: SessionQuery = ALL_SESSIONS
    ) -> Cursor:
        """The cursor in a session-listing token.

        Raises:
            InvalidArgumentError: the token is not one for this listing (its filter and order too).
        """
        return self._decode(token, _SESSIONS, _sessions_binding(app_name, user_id, query))

    def encode_apps_token(self, cursor: Cursor) -> str:
        """A token resuming a listing of apps at ``cursor``."""
        return self._encode([_VERSION, _APPS, _binding(), cursor])

    def decode_apps_token(self, token: str) -> Cursor:
        """The cursor in an app-listing token.

        Raises:
            InvalidArgumentError: the token is not one of an app listing.
        """
        return self._decode(token, _APPS, _binding())

    def encode_users_token(self, app_name: str, cursor: Cursor) -> str:
        """A token resuming a listing of ``app_name``'s users at ``cursor``."""
        return self._encode([_VERSION, _USERS, _binding(app_name), cursor])

    def decode_users_token(self, token: str, app_name: str) -> Cursor:
        """The cursor in a user-listing token.

        Raises:
            InvalidArgumentError: the token is not one of a listing of this app's users.
        """
        return self._decode(token, _USERS, _binding(app_name))

    def encode_events_token(
        self,
        app_name: str,
        user_id: str,
        session_id: str,
        after_timestamp: float | None,
        cursor: Cursor,
    ) -> str:
        """A token resuming an event listing at ``cursor``."""
        binding = _binding(app_name, user_id, session_id, after_timestamp)
        return self._encode([_VERSION, _EVENTS, binding, cursor])

    def decode_events_token(
        self, token: str, app_name: str, user_id: str, session_id: str, after_timestamp: float | None
    ) -> Cursor:
        """The cursor in an event-listing token.

        Raises:
            InvalidArgumentError: the token is not one for this listing.
        """
        return self._decode(token, _EVENTS, _binding(app_name, user_id, session_id, after_timestamp))

    def encode_continuation_token(self, app_name: str, user_id: str, session_id: str, cursor: Cursor) -> str:
        """A token listing the rest of a session read's selection from ``cursor`` (the read's ``rest``)."""
        return self._encode([_VERSION, _CONTINUATION, _binding(app_name, user_id, session_id), cursor])

    def decode_continuation_token(self, token: str, app_name: str, user_id: str, session_id: str) -> Cursor:
        """The cursor in a continuation token.

        Raises:
            InvalidArgumentError: the token is not a continuation of this session's read.
        """
        return self._decode(token, _CONTINUATION, _binding(app_name, user_id, session_id))
