"""The FastAPI app: thin routers over geo_grid.services; OpenAPI at /docs and /redoc (served offline)."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api import errors, openapi, policy, workers
from api.guard import GuardedRoute
from api.routers import (
    access,
    admin,
    auth,
    case_pages,
    case_photos,
    cases,
    checks,
    districts,
    docs,
    exports,
    geocoding,
    grids,
    health,
    jobs,
    layers,
    maps,
    open311,
    plan_pages,
    plans,
    search,
)
from geo_grid import scratch
from geo_grid.assets import static_path
from geo_grid.errors import BadInput
from geo_grid.services import jobs as job_service
from geo_grid.settings import get_settings

log = logging.getLogger("geo_grid.api")


def _warm(retry_s: float = 1.0, max_retry_s: float = 30.0) -> None:
    """Build the locate index, the geocoders, each district's coverage page and its places (the
    search box's) before the first user asks, then starts each worker process (its imports).

    Each takes seconds on the demo; built lazily the first dispatcher would wait for all of them.
    While the database is unreachable (started after the API, or restarting) this thread retries
    with a growing pause (``retry_s`` doubling up to ``max_retry_s``), so the server becomes warm
    by itself once the database is back. Any other failure is only logged: the first request
    builds (and reports) it again.
    """
    from geo_grid.errors import NotFound
    from geo_grid.services.database import UNREACHABLE, error_line

    pause, logged = retry_s, False
    while True:
        try:
            from api.routers.maps import identify_links
            from geo_grid.services import districts, index, maps, places
            from geo_grid.services.cases import placement

            for code in districts.profiles():  # the very page /map serves (its cache key)
                try:
                    maps.coverage_page(code, build_in=workers.run, links=identify_links())
                except NotFound as exc:  # a district onboarded but not yet published: the others
                    log.info("warm-up: no coverage page for %s yet: %s", code, exc)
            index.warm_geocoders()  # /health reports warm once they are built
            placement.warm_roster()  # whom intake routes to: else the first reports wait for it
            # then the search box's places (its first answer): after the geocoders, which the
            # hotline's case intake waits for
            for code in districts.profiles():
                with contextlib.suppress(BadInput):  # a district with no unified layer yet
                    places.place_index(code)
            # the geocoders and locate indexes are some 650,000 long-lived objects per district:
            # out of the collector's sight, a full collection no longer walks them (holding the
            # GIL, so the event loop, for a tenth of a second or more each time)
            gc.collect()
            gc.freeze()
            workers.warm(workers.preload)  # every worker started and its imports done
            _warm_after(identify_links())
            return
        except UNREACHABLE as exc:
            if not logged:
                log.warning("warm-up waits for the database: %s", error_line(exc))
                logged = True
            time.sleep(pause)
            pause = min(pause * 2, max_retry_s)
        except Exception as exc:  # noqa: BLE001 (warming is best effort)
            log.warning("warm-up skipped: %s", exc)
            return


def _warm_after(links) -> None:
    """Once the server says it is warm: each district's service-station page (the other page
    of a whole district that every viewer shares, 3-5 s of CPU on a district of the city), then
    every district's base map in every worker process (:func:`api.workers.preload_base_maps`).
    A page a user asks for meanwhile is built for them as before."""
    from geo_grid.errors import NotFound
    from geo_grid.services import districts, maps

    for code in districts.profiles():  # the very page /map/services serves (its cache key)
        with contextlib.suppress(NotFound, BadInput):
            maps.page("services", district=code, build_in=workers.run, links=links)
    workers.in_every_worker(workers.preload_base_maps)


#: How often a thread holding the GIL is asked to let another run (Python's default: 5 ms). Work
#: left in the thread pool (a page of cases, a layer's GeoJSON) holds the GIL between its I/O, and
#: each time the event loop needs it back it waits up to this long: a short request such as
#: /health waits dozens of times. 1 ms cut its waits during a batch geocode (then in the thread
#: pool) by about half.
SWITCH_INTERVAL_S = 0.001


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    swept = scratch.sweep()  # what a server killed with kill -9 left under <home>/tmp
    if swept:
        log.warning("removed %d temporary files left by ended processes", len(swept))
    # the worker processes (api/workers.py) are up before the first request (a heavy request
    # would otherwise wait for them to start, past its client's timeout on a busy machine) and
    # stay for the life of the process (a test's next TestClient reuses them); they end with it,
    # whatever ends it, without waiting for the work they run
    await run_in_threadpool(workers.start)
    if get_settings().warm_up:
        threading.Thread(target=_warm, name="geo-grid-warm", daemon=True).start()
    # job workers: threads that take queued jobs and run them in the worker processes above
    job_workers = job_service.start_workers(execute=workers.run)
    try:
        yield
    finally:
        # a thread that is idle stops at once; one running a job finishes it (or dies with the
        # process, and the job is taken again when its heartbeat is stale)
        await run_in_threadpool(job_workers.stop, 2.0)


def create_app() -> FastAPI:
    app = FastAPI(
        title="geo-grid",
        summary="网格化管理: grid store, coverage checks, geocoding, case routing and maps",
        version="0.1.0",
        lifespan=_lifespan,
        # FastAPI's pages load Swagger UI and ReDoc from a CDN: api/routers/docs.py serves ours
        docs_url=None,
        redoc_url=None,
        # every route's own class applies the role table (api/policy.py), the body caps and the
        # NUL guard before any body is read (api/guard.py); bind() below refuses any other route
        responses=errors.ERROR_RESPONSES,
    )
    app.router.route_class = GuardedRoute
    errors.register(app)  # also answers page routes' 403/404 as Chinese pages (api/pages.py)
    # matched in this order, router by router: the busiest routes (case intake, locate and
    # geocode) first. Placed eleventh, intake spent 8.7 % of its CPU finding its route.
    modules = (cases, geocoding, health, auth, access, districts, layers, grids, admin, maps,
               search, case_photos, case_pages, open311, plans, plan_pages, checks, jobs, exports,
               docs)  # fmt: skip
    for module in modules:
        app.include_router(module.router)
    # Leaflet and plugins are fetched at setup (`python -m geo_grid.assets`), never from a CDN
    app.mount("/static", StaticFiles(directory=static_path()), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/map")

    app.state.policy = policy.bind(app)
    openapi.document(app)
    return app


app = create_app()
