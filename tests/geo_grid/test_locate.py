"""The in-memory point → grids index."""

import geopandas as gpd
import numpy as np
import pandas as pd
from sample_places import QIXIA_CORNER, QIXIA_FRAME
from shapely.geometry import Polygon, box

from geo_grid.crs import wgs84_to_bd09, wgs84_to_gcj02
from geo_grid.locate import LocateIndex
from geo_grid.testing import sample_layers


def _index(**kw):
    layers, communities, streets = sample_layers(QIXIA_CORNER)
    roster = pd.DataFrame(
        [
            (1, "张三", "13900000001", "网格员", "unified", "320113001007-01"),
            (2, "李四", "13900000002", "网格长", "unified", "320113001007-01"),
            (3, "王五", None, "包保民警", "unified", "320113001007-01"),
            (4, "赵六", None, "网格员", "urban_mgmt", "CG01"),
        ],
        columns=["person_id", "name", "phone", "role", "layer", "grid_code"],
    )
    return LocateIndex(layers, communities, streets, roster=roster, **kw)


def test_every_layer_community_street_and_roster():
    r = _index(generation={"unified": 3}).locate(118.905, 32.105, crs="cgcs2000")
    assert r.grids == {
        "unified": "320113001007-01",
        "politics_law": "ZF01",
        "urban_mgmt": "CG01",
        "emergency": "YJ01",
        "ecology": "ST01",
    }
    assert (r.community_code, r.street_name, r.inside_district) == (
        "320113001007",
        "尧化街道",
        True,
    )
    assert [e.role for e in r.roster] == ["网格长", "网格员", "包保民警"]


def test_gcj02_and_bd09_points_land_in_the_same_grid():
    index = _index()
    x, y = 118.9049, 32.1051
    expected = index.locate(x, y, "wgs84").grids
    assert index.locate(*map(float, wgs84_to_gcj02(x, y)), crs="gcj02").grids == expected
    assert index.locate(*map(float, wgs84_to_bd09(x, y)), crs="bd09").grids == expected


def test_shared_boundary_is_deterministic_smallest_code():
    index = _index()
    on_edge = index.locate(118.91, 32.105, "cgcs2000")  # between cells 0 and 1
    assert on_edge.grids["unified"] == "320113001007-01"
    reversed_layers = {k: v.iloc[::-1] for k, v in sample_layers(QIXIA_CORNER)[0].items()}
    assert LocateIndex(reversed_layers).locate(118.91, 32.105, "cgcs2000").grids == on_edge.grids


def test_outside_the_district():
    r = _index().locate(120.0, 30.0, "wgs84")
    assert not r.inside_district
    assert all(v is None for v in r.grids.values()) and r.roster == ()


def test_locate_many_matches_locate():
    index = _index()
    rng = np.random.default_rng(1)
    xs, ys = rng.uniform(118.89, 118.97, 300), rng.uniform(32.095, 32.115, 300)
    frame = index.locate_many(xs, ys, "cgcs2000")
    for i in range(0, 300, 7):
        one = index.locate(xs[i], ys[i], "cgcs2000")
        assert frame.loc[i, "unified"] == one.grids["unified"]
        assert frame.loc[i, "inside_district"] == one.inside_district


def test_invalid_geometry_is_repaired():
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    layer = gpd.GeoDataFrame({"code": ["B"]}, geometry=[bowtie], crs=4490)
    assert LocateIndex({"unified": layer}).locate(1.5, 1.0, "cgcs2000").grids["unified"] == "B"


def test_generation_key():
    index = _index(generation={"urban_mgmt": 5, "unified": 3})
    assert index.key == LocateIndex.key_for({"unified": 3, "urban_mgmt": 5})
    assert index.key != LocateIndex.key_for({"unified": 4, "urban_mgmt": 5})
    assert LocateIndex({"unified": gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 1, 1)])})


def _damaged_layer() -> gpd.GeoDataFrame:
    """400 Voronoi grids in EPSG:4490, one grown over its neighbours (overlaps), one with a hole,
    and an island beside them: what the raster must answer exactly like GEOS."""
    import shapely

    from geo_grid.testing import voronoi_layer

    layer = voronoi_layer(400, seed=3, frame=QIXIA_FRAME).to_crs(4490)
    geoms = np.asarray(layer.geometry.array, dtype=object)
    geoms[17] = geoms[17].buffer(0.0008)  # ~80 m over its neighbours
    ring = geoms[230]
    geoms[230] = ring.difference(ring.centroid.buffer(0.0003))
    layer = layer.set_geometry(gpd.GeoSeries(geoms, crs=4490))
    minx, miny, maxx, _ = shapely.total_bounds(geoms)
    island = box(maxx + 0.001, miny, maxx + 0.003, miny + 0.002)
    island = gpd.GeoDataFrame({"code": ["ZZ"]}, geometry=[island], crs=4490)
    return pd.concat([layer[["code", "geometry"]], island], ignore_index=True)


def _probe_points(layer: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Random points over the extent, every vertex, every edge midpoint, and a NaN."""
    import shapely

    geoms = np.asarray(layer.geometry.array, dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rng = np.random.default_rng(5)
    xy = [np.column_stack([rng.uniform(minx, maxx, 20000), rng.uniform(miny, maxy, 20000)])]
    vertices = shapely.get_coordinates(geoms)
    xy += [vertices, (vertices[:-1] + vertices[1:]) / 2, np.array([[np.nan, miny]])]
    xy = np.concatenate(xy)
    return xy[:, 0].copy(), xy[:, 1].copy()


def test_raster_gives_the_answers_of_geos_alone():
    from dataclasses import replace

    from geo_grid.locate import LayerIndex

    layer = LayerIndex.build(_damaged_layer())
    geos_only = replace(layer, raster=None)
    xs, ys = _probe_points(_damaged_layer())
    fast = layer.lookup(None, xs, ys)
    assert (fast == geos_only.lookup(None, xs, ys)).all()
    assert (fast >= 0).sum() > 10000 and (fast == -1).sum() > 100  # inside and outside both met
    picks = np.random.default_rng(1).choice(len(xs), 600, replace=False)
    assert [layer.lookup_one(xs[i], ys[i]) for i in picks] == fast[picks].tolist()


def test_raster_answers_most_points_without_geos():
    from geo_grid.locate import CellRaster, LayerIndex

    layer = LayerIndex.build(_damaged_layer())
    xs, ys = _probe_points(_damaged_layer())
    left_to_geos = layer.raster.lookup(xs[:20000], ys[:20000]) == CellRaster.MIXED
    assert left_to_geos.mean() < 0.3


def test_a_point_answers_with_its_district_and_only_that_districts_grids():
    """Two districts side by side; a department grid of the first drawn past its edge does not
    answer for a point of the second, whose own grid does."""
    import geopandas as gpd
    from shapely.geometry import box

    from geo_grid.locate import LocateIndex

    districts = gpd.GeoDataFrame(
        {"code": ["111111", "222222"], "name": ["甲区", "乙区"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4490,
    )  # fmt: skip
    dept = gpd.GeoDataFrame(
        {"code": ["A-OVER", "B-1"], "district_code": ["111111", "222222"]},
        geometry=[box(0, 0, 1.5, 1), box(1, 0, 2, 1)], crs=4490,  # A-OVER reaches into 乙区
    )  # fmt: skip
    index = LocateIndex({"urban_mgmt": dept}, districts=districts)
    found = index.locate(1.2, 0.5, crs="cgcs2000")
    assert (found.district_code, found.district_name) == ("222222", "乙区")
    assert found.grids == {"urban_mgmt": "B-1"} and found.inside_district
    assert index.locate(0.5, 0.5, crs="cgcs2000").grids == {"urban_mgmt": "A-OVER"}
    many = index.locate_many([1.2, 0.5, 5], [0.5, 0.5, 5], "cgcs2000")
    assert many["urban_mgmt"].tolist() == ["B-1", "A-OVER", None]
    assert many["district_code"].tolist() == ["222222", "111111", None]
