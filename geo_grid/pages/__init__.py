"""The case pages as HTML: plain data in, a page out (Jinja2 templates, autoescaped).

Pure like the rest of the library: the router (``api/routers/case_pages.py``) fetch what a page
shows through the services, as the caller, and hand it here; nothing here reads the store or
knows HTTP. Every word a person reads is Chinese (labels from :mod:`geo_grid.labels`), every time
is the district's (北京时间, :func:`geo_grid.timefmt.format_time`), and data for the page's script
enters only as one JSON island escaped by :func:`geo_grid.maps.js_literal`.

Pages: :func:`inbox_page` (``/cases``), :func:`intake_page` (``/cases/new``),
:func:`case_page` (``/cases/{id}``).
"""

from geo_grid.pages.cases import (
    NavLink,
    Viewer,
    case_page,
    inbox_page,
    intake_page,
    nav_links,
    timeline,
)

__all__ = [
    "NavLink", "Viewer", "case_page", "inbox_page", "intake_page", "nav_links", "timeline",
]  # fmt: skip
