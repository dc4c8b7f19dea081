"""Statements compiled once per database and run as the driver's own SQL, for the hottest paths.

SQLAlchemy finds a statement's compiled form in its cache by a key it
computes from the whole statement tree on every execution: for the
statement that stores a batch of appends on PostgreSQL, that takes longer
than the database takes to run it. A ``DriverStatement`` is compiled once; each run
only orders and converts its parameters (with the column types' own bind
processors, so values are sent exactly as SQLAlchemy would send them) and
hands the SQL text to the driver. Rows come back as the driver returns
them, without result processing (use ``execute`` for statements whose
results are plain numbers and text), or, from ``select``, converted by the
column types' own result processors, as SQLAlchemy's result would convert them.

On SQLite, whose driver runs in process, the statement goes straight to
a DBAPI cursor of the connection's own: SQLAlchemy's execution (its events,
its result's metadata, its context) costs several times what SQLite takes
to run a small statement. A driver error is raised as SQLAlchemy would
raise it (``sqlalchemy.exc.DBAPIError`` and its subclasses), so retries and
error mapping see no difference. Elsewhere, ``exec_driver_sql``: a server
database's dropped connection must go through SQLAlchemy's handling, which
invalidates every pooled connection of its age.

For SQLite's lone writes, a ``PreparedStatement`` goes further: the order
of its parameters is worked out once, and each run gives its values as a
tuple in that order, on a cursor the caller keeps for the transaction.
"""

from __future__ import annotations

import collections
import functools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str
    constant: Any
    """A literal of the statement, as the driver takes it (converted already); or ``_REQUIRED``."""
    processor: Callable[[Any], Any] | None


class DriverStatement:
    """A statement compiled for one dialect, with its parameters in the driver's positional order."""

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        if compiled.positiontup is None:
            raise ValueError(f"the {dialect.name} driver does not take positional parameters")
        self.sql = compiled.string
        self.row_type: Callable[..., tuple[Any, ...]] | None = None
        """The rows' type, named by the columns the driver describes (set when first run)."""
        self.converters = _converters(compiled, dialect) if dialect.name == "sqlite" else ()
        """(position, processor) of each result column whose type converts what the driver returns.

        Only on SQLite, where ``select`` runs queries on the driver's cursor:
        elsewhere SQLAlchemy's result converts (and some drivers' processors
        need the column's type as the driver describes it).
        """
        self._slots = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(
                    f"parameter {name!r} expands to a list; run the statement through SQLAlchemy"
                )
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                self._slots.append(_Slot(name, _REQUIRED, processor))
            else:
                self._slots.append(_Slot(name, _driver_constant(bind.effective_value, processor), None))

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's parameters for ``values`` (by parameter name, as SQLAlchemy would take them)."""
        ordered = []
        for slot in self._slots:
            value = slot.constant if slot.constant is not _REQUIRED else values[slot.name]
            ordered.append(value if slot.processor is None else slot.processor(value))
        return tuple(ordered)

    def binder(self, names: Sequence[str]) -> Callable[[tuple[Any, ...]], Sequence[Any]]:
        """A function from the values of ``names``, in that order, to the driver's parameters.

        For a hot path that builds each run's values as a tuple: no mapping
        by name to make and look up per run. The values are converted as
        ``parameters`` converts them.

        Raises:
            ValueError: ``names`` leaves out a parameter the statement needs, or names one it has not.
        """
        index = {name: position for position, name in enumerate(names)}
        required = {slot.name for slot in self._slots if slot.constant is _REQUIRED}
        if required != index.keys():
            raise ValueError(f"parameters named {sorted(index)}, the statement takes {sorted(required)}")
        constants: list[Any] = []
        positions = []
        processors = []
        for position, slot in enumerate(self._slots):
            if slot.constant is _REQUIRED:
                positions.append(index[slot.name])
                if slot.processor is not None:
                    processors.append((position, slot.processor))
            else:
                positions.append(len(names) + len(constants))
                constants.append(slot.constant)
        return _Binder(tuple(positions), tuple(constants), tuple(processors))


class _Binder:
    """``DriverStatement.binder``'s function: values picked into the driver's order, then converted."""

    __slots__ = ("_constants", "_pick", "_processors")

    def __init__(
        self,
        positions: tuple[int, ...],
        constants: tuple[Any, ...],
        processors: tuple[tuple[int, Callable[[Any], Any]], ...],
    ) -> None:
        self._pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] = (
            operator.itemgetter(*positions)
            if len(positions) > 1
            # itemgetter of one position gives the value, not a tuple of it.
            else lambda values: tuple(values[position] for position in positions)
        )
        self._constants = constants
        self._processors = processors

    def __call__(self, values: tuple[Any, ...]) -> Sequence[Any]:
        picked = self._pick(values + self._constants if self._constants else values)
        if not self._processors:
            return picked
        converted = list(picked)
        for position, processor in self._processors:
            converted[position] = processor(converted[position])
        return converted


def _driver_constant(value: Any, processor: Callable[[Any], Any] | None) -> Any:
    """A literal's value as the driver takes it, converted once.

    Text as a plain ``str``: SQLAlchemy's names (a table's, say) are a
    subclass of it, for which the driver looks for an adapter on every run.
    """
    converted = value if processor is None else processor(value)
    return str(converted) if isinstance(converted, str) else converted


def _converters(compiled: SQLCompiler, dialect: sa.Dialect) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """The result processors of ``compiled``'s columns that have one, by position."""
    found = []
    for index, column in enumerate(compiled._result_columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            found.append((index, processor))
    return tuple(found)


@functools.lru_cache(maxsize=256)
def driver_statement(statement: sa.Executable, dialect: sa.Dialect) -> DriverStatement:
    """``statement`` compiled for ``dialect`` (once: statements are built once, and reused)."""
    if not isinstance(statement, sa.ClauseElement):
        raise TypeError(f"not a SQL expression: {statement!r}")
    return DriverStatement(statement, dialect)


class DriverRows:
    """The rows a statement run on a DBAPI cursor returned, by column name or position."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        """Every row."""
        return self._rows


def execute(
    connection: sa.Connection,
    statement: sa.Executable,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> sa.CursorResult[Any] | DriverRows:
    """Runs ``statement`` with ``values`` (a row of parameters, or several for executemany) as driver SQL."""
    return run(connection, driver_statement(statement, connection.dialect), values)


def select(
    connection: sa.Connection,
    statement: sa.Executable,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    named: bool = True,
) -> Sequence[Any]:
    """The rows of the query ``statement`` with ``values``, converted as SQLAlchemy's result converts them.

    Rows are read by column name or position; without ``named``, by
    position only, which on SQLite spares making a named row of each row of
    a long result (the driver's own tuples are given). On SQLite as driver
    SQL on the connection's own cursor; elsewhere through SQLAlchemy's
    execution (see the module's docstring). ``values`` is one row of parameters (typed as ``execute``'s,
    so that a statement's ``Bound`` unpacks into it).

    Raises:
        TypeError: ``values`` holds several rows.
    """
    if not isinstance(values, Mapping):
        raise TypeError("a query takes one row of parameters")
    if connection.dialect.name != "sqlite":
        return connection.execute(statement, values).all()
    compiled = driver_statement(statement, connection.dialect)
    return _run_on_cursor(
        connection, compiled, compiled.parameters(values), many=False, convert=True, named=named
    ).all()


def run(
    connection: sa.Connection,
    compiled: DriverStatement,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> sa.CursorResult[Any] | DriverRows:
    """Runs a statement compiled already (for ``connection``'s dialect), as ``execute`` does.

    For statements built per size (a multi-row insert), which their own
    module compiles and keeps, so that they do not crowd ``driver_statement``'s cache.
    """
    if isinstance(values, Mapping):
        parameters: Any = compiled.parameters(values)
        many = False
    else:
        parameters = [compiled.parameters(row) for row in values]
        many = True
    if connection.dialect.name != "sqlite":
        return connection.exec_driver_sql(compiled.sql, parameters)
    return _run_on_cursor(connection, compiled, parameters, many=many, convert=False)


def _run_on_cursor(
    connection: sa.Connection,
    compiled: DriverStatement,
    parameters: Any,
    *,
    many: bool,
    convert: bool,
    named: bool = True,
) -> DriverRows:
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None, "a connection in use has its driver connection"
    cursor = dbapi_connection.cursor()
    try:
        (cursor.executemany if many else cursor.execute)(compiled.sql, parameters)
        if cursor.description is None:
            return DriverRows([])
        if not named:
            if convert and compiled.converters:
                return DriverRows([_converted(row, compiled.converters) for row in cursor.fetchall()])
            return DriverRows(cast(list[Any], cursor.fetchall()))  # sqlite3's rows come as a list
        if compiled.row_type is None:
            names = [column[0] for column in cursor.description]
            compiled.row_type = collections.namedtuple("Row", names)  # type: ignore[misc] # columns known when run
        row_type = compiled.row_type
        if convert and compiled.converters:
            return DriverRows([row_type(*_converted(row, compiled.converters)) for row in cursor.fetchall()])
        return DriverRows([row_type(*row) for row in cursor.fetchall()])
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection.dialect, compiled.sql, parameters, exc) from exc
    finally:
        cursor.close()


class PreparedStatement:
    """A statement run on a SQLite DBAPI cursor, its values given as a tuple in an order of the caller's.

    For the few statements of the hottest paths (a lone append): compiled
    once (``driver_statement``), the order of its parameters worked out once
    (``DriverStatement.binder``), so that a run costs little more than the
    driver's own ``execute``. Rows come back as the driver gives them.
    """

    __slots__ = ("_bind", "_dialect", "sql")

    def __init__(
        self, statement: sa.Executable | DriverStatement, dialect: sa.Dialect, names: Sequence[str]
    ) -> None:
        """``statement`` for ``dialect`` (compiled or not); its values to come in the order of ``names``."""
        compiled = (
            statement if isinstance(statement, DriverStatement) else driver_statement(statement, dialect)
        )
        self.sql = compiled.sql
        self._bind = compiled.binder(names)
        self._dialect = dialect

    def rows(self, cursor: Any, values: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Runs the statement on ``cursor`` with ``values`` (in the order of ``names``); the rows it returns.

        Raises:
            sqlalchemy.exc.DBAPIError: the driver's error, as SQLAlchemy would raise it.
        """
        parameters = self._bind(values)
        try:
            cursor.execute(self.sql, parameters)
            return cast(list[tuple[Any, ...]], cursor.fetchall())
        except self._dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(self._dialect, self.sql, parameters, exc) from exc

    def run_many(self, cursor: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        """Runs the statement on ``cursor`` once for each of ``rows`` (values as ``rows`` takes them).

        Raises:
            sqlalchemy.exc.DBAPIError: the driver's error, as SQLAlchemy would raise it.
        """
        parameters = [self._bind(values) for values in rows]
        try:
            cursor.executemany(self.sql, parameters)
        except self._dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(self._dialect, self.sql, parameters, exc) from exc


def _as_sqlalchemy_error(
    dialect: sa.Dialect, sql: str, parameters: Any, exc: Exception
) -> sa.exc.StatementError:
    """The driver's error ``exc`` as SQLAlchemy raises one: retries and error mapping see no difference."""
    return sa.exc.DBAPIError.instance(sql, parameters, exc, dialect.loaded_dbapi.Error, dialect=dialect)


def _converted(row: tuple[Any, ...], converters: Sequence[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    """``row``'s values, those of converting columns converted."""
    values = list(row)
    for index, processor in converters:
        values[index] = processor(values[index])
    return values
