"""Click to identify: on a map page, a click (or a tap: touch screens have no hover) opens a panel
about the unified grid at that point.

:func:`add_identify` adds to any page built by this package ``geo_grid/static/js/
geo_grid_identify.js`` and one call to it. The script asks the server as the logged-in person:
``locate`` at the clicked point (every layer's grid there, the community, the street, the people on
duty) and the grid itself (its name and households), then shows code, name, community, street,
households, the people on duty (no phones) and the department grids, with what the page itself
says of the feature clicked (its tooltip: an indicator's rates, a defect), and links to the grid's
page, its cases and its indicators, each shown only to the roles that may open it (``links``,
with the roles the server's role table gives them, checked against ``/auth/me``). A page opened
with ``#grid=<code>`` opens on that grid with its panel (the indicators link does this).

Nothing about a grid is baked into the page, so the panel is as fresh as the store and confined
to the person's area, like every answer of the API.

Examples
--------
>>> import folium
>>> m = folium.Map(tiles=None)
>>> add_identify(m, asset_base="/static", api_base="", layer_names={"urban_mgmt": "城管网格"})
>>> html = m.get_root().render()
>>> "/static/js/geo_grid_identify.js" in html and "geoGridIdentify.attach" in html
True
>>> html.index("/static/js/geo_grid_map.js") < html.index("/static/js/geo_grid_identify.js")
True
>>> "城管网格" in html and "/api/v1/locate" in html and "/cases?grid={code}" in html
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import folium

from geo_grid.labels import ROSTER_ROLE
from geo_grid.layers import UNIFIED
from geo_grid.maps.assets import OwnAssets, Plugins
from geo_grid.maps.elements import MapCall

__all__ = ["LINKS", "IdentifyLink", "add_identify"]

#: The panel's script and style under ``asset_base``.
IDENTIFY_JS = "js/geo_grid_identify.js"
IDENTIFY_CSS = "css/geo_grid_identify.css"


@dataclass(frozen=True)
class IdentifyLink:
    """A link of the identify panel: ``href`` with ``{code}`` (and ``{district}``) filled in,
    shown to ``roles`` only (an empty tuple: to everyone)."""

    key: str
    href: str
    label: str
    roles: tuple[str, ...] = ()


#: The panel's links: the grid's page, its cases, its indicators (the indicators map opened on it).
#: ``roles`` are left to whoever knows who may open what (the API fills them from its role table).
LINKS: tuple[IdentifyLink, ...] = (
    IdentifyLink("grid", "/map/grid/{code}", "网格页面"),
    IdentifyLink("cases", "/cases?grid={code}", "该网格案件"),
    IdentifyLink("indicators", "/map/indicators?district={district}#grid={code}", "网格指标"),
)


def add_identify(
    m: folium.Map,
    *,
    asset_base: str,
    api_base: str,
    layer_names: Mapping[str, str],
    links: Sequence[IdentifyLink] = LINKS,
    crs: str | None = None,
    district: str | None = None,
    clicks: bool = True,
    page_info: bool = True,
) -> None:
    """Give page ``m`` the identify panel, calling the API at ``api_base`` ("" on the server).

    ``layer_names`` name the department layers in Chinese; ``crs`` is the base map's CRS when it
    is not the storage one (``gcj02``): the clicked point is sent in it, and the grid is not
    outlined (its outline is in storage coordinates). ``district`` fills ``{district}`` in links
    (which point at ``api_base``'s pages). ``clicks=False`` leaves the map's clicks to the page
    (the dispatcher's map places cases with them) and only lends it the links
    (``geoGridIdentify.linksFor``). ``page_info`` adds what the page says of the feature clicked
    (its tooltip) under 本图信息; off where that only repeats the panel (the coverage map).
    """
    options = {
        "locateUrl": f"{api_base}/api/v1/locate",
        # the unified layer's grid: another layer may hold the same code (a plan's copy layer)
        "gridUrl": f"{api_base}/api/v1/grids/{{code}}?layer={UNIFIED}",
        "meUrl": f"{api_base}/auth/me",
        "crs": crs,
        "layerNames": dict(layer_names),
        "roleNames": ROSTER_ROLE,
        "district": district,
        "clicks": clicks,
        "pageInfo": page_info,
        "links": [
            {"key": k.key, "href": f"{api_base}{k.href}", "label": k.label, "roles": list(k.roles)}
            for k in links
        ],
    }
    # the panel builds its elements with the shared helpers of geo_grid_map.js: linked first (a
    # page of geo_grid.maps.page has it already, and one file is linked once)
    m.add_child(OwnAssets(asset_base))
    m.add_child(Plugins(asset_base, (), (IDENTIFY_JS, IDENTIFY_CSS)))
    m.add_child(MapCall("geoGridIdentify.attach", options))
