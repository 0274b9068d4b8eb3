"""The API as a server subprocess, for the fault tests and the benches: one way to start it.

``tests/api_server.py`` (fault tests that kill the server for real) and the benches
(``bench/_common.py``, ``bench/city_api.py``, ``bench/cases.py``, ``bench/api_latency.py``) each
run ``uvicorn api.main:app`` on a free port of 127.0.0.1 and wait for ``/health`` in their own way
(warm on every worker, answering at all ...); the command and the port come from here.

Examples
--------
>>> uvicorn_command(8123)[1:]
['-m', 'uvicorn', 'api.main:app', '--host', '127.0.0.1', '--port', '8123', '--log-level', 'warning']
>>> uvicorn_command(8123, workers=4, access_log=False)[-5:]
['--log-level', 'warning', '--workers', '4', '--no-access-log']
>>> uvicorn_command(8123, app=("--factory", "bench.cases:baseline_app"))[3:5]
['--factory', 'bench.cases:baseline_app']
>>> 0 < free_port() < 65536
True
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence

__all__ = ["free_port", "uvicorn_command"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now.

    (:mod:`geo_grid.db.cluster` keeps its own for the clusters it starts: the library does not
    import this package, and this package, of the domain ring, imports nothing of ``geo_grid.db``.)
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvicorn_command(
    port: int,
    *,
    app: Sequence[str] = ("api.main:app",),
    workers: int | None = None,
    access_log: bool = True,
) -> list[str]:
    """The command serving ``app`` on 127.0.0.1:``port`` with this interpreter (the checkout's
    ``.venv``), logging warnings only: ``workers`` processes (None: uvicorn's one), without the
    access log when ``access_log`` is off (a bench measures the server, not its logging)."""
    command = [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning"]
    if workers is not None:
        command += ["--workers", str(workers)]
    if not access_log:
        command.append("--no-access-log")
    return command
