"""Plan use cases: create, edit, suggest, validate, diff, import/export and publish. One transaction each.

Each edit loads the draft's grids and, for the communities the edit touches, the buildings,
addresses, open cases and roster; runs the pure edit from :mod:`geo_grid.plans`; replaces the
changed grids of the draft and appends the edit to the plan's log, all in one transaction under a
row lock on the plan (two edits of one plan never interleave).

Publishing validates the whole draft, then switches the layer's published generation with
``expected_published`` = the generation the plan started from, so when two planners publish at
once the second gets :class:`~geo_grid.errors.Conflict` (HTTP 409) instead of overwriting the
first's work. The old generation is retired and kept, open cases record their new grid, and the
locate index reloads by itself (its key is the set of published generations).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from geo_grid import access, plans
from geo_grid.access import Principal
from geo_grid.cases.lifecycle import CLOSED_STATES
from geo_grid.coverage import check_coverage
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict, Forbidden
from geo_grid.measure import area_m2
from geo_grid.settings import get_settings

__all__ = [
    "accept_suggestions",
    "create_plan",
    "diff_generations",
    "diff_plan",
    "edit",
    "export_diff",
    "export_plan",
    "get_plan",
    "import_plan",
    "list_plans",
    "publish",
    "suggestions",
    "validate",
]

_UNIFIED_CODE = re.compile(r"^[0-9]{15}$")


def _bands(by_kind: Mapping[str, tuple[int, int]] | None = None) -> plans.Bands:
    s = get_settings()
    return plans.Bands((s.household_band_min, s.household_band_max), dict(by_kind or {}))


def create_plan(
    layer: str = "unified", *, note: str | None = None, author: str | None = None
) -> dict[str, Any]:
    """Copy the layer's published generation into a new draft and open a plan on it."""
    with session_scope() as session:
        base = repos.grids.resolve_generation(session, layer)
        gid = repos.grids.create_generation(
            session, layer=layer, author=author, note=note, source="plan", parent_id=base["id"]
        )
        n = repos.plans.copy_grids(session, source_id=base["id"], target_id=gid)
        pid = repos.plans.insert_plan(
            session,
            layer=layer,
            generation_id=gid,
            base_generation_id=base["id"],
            author=author,
            note=note,
        )
        plan = repos.plans.get_plan(session, pid)
    return {**_plan_out(plan), "grids": n}


def _plan_out(plan: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "layer_key", "status", "generation_id", "generation", "base_generation_id",
            "base_generation", "author", "note", "created_at", "updated_at", "published_at",
            "edits")  # fmt: skip
    out = {k: plan.get(k) for k in keys}
    out["layer"] = out.pop("layer_key")
    return out


def get_plan(plan_id: int) -> dict[str, Any]:
    """A plan with its edit log."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
        edits = repos.plans.list_edits(session, plan_id)
    return {**_plan_out(plan), "log": edits}


def list_plans(layer: str | None = None) -> list[dict[str, Any]]:
    with session_scope() as session:
        return [_plan_out(p) for p in repos.plans.list_plans(session, layer=layer)]


# ---------------------------------------------------------------------------------- context
def _context(
    session,
    plan: Mapping[str, Any],
    grids: gpd.GeoDataFrame,
    communities: list[str] | None,
    bands: plans.Bands,
    *,
    points: bool = True,
) -> plans.PlanContext:
    """What an edit in ``communities`` (all when None) is measured against.

    ``points=False`` leaves out addresses and cases (suggestions only weigh buildings).
    """
    admin = repos.district.read_admin_areas(session, level="community")
    area = admin if communities is None else admin.loc[admin["code"].isin(communities)]
    bbox = repos.plans.frame_bbox(area if len(area) else grids)
    roster = repos.district.read_roster(session, layer=plan["layer_key"])
    reserved = repos.plans.grid_codes(session, plan.get("base_generation_id"))
    unified = bool(len(grids)) and all(
        bool(_UNIFIED_CODE.match(str(c))) and str(c).startswith(str(p))
        for c, p in zip(grids["code"], grids["community_code"], strict=True)
    )
    return plans.PlanContext(
        communities=admin[["code", "kind", "geometry"]],
        buildings=repos.plans.read_buildings(session, bbox=bbox),
        addresses=repos.plans.read_addresses(session, bbox=bbox) if points else None,
        cases=repos.plans.read_open_cases(session, closed_states=sorted(CLOSED_STATES), bbox=bbox)
        if points
        else None,
        roster=roster[["grid_code", "person_id", "role"]] if len(roster) else None,
        bands=bands,
        local_crs=get_settings().local_crs,
        max_vertices=get_settings().geometry_max_vertices,
        unified_codes=unified,
        reserved_codes=frozenset(reserved),
    )


def _communities_of(grids: gpd.GeoDataFrame, op: str, params: Mapping[str, Any]) -> list[str]:
    codes: list[str] = []
    for key in ("grid", "to", "keep"):
        if params.get(key):
            codes.append(str(params[key]))
    codes += [str(c) for c in params.get("grids") or []]
    hit = grids.loc[grids["code"].isin(codes), "community_code"].dropna().astype(str)
    return sorted(set(hit))


def _load(session, plan_id: int, *, lock: bool) -> tuple[dict[str, Any], gpd.GeoDataFrame]:
    plan = repos.plans.get_plan(session, plan_id, lock=lock)
    grids = repos.grids.read_grids(session, generation_id=plan["generation_id"]).drop(
        columns=["id"]
    )
    return plan, grids


def _require_open(plan: Mapping[str, Any]) -> None:
    if plan["status"] != "open":
        raise Conflict(f"plan: plan {plan['id']} is {plan['status']}, not open", field="plan")


def _store(session, plan: Mapping[str, Any], result: plans.EditResult) -> None:
    """Replace the grids an edit touched in the draft generation."""
    gone = set(result.removed) | set(result.changed) | set(result.renames)
    repos.plans.delete_grids(session, plan["generation_id"], sorted(gone))
    rows = result.layer.loc[result.layer["code"].isin(result.affected)].copy()
    if len(rows):
        rows["area_m2"] = area_m2(rows, get_settings().local_crs)
        if "properties" in rows:
            rows["properties"] = [p if isinstance(p, dict) else {} for p in rows["properties"]]
        repos.grids.insert_grids(session, plan["generation_id"], plan["layer_key"], rows)


def _ensure_in_scope(viewer: Principal | None, communities: list[str]) -> None:
    """:class:`Forbidden` when an edit reaches a community outside the planner's area."""
    if viewer is None:
        return
    outside = [c for c in communities if not access.community_in_scope(viewer, c)]
    if outside:
        raise Forbidden(
            f"grid: the edit reaches community {outside[0]}, outside your {viewer.scope_level} "
            f"{viewer.scope_code}",
            field="grid",
        )


def _apply(
    session, plan, grids, op, params, author, bands, dry_run=False, viewer=None
) -> dict[str, Any]:
    plans.validate_edit(grids, op, params)  # before reading what surrounds it (seconds)
    communities = _communities_of(grids, op, params)
    _ensure_in_scope(viewer, communities)
    ctx = _context(session, plan, grids, communities, bands)
    result = plans.apply_edit(grids, op, params, ctx=ctx)
    if dry_run:
        return {"plan": plan["id"], "seq": None, "dry_run": True, **result.to_json()}
    _store(session, plan, result)
    seq = repos.plans.append_edit(
        session, plan["id"], op=op, params=result.params, impact=result.impact, author=author
    )
    repos.plans.touch_plan(session, plan["id"])
    return {"plan": plan["id"], "seq": seq, **result.to_json()}


def edit(
    plan_id: int,
    op: str,
    params: Mapping[str, Any],
    *,
    author: str | None = None,
    bands: Mapping[str, tuple[int, int]] | None = None,
    dry_run: bool = False,
    viewer: Principal | None = None,
) -> dict[str, Any]:
    """Apply one edit (``split``, ``divide``, ``merge``, ``reshape``, ``move_buildings``,
    ``recode``) to an open plan, in one transaction; returns the new grids and the impact.

    ``dry_run`` computes the same answer and stores nothing: the map previews an edit with it.
    A ``viewer`` confined to a street or community may only edit grids there.
    """
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=not dry_run)
        _require_open(plan)
        return _apply(
            session, plan, grids, op, dict(params), author, _bands(bands), dry_run, viewer
        )


def suggestions(
    plan_id: int, *, bands: Mapping[str, tuple[int, int]] | None = None
) -> dict[str, Any]:
    """Balance of the plan and the edits that would bring out-of-band grids into band."""
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=False)
        ctx = _context(session, plan, grids, None, _bands(bands), points=False)
    status = plans.balance(grids, ctx.communities, ctx.bands)
    found = plans.suggest(grids, ctx=ctx)
    return {
        "plan": plan_id,
        "out_of_band": int(status["status"].isin(["under", "over"]).sum()),
        "under": int((status["status"] == "under").sum()),
        "over": int((status["status"] == "over").sum()),
        "suggestions": found,
    }


def accept_suggestions(
    plan_id: int,
    ids: list[str] | None = None,
    *,
    author: str | None = None,
    bands: Mapping[str, tuple[int, int]] | None = None,
    viewer: Principal | None = None,
) -> dict[str, Any]:
    """Accept suggestions by id (all current ones when ``ids`` is None), in one transaction.

    Suggestions are recomputed under the plan's lock, so an id names the same edit the planner
    saw unless the plan changed meanwhile (then the id is unknown: :class:`Conflict`). A
    ``viewer`` confined to an area accepts only suggestions inside it ("all" means all of those).
    """
    b = _bands(bands)
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=True)
        _require_open(plan)
        weigh = _context(session, plan, grids, None, b, points=False)
        found = {s["id"]: s for s in plans.suggest(grids, ctx=weigh)}

        def reach(sid: str) -> list[str]:
            hit = grids.loc[grids["code"].isin(found[sid]["grids"]), "community_code"]
            return sorted(set(hit.dropna().astype(str)))

        if ids is None:
            ours = [sid for sid in found if viewer is None or
                    all(access.community_in_scope(viewer, c) for c in reach(sid))]  # fmt: skip
            wanted = ours
        else:
            wanted = list(ids)
        unknown = [i for i in wanted if i not in found]
        if unknown:
            raise Conflict(
                f"suggestion: {unknown[0]!r} is not a current suggestion (the plan changed?)",
                field="suggestion",
            )
        for sid in wanted:
            _ensure_in_scope(viewer, reach(sid))
        touched = [c for sid in wanted for c in found[sid]["grids"]]
        comms = sorted(set(grids.loc[grids["code"].isin(touched), "community_code"].astype(str)))
        ctx = _context(session, plan, grids, comms, b) if wanted else weigh
        applied, layer = [], grids
        for sid in wanted:
            e = found[sid]["edit"]
            result = plans.apply_edit(layer, e["op"], e["params"], ctx=ctx)
            _store(session, plan, result)
            seq = repos.plans.append_edit(
                session, plan_id, op=e["op"], params=result.params, impact=result.impact,
                author=author,
            )  # fmt: skip
            applied.append({"id": sid, "seq": seq, "added": result.added,
                            "removed": result.removed, "changed": result.changed})  # fmt: skip
            layer = result.layer
        repos.plans.touch_plan(session, plan_id)
    status = plans.balance(layer, ctx.communities, b)
    return {
        "plan": plan_id,
        "applied": applied,
        "out_of_band": int(status["status"].isin(["under", "over"]).sum()),
    }


# ---------------------------------------------------------------------------------- validate
def _validate(session, plan: Mapping[str, Any], grids: gpd.GeoDataFrame) -> dict[str, Any]:
    admin = repos.district.read_admin_areas(session, level="community")
    problems: list[str] = []
    dup = grids["code"].value_counts()
    problems += [f"code {c} is used {n} times" for c, n in dup[dup > 1].items()]
    unknown = sorted(set(grids["community_code"].dropna()) - set(admin["code"]))
    problems += [f"community {c} does not exist" for c in unknown]
    missing = grids.loc[grids["community_code"].isna(), "code"].tolist()
    problems += [f"grid {c} has no community" for c in missing]
    used = admin.loc[admin["code"].isin(grids["community_code"])]
    report = check_coverage(
        grids[["code", "community_code", "geometry"]],
        used[["code", "geometry"]],
        local_crs=get_settings().local_crs,
    )
    status = plans.balance(grids, admin, _bands())
    return {
        "plan": plan["id"],
        "valid": report.valid and not problems,
        "grids": len(grids),
        "problems": problems,
        "coverage": report.to_json(),
        "out_of_band": int(status["status"].isin(["under", "over"]).sum()),
    }


def validate(plan_id: int) -> dict[str, Any]:
    """Whole-plan check: a clean coverage nested in communities, codes unique, communities known."""
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=False)
        return _validate(session, plan, grids)


# ---------------------------------------------------------------------------------- diff
def diff_generations(a_id: int, b_id: int) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Grids added, removed and changed from generation ``a_id`` to ``b_id`` and a summary."""
    with session_scope() as session:
        return _diff(session, a_id, b_id)


def _diff(session, a_id: int, b_id: int) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`diff_generations` in the caller's transaction (publish checks it under its lock)."""
    ga, gb = repos.grids.generation_row(session, a_id), repos.grids.generation_row(session, b_id)
    if ga["layer_key"] != gb["layer_key"]:
        raise BadInput(
            f"generation: {a_id} and {b_id} belong to different layers", field="generation"
        )
    a = repos.grids.read_grids(session, generation_id=a_id)
    b = repos.grids.read_grids(session, generation_id=b_id)
    diff = plans.diff_layers(a, b, local_crs=get_settings().local_crs)
    counts = diff["change"].value_counts()
    summary = {
        "layer": ga["layer_key"],
        "from_generation": ga["number"],
        "to_generation": gb["number"],
        **{k: int(counts.get(k, 0)) for k in ("added", "removed", "changed")},
    }
    return diff, summary


def diff_plan(plan_id: int) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The plan's draft against the generation it started from."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
    if plan["base_generation_id"] is None:
        raise BadInput(f"plan: plan {plan_id} has no base generation", field="plan")
    diff, summary = diff_generations(plan["base_generation_id"], plan["generation_id"])
    return diff, {"plan": plan_id, **summary}


def export_diff(diff: gpd.GeoDataFrame, path: Path | str) -> Path:
    """A GeoPackage QGIS opens: layer ``diff`` (new outlines) and ``before`` (old outlines)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    after = diff.drop(columns=["geometry_before"])
    before = diff.loc[diff["geometry_before"].notna(), ["code", "change", "geometry_before"]]
    before = gpd.GeoDataFrame(
        before.drop(columns=["geometry_before"]),
        geometry=gpd.GeoSeries.from_wkt(before["geometry_before"], crs=4490),
    )
    for name, frame in (("diff", after), ("before", before)):
        frame.to_file(path, layer=name, driver="GPKG")
    return path


def export_plan(plan_id: int, path: Path | str, *, fmt: str | None = None) -> dict[str, Any]:
    """Write the draft's grids to a file for QGIS (re-import it with :func:`import_plan`)."""
    from geo_grid.io import write_layer

    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=False)
    grids = grids.drop(columns=["properties"], errors="ignore")
    out = write_layer(grids, path, fmt=fmt, layer_name=f"plan_{plan_id}")
    return {"plan": plan_id, "grids": len(grids), "path": str(out)}


def import_plan(
    path: Path | str,
    *,
    layer: str = "unified",
    note: str | None = None,
    author: str | None = None,
) -> dict[str, Any]:
    """Store an edited layer file (e.g. a GPKG from QGIS) as a new plan on the published layer.

    Community and street codes missing from the file are taken from the base grid of the same
    code, or from the community the grid lies in. The whole file is one ``import`` edit in the log,
    with the diff summary as its impact; :func:`validate` tells what still needs fixing.
    """
    from geo_grid.services.layers import read_file

    grids = read_file(path)
    if layer == "unified":
        bad = grids.loc[~grids["code"].astype(str).str.fullmatch(r"[0-9]{15}"), "code"].tolist()
        if bad:
            raise BadInput(
                f"{path}: unified grid codes are 15 digits; bad: {', '.join(map(str, bad[:5]))}",
                field="code",
            )
        invalid = grids.loc[~grids.geometry.is_valid, "code"].tolist()
        if invalid:
            raise BadInput(
                f"{path}: invalid geometries: {', '.join(map(str, invalid[:5]))}", field="geometry"
            )
    with session_scope() as session:
        base = repos.grids.resolve_generation(session, layer)
        base_grids = repos.grids.read_grids(session, generation_id=base["id"])
        admin = repos.district.read_admin_areas(session, level="community")
        grids = _fill_codes(grids, base_grids, admin)
        grids["area_m2"] = area_m2(grids, get_settings().local_crs)
        grids["properties"] = [{} for _ in range(len(grids))]
        gid = repos.grids.create_generation(
            session, layer=layer, author=author, note=note, source=Path(path).name,
            parent_id=base["id"],
        )  # fmt: skip
        repos.grids.insert_grids(session, gid, layer, grids)
        pid = repos.plans.insert_plan(
            session, layer=layer, generation_id=gid, base_generation_id=base["id"],
            author=author, note=note,
        )  # fmt: skip
        diff = plans.diff_layers(base_grids, grids, local_crs=get_settings().local_crs)
        counts = diff["change"].value_counts()
        impact = {k: int(counts.get(k, 0)) for k in ("added", "removed", "changed")}
        repos.plans.append_edit(
            session, pid, op="import", params={"file": Path(path).name}, impact=impact,
            author=author,
        )  # fmt: skip
        plan = repos.plans.get_plan(session, pid)
    return {**_plan_out(plan), "grids": len(grids), **impact}


def _fill_codes(
    grids: gpd.GeoDataFrame, base: gpd.GeoDataFrame, admin: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    grids = grids.copy()
    by_code = base.set_index("code")
    for col in ("community_code", "street_code", "name"):
        if col not in grids:
            grids[col] = None
        known = grids["code"].map(by_code[col]) if col in by_code else None
        if known is not None:
            grids[col] = grids[col].where(grids[col].notna(), known)
    missing = grids["community_code"].isna()
    if missing.any():
        pts = shapely.point_on_surface(grids.loc[missing].geometry.to_numpy())
        found = plans.assign_points(pts, admin)
        grids.loc[missing, "community_code"] = found
        parents = dict(zip(admin["code"], admin["parent_code"], strict=True))
        grids.loc[missing, "street_code"] = [parents.get(c) for c in found]
    return grids


# ---------------------------------------------------------------------------------- publish
def _ensure_changes_in_scope(session, plan: Mapping[str, Any], viewer: Principal) -> None:
    """:class:`Forbidden` unless every grid the plan adds, removes or changes lies in the viewer's
    area (read in the caller's transaction, which holds the plan's lock)."""
    if plan["base_generation_id"] is None:
        raise BadInput(f"plan: plan {plan['id']} has no base generation", field="plan")
    diff, _ = _diff(session, plan["base_generation_id"], plan["generation_id"])
    _ensure_in_scope(viewer, sorted(set(diff["community_code"].dropna().astype(str))))


def publish(
    plan_id: int, *, author: str | None = None, viewer: Principal | None = None
) -> dict[str, Any]:
    """Validate the plan, then make its draft the published generation, all in ONE transaction.

    The old generation is retired (kept for history), open cases record their new grid, and the
    plan is closed. If the layer was published by someone else since the plan started,
    :class:`Conflict`; if the plan is not clean, :class:`BadInput` naming the first defects. A
    ``viewer`` confined to an area may publish only a plan whose changes all lie in it: checked
    under the plan's lock, on the very draft that is published (an edit that lands between a
    check and the lock cannot slip a change outside the area through).
    """
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=True)
        _require_open(plan)
        if viewer is not None and viewer.scope_level != "district":
            _ensure_changes_in_scope(session, plan, viewer)
        check = _validate(session, plan, grids)
        if not check["valid"]:
            defects = [
                f"{d['kind']} at {', '.join(d['ids'])}" for d in check["coverage"]["defects"]
            ]
            first = (check["problems"] + defects)[:3]
            raise BadInput(f"plan: plan {plan_id} is not clean: {'; '.join(first)}", field="plan")
        retired = repos.grids.publish_generation(
            session, plan["generation_id"], expected_published=plan["base_generation_id"]
        )
        if plan["base_generation_id"] is None and retired is not None:
            raise Conflict(f"plan: layer {plan['layer_key']} was published meanwhile", field="plan")
        cases = repos.plans.record_case_regrid(
            session,
            layer=plan["layer_key"],
            generation_id=plan["generation_id"],
            closed_states=sorted(CLOSED_STATES),
            plan_id=plan_id,
        )
        repos.plans.set_plan_status(session, plan_id, "published")
        repos.plans.append_edit(
            session, plan_id, op="publish", params={}, impact={"cases_regridded": cases},
            author=author,
        )  # fmt: skip
    from geo_grid.services import index

    index.invalidate()  # the locate engine reloads at once in this process
    return {
        "plan": plan_id,
        "layer": plan["layer_key"],
        "published_generation": plan["generation"],
        "generation_id": plan["generation_id"],
        "retired_generation_id": retired,
        "cases_regridded": cases,
        "grids": len(grids),
    }
