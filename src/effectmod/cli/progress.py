"""Progress on the terminal for the long commands (analyze, demo, power)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class LazyProgress:
    """A progress bar that shows itself only once work has run for more than a second."""

    def __init__(self, console, delay: float = 1.0):
        self.console = console
        self.delay = delay
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._start = time.monotonic()

    def __enter__(self):
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False

    def update(self, done: int, total: int, what: str) -> None:
        if self.console.quiet:
            return
        if self._bar is None:
            if time.monotonic() - self._start < self.delay:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                 TimeRemainingColumn(), console=self.console, transient=True)
            self._bar.start()
        if what not in self._tasks:
            self._tasks[what] = self._bar.add_task(what, total=total)
        self._bar.update(self._tasks[what], completed=done, total=total)
