"""Column types that behave the same on SQLite, PostgreSQL and MySQL/MariaDB.

Shared by the schema and by the migrations, so a table created by a migration
is exactly the table the queries expect.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

_MYSQL_FAMILY = ("mysql", "mariadb")


class KeyString(TypeDecorator[str]):
    """A name compared exactly: app names, user ids, session ids, event ids, key digests.

    Identity must be code point for code point, and listings are ordered by
    these columns, in code point order like the memory backend:
    - PostgreSQL: ``COLLATE "C"`` (byte order, which for UTF-8 is code point
      order; a database's default locale collation would sort otherwise).
    - MySQL/MariaDB: ``VARBINARY``. Their text collations either ignore case
      or treat ``"bob"`` and ``"bob "`` as equal (PAD SPACE), and the binary
      NO PAD collations have different names on MySQL and MariaDB.
    - SQLite: plain text; its default BINARY collation is already exact.
    ``length`` counts code points; VARBINARY gets four bytes for each.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.code_points = length

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """The concrete column type on ``dialect``."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.VARCHAR(self.code_points, collation="C"))
        if dialect.name in _MYSQL_FAMILY:
            return dialect.type_descriptor(_Utf8Binary(4 * self.code_points))
        return dialect.type_descriptor(sa.String(self.code_points))


class _Utf8Binary(TypeDecorator[str]):
    """Text as UTF-8 in a ``VARBINARY``: ``KeyString`` on MySQL/MariaDB.

    The conversion lives here rather than in ``KeyString`` so that the other
    databases, whose drivers take and give text as it is, run no processing
    for every value (a read of a thousand events selects a thousand ids).
    """

    impl = mysql.VARBINARY
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        """Text as UTF-8 bytes."""
        return None if value is None else value.encode()

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Bytes read back as text."""
        return None if value is None else bytes(value).decode()


class JsonText(TypeDecorator[str]):
    r"""JSON text kept exactly as written: state values, state deltas, whole events.

    Never a native JSON type: PostgreSQL's jsonb rewrites numbers and key
    order and rejects ``\u0000``, and the text must come back byte for byte.
    (Plain PostgreSQL text cannot hold NUL either, but JSON text never holds a
    raw NUL: it is escaped.) On MySQL/MariaDB it is LONGTEXT, as TEXT stops at
    64 KiB and events with inline data run to megabytes.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """The concrete column type on ``dialect``."""
        if dialect.name in _MYSQL_FAMILY:
            return dialect.type_descriptor(mysql.LONGTEXT())
        return dialect.type_descriptor(sa.Text())


class QuotedText(TypeDecorator[str]):
    r"""Text from clients, stored as a JSON string literal (``"like this"``): state keys, event authors, ...

    These may hold any character, and PostgreSQL text cannot hold NUL; as a
    JSON literal NUL is the escape ``\u0000``, on every database alike. Still
    readable in a SQL console, and exact: it reads back as the very string.
    Of any length, as the contract sets none: LONGTEXT on MySQL/MariaDB,
    whose TEXT stops at 64 KiB.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """The concrete column type on ``dialect``."""
        if dialect.name in _MYSQL_FAMILY:
            return dialect.type_descriptor(mysql.LONGTEXT())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """The string as a JSON literal."""
        return None if value is None else pydantic_core.to_json(value).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """The string a JSON literal stands for."""
        return None if value is None else str(pydantic_core.from_json(value))


class Seconds(TypeDecorator[float]):
    """A time as float seconds since the Unix epoch, stored as a 64-bit IEEE double.

    The same float ADK holds goes in and comes out unchanged (no rounding to
    microseconds as a DATETIME would), and compares in SQL exactly as in Python.
    """

    impl = sa.Double
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """The concrete column type on ``dialect``."""
        if dialect.name in _MYSQL_FAMILY:
            return dialect.type_descriptor(mysql.DOUBLE(asdecimal=False))
        return dialect.type_descriptor(sa.Double(asdecimal=False))


class LongBytes(TypeDecorator[bytes]):
    """Bytes of any length: BLOB on SQLite, BYTEA on PostgreSQL, LONGBLOB on MySQL/MariaDB.

    (MySQL's BLOB stops at 64 KiB, and what is stored here grows with the
    event: an event's wire cache holds its whole state delta.)
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """The concrete column type on ``dialect``."""
        if dialect.name in _MYSQL_FAMILY:
            return dialect.type_descriptor(mysql.LONGBLOB())
        return dialect.type_descriptor(sa.LargeBinary())


def big_serial() -> TypeEngine[int]:
    """A 64-bit surrogate key whose values are never reused, even after deletes.

    On SQLite only ``INTEGER PRIMARY KEY`` (with ``sqlite_autoincrement``) has
    that guarantee, so it is INTEGER there (which is 64-bit anyway).
    """
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")
