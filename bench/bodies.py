"""The server's memory around huge request bodies: an anonymous 200 MiB POST and uploads.

``python bench/bodies.py [--mib 200] [--upload-mib 45] [--app-dir DIR]``

Starts the API (``uvicorn api.main:app``, as ``geo-grid serve`` does, with its worker processes)
on the store the CLI uses (``GEO_GRID_DATABASE_URL``, else the local cluster under
``GEO_GRID_HOME``; the demo is loaded first if it is not), waits until it is warm and every
process's size has settled (the warm-up builds the geocoder and the locate index in the server
and in each worker process, hundreds of MiB that would otherwise count as a body's growth, and
keeps the workers busy), then sends one request at a time:

1. ``POST /api/v1/users`` without credentials, ``--mib`` of JSON with its ``Content-Length``;
2. the same without a length (chunked);
3. ``POST /api/v1/checks`` (an upload route) without credentials, a ``--mib`` multipart file;
4. the same as a planner: over ``GEO_GRID_UPLOAD_MAX_BYTES``, so 413;
5. a planner's ``--upload-mib`` file under that limit, spooled to disk and then refused by its
   type (``.kml``: 422), so the whole body is received.

Before each request the peak resident size of the server and of each of its child processes
(the heavy-work processes of ``api/workers.py``) is reset to the current size
(``/proc/PID/clear_refs``); after the answer, ``VmHWM`` is the peak reached while it was handled.
Printed per request: the answer, its time, and per process ``VmRSS`` before, ``VmHWM`` after and
the growth. Linux only, and as the server's user or root (``clear_refs``).

``--app-dir`` serves another checkout's code against the same store (a tree exported with
``git archive``), e.g. the one before the bodies were capped.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import headers, serve, stop  # noqa: E402  (bench/ is the script's folder)

MiB = 1024 * 1024


@dataclass(frozen=True)
class Memory:
    """One process's resident size (``VmRSS``) and the peak since the last reset (``VmHWM``), MiB."""

    rss: float
    hwm: float


def _status(pid: int) -> Memory:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return Memory(fields["VmRSS"], fields["VmHWM"])


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the heavy-work processes, the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def _label(pid: int, server: int) -> str:
    if pid == server:
        return "server"
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return "resource tracker" if "resource_tracker" in cmd else f"worker {pid}"


def _settle(server: int, quiet_s: float = 10.0, timeout_s: float = 600.0) -> float:
    """Wait until no process of the server grew by more than 2 MiB for ``quiet_s``; seconds
    waited."""
    started = last_change = time.monotonic()
    sizes: dict[int, float] = {}
    while time.monotonic() - last_change < quiet_s:
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"the server's processes did not settle within {timeout_s:.0f} s")
        for pid in [server, *_children(server)]:
            rss = _status(pid).rss
            if abs(rss - sizes.get(pid, 0.0)) > 2:
                sizes[pid], last_change = rss, time.monotonic()
        time.sleep(1.0)
    return time.monotonic() - started


def _measure(server: int, send: Callable[[], httpx.Response]) -> tuple[dict, httpx.Response, float]:
    """``{label: (rss before, peak during)}`` of the server and its children around ``send()``."""
    pids = [server, *_children(server)]
    before = {}
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak restarts from the current size
        before[pid] = _status(pid).rss
    started = time.perf_counter()
    answer = send()
    elapsed = time.perf_counter() - started
    after = {pid: _status(pid) for pid in pids}
    return {_label(p, server): (before[p], after[p].hwm) for p in pids}, answer, elapsed


def _zeros(total: int, block: int = MiB) -> Iterator[bytes]:
    chunk = b"0" * block
    for _ in range(total // block):
        yield chunk


def _sparse(folder: Path, name: str, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk (the server still receives them all)."""
    path = folder / name
    with path.open("wb") as f:
        f.truncate(size)
    return path


def _requests(base: str, mib: int, upload_mib: int, folder: Path) -> list[tuple[str, Callable]]:
    planner = headers("planner")
    big = _sparse(folder, "big.kml", mib * MiB)
    small = _sparse(folder, "under.kml", upload_mib * MiB)

    def post(path: str, **kwargs) -> Callable[[], httpx.Response]:
        def send() -> httpx.Response:
            try:
                return httpx.post(f"{base}{path}", timeout=600, **kwargs)
            except httpx.HTTPError as exc:  # a server that stops reading may reset the upload
                return httpx.Response(599, text=f"{type(exc).__name__}: {exc}")

        return send

    def upload(path: Path, auth: dict[str, str]) -> Callable[[], httpx.Response]:
        def send() -> httpx.Response:
            with path.open("rb") as f:
                return post("/api/v1/checks", files={"file": (path.name, f)}, headers=auth)()

        return send

    json_head = {"Content-Type": "application/json"}
    return [
        (f"anonymous POST /api/v1/users, {mib} MiB JSON, Content-Length",
         post("/api/v1/users", content=_zeros(mib * MiB),
              headers={**json_head, "Content-Length": str(mib * MiB)})),
        (f"anonymous POST /api/v1/users, {mib} MiB JSON, chunked",
         post("/api/v1/users", content=_zeros(mib * MiB), headers=json_head)),
        (f"anonymous POST /api/v1/checks, {mib} MiB multipart", upload(big, {})),
        (f"planner POST /api/v1/checks, {mib} MiB multipart", upload(big, planner)),
        (f"planner POST /api/v1/checks, {upload_mib} MiB multipart", upload(small, planner)),
    ]  # fmt: skip


def _report(title: str, memory: dict, answer: httpx.Response, elapsed: float) -> None:
    message = answer.text[:110].replace("\n", " ")
    print(f"\n{title}\n  answer {answer.status_code} in {elapsed:.1f} s: {message}")
    print(f"  {'process':18s} {'VmRSS before':>13s} {'VmHWM during':>13s} {'growth':>8s}")
    for label, (rss, hwm) in memory.items():
        print(f"  {label:18s} {rss:10.0f} MiB {hwm:10.0f} MiB {hwm - rss:+5.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=200, help="size of the huge bodies (200)")
    parser.add_argument("--upload-mib", type=int, default=45, help="an upload under the limit")
    parser.add_argument("--app-dir", type=Path, default=REPO, help="the code to serve")
    args = parser.parse_args(argv)
    # the warm-up builds the geocoders in the server and in each worker process (/health says
    # warm only then): minutes on a busy two-core machine
    proc, base = serve(1, app_dir=args.app_dir.resolve(), timeout_s=900)
    try:
        health = httpx.get(f"{base}/health", timeout=10).json()
        print(f"server {proc.pid} at {base} ({args.app_dir.resolve()}), warm: {health.get('warm')}")
        print(f"every process settled after {_settle(proc.pid):.0f} s more")
        print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
        with tempfile.TemporaryDirectory(prefix="geo-grid-bodies-") as folder:
            for title, send in _requests(base, args.mib, args.upload_mib, Path(folder)):
                _report(title, *_measure(proc.pid, send))
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
