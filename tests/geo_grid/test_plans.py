"""Plan edits on tiny hand-built layers: every edit keeps a clean coverage or is refused, and the
impact equals a brute-force recount of buildings and addresses before and after."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo_grid import plans
from geo_grid.coverage import check_coverage
from geo_grid.errors import BadInput, Conflict, NotFound

X0, Y0 = 118.90, 32.10
D = 0.002  # ~190 m × 220 m cells
COMM = "320113001001"


def _box(i: int, j: int, w: int = 1, h: int = 1):
    return shapely.box(X0 + i * D, Y0 + j * D, X0 + (i + w) * D, Y0 + (j + h) * D)


def _layer(n: int = 3) -> gpd.GeoDataFrame:
    """``n`` × 2 grids in one community."""
    geoms = [_box(i, j) for j in range(2) for i in range(n)]
    codes = [f"{COMM}{k + 1:03d}" for k in range(len(geoms))]
    return gpd.GeoDataFrame(
        {"code": codes, "name": [f"测试社区第{k + 1}网格" for k in range(len(geoms))],
         "community_code": COMM, "households": 0},
        geometry=geoms, crs=4490,
    )  # fmt: skip


def _ctx(n: int = 3, seed: int = 1, per_cell: int = 6, **kw) -> plans.PlanContext:
    rng = np.random.default_rng(seed)
    comm = gpd.GeoDataFrame(
        {"code": [COMM], "kind": ["urban"]}, geometry=[_box(0, 0, n, 2)], crs=4490
    )
    rows, k = [], 0
    for j in range(2):
        for i in range(n):
            for _ in range(per_cell):
                x = X0 + (i + rng.uniform(0.1, 0.85)) * D
                y = Y0 + (j + rng.uniform(0.1, 0.85)) * D
                rows.append(
                    (
                        f"B{k:04d}",
                        int(rng.integers(10, 40)),
                        shapely.box(x, y, x + 2e-4, y + 1.5e-4),
                    )
                )
                k += 1
    buildings = gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "households": [r[1] for r in rows]},
        geometry=[r[2] for r in rows], crs=4490,
    )  # fmt: skip
    pts = rng.uniform([X0, Y0], [X0 + n * D, Y0 + 2 * D], size=(400, 2))
    addresses = gpd.GeoDataFrame(
        {"address_id": np.arange(len(pts))}, geometry=shapely.points(pts), crs=4490
    )
    cases = gpd.GeoDataFrame(
        {"id": np.arange(20)}, geometry=shapely.points(pts[:20] + 1e-6), crs=4490
    )
    layer = _layer(n)
    roster = gpd.pd.DataFrame(
        {
            "grid_code": np.repeat(layer["code"].to_numpy(), 2),
            "person_id": "P",
            "role": "grid_worker",
        }
    )
    return plans.PlanContext(
        communities=comm, buildings=buildings, addresses=addresses, cases=cases, roster=roster, **kw
    )


def _clean(layer: gpd.GeoDataFrame, ctx: plans.PlanContext) -> bool:
    return check_coverage(layer[["code", "community_code", "geometry"]], ctx.communities).valid


def _recount(points, layer):
    pts = gpd.GeoDataFrame(geometry=list(points), crs=4490)
    j = gpd.sjoin(pts, layer[["code", "geometry"]], predicate="within")
    return j.groupby("code").size().to_dict()


def _assert_impact_is_recount(result: plans.EditResult, before, ctx) -> None:
    bpts = ctx.buildings.geometry.representative_point()
    for side, layer in (("before", before), ("after", result.layer)):
        nb = _recount(bpts, layer)
        na = _recount(ctx.addresses.geometry, layer)
        nc = _recount(ctx.cases.geometry, layer)
        for g in result.impact["grids"]:
            if g[side] is None:
                continue
            assert g[side]["buildings"] == nb.get(g["code"], 0), (side, g)
            assert g[side]["addresses"] == na.get(g["code"], 0), (side, g)
            assert g[side]["open_cases"] == nc.get(g["code"], 0), (side, g)
    # moved = points whose grid changed
    sa = plans.assign_points(np.asarray(ctx.addresses.geometry.array), before)
    sb = plans.assign_points(np.asarray(ctx.addresses.geometry.array), result.layer)
    assert result.impact["moved"]["addresses"] == int(np.sum(sa != sb))


def test_split_by_line_keeps_coverage_and_counts():
    ctx, layer = _ctx(), _layer()
    line = shapely.LineString([(X0 + 0.5 * D, Y0 - 1e-4), (X0 + 0.5 * D, Y0 + D + 1e-4)])
    result = plans.split_grid(layer, f"{COMM}001", line, ctx=ctx)
    assert result.added == [f"{COMM}007"] and result.changed == [f"{COMM}001"]
    assert len(result.layer) == 7 and _clean(result.layer, ctx)
    _assert_impact_is_recount(result, layer, ctx)
    new = result.layer.set_index("code")
    assert new.loc[f"{COMM}007", "name"] == "测试社区第7网格"
    hh = {g["code"]: g for g in result.impact["grids"]}
    total = hh[f"{COMM}001"]["before"]["households"]
    assert total == sum(new.loc[c, "households"] for c in (f"{COMM}001", f"{COMM}007"))


def test_split_refusals():
    ctx, layer = _ctx(), _layer()
    with pytest.raises(BadInput, match="does not cross"):
        plans.split_grid(
            layer, f"{COMM}001", shapely.LineString([(X0, Y0 - 1), (X0 + 1e-5, Y0 - 1)]), ctx=ctx
        )
    sliver = shapely.LineString([(X0 + 2e-6, Y0 - 1e-4), (X0 + 2e-6, Y0 + D + 1e-4)])
    with pytest.raises(BadInput, match="cuts off a piece"):
        plans.split_grid(layer, f"{COMM}001", sliver, ctx=ctx)
    with pytest.raises(NotFound):
        plans.split_grid(layer, "nope", sliver, ctx=ctx)
    with pytest.raises(BadInput, match="lon/lat"):
        plans.split_grid(
            layer, f"{COMM}001", shapely.LineString([(4e5, 3e6), (4e5, 3.1e6)]), ctx=ctx
        )


def test_merge_moves_roster_and_refuses_non_neighbours():
    ctx, layer = _ctx(), _layer()
    result = plans.merge_grids(layer, [f"{COMM}001", f"{COMM}002"], keep=f"{COMM}001", ctx=ctx)
    assert result.removed == [f"{COMM}002"] and _clean(result.layer, ctx)
    assert result.impact["moved"]["roster"] == 2
    _assert_impact_is_recount(result, layer, ctx)
    with pytest.raises(BadInput, match="share no border"):
        plans.merge_grids(layer, [f"{COMM}001", f"{COMM}003"], ctx=ctx)


def test_reshape_neighbours_give_and_take():
    ctx, layer = _ctx(), _layer()
    # grow 002 to the right into 003 and shrink it on the left: 001 takes what it gives up
    new = shapely.box(X0 + 1.3 * D, Y0, X0 + 2.4 * D, Y0 + D)
    result = plans.reshape_grid(layer, f"{COMM}002", new, ctx=ctx)
    assert set(result.changed) == {f"{COMM}001", f"{COMM}002", f"{COMM}003"}
    assert _clean(result.layer, ctx)
    got = result.layer.set_index("code").geometry
    assert got[f"{COMM}002"].symmetric_difference(new).area < 1e-12
    assert got[f"{COMM}001"].area == pytest.approx(1.3 * D * D)
    _assert_impact_is_recount(result, layer, ctx)


def test_reshape_swallowing_a_neighbour_removes_it():
    ctx, layer = _ctx(), _layer()
    result = plans.reshape_grid(layer, f"{COMM}001", _box(0, 0, 2, 1), ctx=ctx)
    assert result.removed == [f"{COMM}002"] and result.renames == {f"{COMM}002": f"{COMM}001"}
    assert _clean(result.layer, ctx)


def test_reshape_outside_the_community_is_clipped():
    ctx, layer = _ctx(), _layer()
    result = plans.reshape_grid(layer, f"{COMM}001", _box(-1, -1, 2, 2), ctx=ctx)
    assert _clean(result.layer, ctx)
    assert result.layer.geometry.union_all().equals(ctx.communities.geometry.iloc[0])


def test_move_buildings_follows_building_cells():
    ctx, layer = _ctx(), _layer()
    bpts = ctx.buildings.geometry.representative_point()
    in1 = ctx.buildings.loc[bpts.within(layer.geometry.iloc[0]).to_numpy()].copy()
    in1["x"] = in1.geometry.representative_point().x
    moving = in1.sort_values("x", ascending=False)["code"].iloc[:2].tolist()  # nearest to 002
    result = plans.move_buildings(layer, moving, f"{COMM}002", ctx=ctx)
    assert _clean(result.layer, ctx)
    codes = plans.assign_points(
        np.asarray(bpts.array)[ctx.buildings["code"].isin(moving).to_numpy()], result.layer
    )
    assert set(codes) == {f"{COMM}002"}
    assert result.impact["moved"]["buildings"] == 2
    _assert_impact_is_recount(result, layer, ctx)


def test_recode_and_conflicts():
    ctx, layer = _ctx(), _layer()
    result = plans.recode_grid(layer, f"{COMM}001", new_code=f"{COMM}050", name="新网格", ctx=ctx)
    assert f"{COMM}050" in set(result.layer["code"]) and result.impact["moved"]["roster"] == 2
    with pytest.raises(Conflict):
        plans.recode_grid(layer, f"{COMM}001", new_code=f"{COMM}002", ctx=ctx)
    with pytest.raises(BadInput, match="community"):
        plans.recode_grid(layer, f"{COMM}001", new_code="320113009009001", ctx=ctx)


def test_suggestions_split_over_full_and_merge_under_full():
    ctx = _ctx(per_cell=6, bands=plans.Bands((60, 150)))
    layer = _layer()
    base = plans.merge_grids(layer, [f"{COMM}001", f"{COMM}002"], ctx=ctx).layer
    status = plans.balance(base, ctx.communities, ctx.bands)
    assert (status["status"] == "over").sum() == 1
    found = plans.suggest(base, ctx=ctx)
    assert any(s["kind"] == "split" for s in found)
    out = base
    for s in found:
        out = plans.apply_edit(out, s["edit"]["op"], s["edit"]["params"], ctx=ctx).layer
    assert _clean(out, ctx)
    after = plans.balance(out, ctx.communities, ctx.bands)
    assert (after["status"] == "over").sum() == 0
    # under-full: a band the cells are below, pairs merge into it
    ctx2 = _ctx(per_cell=6, bands=plans.Bands((200, 400)))
    fresh = _layer()
    pts = ctx2.buildings.geometry.representative_point()
    j = gpd.sjoin(
        gpd.GeoDataFrame(ctx2.buildings[["households"]], geometry=pts), fresh[["code", "geometry"]]
    )
    fresh["households"] = (
        fresh["code"].map(j.groupby("code")["households"].sum()).fillna(0).astype(int)
    )
    assert (plans.balance(fresh, ctx2.communities, ctx2.bands)["status"] == "under").all()
    found = plans.suggest(fresh, ctx=ctx2)
    assert found and all(s["kind"] == "merge" for s in found)
    out = fresh
    for s in found:
        out = plans.apply_edit(out, s["edit"]["op"], s["edit"]["params"], ctx=ctx2).layer
    assert _clean(out, ctx2)
    assert (plans.balance(out, ctx2.communities, ctx2.bands)["status"] == "in").sum() >= 2


def test_diff_layers_added_removed_changed():
    ctx, layer = _ctx(), _layer()
    line = shapely.LineString([(X0 + 0.5 * D, Y0 - 1e-4), (X0 + 0.5 * D, Y0 + D + 1e-4)])
    after = plans.split_grid(layer, f"{COMM}001", line, ctx=ctx).layer
    after = plans.merge_grids(after, [f"{COMM}005", f"{COMM}006"], ctx=ctx).layer
    diff = plans.diff_layers(layer, after)
    got = dict(zip(diff["code"], diff["change"], strict=True))
    assert got[f"{COMM}007"] == "added" and got[f"{COMM}001"] == "changed"
    assert sorted(c for c, k in got.items() if k == "removed") == [f"{COMM}005"] or sorted(
        c for c, k in got.items() if k == "removed"
    ) == [f"{COMM}006"]


def test_diff_layers_takes_invalid_grids_as_a_department_layer_stores_them():
    """A department layer is stored as received, self-intersections included (finding them is
    the checks' job), so a plan on it diffs invalid outlines: GEOS cannot overlay those (a
    ``TopologyException`` once answered 500 on ``GET /map/plan/{id}`` and the plan's diff)."""
    layer = _layer()
    bowtie = shapely.Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D)])
    assert not bowtie.is_valid
    layer.loc[0, "geometry"] = bowtie
    assert plans.diff_layers(layer, layer.copy()).empty  # nothing changed, nothing reported
    after = layer.copy()
    after.loc[0, "geometry"] = shapely.Polygon(
        [(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + 0.5 * D)]
    )
    diff = plans.diff_layers(layer, after)
    assert diff["code"].tolist() == [f"{COMM}001"] and diff["change"].tolist() == ["changed"]
    assert diff["area_changed_m2"].iloc[0] > 100  # a quarter of one triangle, ~ 2,600 m²


def test_an_edit_of_an_invalid_grid_is_refused_naming_it():
    """Every edit that cuts, joins or settles an invalid outline (a department layer's, stored as
    received) used to raise GEOS's ``TopologyException``: a 500 on split, merge and recode."""
    ctx, layer = _ctx(), _layer()
    layer.loc[0, "geometry"] = shapely.Polygon(
        [(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D)]
    )
    bad = f"{COMM}001"
    line = shapely.LineString([(X0 + 0.5 * D, Y0 - 1e-4), (X0 + 0.5 * D, Y0 + D + 1e-4)])
    edits = [
        ("split", {"grid": bad, "line": shapely.geometry.mapping(line)}),
        ("merge", {"grids": [f"{COMM}002", bad]}),
        ("reshape", {"grid": bad, "geometry": shapely.geometry.mapping(_box(0, 0))}),
        ("recode", {"grid": bad, "name": "新名字"}),
        ("move_buildings", {"buildings": ["B0006"], "to": bad}),  # B0006 lies in 002
    ]
    for op, params in edits:
        with pytest.raises(BadInput, match=f"grid {bad} is not a valid polygon") as refused:
            plans.apply_edit(layer, op, params, ctx=ctx)
        assert "Self-intersection" in refused.value.message, (op, refused.value.message)


@settings(max_examples=25, deadline=None)
@given(
    x=st.floats(0.05, 0.95),
    dx=st.floats(-0.6, 0.6),
    grid=st.integers(0, 5),
)
def test_any_line_split_is_clean_or_refused(x, dx, grid):
    """Hypothesis: a random line across a random grid either splits it cleanly or is refused."""
    ctx, layer = _ctx(), _layer()
    g = layer.geometry.iloc[grid]
    minx, miny, maxx, maxy = g.bounds
    line = shapely.LineString([(minx + x * D, miny - 2e-4), (minx + (x + dx) * D, maxy + 2e-4)])
    try:
        result = plans.split_grid(layer, layer["code"].iloc[grid], line, ctx=ctx)
    except BadInput:
        return
    assert _clean(result.layer, ctx)
    assert abs(result.layer.geometry.union_all().area - layer.geometry.union_all().area) < 1e-14
    _assert_impact_is_recount(result, layer, ctx)


@settings(max_examples=20, deadline=None)
@given(
    x0=st.floats(-0.5, 1.5), y0=st.floats(-0.5, 0.9), w=st.floats(0.2, 2.0), h=st.floats(0.2, 1.5)
)
def test_any_reshape_is_clean_or_refused(x0, y0, w, h):
    ctx, layer = _ctx(), _layer()
    new = shapely.box(X0 + x0 * D, Y0 + y0 * D, X0 + (x0 + w) * D, Y0 + (y0 + h) * D)
    try:
        result = plans.reshape_grid(layer, f"{COMM}002", new, ctx=ctx)
    except BadInput:
        return
    assert _clean(result.layer, ctx)
    _assert_impact_is_recount(result, layer, ctx)
