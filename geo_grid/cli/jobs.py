"""``geo-grid worker`` and ``geo-grid jobs``: run the job queue's work, and follow jobs.

``geo-grid worker`` takes jobs from the queue in PostgreSQL and runs them in this process until
it is stopped: SIGTERM or Ctrl-C lets the job in hand finish, then exits 0; a second one puts
that job back in the queue for another worker and exits 130. Run as many as the machine
allows (each takes one job at a time, ``FOR UPDATE SKIP LOCKED`` keeps them apart); a worker
killed outright has its job taken again once its heartbeat is older than
``GEO_GRID_JOB_STALE_SECONDS``. ``geo-grid jobs list`` and ``jobs show ID [--watch]`` read the
queue (``--watch``: a progress bar until the job ends).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Annotated

import typer
from rich.table import Table

from geo_grid.cli._common import err, out, print_json
from geo_grid.cli._progress import OPERATOR, bar
from geo_grid.labels import JOB_STATUS, label

__all__ = ["jobs_app", "register", "worker_cmd"]

jobs_app = typer.Typer(help="Jobs: long work queued by the API (merge, accept-all, checks...).")


def register(app: typer.Typer) -> None:
    """Add ``worker`` and the ``jobs`` group to the ``geo-grid`` app."""
    app.command("worker")(worker_cmd)
    app.add_typer(jobs_app, name="jobs")


def _stop_on_signals(stop: threading.Event) -> None:
    """First SIGTERM/SIGINT: stop after the job in hand; the second: KeyboardInterrupt now."""

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err.print(f"{signal.Signals(signum).name}: finishing the job in hand, then stopping")

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def worker_cmd(
    kinds: Annotated[
        str | None, typer.Option(help="Only these kinds, comma-separated (default: all).")
    ] = None,
    poll: Annotated[
        float | None, typer.Option(help="Seconds between looks at an empty queue.")
    ] = None,
) -> None:
    """Take jobs from the queue and run them until stopped (SIGTERM: after the job in hand)."""
    from geo_grid.services import jobs
    from geo_grid.services.job_kinds import kind_of

    wanted = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    for kind in wanted or ():
        kind_of(kind)  # an unknown kind: exit 2 naming the known ones
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    _stop_on_signals(stop)
    name = jobs.worker_name()
    err.print(f"worker {name} taking jobs ({', '.join(wanted) if wanted else 'all kinds'})")
    try:
        jobs.serve(stop, name=name, kinds=wanted, poll_s=poll)
    except KeyboardInterrupt:
        err.print("stopped at once: the job in hand went back to the queue")
        raise typer.Exit(130) from None
    err.print("stopped")


def _show(job: dict) -> None:
    out.print(f"job {job['id']} {job['title']} ({job['kind']}): "
              f"{label(JOB_STATUS, job['status'])} {job['progress']:.0%} {job['message'] or ''}")  # fmt: skip
    if job.get("error"):
        out.print(f"error: {job['error']['message']}")


@jobs_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="queued|running|done|failed")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The jobs in the queue, newest first (everyone's)."""
    from geo_grid.services import jobs

    rows, total = jobs.list_for(OPERATOR, status=status, limit=limit, everyone=True)
    if as_json:
        print_json({"data": rows, "count": total})
        return
    table = Table("id", "kind", "status", "progress", "message", "by", "created")
    for r in rows:
        table.add_row(str(r["id"]), r["title"], label(JOB_STATUS, r["status"]),
                      f"{r['progress']:.0%}", r["message"] or "", r["created_by"],
                      str(r["created_at"])[:19])  # fmt: skip
    out.print(table)
    out.print(f"{len(rows)} of {total}")


@jobs_app.command("show")
def show_cmd(
    job_id: Annotated[int, typer.Argument(metavar="ID")],
    watch: Annotated[
        bool, typer.Option("--watch", help="Draw its progress until it ends.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One job: state, progress and result (exit 1 when it failed)."""
    from geo_grid.services import jobs

    job = jobs.get(job_id, viewer=OPERATOR)
    if watch:
        with bar(job["title"]) as report:
            while job["status"] in ("queued", "running"):
                report(job["progress"], job["message"] or "")
                time.sleep(0.5)
                job = jobs.get(job_id, viewer=OPERATOR)
    if as_json:
        print_json(job)
    else:
        _show(job)
    if job["status"] == "failed":
        raise typer.Exit(1)
