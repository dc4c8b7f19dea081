"""A watch as a chain of streams: open one, read it, and when it breaks open the next, until stopped.

A watch (``watching``'s of a session, ``session_notices``' of a user's
sessions) is one long stream, so it is not one retried call. Opening a
stream is an operation of the client's retry policy (``retry``): within the
client's time budget it rides out a server that is down, backing off, and a
server that stays unreachable for the whole budget ends the watch with
``SessionServiceUnavailableError``. The server sends a first message at once,
so opening includes reading it: until it comes the server may not even have
been reached. Once open, a stream has no deadline; when it breaks with a
retried code (a lost connection, a server that drains, or one that cuts off
a watcher that fell behind, "WATCHER_TOO_SLOW") the next one is opened with a
fresh budget. ``StreamWatch`` owns that loop and closing; each watch says
where its next stream starts and what a message means.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncGenerator, Callable
from types import TracebackType
from typing import Any, Final, Generic, Self, TypeVar

import grpc
from google.adk.errors.session_not_found_error import SessionNotFoundError

from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.errors import SessionServiceTimeoutError, error_from_rpc
from adk_grpc_sessions.client.retry import RETRIED_CODES, AttemptFailedError

RESUMED_REASONS: Final = frozenset({"WATCHER_TOO_SLOW"})
"""RESOURCE_EXHAUSTED reasons after which a watch resumes (UNAVAILABLE and CANCELLED always do)."""

MessageT = TypeVar("MessageT")
UpdateT = TypeVar("UpdateT")


class StoppedError(Exception):
    """``aclose`` stopped a watch while a stream was being opened."""


def failed_stream(error: grpc.aio.AioRpcError) -> AttemptFailedError:
    """A failed watch stream as an attempt's failure: code UNAVAILABLE where the watch resumes."""
    exception = error_from_rpc(error)
    code = error.code()
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and getattr(exception, "reason", "") in RESUMED_REASONS:
        code = grpc.StatusCode.UNAVAILABLE
    return AttemptFailedError(code, exception)


async def first_message(
    call: Any,
    method: str,
    seconds: float | None,
    stopped: Callable[[], bool],
    closed: Callable[[], AttemptFailedError],
) -> Any:
    """The first message of a watch stream's ``call``, read within ``seconds``, as one attempt of ``method``.

    The server sends one at once, so until it comes it may not even have been
    reached: its absence in time is the attempt's timeout. A failed stream is
    the attempt's failure (``failed_stream``), unless the watch was
    ``stopped`` meanwhile; a stream closed with OK before it is ``closed()``.

    Raises:
        StoppedError: the watch was closed while the stream was being opened.
        AttemptFailedError: the attempt failed, retried or not by its code.
    """
    try:
        async with asyncio.timeout(seconds):
            first = await call.read()
    except TimeoutError:
        call.cancel()
        raise AttemptFailedError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            SessionServiceTimeoutError(
                f"{method}: the server did not answer in time", grpc.StatusCode.DEADLINE_EXCEEDED
            ),
        ) from None
    except grpc.aio.AioRpcError as error:
        if stopped():
            raise StoppedError from error
        raise failed_stream(error) from error
    except BaseException:
        call.cancel()
        raise
    if first is grpc.aio.EOF:
        raise closed()
    return first


class StreamWatch(abc.ABC, Generic[MessageT, UpdateT]):
    """A live watch: an async iterator of ``UpdateT``, opening stream after stream of ``MessageT`` by itself.

    Use it as ``async for update in watch`` (``async with`` closes it on
    exit; so does ``aclose()``). ``reconnects`` says how many times a broken
    stream was replaced. A subclass says how a stream starts (``_start``:
    its resume point), what a message carries (``_updates_of``) and the few
    steps where watches differ (``_resumed``, ``_done``, ``_gone``).
    """

    def __init__(self, connection: Connection, method: str) -> None:
        """A watch whose streams are calls of ``method`` on ``connection``; nothing is sent until iterated."""
        self._connection = connection
        self._method = method
        self.reconnects = 0
        """How many times a broken stream was replaced by a new one."""
        self._opened = False
        self._stopped = False
        self._iterating = False
        self._call: Any = None
        """The stream open now, if any: what ``aclose`` cancels."""
        self._updates: AsyncGenerator[UpdateT] | None = None

    @abc.abstractmethod
    def _start(self, wait_for_ready: bool) -> Any:
        """Opens a stream (the call) from where the watch stands now."""

    @abc.abstractmethod
    def _closed(self) -> AttemptFailedError:
        """A stream that closed with OK while watched: the failure it counts as (a proxy may cut streams)."""

    @abc.abstractmethod
    def _updates_of(self, message: MessageT) -> list[UpdateT]:
        """The updates one message carries, with the watch's own state moved past them."""

    def _resumed(self) -> list[UpdateT]:
        """The updates that announce a new stream replacing a broken one (none unless overridden)."""
        return []

    def _done(self) -> bool:
        """Whether the updates yielded last end the watch (never, unless overridden)."""
        return False

    def _gone(self) -> UpdateT | None:
        """The last update when what is watched was not found on reconnecting; None: the error is raised."""
        return None

    def __aiter__(self) -> Self:
        """Returns the watch itself."""
        return self

    async def __anext__(self) -> UpdateT:
        """The next update."""
        if self._updates is None:
            self._updates = _finished() if self._stopped else self._run()
        self._iterating = True
        try:
            return await anext(self._updates)
        finally:
            self._iterating = False

    async def aclose(self) -> None:
        """Stops watching: the open stream is cancelled, and an iteration under way ends normally.

        It may be called from another task than the one iterating (a UI
        closing a view, say); iterating afterwards ends at once.
        """
        self._stopped = True
        if self._call is not None:
            self._call.cancel()
        updates = self._updates
        if updates is None:
            return
        if not self._iterating:  # an iteration under way in another task ends by itself (see _run)
            self._updates = _finished()
            await updates.aclose()

    async def __aenter__(self) -> Self:
        """Returns the watch itself, closed on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes the watch."""
        await self.aclose()

    async def _open(self, seconds: float | None, wait_for_ready: bool) -> tuple[Any, Any]:
        """One attempt at a stream: the call and its first message."""
        if self._stopped:
            raise StoppedError
        call = self._call = self._start(wait_for_ready)
        first = await first_message(call, self._method, seconds, lambda: self._stopped, self._closed)
        return call, first

    async def _run(self) -> AsyncGenerator[UpdateT]:
        """Streams one after another until the watch is done or closed."""
        failed: AttemptFailedError | None = None
        while not self._stopped:
            try:
                call, message = await self._connection.attempts(self._method).run(self._open, failed)
            except StoppedError:
                return
            except asyncio.CancelledError:
                if self._stopped_here():
                    return
                raise
            except SessionNotFoundError:
                last = self._gone() if self._opened else None
                if last is None:
                    raise
                yield last
                return
            resumed = self._opened
            self._opened = True
            self._call = call
            try:
                if resumed:
                    self.reconnects += 1
                    for update in self._resumed():
                        yield update
                while message is not grpc.aio.EOF:
                    for update in self._updates_of(message):
                        yield update
                    if self._done():
                        return
                    message = await call.read()
                failed = self._closed()
            except asyncio.CancelledError:
                if self._stopped_here():
                    return
                raise
            except grpc.aio.AioRpcError as error:
                if self._stopped:
                    return
                failed = failed_stream(error)
                if failed.code not in RETRIED_CODES:
                    raise failed.error from error
            finally:
                self._call = None
                call.cancel()

    def _stopped_here(self) -> bool:
        """Whether a cancellation came from ``aclose`` cancelling the stream, not from the task's own."""
        task = asyncio.current_task()
        return self._stopped and (task is None or task.cancelling() == 0)


async def _finished() -> AsyncGenerator[Any]:
    """An iteration that has ended (of a closed watch)."""
    return
    yield  # an async generator that yields nothing
