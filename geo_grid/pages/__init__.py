"""The case pages as HTML: plain data in, a page out (Jinja2 templates, autoescaped).

Pure like the rest of the library: the router (``api/routers/case_pages.py``) fetch what a page
shows through the services, as the caller, and hand it here; nothing here reads the store or
knows HTTP. Every word a person reads is Chinese (labels from :mod:`geo_grid.labels`), every time
is the district's (北京时间, :func:`geo_grid.timefmt.format_time`), and data for the page's script
enters only as one JSON island escaped by :func:`geo_grid.maps.js_literal`.

Pages: :func:`inbox_page` (``/cases``), :func:`intake_page` (``/cases/new``),
:func:`case_page` (``/cases/{id}``), :func:`plans_page` (``/plans``) and :func:`plan_page`
(``/plans/{id}``, the planner's workspace). What they share (the header, rendering) is
:mod:`.frame`'s.
"""

from geo_grid.pages.cases import case_page, inbox_page, intake_page, timeline
from geo_grid.pages.frame import NavLink, Viewer, nav_links
from geo_grid.pages.plans import plan_page, plans_page

__all__ = [
    "NavLink", "Viewer", "case_page", "inbox_page", "intake_page", "nav_links", "plan_page",
    "plans_page", "timeline",
]  # fmt: skip
