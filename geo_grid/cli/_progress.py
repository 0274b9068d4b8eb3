"""Progress bars (rich, on standard error) fed by long work's progress, and the CLI's caller.

Long commands (``check``, ``fix``, ``merge``, ``plan suggest --accept-all``) run the same work
as the API's jobs (:func:`geo_grid.services.jobs.run_here`) in this process and draw its
progress, fraction and Chinese message, as a bar; ``geo-grid jobs show ID --watch`` draws a
queued job's from its row. Nothing is drawn when standard error is not a terminal (scripts,
``--json | jq``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from geo_grid.access import Principal
from geo_grid.cli._common import err

__all__ = ["OPERATOR", "Report", "bar", "run_kind", "stage_progress"]

#: Who the command line acts as: the operator of the machine, with every right (it reaches the
#: database directly anyway); stored work names it ``cli``.
OPERATOR = Principal(name="cli", role="admin")

#: ``report(fraction 0..1, message)``: what long work calls as it goes.
Report = Callable[[float, str], None]


@contextmanager
def bar(title: str, *, show: bool | None = None) -> Iterator[Report]:
    """A bar titled ``title`` for the duration of the block; yields its ``report``."""
    if not (err.is_terminal if show is None else show):
        yield lambda fraction, message: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[message]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(title, total=1.0, message="")

        def report(fraction: float, message: str) -> None:
            progress.update(task, completed=fraction, message=message)

        yield report


def stage_progress(report: Report) -> Callable[[str, int, int], None]:
    """``report`` as the ``progress(stage, done, total)`` callback the coverage services take."""
    from geo_grid.labels import JOB_STAGE, label

    def step(stage: str, done: int, total: int) -> None:
        report(done / max(total, 1), label(JOB_STAGE, stage))

    return step


def run_kind(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The work of a job ``kind`` done in this process as the operator (stored as ``cli``), its
    progress drawn as a bar: the same checks of the arguments and the same work as the job."""
    from geo_grid.services.job_kinds import title
    from geo_grid.services.jobs import run_here

    with bar(title(kind)) as report:
        return run_here(kind, params, principal=OPERATOR, on_report=report, author="cli")
