"""GCJ-02 / BD-09 transforms against published reference pairs, and round trips under 1 m."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Polygon

from geo_grid import crs
from geo_grid.errors import BadInput

GEOD = Geod(ellps="WGS84")

# (wgs lat, wgs lon, gcj lat, gcj lon): the reference pairs published with eviltransform's tests
WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# Baidu's own documented example: Tiananmen, BD-09 (116.404, 39.915) is GCJ-02 (116.3976273, 39.9086567)
BD_GCJ = [(116.404, 39.915, 116.39762729119315, 39.90865673957631)]


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), WGS_GCJ)
def test_wgs84_to_gcj02_matches_reference(wlat, wlon, glat, glon):
    lon, lat = crs.wgs84_to_gcj02(wlon, wlat)
    assert _metres(lon, lat, glon, glat) < 0.01


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), WGS_GCJ)
def test_gcj02_to_wgs84_inverts_reference(wlat, wlon, glat, glon):
    lon, lat = crs.gcj02_to_wgs84(glon, glat)
    assert _metres(lon, lat, wlon, wlat) < 0.01


@pytest.mark.parametrize(("blon", "blat", "glon", "glat"), BD_GCJ)
def test_bd09_gcj02_match_reference(blon, blat, glon, glat):
    assert _metres(*crs.bd09_to_gcj02(blon, blat), glon, glat) < 0.1
    assert _metres(*crs.gcj02_to_bd09(glon, glat), blon, blat) < 0.1


def test_offsets_in_nanjing_are_hundreds_of_metres():
    lon, lat = 118.90, 32.12  # Qixia
    g = crs.wgs84_to_gcj02(lon, lat)
    b = crs.wgs84_to_bd09(lon, lat)
    assert 300 < _metres(lon, lat, *g) < 800
    assert 800 < _metres(lon, lat, *b) < 1500


@settings(max_examples=200, deadline=None)
@given(st.floats(118.3, 119.3), st.floats(31.2, 32.6))
def test_round_trips_under_one_metre(lon, lat):
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert _metres(lon, lat, *back) < 1.0
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert _metres(lon, lat, *back) < 1.0
    back = crs.bd09_to_gcj02(*crs.gcj02_to_bd09(lon, lat))
    assert _metres(lon, lat, *back) < 1.0


def test_vectorized_and_outside_china_identity():
    lons, lats = np.array([118.9, 2.35]), np.array([32.1, 48.85])  # Nanjing, Paris
    glon, glat = crs.wgs84_to_gcj02(lons, lats)
    assert glon.shape == (2,)
    assert (glon[1], glat[1]) == (2.35, 48.85)
    assert glon[0] != 118.9


def test_points_to_storage_for_every_crs():
    lon, lat = 118.9, 32.1
    for name, fwd in (("gcj02", crs.wgs84_to_gcj02), ("bd09", crs.wgs84_to_bd09)):
        x, y = crs.points_to_storage(*fwd(lon, lat), name)
        assert _metres(x, y, lon, lat) < 0.01
    x, y = crs.points_to_storage([118.9], [32.1], "EPSG:4326")
    assert _metres(x, y, lon, lat) < 0.05
    gx, gy = crs.points_to_storage([420000.0], [3550000.0], "EPSG:4549")  # GK metres
    assert 118.0 < gx[0] < 119.5 and 31.5 < gy[0] < 32.5


def test_geometry_transform_keeps_shared_vertices():
    a = Polygon([(118.9, 32.1), (118.91, 32.1), (118.91, 32.11), (118.9, 32.11)])
    b = Polygon([(118.91, 32.1), (118.92, 32.1), (118.92, 32.11), (118.91, 32.11)])
    ta, tb = crs.to_storage(np.array([a, b]), "gcj02")
    shared = set(ta.exterior.coords) & set(tb.exterior.coords)
    assert len(shared) == 2  # the common edge's two vertices, bit for bit
    assert ta.touches(tb) and ta.intersection(tb).area == 0


@pytest.mark.parametrize("bad", ["mars", "EPSG:99999999", "", None])
def test_unknown_crs_is_a_bad_input_naming_the_field(bad):
    with pytest.raises(BadInput, match="crs"):
        crs.normalize_crs(bad)
