"""Request bodies against a real server: credentials before bytes, uploads on disk, kill -9.

A ``uvicorn`` subprocess (``tests/api_server.py``) on the session's demo database, so what is
measured is the server's own memory (``/proc/<pid>/status``: ``VmHWM``, the peak resident size,
reset before each measured request through ``/proc/<pid>/clear_refs``) and its own files.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_server import COLD, ApiServer, start_server

MiB = 1024 * 1024
#: No escalation sweep and no worker processes (api/workers.py) for a server whose memory is not
#: measured: it starts seconds sooner without them.
QUICK = {**COLD, "heavy_workers": "0"}


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory) -> Iterator[ApiServer]:
    """A server of the demo district, as the issue measured it (850 MiB before its 401), warm:
    the warm-up builds the geocoder in the server's memory, which would otherwise count as the
    bodies' growth."""
    home = tmp_path_factory.mktemp("bodies") / "home"
    started = start_server(demo_db, home, case_tick_seconds="0", upload_max_bytes=str(120 * MiB))
    deadline = time.monotonic() + 180
    while not started.get("/health").json()["warm"]:
        assert time.monotonic() < deadline, started.log_text()
        time.sleep(0.5)
    yield started
    started.stop()


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


def _peak_growth_mib(server: ApiServer, send) -> tuple[float, object]:
    """How far above its current size the server's peak memory went while ``send()`` ran."""
    pid = server.proc.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak restarts from the current size
    before = _status_kib(pid, "VmRSS")
    answer = send()
    return (_status_kib(pid, "VmHWM") - before) / 1024, answer


def _chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    block = b"x" * size
    for _ in range(total // size):
        yield block


def _raw(server: ApiServer, head: str, body: bytes = b"", timeout: float = 10.0) -> bytes:
    """Send ``head`` (and the start of a body) on a raw socket; what the server answers."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def test_an_anonymous_huge_post_is_refused_before_a_byte_of_it_is_read(server) -> None:
    # only the headers are sent: a server that waited for the 200 MiB would never answer
    answer = _raw(
        server,
        "POST /api/v1/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {200 * MiB}\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), answer[:300]
    assert json.loads(body)["error"]["message"].startswith("credentials required")

    def send() -> httpx.Response:  # and when all of it is sent, the server holds none of it
        return httpx.post(
            f"{server.base_url}/api/v1/users",
            content=_chunks(200 * MiB),
            headers={"Content-Type": "application/json", "Content-Length": str(200 * MiB)},
            timeout=120,
        )

    growth, response = _peak_growth_mib(server, send)
    assert response.status_code == 401, response.text
    assert growth < 20, f"the server grew by {growth:.0f} MiB for an anonymous 200 MiB POST"


def test_a_chunked_anonymous_form_is_refused_unread_too(server) -> None:
    answer = _raw(
        server,
        "POST /api/v1/api-keys HTTP/1.1\r\nHost: test\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"100000\r\n" + b"a=" + b"x" * 1000,
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:300]


def test_an_upload_is_spooled_to_disk_not_held_in_memory(server) -> None:
    data = os.urandom(MiB) * 100  # 100 MiB the route refuses by its name only after spooling

    def send() -> httpx.Response:
        return server.post(
            "/api/v1/checks", files={"file": ("big.kml", data)}, data={"crs": "4490"}, timeout=120
        )

    growth, response = _peak_growth_mib(server, send)
    assert response.status_code == 422, response.text
    assert "unsupported file type '.kml'" in response.json()["error"]["message"]
    assert growth < 30, f"the server grew by {growth:.0f} MiB for a 100 MiB upload"


def test_413_over_the_upload_limit_before_reading_it(server) -> None:
    answer = _raw(
        server,
        "POST /api/v1/checks HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: {server.client.headers['authorization']}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {200 * MiB}\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    error = json.loads(body)["error"]
    assert error["field"] == "file" and "GEO_GRID_UPLOAD_MAX_BYTES" in error["message"]


def _spooled(home: Path) -> list[Path]:
    return sorted((home / "tmp").glob("*/upload_*/file.*")) if (home / "tmp").is_dir() else []


def test_kill_9_mid_upload_leaves_a_file_under_home_that_the_next_start_removes(
    database_url, tmp_path
) -> None:
    home = tmp_path / "home"
    server = start_server(database_url, home, **QUICK)
    host, port = server.base_url.removeprefix("http://").split(":")
    part = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="grids.geojson"\r\n'
        b"Content-Type: application/geo+json\r\n\r\n"
    )
    sock = socket.create_connection((host, int(port)), timeout=10)
    try:
        sock.sendall(
            (
                "POST /api/v1/layers/unified/imports HTTP/1.1\r\nHost: test\r\n"
                f"Authorization: {server.client.headers['authorization']}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {10 * MiB}\r\n\r\n"
            ).encode()
            + part
            + b" " * MiB  # a tenth of the body; the rest never comes
        )
        deadline = time.monotonic() + 30
        while not _spooled(home) and time.monotonic() < deadline:
            time.sleep(0.05)
        spooled = _spooled(home)
        assert spooled, f"no spooled upload under {home / 'tmp'}: {server.log_text()}"
        server.kill()
    finally:
        sock.close()
        server.kill()
    assert spooled[0].exists()  # kill -9: nobody removed it
    restarted = start_server(database_url, home, **QUICK)
    try:
        assert not spooled[0].parent.parent.exists()  # the dead process's folder is gone
        assert _spooled(home) == []
    finally:
        restarted.stop()
