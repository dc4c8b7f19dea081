"""A value loaded from files and loaded again when they change: TLS certificates, the tokens file.

The one way the server notices that a file it reads was changed under it.
Nothing runs in the background: when the value is asked for, and at most
once per ``interval``, each file's identity and stamp (device, inode, size,
modification and change times) is compared with the one last loaded. So a
file replaced by a rename (editors, Kubernetes' secret and config-map
volumes, cert-manager) is noticed as surely as one rewritten in place.

A change that does not load (a half-written rotation, a malformed line, a
file removed or made unreadable) keeps the last good value, with one error
logged per change: a bad edit never takes a working certificate away, and
never leaves the server without its tokens.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

_log = logging.getLogger(__name__)
T = TypeVar("T")

_FileStamp = tuple[int, int, int, int, int] | None
"""Device, inode, size, modification and change time of a file; None when it cannot be found."""


def _stamp_of(paths: Sequence[Path]) -> tuple[_FileStamp, ...]:
    stamps: list[_FileStamp] = []
    for path in paths:
        try:
            found = os.stat(path)  # follows symlinks: a swapped link target is a change
        except OSError:
            stamps.append(None)
        else:
            stamps.append((found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns))
    return tuple(stamps)


class WatchedFiles(Generic[T]):
    """The value ``load`` makes of some files, loaded again after any of them changes.

    Safe to use from several threads (gRPC asks for certificates on threads of its own).
    """

    def __init__(
        self, paths: Sequence[Path], load: Callable[[], T], what: str, interval: float = 0.0
    ) -> None:
        """Loads the value now.

        Args:
            paths: the files to watch.
            load: reads them and makes the value; raises ``ValueError`` with a one-line reason
                when they do not make one.
            what: what the value is, for log lines ("the tokens file ...").
            interval: seconds between two looks at the files; 0 looks every time the value is asked for.

        Raises:
            ValueError: as ``load``: a server must not start on files that do not load.
        """
        self._paths = tuple(paths)
        self._load = load
        self._what = what
        self._interval = interval
        self._lock = threading.Lock()
        self._stamp = _stamp_of(self._paths)
        self._current = load()
        self._next_look = time.monotonic() + interval

    @property
    def current(self) -> T:
        """The value last loaded, without looking at the files."""
        return self._current

    def latest(self) -> T:
        """The value, loaded again first if the files changed since it was (and it is time to look)."""
        self.changed()
        return self._current

    def changed(self) -> T | None:
        """The new value if the files changed and loaded; None if they did not change or did not load."""
        now = time.monotonic()
        if now < self._next_look:
            return None
        with self._lock:
            self._next_look = now + self._interval
            stamp = _stamp_of(self._paths)
            if stamp == self._stamp:
                return None
            # Taken before reading: a change made while loading is seen at the next look.
            self._stamp = stamp
            try:
                value = self._load()
            except ValueError as exc:
                _log.error("keeping the last good %s: %s", self._what, exc)
                return None
            self._current = value
            _log.info("%s changed: loaded again", self._what)
            return value
