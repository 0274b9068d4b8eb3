"""What every page shares: who it is for, its header's links, and rendering a template.

The templates (``templates/``, Jinja2, autoescaped, undefined names refused) extend
``base.html``: the header with the links the caller's role may open, the user and 退出, one JSON
island for the page's script (:func:`geo_grid.maps.js_literal`), and the page's own styles and
scripts, all from this server.

>>> nav_links([("/plans", "调整方案"), ("/map", "网格地图")], "/map")[1]
NavLink(href='/map', label='网格地图', current=True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from geo_grid.labels import ACTOR_ROLE, ROLE, SYSTEM_ACTOR, label
from geo_grid.maps import js_literal
from geo_grid.timefmt import format_time, zone_name

__all__ = ["ASSET_BASE", "TEMPLATES", "NavLink", "Viewer", "actor_name", "nav_links", "render"]

TEMPLATES = Path(__file__).parent / "templates"
ASSET_BASE = "/static"


@dataclass(frozen=True)
class Viewer:
    """Who the page is for: the name shown in its header and the role's label."""

    name: str
    role: str

    @property
    def role_zh(self) -> str:
        return label(ROLE, self.role)


@dataclass(frozen=True)
class NavLink:
    """A link of the page header (the routers list the ones the caller's role may open)."""

    href: str
    label: str
    current: bool = False


def nav_links(links: Iterable[tuple[str, str]], current: str) -> list[NavLink]:
    """Header links from (href, label) pairs, the current page marked."""
    return [NavLink(href, text, href == current) for href, text in links]


def actor_name(actor: str | None) -> str:
    """How a person reads the log's actor: ``user:li.ming`` → ``li.ming``, the service's own
    (``system:router``) by what it does (自动派遣), a system's API key by its name (接口).

    >>> [actor_name(a) for a in ("user:li.ming", "system:router", "key:hotline12345", None)]
    ['li.ming', '自动派遣', 'hotline12345（接口）', '系统']
    """
    if not actor:
        return "系统"
    kind, sep, name = actor.partition(":")
    if not sep:
        return label(ACTOR_ROLE, actor) if actor in ACTOR_ROLE else actor
    if kind == "system":
        return SYSTEM_ACTOR.get(name, "系统")
    return name if kind == "user" else f"{name}（接口）"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["js"] = lambda value: Markup(js_literal(value))  # noqa: S704 (escaped JSON)
    env.filters["bjt"] = lambda value, suffix=True: format_time(value, suffix=suffix)
    return env


def render(template: str, **context: Any) -> str:
    """A page from ``template`` (its ``asset_base``, ``data`` island and time zone's name
    defaulted)."""
    context.setdefault("asset_base", ASSET_BASE)
    context.setdefault("uses_map", False)
    context.setdefault("data", {})
    context.setdefault("zone", zone_name())
    return _env().get_template(template).render(**context)
