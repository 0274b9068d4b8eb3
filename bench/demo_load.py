"""How long ``geo-grid demo load --city 3201`` takes, phase by phase, and the CPU it costs.

Creates a fresh database in the local cluster (``geo-grid db start`` first; nothing else in the
store is touched), migrates it, loads the national gazetteer (``geo-grid gazetteer load``, as
``make demo`` does first; not timed), then runs the command line exactly as an operator would::

    geo-grid demo load --city 3201 [--processes N]

and prints every line it writes with the seconds since the start and the load average, then:

* wall time, and the CPU seconds of the command and every process it started (its generation
  and storing workers: ``wait4``'s rusage of the whole tree), and of PostgreSQL (the postmaster's
  own and reaped children's CPU, plus its live backends') over the run: on a 2-core machine
  shared with other engineers the wall time says as much about the neighbours as about the load;
* the rows stored, counted in the database (grids per layer, addresses, buildings, roster,
  cases, events), and that no index is left set aside;
* the statements PostgreSQL logged as slow (over 300 ms) during the run, summed per table, when
  ``log_min_duration_statement`` is on in the cluster.

``--app-dir DIR`` runs another checkout's command line against the same cluster (e.g. the commit
before this work, exported with ``git archive``): the before and after of docs/scaling.md.
``--keep`` keeps the database (its URL is printed).

    python bench/demo_load.py [--city 3201] [--processes N] [--app-dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, children  # noqa: E402

_CLK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds of ``pid`` (with ``reaped``: plus its exited, waited-for children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _CLK


def _postgres_cpu(postmaster: int) -> float:
    """The cluster's CPU so far: the postmaster's, its reaped backends', its live children's."""
    total = _proc_cpu(postmaster, reaped=True)
    return total + sum(_proc_cpu(child) for child in children(postmaster))


def _database(name: str) -> tuple[str, str]:
    """(admin URL of the cluster's own database, URL of a new database ``name``)."""
    from geo_grid.db.session import database_url

    admin = database_url()
    return admin, admin.replace("/geogrid?", f"/{name}?", 1)


def _sql(url: str, statement: str, *, autocommit: bool = False) -> list:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT" if autocommit else None)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def _stream(proc: subprocess.Popen, started: float, lines: list[str]) -> None:
    for raw in proc.stdout:  # type: ignore[union-attr]
        line = raw.rstrip()
        stamped = f"{time.perf_counter() - started:7.1f} s  load {os.getloadavg()[0]:4.1f}  {line}"
        print(stamped, flush=True)
        lines.append(stamped)


_COUNTS = {
    "districts": "SELECT count(*) FROM district",
    "unified grids": "SELECT count(*) FROM grid g JOIN generation n ON n.id = g.generation_id "
    "WHERE n.status = 'published' AND g.layer_key = 'unified'",
    "department grids": "SELECT count(*) FROM grid g JOIN generation n ON n.id = g.generation_id "
    "WHERE n.status = 'published' AND g.layer_key <> 'unified'",
    "communities": "SELECT count(*) FROM admin_area WHERE level = 'community'",
    "addresses": "SELECT count(*) FROM address",
    "buildings": "SELECT count(*) FROM building",
    "roster roles": "SELECT count(*) FROM roster",
    "cases": 'SELECT count(*) FROM "case"',
    "case events": "SELECT count(*) FROM case_event",
    "indexes set aside": "SELECT count(*) FROM meta WHERE key LIKE 'deferred_indexes:%'",
}


def _slow_statements(log: Path, offset: int) -> dict[str, tuple[float, int]]:
    """``{statement head: (seconds, count)}`` of the slow statements logged after ``offset``."""
    import re

    out: dict[str, tuple[float, int]] = {}
    if not log.exists():
        return out
    with log.open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    for ms, head in re.findall(r"duration: ([0-9.]+) ms  statement: (\w+ \S+)", text):
        seconds, n = out.get(head, (0.0, 0))
        out[head] = (seconds + float(ms) / 1000, n + 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", default="3201")
    ap.add_argument("--processes", type=int, default=None)
    ap.add_argument("--app-dir", type=Path, default=REPO)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    from _common import postmaster_pid

    from geo_grid.db.session import local_cluster

    name = f"bench_city_{uuid.uuid4().hex[:8]}"
    admin, url = _database(name)
    _sql(admin, f'CREATE DATABASE "{name}"', autocommit=True)
    env = {**os.environ, "GEO_GRID_DATABASE_URL": url, "PYTHONPATH": str(args.app_dir),
           "GEO_GRID_HOME": str(REPO / ".geo-grid" / name)}  # fmt: skip
    cli = [sys.executable, "-c", "from geo_grid.cli import main; main()"]
    try:
        subprocess.run([*cli, "db", "start"], cwd=args.app_dir, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        # as `make demo` does first, untimed: without the national gazetteer a city's address
        # texts cannot be routed by their admin prefix, and every district's geocoder is asked
        subprocess.run([*cli, "gazetteer", "load"], cwd=args.app_dir, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        log = local_cluster().log_file
        offset = log.stat().st_size if log.exists() else 0
        pg = postmaster_pid()
        pg0 = _postgres_cpu(pg) if pg else 0.0
        command = [*cli, "demo", "load", "--city", args.city]
        if args.processes:
            command += ["--processes", str(args.processes)]
        print(f"{os.cpu_count()} cores, load average "
              + ", ".join(f"{x:.1f}" for x in os.getloadavg())
              + f"; database {name}; {' '.join(command[3:])} from {args.app_dir}")  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=args.app_dir, env={**env, "COLUMNS": "200"},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        lines: list[str] = []
        reader = threading.Thread(target=_stream, args=(proc, started, lines))
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        reader.join()
        pg_cpu = (_postgres_cpu(pg) - pg0) if pg else float("nan")
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"the load failed (exit {os.waitstatus_to_exitcode(status)})")
            return 1
        cpu = usage.ru_utime + usage.ru_stime
        print(f"\nwall {wall:.1f} s ({wall / 60:.1f} min); CPU: command and its workers "
              f"{cpu:.1f} s, PostgreSQL {pg_cpu:.1f} s; peak RSS of one process "
              f"{usage.ru_maxrss / 1024:.0f} MiB; load average now "
              + ", ".join(f"{x:.1f}" for x in os.getloadavg()))  # fmt: skip
        for label, statement in _COUNTS.items():
            print(f"  {label}: {_sql(url, statement)[0][0]:,}")
        slow = _slow_statements(log, offset)
        if slow:
            print("statements over PostgreSQL's log_min_duration_statement, per kind:")
            for head, (seconds, n) in sorted(slow.items(), key=lambda kv: -kv[1][0]):
                print(f"  {head:<40} {seconds:7.1f} s in {n}")
    finally:
        if args.keep:
            print(f"kept: GEO_GRID_DATABASE_URL='{url}'")
        else:
            _sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', autocommit=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
