"""The one import of the project's HTML and JSON-in-HTML escaping for the pages.

``js_literal`` and ``html_text`` live with the map elements today; when the maps package gives
them a public home (``geo_grid.maps``), this line is the only one to change.
"""

from geo_grid._maps_elements import html_text, js_literal

__all__ = ["html_text", "js_literal"]
