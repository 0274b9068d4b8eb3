"""Folium elements of geo-grid pages: our compact layers and controls, and the two escapes.

Every element here only emits a call into ``geo_grid/static/js/geo_grid_map.js`` (which holds the
drawing logic) with its data written by :func:`js_literal`; every text a person reads in markup
(a layer's name in the layer control, a title, an info box) goes through :func:`html_text`. Those
two functions are the only ways stored text enters a page (docs/security.md).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

import folium
from folium.map import Layer
from folium.template import Template

__all__ = [
    "DataLayer",
    "JsLayer",
    "Legend",
    "MapCall",
    "SearchBox",
    "ZoomLabels",
    "html_text",
    "js_literal",
]

_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


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


class DataLayer(Layer):
    """One compact layer (see :mod:`geo_grid.maps.encode`) as a toggle in the layer control.

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
    """A search box calling ``url?q=`` (``/api/v1/search``), listing its hits and showing the
    chosen one with the grid of ``layer`` that answers for it."""

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
