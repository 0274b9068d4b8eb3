"""Where the coverage check measures: a fixed metric CRS, or the Gauss-Krüger zone of each piece.

The whole-layer GEOS passes run in the layer's own CRS (a projection maps shared vertices to shared
vertices, so they find the same defects); only the few defect pieces are projected to be measured.
With ``local_crs="auto"`` each piece is measured in the CGCS2000 3-degree zone of its own central
longitude (:func:`geo_grid.crs.gauss_kruger_zone`), so a national layer is measured near each
piece's central meridian instead of in one zone for all of China.

>>> import shapely
>>> m = Metric("EPSG:4490", "auto")
>>> pieces = [shapely.box(118.8, 32.0, 118.801, 32.001), shapely.box(87.6, 43.8, 87.601, 43.801)]
>>> list(m.names(pieces))
['EPSG:4549', 'EPSG:4538']
>>> [round(float(a)) for a in shapely.area(m(pieces))]
[10481, 8942]
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geo_grid.crs import STORAGE_EPSG, gauss_kruger_zone
from geo_grid.errors import BadInput

__all__ = ["AUTO", "Metric", "resolve_local_crs"]

#: ``local_crs`` value asking for each piece's own Gauss-Krüger zone.
AUTO = "auto"


def _projected(local_crs: str) -> CRS:
    """The metric CRS named by ``local_crs``, or :class:`BadInput` naming the argument."""
    try:
        crs = CRS.from_user_input(local_crs)
    except Exception as exc:  # pyproj raises CRSError, a plain Exception subclass
        raise BadInput(f"local_crs: unknown CRS {local_crs!r}", field="local_crs") from exc
    if not crs.is_projected:
        raise BadInput(
            f"local_crs: {local_crs!r} is not a projected (metric) CRS; pass one or 'auto'",
            field="local_crs",
        )
    return crs


def resolve_local_crs(geoms: NDArray, source, local_crs: str) -> str:
    """One metric CRS for a whole layer: ``local_crs`` itself, or for ``"auto"`` the zone of the
    layer's central longitude (the fixer and the merge node all grids in one plane)."""
    if local_crs != AUTO:
        _projected(local_crs)
        return local_crs
    metric = Metric(source, AUTO)
    bounds = shapely.total_bounds(np.asarray(geoms, dtype=object))
    if not np.isfinite(bounds).all():
        return gauss_kruger_zone(120.0)
    box = shapely.box(*bounds)
    return str(metric.names([box])[0])


class Metric:
    """Project geometries from the layer's CRS to metres, only when measuring.

    ``names(geoms)`` says which CRS each geometry is measured in; ``used`` collects them.
    """

    def __init__(self, source, local_crs: str) -> None:
        self.source = CRS.from_user_input(source)
        self.auto = local_crs == AUTO
        self.fixed = None if self.auto else _projected(local_crs)
        self.label = None if self.auto else str(local_crs)
        self._to_lonlat = None
        if self.auto and not self.source.is_geographic:
            self._to_lonlat = Transformer.from_crs(self.source, STORAGE_EPSG, always_xy=True)
        self._transformers: dict[str, Transformer | None] = {}

    def _transformer(self, target) -> Transformer | None:
        key = str(target)
        if key not in self._transformers:
            crs = CRS.from_user_input(target)
            same = self.source.equals(crs)
            self._transformers[key] = (
                None if same else Transformer.from_crs(self.source, crs, always_xy=True)
            )
        return self._transformers[key]

    def names(self, geoms) -> NDArray:
        """The metric CRS of each geometry (its zone for ``auto``; None for a missing one)."""
        arr = np.atleast_1d(np.asarray(geoms, dtype=object))
        out = np.full(len(arr), None, dtype=object)
        if not self.auto:
            out[:] = self.label
            return out
        bounds = shapely.bounds(arr)
        x, y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
        ok = np.isfinite(x)
        if self._to_lonlat is not None and ok.any():
            x[ok], _ = self._to_lonlat.transform(x[ok], y[ok])
        for k in np.flatnonzero(ok):
            out[k] = gauss_kruger_zone(float(x[k]))
        return out

    def __call__(self, geoms):
        """``geoms`` (one geometry or an array) in metres."""
        scalar = not isinstance(geoms, np.ndarray | list | tuple)
        arr = np.atleast_1d(np.asarray(geoms, dtype=object))
        names = self.names(arr)
        out = arr.copy()
        for name in {n for n in names if n is not None}:
            idx = np.flatnonzero(names == name)
            out[idx] = self._project(arr[idx], name)
        return out[0] if scalar else out

    def _project(self, geoms: NDArray, target: str) -> NDArray:
        t = self._transformer(target)
        if t is None:
            return geoms
        return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
