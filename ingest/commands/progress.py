"""A progress bar by audio time, for people at a terminal; silent otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

Callback = Callable[[float, float], None]


class ProgressReporter:
    """One bar per file, advanced by seconds of audio transcribed."""

    def __init__(self, enabled: bool) -> None:
        self._progress = (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:>6.0f}/{task.total:.0f} s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            if enabled
            else None
        )
        self._tasks: dict[Path, TaskID] = {}

    def __enter__(self) -> ProgressReporter:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._progress:
            self._progress.stop()

    def callback(self, path: Path) -> Callback | None:
        if self._progress is None:
            return None
        progress = self._progress

        def update(done: float, total: float) -> None:
            if path not in self._tasks:
                self._tasks[path] = progress.add_task(path.name, total=total)
            progress.update(self._tasks[path], completed=min(done, total), total=total)

        return update

    def done(self, path: Path) -> None:
        if self._progress and path in self._tasks:
            task = self._tasks[path]
            self._progress.update(task, completed=self._progress.tasks[task].total)
