"""What every page route shares: the header's links by role, the viewer, and the answer's headers.

The case pages (:mod:`api.routers.case_pages`) and the planner's pages
(:mod:`api.routers.plan_pages`) render through :mod:`geo_grid.pages` and answer with
:func:`html`: never cached (they hold people's names and, for some roles, reporters' contacts),
and with a Content-Security-Policy that allows this server's own scripts and nothing inline: the
data a page's script needs sits in one ``application/json`` island, which no browser executes.
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from api.policy import POLICY, resolve
from geo_grid import pages
from geo_grid.access import Principal

__all__ = ["HEADERS", "NAV", "html", "nav", "viewer"]

#: The header's links, each shown to the roles :data:`api.policy.POLICY` lets open it.
NAV: tuple[tuple[str, str], ...] = (
    ("/cases", "案件列表"),
    ("/cases/new", "受理登记"),
    ("/plans", "调整方案"),
    ("/map/dispatch", "调度地图"),
    ("/map/cases", "案件地图"),
    ("/map/indicators", "红绿指标"),
    ("/map", "网格地图"),
)

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def html(body: str) -> HTMLResponse:
    """A page's answer with :data:`HEADERS`."""
    return HTMLResponse(body, headers=HEADERS)


def viewer(principal: Principal) -> pages.Viewer:
    """Who a page is for, as its header shows them."""
    return pages.Viewer(principal.name, principal.role)


def nav(principal: Principal, current: str) -> list[pages.NavLink]:
    """The header links this caller's role may open (the one role table decides)."""
    mine = [(href, text) for href, text in NAV if principal.role in resolve(POLICY[f"GET {href}"])]
    return pages.nav_links(mine, current)
