"""多网合一 merge on small synthetic layers: crosswalk shares, planted conformance problems and
the proposed unified layer."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo_grid.coverage import check_coverage
from geo_grid.errors import BadInput
from geo_grid.merge import CONFORMANCE_KINDS, merge_layers

X0, Y0 = 380_000.0, 3_550_000.0
LOCAL = "EPSG:4549"


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def frame(codes, geoms, **cols):
    return gpd.GeoDataFrame({"code": codes, **cols}, geometry=geoms, crs=LOCAL)


@pytest.fixture
def district():
    """Eight 100 m unified grids in two communities (C1: x < 200, C2: x > 200), three layers:

    * A follows unified lines (C1 whole, C2 cut at x=300);
    * B cuts at x=150 (splitting the unified column 100..200) and at x=300 like A;
    * P covers C1 only and has one grid far outside the district.
    """
    codes, geoms, comm = [], [], []
    for i in range(4):
        for j in range(2):
            codes.append(f"U{i}{j}")
            geoms.append(box(100 * i, 100 * j, 100 * (i + 1), 100 * (j + 1)))
            comm.append("C1" if i < 2 else "C2")
    base = frame(codes, geoms, households=[100] * 8, community_code=comm)
    communities = frame(
        ["C1", "C2"], [box(0, 0, 200, 200), box(200, 0, 400, 200)], name=["一社区", "二社区"]
    )
    layers = {
        "urban_mgmt": frame(
            ["A1", "A2", "A3"], [box(0, 0, 200, 200), box(200, 0, 300, 200), box(300, 0, 400, 200)]
        ),
        "emergency": frame(
            ["B1", "B2", "B3"], [box(0, 0, 150, 200), box(150, 0, 300, 200), box(300, 0, 400, 200)]
        ),
        "politics_law": frame(["P1", "P9"], [box(0, 0, 200, 200), box(1000, 0, 1100, 100)]),
    }
    return base, communities, layers


def test_crosswalk_shares(district):
    base, communities, layers = district
    result = merge_layers(
        base, layers, communities=communities, min_grid_m2=1000, max_households=None
    )
    walk = result.crosswalk
    assert list(walk.columns) == [
        "unified_code",
        "layer",
        "dept_code",
        "overlap_m2",
        "share_of_unified",
        "share_of_dept",
    ]
    sums = walk.groupby(["unified_code", "layer"]).share_of_unified.sum()
    for (unified, layer), total in sums.items():
        assert total == pytest.approx(1.0, abs=1e-6), (unified, layer)
    # P covers only C1's four grids
    assert set(walk.loc[walk.layer == "politics_law", "unified_code"]) == {
        "U00",
        "U01",
        "U10",
        "U11",
    }
    row = walk[(walk.unified_code == "U10") & (walk.dept_code == "B1")].iloc[0]
    assert row.overlap_m2 == pytest.approx(5000)
    assert row.share_of_unified == pytest.approx(0.5)
    assert row.share_of_dept == pytest.approx(5000 / 30000, abs=1e-6)
    # the other way round: a department grid's shares over unified grids sum to 1 too
    dept_sums = walk[walk.layer == "urban_mgmt"].groupby("dept_code").share_of_dept.sum()
    assert dept_sums.to_dict() == pytest.approx({"A1": 1.0, "A2": 1.0, "A3": 1.0})


def test_conformance_flags_planted_problems(district):
    base, communities, layers = district
    result = merge_layers(
        base, layers, communities=communities, min_grid_m2=1000, deviation_m=10, max_households=None
    )
    conf = result.conformance
    assert set(conf.kind) <= set(CONFORMANCE_KINDS)
    splits = conf[conf.kind == "splits_unified"]
    assert sorted(c[0] for c in splits.codes) == ["U10", "U11"]
    assert set(splits.layer) == {"emergency"}
    assert splits.value.tolist() == pytest.approx([0.5, 0.5])
    dev = conf[conf.kind == "line_deviation"]
    emergency = dev[dev.layer == "emergency"]
    assert sorted(c[0] for c in emergency.codes) == ["B1", "B2"]
    assert emergency.value.tolist() == pytest.approx([50.0, 50.0])
    assert "urban_mgmt" not in set(conf.layer)  # A follows unified lines exactly
    orphans = conf[conf.kind == "orphan_unified"]
    assert sorted(c[0] for c in orphans.codes) == ["U20", "U21", "U30", "U31"]
    assert set(orphans.layer) == {"politics_law"}
    assert conf[conf.kind == "orphan_dept"].codes.tolist() == [["P9"]]


def test_proposed_keeps_agreed_lines_and_community_lines(district):
    base, communities, layers = district
    result = merge_layers(
        base, layers, communities=communities, min_grid_m2=1000, max_households=None
    )
    proposed = result.proposed
    assert result.check.valid
    assert check_coverage(proposed, communities.to_crs(4490)).valid
    assert list(proposed.columns) == ["code", "name", "households", "community_code", "geometry"]
    areas = dict(zip(proposed.code, proposed.to_crs(LOCAL).area.round(1), strict=True))
    # C1 stays whole (B's 150 line has no second department behind it); C2 is cut at x=300,
    # where A and B agree
    assert areas == {"C1-001": 40000.0, "C2-001": 20000.0, "C2-002": 20000.0}
    assert dict(zip(proposed.code, proposed.households, strict=True)) == {
        "C1-001": 400,
        "C2-001": 200,
        "C2-002": 200,
    }
    assert proposed.set_index("code").loc["C1-001", "name"] == "一社区第1网格"


def test_proposed_splits_over_full_and_merges_small(district):
    base, communities, layers = district
    result = merge_layers(
        base, layers, communities=communities, min_grid_m2=1000, max_households=250
    )
    assert result.check.valid
    c1 = result.proposed[result.proposed.community_code == "C1"]
    assert len(c1) == 2
    assert c1.to_crs(LOCAL).area.tolist() == pytest.approx([20000.0, 20000.0])
    assert c1.households.tolist() == [200, 200]
    # a minimum above the C2 halves merges them back into one grid
    merged = merge_layers(
        base, layers, communities=communities, min_grid_m2=30000, max_households=None
    ).proposed
    assert sorted(merged.code) == ["C1-001", "C2-001"]


def test_default_communities_from_base_and_bad_input(district):
    base, _, layers = district
    result = merge_layers(base, layers, min_grid_m2=1000, max_households=None)
    assert set(result.proposed.community_code) == {"C1", "C2"}
    assert result.check.valid
    with pytest.raises(BadInput):
        merge_layers(base, {})


@pytest.mark.slow
def test_demo_merge_is_clean_and_related(demo):
    """The demo's four department layers merged onto its unified layer: every unified grid is
    fully related to each complete department layer, and the proposed layer checks clean."""
    depts = {k: v for k, v in demo.grids.items() if k != "unified"}
    result = merge_layers(demo.grids["unified"], depts, communities=demo.communities)
    assert result.check.valid
    assert check_coverage(result.proposed, demo.communities).valid
    sums = result.crosswalk.groupby(["unified_code", "layer"]).share_of_unified.sum()
    # department layers carry injected overlaps and gaps, so allow a few per cent either way
    assert sums.between(0.9, 1.1).mean() > 0.99
    assert set(result.conformance.kind) <= set(CONFORMANCE_KINDS)
    assert result.proposed.households.sum() == pytest.approx(
        demo.grids["unified"].households.sum(), rel=0.01
    )
