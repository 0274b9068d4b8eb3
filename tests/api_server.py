"""The API as a real server process for fault tests: uvicorn in a subprocess, killed for real.

The fault tests stop PostgreSQL under a running server or ``kill -9`` it mid-transaction, which an
in-process ``TestClient`` cannot show. Every request and every server environment goes through
this module: :func:`api_headers` is where credentials are added once authentication lands, and
:func:`server_env` is the one place a server subprocess gets its environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from geo_grid.testing.server import free_port, uvicorn_command

__all__ = ["ApiServer", "api_headers", "serve_in_thread", "server_env", "start_server"]

REPO = Path(__file__).resolve().parents[1]


def api_headers() -> dict[str, str]:
    """Headers of every request the fault tests send: an admin's Bearer token.

    Minted without an account (the fault tests' private clusters have none); the server accepts
    it because it shares the session's ``GEO_GRID_AUTH_SECRET`` (set by the ``database_url``
    fixture in ``tests/conftest.py``, which every fault test therefore requests).
    """
    from auth import token_headers

    return token_headers("admin")


def server_env(database_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of an API server subprocess on ``database_url``.

    ``extra`` adds ``GEO_GRID_*`` settings by their lower-case name, e.g.
    ``case_tick_seconds="1"``. Everything else, ``GEO_GRID_AUTH_SECRET`` included, is inherited.
    """
    env = dict(os.environ)
    env.update(
        GEO_GRID_DATABASE_URL=database_url,
        GEO_GRID_HOME=str(home),
        PYTHONUNBUFFERED="1",
    )
    env.update({f"GEO_GRID_{k.upper()}": str(v) for k, v in extra.items()})
    return env


@dataclass
class ApiServer:
    """A running ``uvicorn api.main:app``; its stdout and stderr go to ``log``."""

    proc: subprocess.Popen
    base_url: str
    log: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, headers=api_headers(), timeout=10.0)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """``kill -9``: no shutdown hook, no rollback, no socket closed politely."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.client.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.client.close()


#: Settings of a server for a test that needs none of the warm caches (a kill -9 mid-upload or
#: mid-publish): no case ticker, no warm-up (its CPU, some 15 s of geocoder and page builds per
#: server, went to every such test; the server answers the same, only its first locate or
#: geocode builds what it needs).
COLD = {"case_tick_seconds": "0", "warm_up": "false"}


def start_server(
    database_url: str, home: Path, *, timeout: float = 180.0, **settings: str
) -> ApiServer:
    """Start uvicorn on a free port and wait until ``/health`` answers (200 or 503): the server
    starts its worker processes first, which takes a minute and more on a busy machine."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = home / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            uvicorn_command(port),
            cwd=REPO,
            env=server_env(database_url, home, **settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ApiServer(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API server exited ({proc.returncode}):\n{server.log_text()}")
        try:
            if server.get("/health").status_code in (200, 503):
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"the API server did not answer within {timeout} s:\n{server.log_text()}")


@contextlib.contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread of this process (for the browser tests, which need a
    real socket but share the session's database and caches); yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # the app starts its worker processes before it serves (api/workers.py): once per test
    # process, seconds on a busy machine
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
