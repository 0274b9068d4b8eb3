"""Folium elements for geo-grid maps: the offline page shell and our compact layers.

Folium's defaults point at public content-delivery networks and pull jQuery, Bootstrap and
Font Awesome for markers we do not use. Government intranets have no internet, so every page here
loads Leaflet from ``{asset_base}/vendor`` (see :mod:`geo_grid.assets`) and our own small script
from ``{asset_base}/js``; nothing else. The elements below only emit calls into
``geo_grid/static/js/geo_grid_map.js``, which holds the drawing logic.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

import folium
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from geo_grid.assets import vendor_url

__all__ = [
    "DataLayer",
    "JsLayer",
    "Legend",
    "MapCall",
    "OwnAssets",
    "Plugins",
    "SearchBox",
    "ZoomLabels",
    "base_map",
    "html_text",
    "js_literal",
]

OWN_JS = "js/geo_grid_map.js"
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")
OWN_CSS = "css/geo_grid_map.css"
#: The project's icon under ``asset_base`` (drawn by scripts/make_favicon.py)
FAVICON = "img/favicon.svg"


#: Characters JSON may leave as they are but HTML may not, as JavaScript string escapes.
#: ``<`` and ``>`` end or restart a ``<script>`` (``</script>``, and ``<!--<script>`` which
#: swallows the rest of the page into the script), ``&`` starts a character reference in an
#: attribute, U+2028/U+2029 ended a JavaScript string before ES2019. Each only occurs inside a
#: JSON string, where ``\\u003c`` means ``<``.
_HTML_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def js_literal(value: Any) -> str:
    """JSON safe to place anywhere in an HTML page: the one way data enters a page's scripts.

    Compact, UTF-8 kept, and ``<``, ``>``, ``&``, U+2028 and U+2029 written as ``\\u003c``...
    (as Django's ``json_script`` and Go's ``html/template`` do), so no stored text (a case address
    ``<!--<script>``, a grid name ``</script><script>alert(1)</script>``) can end the script or
    change how the rest of the page parses. ``JSON.parse`` and JavaScript read it back verbatim.

    branca parses each rendered script again as a Jinja template, so ``{{``, ``{%`` and ``{#``
    inside strings (packed coordinates can produce them) are written as ``\\u007b``; compact
    JSON never has them outside strings (an object opens with ``{"`` or ``{}``).

    >>> js_literal({"name": "</script><!--{{网格}}&\u2028"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003c!--\\\\u007b{网格}}\\\\u0026\\\\u2028"}'
    >>> json.loads(js_literal(["<!--<script>"])) == ["<!--<script>"]
    True
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _JINJA_OPEN.sub(r"\\u007b", text.translate(_HTML_UNSAFE))


def html_text(text: Any) -> str:
    """Text as HTML: ``&``, ``<``, ``>``, quotes and braces written as character references.

    For the places Leaflet or the page reads as HTML: a layer's name in the layer control, the
    page title, an info box. Braces too, because branca parses rendered elements again as Jinja
    templates: a layer named ``{{ 7*7 }}`` would otherwise be evaluated on the server (and
    ``{% if %}`` fail the page).

    >>> html_text('<img src=x onerror="alert(1)"> {{ 7*7 }}')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &#123;&#123; 7*7 &#125;&#125;'
    """
    return html.escape(str(text), quote=True).translate(_BRACES)


class OwnAssets(JSCSSMixin):
    """Links our script and stylesheet (after Leaflet, since the map renders its links first)."""

    def __init__(self, asset_base: str) -> None:
        super().__init__()
        self._name = "GeoGridAssets"
        base = asset_base.rstrip("/")
        self.default_js = [("geo_grid_map_js", f"{base}/{OWN_JS}")]
        self.default_css = [("geo_grid_map_css", f"{base}/{OWN_CSS}")]


class DataLayer(Layer):
    """One compact layer (see :mod:`geo_grid._maps_encode`) as a toggle in the layer control.

    ``name`` is text: Leaflet's layer control shows a name as HTML, so it is escaped here.
    """

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = geoGrid.dataLayer({{ this.data_js }}, {{ this.options_js }});
{% endmacro %}
"""
    )

    def __init__(
        self, encoded: dict, options: dict, name: str, *, show: bool = True, control: bool = True
    ) -> None:
        super().__init__(name=html_text(name), overlay=True, control=control, show=show)
        self._name = "GeoGridLayer"
        self.data_js = js_literal(encoded)
        self.options_js = js_literal(options)


class ZoomLabels(folium.MacroElement):
    """Labels of ``layer`` features (``field``) drawn only at ``min_zoom`` or closer."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
geoGrid.zoomLabels({{ this._parent.get_name() }}, {{ this.layer.get_name() }},
    {{ this.field_js }}, {{ this.min_zoom }});
{% endmacro %}
"""
    )

    def __init__(self, layer: DataLayer, field: str, min_zoom: int = 15) -> None:
        super().__init__()
        self._name = "GeoGridLabels"
        self.layer = layer
        self.field_js = js_literal(field)
        self.min_zoom = int(min_zoom)


class SearchBox(folium.MacroElement):
    """An address box calling ``url?q=`` and outlining the matched grid of ``layer``."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
geoGrid.searchControl({{ this._parent.get_name() }}, Object.assign({{ this.options_js }},
    {group: {{ this.layer.get_name() }}}));
{% endmacro %}
"""
    )

    def __init__(self, layer: DataLayer, url: str, layer_key: str, crs: str | None) -> None:
        super().__init__()
        self._name = "GeoGridSearch"
        self.layer = layer
        options = {"url": url, "layerKey": layer_key, "codeField": "code"}
        if crs:
            options["crs"] = crs
        self.options_js = js_literal(options)


class Legend(folium.MacroElement):
    """A legend box: ``items`` are ``(label, style)`` with Leaflet path style keys."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
geoGrid.legend({{ this._parent.get_name() }}, {{ this.title_js }}, {{ this.items_js }});
{% endmacro %}
"""
    )

    def __init__(self, title: str, items: Sequence[tuple[str, dict]]) -> None:
        super().__init__()
        self._name = "GeoGridLegend"
        self.title_js = js_literal(title)
        self.items_js = js_literal([[label, style] for label, style in items])


def base_map(
    *,
    title: str,
    asset_base: str,
    tiles_url: str | None,
    tiles_attribution: str,
    bounds: tuple[float, float, float, float] | None = None,
) -> folium.Map:
    """An empty Leaflet map whose every asset comes from ``asset_base`` (no CDN, no jQuery).

    The instance lists replace folium's class-level CDN lists (``add_js_link`` would mutate the
    shared class list, so we assign new lists instead). Every page gets the project's icon and a
    metric-only scale bar (Leaflet's default also shows miles and feet).

    ``bounds`` (min lon, min lat, max lon, max lat: the district's outline) is where the map opens;
    the page then keeps it (:func:`geo_grid._maps_common.fit` leaves it). Without it the page fits
    what it draws.
    """
    centre = None
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        centre = [(miny + maxy) / 2, (minx + maxx) / 2]
    m = folium.Map(
        location=centre,
        zoom_start=12,
        zoom_snap=0.25,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,  # folium's is L.control.scale() with miles: ours below is metric
    )
    m.options["maxZoom"] = 19  # folium gives max_zoom to tiles only; clusters need the map's
    m.default_js = [("leaflet", vendor_url(asset_base, "leaflet", "leaflet.js"))]
    m.default_css = [("leaflet_css", vendor_url(asset_base, "leaflet", "leaflet.css"))]
    m.get_root().title = html_text(title)  # branca writes the title into <title> unescaped
    # the project's icon, served with the other assets (no 404 in the console, no CDN)
    icon = html_text(f"{asset_base.rstrip('/')}/{FAVICON}")
    m.get_root().header.add_child(
        folium.Element(f'<link rel="icon" type="image/svg+xml" href="{icon}">'), name="icon"
    )
    if tiles_url:
        folium.TileLayer(
            tiles=tiles_url,
            attr=tiles_attribution or "底图",
            name="底图",
            overlay=False,
            control=False,
            max_zoom=19,
        ).add_to(m)
    m.add_child(OwnAssets(asset_base))
    m.add_child(MapCall("geoGrid.scale"))
    m.geo_grid_asset_base = asset_base
    m.geo_grid_bounds = bounds
    if bounds is not None:
        # not animated: a zoom animation still running while the layers are added below would
        # swallow the first setView a page or a person asks for
        fit = folium.FitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(12, 12))
        fit.options["animate"] = False
        m.add_child(fit)
    return m


class Plugins(JSCSSMixin):
    """Links vendor plugins and our page scripts that only some pages need (after Leaflet).

    ``vendor`` lists ``(package, file)`` pairs under ``{asset_base}/vendor``; ``own`` lists paths
    under ``asset_base`` (``js/geo_grid_dispatch.js``). CSS files are recognised by extension.
    """

    def __init__(self, asset_base: str, vendor: Sequence[tuple[str, str]], own: Sequence[str] = ()):
        super().__init__()
        self._name = "GeoGridPlugins"
        base = asset_base.rstrip("/")
        urls = [vendor_url(asset_base, pkg, file) for pkg, file in vendor]
        urls += [f"{base}/{path}" for path in own]
        self.default_js = [(f"gg_js_{i}", u) for i, u in enumerate(urls) if u.endswith(".js")]
        self.default_css = [(f"gg_css_{i}", u) for i, u in enumerate(urls) if u.endswith(".css")]


class JsLayer(Layer):
    """A layer made by one call into our script (``call_js`` is a JS expression returning it,
    its data written with :func:`js_literal`); ``name`` is text, escaped as in :class:`DataLayer`."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = {{ this.call_js }};
{% endmacro %}
"""
    )

    def __init__(self, call_js: str, name: str, *, show: bool = True, control: bool = True):
        super().__init__(name=html_text(name), overlay=True, control=control, show=show)
        self._name = "GeoGridJsLayer"
        self.call_js = call_js


class MapCall(folium.MacroElement):
    """One statement run once the map exists: ``func(map, *args)`` with JSON arguments.

    ``layers`` are appended as ``{name: layerVariable}`` so scripts can reach other layers.
    """

    _template = Template(
        """
{% macro script(this, kwargs) %}
{{ this.func }}({{ this._parent.get_name() }}, {{ this.args_js }}{% if this.layers %},
    { {%- for key, layer in this.layers.items() %}{{ key }}: {{ layer.get_name() }},{% endfor -%} }
{%- endif %});
{% endmacro %}
"""
    )

    def __init__(self, func: str, *args: Any, layers: dict[str, Layer] | None = None) -> None:
        super().__init__()
        self._name = "GeoGridCall"
        self.func = func
        self.args_js = ", ".join(js_literal(a) for a in args) if args else "null"
        self.layers = layers or {}
