"""The demo district: counts, exact nesting, coverage, households, addresses, roster, defects."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import shapely

from geo_grid.demo import generate_demo, write_ground_truth
from geo_grid.demo._units import DATA_DIR, qixia_outline, to_local
from geo_grid.layers import DEPARTMENT_LAYERS, UNIFIED


@pytest.fixture(scope="module")
def demo():
    return generate_demo()


def _hash(gdf) -> str:
    h = hashlib.sha256()
    for code, geom in zip(gdf["code"], gdf.geometry, strict=True):
        h.update(code.encode() + shapely.to_wkb(geom))
    return h.hexdigest()


def test_counts(demo):
    assert len(demo.district) == 1 and demo.district["code"].iloc[0] == "320113"
    assert len(demo.streets) == 9
    assert len(demo.communities) == 129
    assert len(demo.grids[UNIFIED]) == 1063
    assert 90_000 <= len(demo.addresses) <= 110_000
    assert set(demo.grids) == {UNIFIED, *DEPARTMENT_LAYERS}
    sizes = {k: len(v) for k, v in demo.grids.items()}
    assert 300 <= sizes["urban_mgmt"] <= 600
    assert 800 <= sizes["politics_law"] <= 1100
    assert 40 <= sizes["ecology"] <= 80
    assert 9 * 3 <= sizes["emergency"] <= 9 * 8
    for gdf in (demo.district, demo.streets, demo.communities, *demo.grids.values()):
        assert gdf.crs.to_epsg() == 4490
        assert set(gdf.geom_type) == {"MultiPolygon"}


def test_codes_follow_the_division_list(demo):
    u = demo.grids[UNIFIED]
    assert u["code"].is_unique
    assert (u["code"].str.len() == 15).all()
    assert (u["code"].str[:12] == u["community_code"]).all()
    assert demo.communities["code"].str.startswith(tuple(demo.streets["code"])).all()
    assert not demo.streets["code"].str.startswith("3201134").any()
    assert "八卦洲街道" in set(demo.streets["name"])


def test_levels_are_valid_coverages(demo):
    for gdf in (demo.grids[UNIFIED], demo.communities, demo.streets):
        assert gdf.is_valid.all()
        assert bool(shapely.coverage_is_valid(gdf.geometry.values))


def test_grids_nest_exactly(demo):
    u = demo.grids[UNIFIED]
    comm = demo.communities.set_index("code").geometry
    assert shapely.covered_by(u.geometry.values, comm.loc[u["community_code"]].values).all()
    street = demo.streets.set_index("code").geometry
    c = demo.communities
    assert shapely.covered_by(c.geometry.values, street.loc[c["parent_code"]].values).all()
    assert (u.groupby("community_code").size() >= 1).all()
    assert set(u["community_code"]) == set(c["code"])


def test_grids_cover_the_outline(demo):
    union = to_local(shapely.union_all(demo.grids[UNIFIED].geometry.values))
    outline = qixia_outline()
    assert abs(union.area - outline.area) / outline.area < 1e-4
    assert shapely.symmetric_difference(union, outline).area / outline.area < 1e-4


def test_households_match_buildings_and_bands(demo):
    u = demo.grids[UNIFIED].set_index("code")
    per_grid = demo.buildings.groupby("grid_code")["households"].sum()
    assert (per_grid.reindex(u.index, fill_value=0) == u["households"]).all()
    kind = demo.communities.set_index("code")["kind"].loc[u["community_code"]].to_numpy()
    hh = u["households"].to_numpy()
    assert ((hh[kind == "urban"] >= 300) & (hh[kind == "urban"] <= 500)).all()
    assert ((hh[kind == "rural"] >= 80) & (hh[kind == "rural"] <= 300)).all()


def test_buildings_inside_their_grid_and_apart(demo):
    b = demo.buildings
    grids = demo.grids[UNIFIED].set_index("code").geometry
    assert set(b.geom_type) == {"Polygon"}
    assert shapely.within(b.geometry.values, grids.loc[b["grid_code"]].values).all()
    tree = shapely.STRtree(b.geometry.values)
    i, j = tree.query(b.geometry.values, predicate="overlaps")
    assert len(i) == 0
    xq = b.dropna(subset=["xiaoqu"]).groupby("xiaoqu")["grid_code"].nunique()
    assert (xq == 1).all()  # 小区 names are unique in the district


def test_addresses_sit_in_their_grid_and_building(demo):
    a = demo.addresses
    assert a["address_id"].is_unique and a["full_text"].is_unique
    assert a["full_text"].str.startswith("江苏省南京市栖霞区").all()
    grids = demo.grids[UNIFIED].set_index("code")
    assert shapely.within(a.geometry.values, grids.geometry.loc[a["grid_code"]].values).all()
    assert (grids["community_code"].loc[a["grid_code"]].to_numpy() == a["community_code"]).all()
    with_b = a.dropna(subset=["building_code"])
    bld = demo.buildings.set_index("code").geometry
    assert shapely.within(with_b.geometry.values, bld.loc[with_b["building_code"]].values).all()
    flats = a.dropna(subset=["room"])
    assert (
        flats["local_text"]
        == flats["xiaoqu"]
        + flats["building"]
        + "栋"
        + flats["unit"]
        + "单元"
        + flats["room"]
        + "室"
    ).all()
    village = a.dropna(subset=["village"])
    assert village["local_text"].str.match(r"^.+村[一二三四五六七八九十]+组\d+号$").all()
    assert len(flats) > 0 and len(village) > 0 and a["road"].notna().sum() > 0


def test_door_numbers_odd_one_side_even_other_increasing(demo):
    a = demo.addresses.dropna(subset=["road"])
    assert not a.duplicated(subset=["road", "door_no"]).any()
    roads = demo.roads.set_index("name").geometry
    odd_even = 0
    for road, rows in list(a.groupby("road"))[:200]:
        line = to_local(roads.loc[road])
        pts = to_local(rows.geometry.values)
        s = shapely.line_locate_point(line, pts)
        no = rows["door_no"].astype(int).to_numpy()
        for parity in (0, 1):
            m = no % 2 == parity
            if m.sum() > 2:
                order = np.argsort(s[m])
                assert (np.diff(no[m][order]) > 0).all()
        odd_even += int((no % 2 == 0).any() and (no % 2 == 1).any())
    assert odd_even > 50


def test_roster_complete(demo):
    r = demo.roster
    u = demo.grids[UNIFIED]
    leaders = r[r["role"] == "grid_leader"].groupby("grid_code").size()
    assert (leaders.reindex(u["code"], fill_value=0) == 1).all()
    workers = r[r["role"] == "grid_worker"].groupby("grid_code").size()
    assert workers.reindex(u["code"], fill_value=0).between(1, 2).all()
    police = r[r["role"] == "police"].groupby("grid_code").size()
    assert (police.reindex(u["code"], fill_value=0) == 1).all()
    party = r[r["role"] == "party_household"]
    assert party["linked_households"].notna().all()
    for layer in DEPARTMENT_LAYERS:
        members = r[(r["role"] == "dept_member") & (r["layer"] == layer)]
        assert set(members["grid_code"]) == set(demo.grids[layer]["code"])
    assert r["phone"].str.fullmatch(r"1\d{10}").all()


def test_deterministic_for_a_seed(demo):
    again = generate_demo(demo.seed)
    for layer in demo.grids:
        assert _hash(demo.grids[layer]) == _hash(again.grids[layer])
    assert demo.addresses["full_text"].tolist() == again.addresses["full_text"].tolist()
    assert demo.roster.equals(again.roster)
    assert demo.defects == again.defects


def test_ground_truth_file_is_current(demo, tmp_path):
    out = tmp_path / "defects.json"
    write_ground_truth(demo, out)
    committed = DATA_DIR / "ground_truth" / "qixia_defects.json"
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
    body = json.loads(out.read_text(encoding="utf-8"))
    kinds = {d["kind"] for d in body["defects"]}
    assert kinds == {
        "invalid_geometry",
        "duplicate_code",
        "duplicate_geometry",
        "overlap",
        "gap",
        "sliver_gap",
        "crosses_parent",
    }


def test_defects_are_where_recorded(demo):
    seen = {}
    for d in demo.defects:
        seen[d["kind"]] = seen.get(d["kind"], 0) + 1
        layer = demo.grids[d["layer"]]
        geoms = shapely.make_valid(layer.geometry.values)
        p = shapely.Point(d["point"])
        covering = set(layer["code"][shapely.covers(geoms, p)])
        ids = d["ids"]
        assert set(ids) <= set(layer["code"]), d
        if d["kind"] in ("gap", "sliver_gap"):
            assert covering == set(), d
            width = d["width_m"]
            assert (width <= 20) if d["kind"] == "sliver_gap" else (width > 20), d
        elif d["kind"] == "overlap":
            assert set(ids) <= covering, d
        elif d["kind"] == "crosses_parent":
            assert len(covering & set(ids)) == 1, d
            (owner,) = covering & set(ids)
            own_comm = layer.set_index("code").loc[owner, "community_code"]
            comm = demo.communities
            assert comm["code"][shapely.covers(comm.geometry.values, p)].tolist() != [own_comm]
        elif d["kind"] == "duplicate_geometry":
            a, b = (layer.set_index("code").geometry.loc[c] for c in ids)
            assert shapely.equals_exact(a, b, 0.0) and set(ids) <= covering, d
        elif d["kind"] == "duplicate_code":
            assert (layer["code"] == ids[0]).sum() == 2 and ids[0] in covering, d
        elif d["kind"] == "invalid_geometry":
            geom = layer.set_index("code").geometry.loc[ids[0]]
            assert not geom.is_valid
            reason = shapely.is_valid_reason(geom)
            x, y = map(float, reason[reason.index("[") + 1 : reason.index("]")].split())
            assert np.hypot(x - p.x, y - p.y) < 1e-5, (reason, d)
    assert all(n >= 2 for n in seen.values()) and len(seen) == 7
    # unified is clean; department layers have exactly the planted invalid rings
    assert demo.grids[UNIFIED].is_valid.all()
    for layer in DEPARTMENT_LAYERS:
        bad = set(demo.grids[layer]["code"][~demo.grids[layer].is_valid])
        planted = {
            d["ids"][0]
            for d in demo.defects
            if d["layer"] == layer and d["kind"] == "invalid_geometry"
        }
        assert bad == planted
    xy = to_local(shapely.points([d["point"] for d in demo.defects]))
    dist = shapely.distance(xy[:, None], xy[None, :])
    np.fill_diagonal(dist, np.inf)
    assert dist.min() >= 200
