"""A flow run started from this shell (`handover discover`, `handover plan`), seen from the
terminal: Prefect's own log lines go to the run (its page in the UI), not to the person's
terminal; the terminal gets the run's address, the step it is at and, while logs are
ingested, the files and rows so far, drawn with rich; and a failure ends as one line.

``--verbose`` gives the terminal Prefect's log lines back (and draws no progress).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from . import prefect_api

# Loggers that carry a flow run's records (the task runs', the flow's own).
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
# Prefect names task runs `<task>-<3 hex>`: the step is the task's name.
_RUN_SUFFIX = re.compile(r"-[0-9a-f]{3}$")


def quiet_prefect_console() -> None:
    """Prefect's console handler shows nothing in this process: its records still go to
    the run (the API handler), where the UI shows them."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *map(logging.getLogger, ("prefect", *RUN_LOGGERS))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.CRITICAL + 1)


@dataclass
class _Counts:
    files_total: int | None = None
    files_done: int = 0
    rows: int = 0


class RunProgress(logging.Handler):
    """Reads the run's log records as they are made and redraws one progress line: the
    step (the task running), and while event logs are ingested, files and rows."""

    def __init__(self, console: Console, what: str, ui_url: str | None) -> None:
        super().__init__(level=logging.INFO)
        self.console, self.what, self.ui_url = console, what, ui_url
        self.counts = _Counts()
        self.run_id: str | None = None
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.task: TaskID = self.progress.add_task(what, total=None, detail="starting …")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._seen(record)
        except Exception:  # a progress line is never worth failing the run for
            self.handleError(record)

    def _seen(self, record: logging.LogRecord) -> None:
        run_id = getattr(record, "flow_run_id", None)
        if self.run_id is None and run_id:
            self.run_id = str(run_id)
            if self.ui_url:
                self.console.print(
                    f"{self.what}: {prefect_api.run_url(self.ui_url, self.run_id)}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
        c = self.counts
        total = getattr(record, "files_to_ingest", None)
        if total is not None:
            c.files_total = int(total)
        rows = getattr(record, "rows_ingested", None)
        if rows is not None:
            c.files_done += 1
            c.rows += int(rows)
        task = getattr(record, "task_run_name", None)
        step = _RUN_SUFFIX.sub("", str(task)) if task else None
        detail = f"{c.rows:,} rows" if c.files_done else ""
        self.progress.update(
            self.task,
            description=f"{self.what} · {step}" if step else self.what,
            total=c.files_total,
            completed=c.files_done,
            detail=detail,
        )
        if not self.console.is_terminal and rows is None and step and record.levelno >= 30:
            # No live line off a terminal: warnings still reach the person.
            self.console.print(f"{step}: {record.getMessage()}", markup=False, highlight=False)


@contextmanager
def watching(console: Console, what: str, *, ui_url: str | None, verbose: bool) -> Iterator[None]:
    """Around a flow run called in this process: quiet console, live progress."""
    if verbose:
        yield
        return
    quiet_prefect_console()
    handler = RunProgress(console, what, ui_url)
    loggers = [logging.getLogger(name) for name in RUN_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with handler.progress:
            yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        c = handler.counts
        if c.files_done:
            console.print(f"ingested {c.files_done} log files, {c.rows:,} rows", highlight=False)


@contextmanager
def backfill_progress(console: Console, days: int) -> Iterator[Any]:
    """The emulator's backfill, day by day: a bar on a terminal, a line a day in a log
    (`handover up` keeps the emulator's output in .handover/logs/)."""
    progress = Progress(
        SpinnerColumn(), TextColumn("backfilling"), BarColumn(bar_width=24),
        MofNCompleteColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )  # fmt: skip
    task = progress.add_task("backfill", total=days, detail="")

    def on_day(day: Any, report: Any) -> None:
        detail = f"{day} · {report.api_calls:,} API calls"
        progress.update(task, advance=1, detail=detail)
        if not console.is_terminal:
            console.print(f"backfilled {detail}", markup=False, highlight=False)

    with progress:
        yield on_day
