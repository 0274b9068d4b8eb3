"""What a map page loads, and how those files travel with it when the page leaves the server.

A page links Leaflet from ``{asset_base}/vendor`` (fetched at setup by :mod:`geo_grid.assets`, which
also serves the API docs and the gazetteer and so stays outside this package), our script and
stylesheet (:class:`OwnAssets`) and, on the pages that need them, plugins (:class:`Plugins`).
Nothing else: no URL in a page points outside the project. :func:`copy_assets` lays those files
beside a page written to disk (:func:`geo_grid.maps.write_map`), so it works with no network.

Examples
--------
>>> import folium
>>> m = folium.Map(tiles=None)
>>> _ = m.add_child(Plugins("/static", [("leaflet.heat", "leaflet-heat.js")], ["css/x.css"]))
>>> html = m.get_root().render()
>>> "/static/vendor/leaflet.heat/leaflet-heat.js" in html and 'href="/static/css/x.css"' in html
True
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from folium.elements import JSCSSMixin

from geo_grid.assets import ensure_assets, static_path, vendor_url

__all__ = ["OWN_CSS", "OWN_JS", "OwnAssets", "Plugins", "copy_assets"]

#: Our drawing script and stylesheet under ``asset_base``.
OWN_JS = "js/geo_grid_map.js"
OWN_CSS = "css/geo_grid_map.css"
#: The folders of ``geo_grid/static`` a written page needs beside the vendor files.
_OWN_FOLDERS = ("js", "css", "img")


class OwnAssets(JSCSSMixin):
    """Links our script and stylesheet (after Leaflet, since the map renders its links first)."""

    def __init__(self, asset_base: str) -> None:
        super().__init__()
        self._name = "GeoGridAssets"
        base = asset_base.rstrip("/")
        self.default_js = [("geo_grid_map_js", f"{base}/{OWN_JS}")]
        self.default_css = [("geo_grid_map_css", f"{base}/{OWN_CSS}")]


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
        # named by their URL: two Plugins on one page (a page's own, the identify panel's) never
        # take each other's place in the header, and one file is linked once
        self.default_js = [(f"gg_js_{u}", u) for u in urls if u.endswith(".js")]
        self.default_css = [(f"gg_css_{u}", u) for u in urls if u.endswith(".css")]


def copy_assets(target: str | Path) -> Path:
    """Copy every file a page may load into ``target`` (``vendor/``, ``js/``, ``css/``, ``img/``).

    What :func:`geo_grid.maps.write_map` lays beside a page so it works from disk; the vendor files
    are fetched or verified first (:func:`geo_grid.assets.ensure_assets`).
    """
    target = Path(target)
    vendor = ensure_assets()
    ignore = shutil.ignore_patterns("*.tmp", ".manifest.json")
    shutil.copytree(vendor, target / "vendor", dirs_exist_ok=True, ignore=ignore)
    for sub in _OWN_FOLDERS:
        shutil.copytree(static_path() / sub, target / sub, dirs_exist_ok=True)
    return target
