"""What a transfer (``copy``, ``export``, ``import``) tells: its progress as it goes, and its report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import (
    Progress as RichProgress,
)

_PLAIN_PROGRESS_SECONDS: Final = 2.0


@dataclass(frozen=True, slots=True)
class Totals:
    """How much a source holds, where it can tell beforehand (for progress)."""

    sessions: int
    events: int


@dataclass(slots=True)
class Report:
    """What a copy found, wrote and verified."""

    sessions: int = 0
    events: int = 0
    sessions_written: int = 0
    """Sessions created at the destination (the rest were there, whole or in part)."""
    events_written: int = 0
    app_states: int = 0
    user_states: int = 0
    apps: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """Whether everything read from the source is at the destination, verified."""
        return not self.problems


class Progress:
    """A progress bar with rate and ETA on a terminal; a plain line every few seconds elsewhere."""

    def __init__(self, console: Console, totals: Totals | None, what: str) -> None:
        self._console = console
        self._what = what
        self._total = totals.sessions if totals else None
        self._started = self._last = time.monotonic()
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            self._bar = RichProgress(
                TextColumn(f"{what} [progress.description]{{task.description}}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            )
            self._task = self._bar.add_task("sessions", total=self._total, rate="")

    def __enter__(self) -> Progress:
        """Starts the bar (on a terminal)."""
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stops the bar, leaving its last state on the screen."""
        if self._bar is not None:
            self._bar.stop()

    def update(self, report: Report) -> None:
        """Shows what ``report`` counts so far, with the rates since the start."""
        now = time.monotonic()
        elapsed = max(now - self._started, 1e-9)
        rate = f"{report.sessions / elapsed:,.0f} sessions/s, {report.events / elapsed:,.0f} events/s"
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=report.sessions, rate=rate)
        elif now - self._last >= _PLAIN_PROGRESS_SECONDS:
            self._last = now
            done = f"{report.sessions:,}" + (f"/{self._total:,}" if self._total is not None else "")
            eta = ""
            if self._total and report.sessions:
                eta = f", ETA {(self._total - report.sessions) * elapsed / report.sessions:,.0f} s"
            self._console.print(f"{self._what}: {done} sessions, {report.events:,} events ({rate}){eta}")


def print_summary(report: Report, console: Console, what: str) -> None:
    """The report in a few lines, problems in red."""
    rate = report.sessions / report.seconds if report.seconds else 0.0
    console.print(
        f"{what}: {report.sessions:,} sessions with {report.events:,} events, {report.app_states:,} app "
        f"states, {report.user_states:,} user states in {report.seconds:,.1f} s ({rate:,.0f} sessions/s); "
        f"written now: {report.sessions_written:,} sessions, {report.events_written:,} events",
        highlight=False,
    )
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {problem}", highlight=False)
    if report.complete:
        console.print("[green]verified: every session's checksum and the counts match[/green]")
    else:
        console.print(f"[red]verification failed: {len(report.problems)} problems[/red]")
