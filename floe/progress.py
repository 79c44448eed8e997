"""Live deploy status: a rich progress bar per workload on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO, Self

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from floe.kube import Workload


def line(w: Workload) -> str:
    """A workload's status as one line."""
    return f"{w.kind}/{w.name}: {w.ready}/{w.desired} ready, rollout {w.percent}%" + (" done" if w.done else "")


class Reporter:
    """Plain lines, printed only when a workload's status changes (logs and CI stay readable)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        """Write to `stream` (stdout by default)."""
        self.stream = stream or sys.stdout
        self.last: dict[str, str] = {}

    def say(self, text: str) -> None:
        """A message line."""
        print(f"floe: {text}", file=self.stream, flush=True)

    def update(self, workloads: list[Workload]) -> None:
        """Show the workloads whose status changed."""
        for w in workloads:
            text = line(w)
            if self.last.get(w.name) != text:
                self.last[w.name] = text
                print(f"floe:   {text}", file=self.stream, flush=True)

    def __enter__(self) -> Self:
        """Nothing to start."""
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        """Nothing to stop."""


class RichReporter(Reporter):
    """A progress bar per workload (ready out of desired) with the rollout percent."""

    def __init__(self, console: Console) -> None:
        """Draw on `console` (a terminal)."""
        super().__init__(console.file)
        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[state]}"),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.tasks: dict[str, TaskID] = {}

    def say(self, text: str) -> None:
        """A message above the bars."""
        self.progress.console.print(f"floe: {text}")

    def update(self, workloads: list[Workload]) -> None:
        """Move each workload's bar."""
        for w in workloads:
            key = f"{w.kind}/{w.name}"
            if key not in self.tasks:
                self.tasks[key] = self.progress.add_task(key, total=max(w.desired, 1), state="")
            self.progress.update(self.tasks[key], completed=w.ready, total=max(w.desired, 1),
                                 state=f"{w.ready}/{w.desired} ready, rollout {w.percent}%")

    def __enter__(self) -> Self:
        """Start drawing."""
        self.progress.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        """Stop drawing (the last state stays on screen)."""
        self.progress.stop()


def reporter() -> Reporter:
    """Rich bars when stdout is a terminal, plain lines otherwise."""
    console = Console()
    return RichReporter(console) if console.is_terminal else Reporter()
