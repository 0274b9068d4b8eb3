"""The generator's metric frame: storage lon/lat (EPSG:4490) ↔ the district's Gauss-Krüger metres.

Geometry is built in metres and converted to storage coordinates vertex by vertex at the end, so
vertices shared by neighbours stay shared and a valid coverage stays valid.

>>> import shapely
>>> frame = LocalFrame("EPSG:4549")
>>> x, y = frame.local_xy([(120.0, 32.0)])[0]
>>> round(float(x)), round(float(y))
(500000, 3541852)
>>> back = frame.from_local(frame.to_local(shapely.Point(118.9, 32.1)))
>>> round(back.x, 9), round(back.y, 9)
(118.9, 32.1)
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer

__all__ = ["LocalFrame"]

STORAGE_CRS = "EPSG:4490"


def _apply(transformer: Transformer, coords: np.ndarray) -> np.ndarray:
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


class LocalFrame:
    """Vertex-by-vertex transforms between EPSG:4490 and one metric CRS (``crs``)."""

    def __init__(self, crs: str):
        self.crs = crs
        self._to = Transformer.from_crs(STORAGE_CRS, crs, always_xy=True)
        self._from = Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)

    def to_local(self, geom):
        """EPSG:4490 lon/lat → metres (a geometry or an array of them)."""
        return shapely.transform(geom, lambda c: _apply(self._to, c))

    def from_local(self, geom):
        """Metres → EPSG:4490 lon/lat (shared vertices stay shared)."""
        return shapely.transform(geom, lambda c: _apply(self._from, c))

    def local_xy(self, lonlat) -> np.ndarray:
        """(n, 2) lon/lat → (n, 2) metres."""
        return _apply(self._to, np.asarray(lonlat, dtype="float64").reshape(-1, 2))

    def lonlat(self, xy) -> np.ndarray:
        """(n, 2) metres → (n, 2) lon/lat."""
        return _apply(self._from, np.asarray(xy, dtype="float64").reshape(-1, 2))
