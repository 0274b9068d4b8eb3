"""Plans against PostGIS: edits persist with exact impact, publish is atomic and 409s on a race.

Plans are created on the demo's unified layer (drafts only: its published generation never
changes here); every publish runs on a private copy layer ``t_plan_<hex>`` holding one street.
"""

from __future__ import annotations

import threading
import uuid

import geopandas as gpd
import pytest
import shapely
from conftest import QIXIA
from shapely.geometry import mapping
from sqlalchemy import text

from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict, NotFound
from geo_grid.services import plans as svc


def _published(layer: str) -> int:
    with session_scope() as s:
        return repos.grids.resolve_generation(s, layer, district=QIXIA)["id"]


def _grids(generation_id: int) -> gpd.GeoDataFrame:
    with session_scope() as s:
        return repos.grids.read_grids(s, generation_id=generation_id)


@pytest.fixture
def copy_layer(scratch_layer) -> str:
    """A private layer with one published generation: the unified grids of one street."""
    return scratch_layer("street_code = '320113003'")[0]


def _cross_line(grid) -> dict:
    c = grid.centroid
    minx, miny, maxx, maxy = grid.bounds
    return mapping(shapely.LineString([(c.x, miny - 1e-3), (c.x, maxy + 1e-3)]))


def _recount(frame, grids: gpd.GeoDataFrame, codes, points) -> dict:
    """Brute force: spatial join of every point against the whole layer."""
    pts = gpd.GeoDataFrame(index=frame.index, geometry=points, crs=4490)
    joined = gpd.sjoin(pts, grids[["code", "geometry"]], predicate="within", how="inner")
    return joined.loc[joined["code"].isin(codes)].groupby("code").size().to_dict()


def test_create_split_and_impact_equal_a_recount(demo_db, demo):
    unified_before = _published("unified")
    plan = svc.create_plan("unified", district=QIXIA, note="test split", author="t")
    assert plan["grids"] == 1063 and plan["status"] == "open"
    before = _grids(plan["generation_id"])
    code = "320113001001001"
    grid = before.set_index("code").geometry[code]
    out = svc.edit(plan["id"], "split", {"grid": code, "line": _cross_line(grid)}, author="t")
    assert out["seq"] == 1 and len(out["added"]) == 1 and out["changed"] == [code]
    new = out["added"][0]
    assert (
        new.startswith("320113001001")
        and int(new[-3:])
        > before["code"].str[-3:].astype(int)[before["community_code"] == "320113001001"].max()
    )
    after = _grids(plan["generation_id"])
    assert len(after) == 1064 and svc.validate(plan["id"])["valid"]
    # impact == brute-force spatial join of every building and address, before and after
    b, a = demo.buildings, demo.addresses
    bpts = b.geometry.representative_point()
    per = {g["code"]: g for g in out["impact"]["grids"]}
    for side, layer in (("before", before), ("after", after)):
        nb = _recount(b, layer, [code, new], bpts)
        na = _recount(a, layer, [code, new], a.geometry)
        pts = gpd.GeoDataFrame(b[["households"]], geometry=bpts, crs=4490)
        hh = gpd.sjoin(pts, layer[["code", "geometry"]], predicate="within")
        hh = hh.loc[hh["code"].isin([code, new])].groupby("code")["households"].sum()
        for c in (code, new):
            if per[c][side] is None:
                continue
            assert per[c][side]["buildings"] == nb.get(c, 0)
            assert per[c][side]["addresses"] == na.get(c, 0)
            assert per[c][side]["households"] == int(hh.get(c, 0))
    # stored households are the recount; moved totals equal the new grid's counts
    stored = after.set_index("code")["households"]
    assert stored[new] == per[new]["after"]["households"]
    assert out["impact"]["moved"]["addresses"] == per[new]["after"]["addresses"]
    assert _published("unified") == unified_before


def test_refused_edit_changes_nothing(demo_db):
    plan = svc.create_plan("unified", district=QIXIA)
    before = _grids(plan["generation_id"])
    far = {"type": "LineString", "coordinates": [[118.0, 31.0], [118.001, 31.0]]}
    with pytest.raises(BadInput, match="does not cross"):
        svc.edit(plan["id"], "split", {"grid": "320113001001001", "line": far})
    with pytest.raises(BadInput, match="different communities"):
        svc.edit(plan["id"], "merge", {"grids": ["320113001001001", "320113001002001"]})
    after = _grids(plan["generation_id"])
    assert len(after) == len(before)
    assert svc.get_plan(plan["id"])["edits"] == 0


def test_an_edit_naming_no_grid_of_the_plan_reads_nothing_around_it(demo_db, monkeypatch):
    """An unknown grid code read the whole district's buildings, addresses and open cases (no
    community to bound them) before its 404: seconds per request, which the schemathesis run
    spent hundreds of times. The edit is checked against the plan's grids first."""
    plan = svc.create_plan("unified", district=QIXIA)

    def no_context(*args, **kwargs):
        raise AssertionError("the edit's surroundings were read for a grid the plan lacks")

    monkeypatch.setattr(svc, "_context", no_context)
    line = {"type": "LineString", "coordinates": [[118.9, 32.1], [118.91, 32.1]]}
    for op, params in (("split", {"grid": "nope", "line": line}),
                       ("merge", {"grids": ["320113001001001", "nope"]}),
                       ("move_buildings", {"buildings": ["B1"], "to": "nope"}),
                       ("recode", {"grid": "nope", "name": "x"})):  # fmt: skip
        with pytest.raises(NotFound, match="no grid 'nope' in this plan"):
            svc.edit(plan["id"], op, params, dry_run=True)
    with pytest.raises(BadInput, match="unknown edit"):
        svc.edit(plan["id"], "explode", {}, dry_run=True)


def test_merge_reshape_recode_keep_the_plan_clean(demo_db):
    plan = svc.create_plan("unified", district=QIXIA)
    g = _grids(plan["generation_id"]).set_index("code")
    svc.edit(plan["id"], "merge", {"grids": ["320113001001001", "320113001001002"]})
    grown = g.geometry["320113001001003"].buffer(2e-4)
    out = svc.edit(plan["id"], "reshape", {"grid": "320113001001003", "geometry": mapping(grown)})
    assert "320113001001003" in out["changed"] and len(out["changed"]) >= 2
    out = svc.edit(plan["id"], "recode", {"grid": "320113001001004", "code": "320113001001099"})
    assert out["renames"] == {"320113001001004": "320113001001099"}
    assert out["impact"]["moved"]["roster"] > 0
    report = svc.validate(plan["id"])
    assert report["valid"], report["coverage"]["summary"]
    assert [e["op"] for e in svc.get_plan(plan["id"])["log"]] == ["merge", "reshape", "recode"]


def test_diff_export_and_import_round_trip(demo_db, tmp_path):
    plan = svc.create_plan("unified", district=QIXIA)
    g = _grids(plan["generation_id"]).set_index("code")
    out = svc.edit(
        plan["id"],
        "split",
        {"grid": "320113002001001", "line": _cross_line(g.geometry["320113002001001"])},
    )
    diff, summary = svc.diff_plan(plan["id"])
    assert summary["added"] == 1 and summary["changed"] == 1 and summary["removed"] == 0
    assert set(diff["code"]) == {"320113002001001", out["added"][0]}
    path = svc.export_diff(diff, tmp_path / "diff.gpkg")
    back = gpd.read_file(path, layer="diff")
    assert sorted(back["change"]) == ["added", "changed"]
    assert len(gpd.read_file(path, layer="before")) == 1
    # export the draft, import it as a new plan: same grids, one "import" edit
    exported = svc.export_plan(plan["id"], tmp_path / "plan.gpkg")
    imported = svc.import_plan(exported["path"], layer="unified", district=QIXIA, note="from QGIS")
    assert imported["grids"] == 1064 and imported["added"] == 1
    assert svc.validate(imported["id"])["valid"]


def test_publish_switches_generation_and_regrids_open_cases(copy_layer):
    old = _published(copy_layer)
    plan = svc.create_plan(copy_layer, district=QIXIA, note="split one")
    g = _grids(plan["generation_id"]).set_index("code")
    code = g.index[0]
    out = svc.edit(plan["id"], "split", {"grid": code, "line": _cross_line(g.geometry[code])})
    new_code = out["added"][0]
    new_geom = shapely.geometry.shape(
        out["grids"][[x["code"] for x in out["grids"]].index(new_code)]["geometry"]
    )
    case_id = None
    with session_scope() as s:
        if repos.plans.cases_table_exists(s):
            p = shapely.point_on_surface(new_geom)
            case_id = s.execute(
                text(
                    """INSERT INTO "case" (number, channel, category_code, category_kind, severity,
                           status, district_code, grid_code, grids, received_at, updated_at, geom)
                       VALUES (:n, 'hotline', '0101', 'event', 'normal', 'dispatched', :d, :c,
                               CAST(:grids AS jsonb), now(), now(),
                               ST_SetSRID(ST_MakePoint(:x, :y), 4490)) RETURNING id"""
                ),
                {
                    "n": f"T{uuid.uuid4().hex[:12]}",
                    "d": QIXIA,
                    "c": code,
                    "x": p.x,
                    "y": p.y,
                    "grids": f'{{"{copy_layer}": "{code}"}}',
                },  # fmt: skip
            ).scalar_one()
    result = svc.publish(plan["id"], author="t")
    assert result["retired_generation_id"] == old
    assert _published(copy_layer) == plan["generation_id"]
    with session_scope() as s:
        assert repos.grids.generation_row(s, old)["status"] == "retired"
        assert repos.plans.get_plan(s, plan["id"])["status"] == "published"
        if case_id is not None:
            row = s.execute(
                text('SELECT grid_code, routing FROM "case" WHERE id = :i'), {"i": case_id}
            ).one()
            assert row.grid_code == code  # keeps the grid it was routed to
            assert row.routing["replanned"][-1]["grid_code"] == new_code
            assert result["cases_regridded"] >= 1
            event = s.execute(
                text("SELECT action, data FROM case_event WHERE case_id = :i ORDER BY id DESC"),
                {"i": case_id},
            ).first()
            assert event.action == "replan" and event.data["grid_code"] == new_code
    with pytest.raises(Conflict):
        svc.publish(plan["id"])


def test_publish_checks_the_communities_the_plan_changed_and_no_others(copy_layer):
    """A one-grid split costs its community, not the district: the publish checks the split's
    community only (every other grid is the published one, untouched), so an overlap already live
    in another community neither stops it nor is read; the whole-plan check still sees it. A
    code used again outside the checked grids is caught all the same."""
    old = _published(copy_layer)
    base = _grids(old)
    split_in, damaged_in = sorted(base["community_code"].unique())[:2]
    victim = base.loc[base["community_code"] == damaged_in, "code"].iloc[0]
    with session_scope() as s:  # a defect the published generation already has
        s.execute(
            text("UPDATE grid SET geom = ST_Multi(ST_Buffer(geom, 0.0004, 'join=mitre')) "
                 "WHERE generation_id = :g AND code = :c"),
            {"g": old, "c": victim},
        )  # fmt: skip
    plan = svc.create_plan(copy_layer, district=QIXIA, note="split in one community")
    g = _grids(plan["generation_id"]).set_index("code")
    code = g.index[g["community_code"] == split_in][0]
    out = svc.edit(plan["id"], "split", {"grid": code, "line": _cross_line(g.geometry[code])})
    assert not svc.validate(plan["id"])["valid"]  # the whole plan holds the old overlap
    with session_scope() as s:
        plan_row = repos.plans.get_plan(s, plan["id"])
        scope = svc._publish_scope(s, plan_row)
        assert set(scope["community_code"]) == {split_in}
        assert set(scope["code"]) == set(g.index[g["community_code"] == split_in]) | {
            out["added"][0]
        }
        assert repos.plans.duplicate_codes(s, plan["generation_id"], [code, victim]) == {}
    result = svc.publish(plan["id"], author="t")
    assert result["retired_generation_id"] == old and result["grids"] == len(base) + 1
    assert _published(copy_layer) == plan["generation_id"]


def test_publish_is_atomic(copy_layer, monkeypatch):
    old = _published(copy_layer)
    plan = svc.create_plan(copy_layer, district=QIXIA)

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after the generation switch")

    monkeypatch.setattr(repos.plans, "record_case_regrid", boom)
    with pytest.raises(RuntimeError, match="injected"):
        svc.publish(plan["id"])
    assert _published(copy_layer) == old
    with session_scope() as s:
        assert repos.grids.generation_row(s, old)["status"] == "published"
        assert repos.grids.generation_row(s, plan["generation_id"])["status"] == "draft"
        assert repos.plans.get_plan(s, plan["id"])["status"] == "open"


def test_concurrent_publish_one_wins_one_conflicts(copy_layer):
    old = _published(copy_layer)
    p1, p2 = (
        svc.create_plan(copy_layer, district=QIXIA),
        svc.create_plan(copy_layer, district=QIXIA),
    )
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def run(pid: int) -> None:
        barrier.wait()
        try:
            svc.publish(pid)
            outcomes[pid] = "published"
        except Conflict:
            outcomes[pid] = "conflict"

    threads = [threading.Thread(target=run, args=(p["id"],)) for p in (p1, p2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes.values()) == ["conflict", "published"]
    winner = next(p for p in (p1, p2) if outcomes[p["id"]] == "published")
    assert _published(copy_layer) == winner["generation_id"] != old


def test_suggestions_bring_grids_into_band(demo_db, demo):
    plan = svc.create_plan("unified", district=QIXIA)
    base = svc.suggestions(plan["id"])
    # the demo over-fills a few grids on purpose: each one gets a split suggestion
    overfilled = {o["code"] for o in demo.overfilled}
    assert base["over"] == len(overfilled) >= 3
    splits = [s for s in base["suggestions"] if s["kind"] == "split"]
    assert {code for s in splits for code in s["grids"]} == overfilled
    g = _grids(plan["generation_id"])
    comm = g.loc[g["community_code"] == "320113001001", "code"].tolist()[:2]
    svc.edit(plan["id"], "merge", {"grids": comm})  # an over-full grid (two urban grids)
    found = svc.suggestions(plan["id"])
    assert found["over"] == base["over"] + 1 and found["under"] > 0
    split = [s for s in found["suggestions"] if s["kind"] == "split" and s["grids"][0] in comm[:2]]
    assert len(split) == 1 and split[0]["grids"] in ([comm[0]], [comm[1]])
    merges = [s["id"] for s in found["suggestions"] if s["kind"] == "merge"][:3]
    done = svc.accept_suggestions(plan["id"], [split[0]["id"], *merges])
    assert len(done["applied"]) == 4
    # the split fixes the over-full grid, each merge at least one under-full grid
    assert done["out_of_band"] <= found["out_of_band"] - 4
    again = svc.suggestions(plan["id"])
    assert again["over"] == base["over"]
    assert svc.validate(plan["id"])["valid"]
    with pytest.raises(Conflict, match="not a current suggestion"):
        svc.accept_suggestions(plan["id"], [split[0]["id"]])


def test_suggestions_weigh_the_same_buildings_as_the_whole_district(demo_db):
    """Suggestions read only the footprints of the over-full grids (the only grids they cut
    along buildings): what they suggest must be what weighing every building of the district
    gives, the split of a grid whose buildings lie near its edge included."""
    from geo_grid import plans as lib

    plan = svc.create_plan("unified", district=QIXIA)
    with session_scope() as session:
        stored, grids = svc._load(session, plan["id"], lock=False)
        bands = svc._bands(svc._profile(stored), None)
        near = svc._context(session, stored, grids, None, bands, points=False, over_full=True)
        whole = svc._context(session, stored, grids, None, bands, points=False)
    assert 0 < len(near.buildings) < len(whole.buildings) / 10
    assert lib.suggest(grids, ctx=near) == lib.suggest(grids, ctx=whole)
    assert svc.suggestions(plan["id"])["suggestions"] == lib.suggest(grids, ctx=whole)
