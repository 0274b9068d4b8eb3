"""Heavy requests run in worker processes, so that no request can stall the others.

Routes are plain functions run in the server's thread pool, which keeps the event loop free only
while their work releases the GIL. Building a map page (Folium, JSON, Jinja), a coverage check, a
merge, an indicator report, an import, a layer's GeoJSON, a plan edit or a batch geocode job is
Python and pandas work that holds it: while ``/map/cases`` of all 20,000 demo cases was built
(7-18 s), ``/health`` waited up to a second at a time. So those requests hand their work to
:func:`run` (or :func:`run_json`, which also writes the answer there), which executes it in one
of ``GEO_GRID_HEAVY_WORKERS`` processes (0: in the calling thread, as before) and waits for it
without holding the GIL. A worker builds what it needs the first time (a batch geocode job: its
own geocoders, ~1.6 KB an address). A batch answered in the request is not sent here: the
server's own geocoders, warm before ``/health`` says so, answer it (``api/routers/geocoding.py``).

The processes die with the server, at once and however it ends (``kill -9`` included): each asks
the kernel for SIGKILL when its parent thread ends, and all are started by one thread of the
server that runs as long as the server does. So an import killed with its server leaves its
transaction to be rolled back, exactly as when it ran in a thread of the server; a server that
exits normally ends them first (:func:`stop`) instead of waiting for their work. They run at a
lower CPU priority (nice 10) than the server. While every worker is busy, a further heavy
request waits its turn; the quick ones never do. Each call carries the caller's settings, so a worker
sees exactly what the server sees. Errors come back as raised
(:class:`~geo_grid.errors.GeoGridError` with its field and extras).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from fastapi.responses import Response

from geo_grid.settings import get_settings

__all__ = [
    "in_every_worker",
    "preload",
    "preload_base_maps",
    "run",
    "run_json",
    "start",
    "stop",
    "warm",
    "warmed",
]

log = logging.getLogger("geo_grid.api")

T = TypeVar("T")

#: Imported by each worker as it starts, so the first request does not wait for them.
_PRELOAD = (
    "geo_grid.services.maps",
    "geo_grid.services.checks",
    "geo_grid.services.cases",
    "geo_grid.services.layers",
    "geo_grid.services.plans",
    "geo_grid.services.geocoding",
    "geo_grid.maps",
    "geo_grid.coverage",
    "geo_grid.io",
)
_PR_SET_PDEATHSIG = 1
_NICE = 10
#: Rounds of calls :func:`in_every_worker` makes before it gives up on a worker never free.
_WARM_ROUNDS = 20

_pool: ProcessPoolExecutor | None = None
_size = 0
_lock = threading.Lock()
_requests: queue.Queue[tuple[int, Future]] = queue.Queue()
_starter: threading.Thread | None = None
_stopping = False
_warmed: ProcessPoolExecutor | None = None  # the pool whose every process ran the warm-up


def _init_worker(server_pid: int) -> None:
    """Worker initializer: SIGKILL when the server's starter thread (so the server) ends, and
    gone at once if it already has; Ctrl-C is the server's to handle (the whole process group
    gets it); a lower CPU priority than the server's, whose quick requests go first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server_pid:
        os._exit(1)
    os.nice(_NICE)


def _preload() -> int:
    for name in _PRELOAD:
        importlib.import_module(name)
    return os.getpid()


def _start(size: int) -> ProcessPoolExecutor:
    """A pool of ``size`` started processes (run by the starter thread: their parent thread)."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
    pool = ProcessPoolExecutor(
        size, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
    )
    # each submit starts a process while none is idle: all `size` start here, in this thread
    ready = [pool.submit(_preload) for _ in range(size)]
    for started in ready:
        started.result()
    return pool


def _starter_loop() -> None:
    while True:
        size, answer = _requests.get()
        try:
            answer.set_result(_start(size))
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            answer.set_exception(exc)
        del answer  # it holds the pool, which must go when stop() drops it


def _call(settings: dict[str, Any], fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    """In a worker: take on the server's settings, then do the work."""
    _take_on(settings)
    return fn(*args, **kwargs)


def _take_on(settings: dict[str, Any]) -> None:
    """Make the worker's settings the server's. When they differ, the worker gets a new settings
    object, as the server does after ``get_settings.cache_clear()``: what was built under the old
    ones and keyed on their object (the locate index's engine) is then built again, instead of
    querying the database of the old settings (once dropped: every batch geocode a 503)."""
    current = get_settings()
    if all(getattr(current, name) == value for name, value in settings.items()):
        return
    get_settings.cache_clear()
    current = get_settings()
    for name, value in settings.items():
        if getattr(current, name) != value:
            setattr(current, name, value)


def _executor(size: int) -> ProcessPoolExecutor:
    global _pool, _size, _starter
    with _lock:
        if _stopping:
            raise RuntimeError("the server is shutting down: no heavy work is started")
        if _pool is None or _size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            if _starter is None:
                _starter = threading.Thread(
                    target=_starter_loop, name="geo-grid-workers", daemon=True
                )
                _starter.start()
            answer: Future = Future()
            _requests.put((size, answer))
            _pool, _size = answer.result(), size
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker process, from a route's thread; its result or error.

    ``fn`` and its arguments must pickle (module-level functions, plain values, frames).
    A worker that died (out of memory, killed) is replaced and the call tried once more.
    """
    settings = get_settings()
    size = int(settings.heavy_workers)
    if size <= 0:
        return fn(*args, **kwargs)
    snapshot = settings.model_dump()
    for attempt in (1, 2):
        pool = _executor(size)
        try:
            return pool.submit(_call, snapshot, fn, args, kwargs).result()
        except BrokenProcessPool:
            _discard(pool)
            if attempt == 2 or _stopping:
                raise
            log.error("a worker process died; starting new ones and trying %s again", fn.__name__)
    raise AssertionError("unreachable")


def preload() -> None:
    """What every heavy request imports (geopandas, shapely, Folium, the services), imported in a
    worker by the warm-up (:func:`warm`): a process spawned and importing on the first request
    made it wait some seconds more. Nothing is built: a worker's caches are its requests'."""
    for name in ("geo_grid.services.maps", "geo_grid.services.checks", "geo_grid.services.plans",
                 "geo_grid.services.layers", "geo_grid.services.exports",
                 "geo_grid.maps"):  # fmt: skip
        importlib.import_module(name)


def preload_base_maps() -> None:
    """Every district's base map (its roads and place names, read from its door plates: 2-4 s
    of CPU for a district of 100,000-200,000 addresses), built in a worker by the warm-up once
    the server is warm: a worker drawing its first page of a district built it then, so each
    district's first page in each worker took that much longer (the dispatch page of a district
    of 195,000 addresses: 5.7 s of CPU, 1.6 s after)."""
    from geo_grid.errors import BadInput, NotFound
    from geo_grid.services import districts, places

    for code in districts.profiles():
        with contextlib.suppress(BadInput, NotFound):  # a district not yet published
            places.base_map(code)


def warm(fn: Callable[[], None]) -> None:
    """``fn()`` in every worker process, at once (the server's warm-up thread calls it).

    One call per worker, all submitted together: each is long (seconds), so every idle worker
    takes one. Which worker takes a call is the pool's choice: a worker busy with a request, or
    not scheduled in time on a loaded machine (CI, two cores), leaves its call to another, for
    which it is then quick (what it builds is cached). So the calls are made again, as many as
    workers still missing, until each process has answered one. Errors are raised, as from
    :func:`run`.
    """
    global _warmed
    pool = in_every_worker(fn)
    if pool is not None:
        _warmed = pool


def in_every_worker(fn: Callable[[], None]) -> ProcessPoolExecutor | None:
    """``fn()`` in every worker process at once, as :func:`warm` runs it, without saying the
    workers warm: what the warm-up builds after ``/health`` said so (the pool it ran in; None
    without worker processes)."""
    settings = get_settings()
    size = int(settings.heavy_workers)
    if size <= 0:
        return None
    snapshot = settings.model_dump()
    pool = _executor(size)
    pending = set(pool._processes or {})  # their ids; no public way to name a pool's processes
    for _ in range(_WARM_ROUNDS):
        calls = [pool.submit(_call_in, snapshot, fn) for _ in range(max(len(pending), 1))]
        pending -= {call.result() for call in calls}
        if not pending:
            break
    else:
        log.warning("%d worker process(es) never took the warm-up's call", len(pending))
    return pool


def _call_in(settings: dict[str, Any], fn: Callable[[], None]) -> int:
    """:func:`_call` of ``fn``, answering which process ran it."""
    _call(settings, fn, (), {})
    return os.getpid()


def warmed() -> bool:
    """Whether a heavy request finds a worker that has run the warm-up (always, without worker
    processes). ``/health`` says ``warm`` only then: said once the server's own caches were
    built, the first heavy requests still waited for workers starting and importing (or, before
    batches were answered by the server's geocoders, building geocoders of their own: a coverage
    check of an upload waited 62 s in the admin's schemathesis run). Workers started anew (one
    died) are not warm until the warm-up has run in them."""
    if int(get_settings().heavy_workers) <= 0:
        return True
    return _warmed is not None and _warmed is _pool


def _json_of(model: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> bytes:
    from api.serialize import json_bytes

    return json_bytes(model, fn(*args, **kwargs))


def run_json(model: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Response:
    """:func:`run` for a route's whole answer: ``fn``'s result is validated as ``model`` and
    written to JSON in the worker too, so the server only passes the bytes on."""
    from api.serialize import json_response

    return json_response(run(_json_of, model, fn, args, kwargs))


def stop() -> None:
    """End the workers at once, abandoning what they run (as the end of the process would).

    Called as the interpreter exits (registered below), before ``concurrent.futures`` would wait
    for the work still running in them, such as the warm-up's page: a server told to stop by
    SIGTERM then waited for that build (seconds) before it ended. Later calls of :func:`run` fail.
    """
    global _pool, _stopping
    with _lock:
        _stopping = True
        pool, _pool = _pool, None
    if pool is None:
        return
    processes = list((pool._processes or {}).values())  # no public way to end a busy worker
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    pool.shutdown(wait=True)


# threading's exit callbacks run before atexit's and in reverse order of registration, so this
# one runs before the one concurrent.futures registered when it was imported (above), which
# joins each pool's manager thread and so waits for the work in flight.
threading._register_atexit(stop)  # type: ignore[attr-defined]


def start() -> None:
    """Start the workers now (the server calls this before it takes requests), so the first
    heavy request does not wait for them. A failure is logged: the first request tries again."""
    size = int(get_settings().heavy_workers)
    if size <= 0:
        return
    try:
        _executor(size)
    except Exception as exc:  # noqa: BLE001 (a server without its workers still serves)
        log.warning("worker processes not started: %s", exc)
