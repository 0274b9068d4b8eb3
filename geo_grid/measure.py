"""Areas in metres: geometry is stored in degrees (EPSG:4490), measured in a local CRS.

One function per measure so every module measures the same way (the importer, the demo loader and
the checks must agree on a grid's area); the projection itself is :func:`geo_grid.crs.to_local`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from geo_grid.crs import AUTO, to_local

__all__ = ["area_m2"]


def area_m2(frame: gpd.GeoDataFrame | gpd.GeoSeries, local_crs: str = AUTO) -> np.ndarray:
    """Planar area in square metres in ``local_crs`` (a Gauss-Krüger zone: < 0.01 % scale error
    within a district; ``"auto"``: the zone of the layer's centre). A frame without a CRS is
    read as EPSG:4490.

    >>> from shapely.geometry import box
    >>> s = gpd.GeoSeries([box(114.3, 30.6, 114.31, 30.61)], crs=4490)
    >>> round(float(area_m2(s)[0]) / 1e6, 3)  # 0.01° × 0.01° at 30.6° N
    1.063
    """
    series = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    return to_local(series, local_crs).area.to_numpy()
