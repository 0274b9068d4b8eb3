"""Who may call what: every route's roles, in one table.

Keys are ``"METHOD /path"`` exactly as the route is declared (with its router prefix). :func:`bind`
runs when the app is built and refuses to start when a route is missing here or an entry names no
route, so a new endpoint cannot ship without a decision about who may call it; ``tests/api/
test_access.py`` calls every route as every role against this table. One entry depends on a setting:
the Open311 discovery routes (:data:`OPEN311_DISCOVERY`, :func:`resolve`). The table is applied by
:class:`api.guard.GuardedRoute`, before any body is read.

Roles (:data:`geo_grid.access.ROLES`): admin 系统管理员, planner 网格规划员 (draws grids), dispatcher
调度员 (routes cases, may read reporters' contacts), grid_worker 网格员 (works the cases of their
own grids), leader 领导 (maps, indicators, whistle), viewer 只读用户, open311_client (a system
filing and reading Open311 requests). Personal data and area limits are applied inside the
services (:mod:`geo_grid.access`), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from geo_grid.settings import get_settings

__all__ = ["OPEN311_DISCOVERY", "POLICY", "PUBLIC", "bind", "required_roles", "resolve"]

PUBLIC: frozenset[str] = frozenset({"*public*"})
ADMIN = frozenset({"admin"})
PLANNING = frozenset({"admin", "planner"})
DISPATCH = frozenset({"admin", "dispatcher"})
#: every person's account (not systems)
STAFF = frozenset({"admin", "planner", "dispatcher", "grid_worker", "leader", "viewer"})
CASE_READERS = frozenset({"admin", "dispatcher", "grid_worker", "leader", "viewer"})
CASE_WORKERS = frozenset({"admin", "dispatcher", "grid_worker"})
OPEN311 = STAFF | {"open311_client"}
#: who reads redrawing plans and opens the planner's pages (editing is PLANNING's)
PLAN_READERS = frozenset({"admin", "planner", "leader", "viewer"})
#: who reads Open311 requests: the case readers (in their area) and Open311 systems, not planners
OPEN311_READERS = CASE_READERS | {"open311_client"}
#: GeoReport v2 discovery and service list: clients read them before they have a key, so they are
#: public unless ``GEO_GRID_OPEN311_PUBLIC_DISCOVERY=false`` (a closed intranet): then OPEN311.
OPEN311_DISCOVERY: frozenset[str] = frozenset({"*open311-discovery*"})

POLICY: dict[str, frozenset[str]] = {
    # --- health, login, the landing redirect
    "GET /health": PUBLIC,
    "GET /": PUBLIC,
    "POST /auth/token": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": PUBLIC,
    "GET /auth/me": OPEN311,
    # --- the API's documentation and the site icon (no data in them)
    "GET /docs": PUBLIC,
    "GET /redoc": PUBLIC,
    "GET /favicon.ico": PUBLIC,
    # --- accounts, keys, personal-data reads (admin only)
    "GET /api/v1/users": ADMIN,
    "POST /api/v1/users": ADMIN,
    "PATCH /api/v1/users/{username}": ADMIN,
    "GET /api/v1/api-keys": ADMIN,
    "POST /api/v1/api-keys": ADMIN,
    "DELETE /api/v1/api-keys/{name}": ADMIN,
    "GET /api/v1/audit/personal-data": ADMIN,
    # --- districts served, grid layers, areas, checks, merge
    "GET /api/v1/districts": STAFF,
    # onboarding a district from its own files (its area checked in the routes)
    "POST /api/v1/districts": ADMIN,
    "POST /api/v1/districts/{code}/addresses": ADMIN,
    "POST /api/v1/districts/{code}/roster": ADMIN,
    "GET /api/v1/districts/{code}/roles": STAFF,
    "POST /api/v1/districts/{code}/roles": ADMIN,
    "GET /api/v1/layers": STAFF,
    "GET /api/v1/layers/{layer}/grids": STAFF,
    "GET /api/v1/layers/{layer}/checks": STAFF,
    "GET /api/v1/grids/{code}": STAFF,
    "GET /api/v1/grids/{code}/crosswalk": STAFF,
    "GET /api/v1/admin-areas": STAFF,
    "POST /api/v1/checks": PLANNING,
    "POST /api/v1/merge": PLANNING,
    "POST /api/v1/layers/{layer}/imports": PLANNING,
    "POST /api/v1/layers/{layer}/generations/{generation}/publish": PLANNING,
    "POST /api/v1/layers/{layer}/fixes": PLANNING,
    "POST /api/v1/layers/{layer}/exports": PLANNING,
    # --- long work as jobs: started by the routes above and below (merge, stored checks, fixes,
    # exports, spreadsheets, accept-all, big batch geocodes); a job is read by whoever started it
    # and by admins (geo_grid/services/jobs.py decides: others reach the route and get its 403)
    "GET /api/v1/jobs": STAFF,
    "GET /api/v1/jobs/{job_id}": STAFF,
    "GET /api/v1/jobs/{job_id}/file": STAFF,
    # --- geocoding and point lookups
    "GET /api/v1/geocode": STAFF,
    "POST /api/v1/geocode/batch": STAFF,
    "GET /api/v1/locate": STAFF,
    "GET /api/v1/reverse": STAFF,
    "GET /api/v1/search": STAFF,
    # --- cases (area limits and reporter masking inside the services)
    "POST /api/v1/cases": CASE_WORKERS,
    "GET /api/v1/cases": CASE_READERS,
    "GET /api/v1/cases/manual": DISPATCH,
    "GET /api/v1/cases/preview": CASE_WORKERS,
    "POST /api/v1/cases/tick": ADMIN,
    "GET /api/v1/cases/{ref}": CASE_READERS,
    "GET /api/v1/cases/{ref}/events": CASE_READERS,
    "POST /api/v1/cases/{ref}/transitions": CASE_WORKERS,
    "POST /api/v1/cases/{ref}/whistle": frozenset({"admin", "dispatcher", "leader"}),
    "POST /api/v1/cases/{ref}/report-ins": DISPATCH,
    "POST /api/v1/cases/{ref}/route-to-point": DISPATCH,
    # photos of the work: added by the case's grid worker (geo_grid/cases/duties.py decides,
    # so other roles reach the route and get the rule's 403), read by whoever reads the case
    "POST /api/v1/cases/{ref}/photos": CASE_WORKERS,
    "GET /api/v1/cases/{ref}/photos/{photo_id}": CASE_READERS,
    "GET /api/v1/rules": STAFF,
    "GET /api/v1/rules/{code}": STAFF,
    "PUT /api/v1/rules/{code}": ADMIN,
    "DELETE /api/v1/rules/{code}": ADMIN,
    "GET /api/v1/indicators": frozenset({"admin", "dispatcher", "leader", "planner", "viewer"}),
    # --- spreadsheets, made by jobs: the indicators as their readers, the cases as theirs (area,
    # masked); the workbook is the job's file (GET /api/v1/jobs/{job_id}/file)
    "POST /api/v1/exports/indicators.xlsx": frozenset(
        {"admin", "dispatcher", "leader", "planner", "viewer"}
    ),
    "POST /api/v1/exports/cases.xlsx": CASE_READERS,
    # --- plans (redrawing grids)
    "GET /api/v1/plans": PLAN_READERS,
    "GET /api/v1/plans/{plan_id}": PLAN_READERS,
    "GET /api/v1/plans/{plan_id}/diff": PLAN_READERS,
    "GET /api/v1/plans/{plan_id}/grids": PLAN_READERS,
    "GET /api/v1/plans/{plan_id}/grids/{code}/buildings": PLAN_READERS,
    "GET /api/v1/plans/{plan_id}/roster/{code}": PLAN_READERS,
    "GET /api/v1/plans/{plan_id}/suggest": PLANNING,
    "POST /api/v1/plans": PLANNING,
    "POST /api/v1/plans/{plan_id}/split": PLANNING,
    "POST /api/v1/plans/{plan_id}/merge": PLANNING,
    "POST /api/v1/plans/{plan_id}/reshape": PLANNING,
    "POST /api/v1/plans/{plan_id}/move-buildings": PLANNING,
    "POST /api/v1/plans/{plan_id}/recode": PLANNING,
    "POST /api/v1/plans/{plan_id}/accept-suggestion": PLANNING,
    "POST /api/v1/plans/{plan_id}/validate": PLANNING,
    "POST /api/v1/plans/{plan_id}/publish": PLANNING,
    "POST /api/v1/plans/{plan_id}/undo": PLANNING,
    "PUT /api/v1/plans/{plan_id}/roster/{code}": PLANNING,
    # --- the planner's pages (editing buttons only for PLANNING, on open plans)
    "GET /plans": PLAN_READERS,
    "GET /plans/{plan_id}": PLAN_READERS,
    # --- case pages (the services confine each to the caller's area)
    "GET /cases": CASE_READERS,
    "GET /cases/new": CASE_WORKERS,
    "GET /cases/{ref}": CASE_READERS,
    # --- map pages and their vector tiles
    "GET /map": STAFF,
    "GET /map/checks/{layer}": STAFF,
    "GET /map/cases": CASE_READERS,
    "GET /map/indicators": frozenset({"admin", "dispatcher", "leader", "planner", "viewer"}),
    "GET /map/services": STAFF,
    "GET /map/dispatch": DISPATCH,
    "GET /map/grid/{code}": STAFF,
    "GET /map/plan/{plan_id}": PLAN_READERS,
    "GET /tiles/{layer}/{z}/{x}/{y}.pbf": STAFF,
    # --- Open311 GeoReport v2 (no personal data in its answers; requests confined to the area)
    "GET /open311/v2/discovery.{fmt}": OPEN311_DISCOVERY,
    "GET /open311/v2/services.{fmt}": OPEN311_DISCOVERY,
    "GET /open311/v2/services/{code}.{fmt}": OPEN311_DISCOVERY,
    "GET /open311/v2/requests.{fmt}": OPEN311_READERS,
    "GET /open311/v2/requests/{request_id}.{fmt}": OPEN311_READERS,
    "POST /open311/v2/requests.{fmt}": frozenset({"admin", "open311_client"}),
}

Table = dict[tuple[Callable[..., Any], str], frozenset[str]]


def routes(app) -> list[tuple[str, set[str], Callable[..., Any]]]:
    """(path, methods, endpoint) of every API route, prefixes included."""
    return [(path, methods, endpoint) for path, methods, endpoint, _ in _routes(app)]


def _routes(app) -> list[tuple[str, set[str], Callable[..., Any], Any]]:
    """(path, methods, endpoint, route) of every API route, prefixes included."""
    from fastapi.routing import APIRoute

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers became lazy
        return [
            (r.path, set(r.methods), r.endpoint, r) for r in app.routes if isinstance(r, APIRoute)
        ]
    return [
        (c.path, set(c.methods or ()), c.endpoint, c.original_route)
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
    ]


def bind(app) -> Table:
    """Resolve :data:`POLICY` against ``app``'s routes; refuse a route without an entry, or one
    not built by :class:`api.guard.GuardedRoute` (which applies this table before the body is
    read: ``APIRouter(route_class=GuardedRoute)``)."""
    from api.guard import GuardedRoute

    table: Table = {}
    declared = set()
    for path, methods, endpoint, route in _routes(app):
        if not isinstance(route, GuardedRoute):
            raise RuntimeError(f"{path}: its router must use route_class=api.guard.GuardedRoute")
        for method in methods - {"HEAD", "OPTIONS"}:
            key = f"{method} {path}"
            if key not in POLICY:
                raise RuntimeError(f"api/policy.py: no roles declared for {key}")
            table[(endpoint, method)] = POLICY[key]
            declared.add(key)
    stale = set(POLICY) - declared
    if stale:
        raise RuntimeError(f"api/policy.py: entries without a route: {', '.join(sorted(stale))}")
    return table


def resolve(roles: frozenset[str]) -> frozenset[str]:
    """The roles an entry of :data:`POLICY` stands for under the current settings (only the
    Open311 discovery entries depend on one)."""
    if roles is OPEN311_DISCOVERY:
        return PUBLIC if get_settings().open311_public_discovery else OPEN311
    return roles


def required_roles(
    table: Table, endpoint: Callable[..., Any] | None, method: str
) -> frozenset[str]:
    """The roles that may call ``endpoint`` by ``method``; nobody when it was never declared."""
    if method == "HEAD":
        method = "GET"
    return resolve(table.get((endpoint, method), frozenset()))
