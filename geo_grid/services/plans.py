"""Plan use cases: create, edit, suggest, validate, diff, import/export and publish. One transaction each.

Each edit loads the draft's grids and, for the communities the edit touches, the buildings,
addresses, open cases and roster; runs the pure edit from :mod:`geo_grid.plans`; replaces the
changed grids of the draft and appends the edit to the plan's log, all in one transaction under a
row lock on the plan (two edits of one plan never interleave).

Every edit also keeps the draft's grids it replaced and left (``plan_edit_grid``), so the last
edit can be undone: :func:`undo` puts the replaced grids back and appends an ``undo`` edit to the
log, which is never rewritten. The people a planner puts on duty in the plan's grids
(:func:`set_roster`: a split's new grid has nobody; a person not on any roster yet may be added
there) are kept with the plan and added to the roster by the publish, in its transaction, which
also moves the people of merged and recoded grids to the code they went to (or, for a grid whose
roster the planner set, gives it the planner's choice); :func:`plan_grids` gives each grid of
the draft its households against the band and its people on duty as they will be.

Publishing validates the whole draft, then switches the layer's published generation with
``expected_published`` = the generation the plan started from, so when two planners publish at
once the second gets :class:`~geo_grid.errors.Conflict` (HTTP 409) instead of overwriting the
first's work. The old generation is retired and kept, open cases record their new grid, and the
locate index reloads by itself (its key is the set of published generations).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely

from geo_grid import access, plans
from geo_grid.access import Principal
from geo_grid.cases.lifecycle import CLOSED_STATES
from geo_grid.coverage import Progress, check_coverage
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.districts import DistrictProfile
from geo_grid.errors import BadInput, Conflict, Forbidden, NotFound
from geo_grid.labels import reason_zh
from geo_grid.measure import area_m2
from geo_grid.roster import RosterRole, new_person
from geo_grid.services import districts as district_profiles
from geo_grid.settings import get_settings

if TYPE_CHECKING:
    from geo_grid.services.jobs import Record

__all__ = [
    "accept_suggestions",
    "acceptable",
    "create_plan",
    "diff_generations",
    "diff_layers",
    "diff_plan",
    "edit",
    "export_diff",
    "export_plan",
    "get_plan",
    "import_plan",
    "list_plans",
    "plan_buildings",
    "plan_grids",
    "publish",
    "roster_form",
    "set_roster",
    "suggestions",
    "undo",
    "validate",
]

_UNIFIED_CODE = re.compile(r"^[0-9]{15}$")


def _bands(
    profile: DistrictProfile, by_kind: Mapping[str, tuple[int, int]] | None = None
) -> plans.Bands:
    """The district's household band (or the store's), with per-kind overrides."""
    return plans.Bands(district_profiles.household_band(profile), dict(by_kind or {}))


def _profile(plan: Mapping[str, Any]) -> DistrictProfile:
    """The profile of the district a plan redraws."""
    return district_profiles.get(plan["district_code"])


def _check_district(plan: Mapping[str, Any], viewer: Principal | None) -> None:
    """:class:`Forbidden` when the plan redraws a district outside the viewer's area."""
    if viewer is not None and not access.district_in_scope(viewer, plan["district_code"]):
        raise Forbidden(
            f"plan: plan {plan['id']} redraws district {plan['district_code']}, outside your "
            f"{viewer.scope_level} {viewer.scope_code}",
            field="plan",
        )


def create_plan(
    layer: str = "unified",
    *,
    district: str,
    note: str | None = None,
    author: str | None = None,
) -> dict[str, Any]:
    """Copy the layer's published generation in ``district`` into a new draft and open a plan
    on it."""
    with session_scope() as session:
        base = repos.grids.resolve_generation(session, layer, district=district)
        gid = repos.grids.create_generation(
            session, layer=layer, district=district, author=author, note=note, source="plan",
            parent_id=base["id"],
        )  # fmt: skip
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
    keys = ("id", "layer_key", "district_code", "status", "generation_id", "generation",
            "base_generation_id",
            "base_generation", "author", "note", "created_at", "updated_at", "published_at",
            "edits")  # fmt: skip
    out = {k: plan.get(k) for k in keys}
    out["layer"] = out.pop("layer_key")
    return out


def get_plan(plan_id: int, *, viewer: Principal | None = None) -> dict[str, Any]:
    """A plan with its edit log."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
        _check_district(plan, viewer)
        edits = repos.plans.list_edits(session, plan_id)
    return {**_plan_out(plan), "log": edits}


def list_plans(
    layer: str | None = None, *, districts: list[str] | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """The plans (of one layer, in one status) of ``districts`` (None: every district)."""
    with session_scope() as session:
        rows = repos.plans.list_plans(session, layer=layer, districts=districts, status=status)
        return [_plan_out(p) for p in rows]


# ---------------------------------------------------------------------------------- context
def _context(
    session,
    plan: Mapping[str, Any],
    grids: gpd.GeoDataFrame,
    communities: list[str] | None,
    bands: plans.Bands,
    *,
    points: bool = True,
    over_full: bool = False,
) -> plans.PlanContext:
    """What an edit in ``communities`` (all when None) is measured against.

    ``points=False`` leaves out addresses and cases (suggestions only weigh buildings);
    ``over_full``: read only the buildings of the grids over their band (suggestions cut only
    those along buildings; a merge weighs none). Reading every footprint of a district of
    128,000 buildings was ~1 s of a ``GET …/suggest`` of 2.1 s; its 7 over-full grids hold
    ~2,000 of them.
    """
    profile = _profile(plan)
    here = [profile.code]
    admin = repos.district.read_admin_areas(session, level="community", districts=here)
    area = admin if communities is None else admin.loc[admin["code"].isin(communities)]
    bbox = repos.plans.frame_bbox(area if len(area) else grids)
    if over_full:
        buildings = _over_full_buildings(session, profile.code, grids, admin, bands)
    else:
        buildings = repos.plans.read_buildings(session, district=profile.code, bbox=bbox)
    roster = repos.district.read_roster(session, layer=plan["layer_key"], districts=here)
    reserved = repos.plans.grid_codes(session, plan.get("base_generation_id"))
    unified = bool(len(grids)) and all(
        bool(_UNIFIED_CODE.match(str(c))) and str(c).startswith(str(p))
        for c, p in zip(grids["code"], grids["community_code"], strict=True)
    )
    return plans.PlanContext(
        communities=admin[["code", "kind", "geometry"]],
        buildings=buildings,
        addresses=repos.plans.read_addresses(session, district=profile.code, bbox=bbox)
        if points
        else None,
        cases=repos.plans.read_open_cases(
            session, closed_states=sorted(CLOSED_STATES), district=profile.code, bbox=bbox
        )
        if points
        else None,
        roster=roster[["grid_code", "person_id", "role"]] if len(roster) else None,
        bands=bands,
        local_crs=profile.local_crs,
        max_vertices=get_settings().geometry_max_vertices,
        unified_codes=unified,
        reserved_codes=frozenset(reserved),
    )


def _over_full_buildings(
    session, district: str, grids: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, bands: plans.Bands
) -> gpd.GeoDataFrame:
    """The footprints whose bounding box meets a grid over its band, by the spatial index."""
    status = plans.balance(grids, admin[["code", "kind", "geometry"]], bands)
    over = grids.loc[grids["code"].isin(status.loc[status["status"] == "over", "code"])]
    boxes = [tuple(b) for b in over.geometry.bounds.to_numpy()]
    return repos.plans.read_buildings_near(session, district=district, boxes=boxes)


def _communities_of(grids: gpd.GeoDataFrame, op: str, params: Mapping[str, Any]) -> list[str]:
    codes: list[str] = []
    for key in ("grid", "to", "keep"):
        if params.get(key):
            codes.append(str(params[key]))
    codes += [str(c) for c in params.get("grids") or []]
    hit = grids.loc[grids["code"].isin(codes), "community_code"].dropna().astype(str)
    return sorted(set(hit))


def _wait() -> float:
    """How long a request waits for the plan's lock (a job waits as long as it takes)."""
    return get_settings().plan_lock_wait_seconds


def _load(
    session, plan_id: int, *, lock: bool, wait_s: float | None = None
) -> tuple[dict[str, Any], gpd.GeoDataFrame]:
    plan = repos.plans.get_plan(session, plan_id, lock=lock, wait_s=wait_s)
    grids = repos.grids.read_grids(session, generation_id=plan["generation_id"]).drop(
        columns=["id"]
    )
    return plan, grids


def _require_open(plan: Mapping[str, Any]) -> None:
    if plan["status"] != "open":
        raise Conflict(f"plan: plan {plan['id']} is {plan['status']}, not open", field="plan")


def _record(session, plan: Mapping[str, Any], result: plans.EditResult, author: str | None) -> int:
    """Store one edit in the caller's transaction: its log row, the draft's grids it replaced as
    they were, the grids that replace them, and those as left (what :func:`undo` needs);
    returns the edit's sequence number."""
    gid = plan["generation_id"]
    # the renames (a merge's grids to the one kept, a recode's old code to the new) stay in the
    # log: the publish moves the roster along them (:func:`geo_grid.plans.code_moves`)
    impact = {**result.impact, "renames": result.renames}
    seq = repos.plans.append_edit(
        session, plan["id"], op=result.op, params=result.params, impact=impact, author=author
    )
    gone = sorted(set(result.removed) | set(result.changed) | set(result.renames))
    repos.plans.snapshot_grids(session, plan["id"], seq, "before", generation_id=gid, codes=gone)
    repos.plans.delete_grids(session, gid, gone)
    rows = result.layer.loc[result.layer["code"].isin(result.affected)].copy()
    if len(rows):
        rows["area_m2"] = area_m2(rows, _profile(plan).local_crs)
        if "properties" in rows:
            rows["properties"] = [p if isinstance(p, dict) else {} for p in rows["properties"]]
        repos.grids.insert_grids(session, gid, plan["layer_key"], rows)
    repos.plans.snapshot_grids(
        session, plan["id"], seq, "after", generation_id=gid, codes=result.affected
    )
    return seq


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
    seq = _record(session, plan, result, author)
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
        plan, grids = _load(session, plan_id, lock=not dry_run, wait_s=_wait())
        _check_district(plan, viewer)
        _require_open(plan)
        return _apply(
            session, plan, grids, op, dict(params), author, _bands(_profile(plan), bands),
            dry_run, viewer,
        )  # fmt: skip


def suggestions(
    plan_id: int,
    *,
    bands: Mapping[str, tuple[int, int]] | None = None,
    viewer: Principal | None = None,
) -> dict[str, Any]:
    """Balance of the plan and the edits that would bring out-of-band grids into band (the
    band of the plan's district)."""
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=False)
        _check_district(plan, viewer)
        ctx = _context(
            session, plan, grids, None, _bands(_profile(plan), bands), points=False, over_full=True
        )
    status = plans.balance(grids, ctx.communities, ctx.bands)
    found = plans.suggest(grids, ctx=ctx)
    return {
        "plan": plan_id,
        "out_of_band": int(status["status"].isin(["under", "over"]).sum()),
        "under": int((status["status"] == "under").sum()),
        "over": int((status["status"] == "over").sum()),
        "suggestions": found,
    }


def acceptable(plan_id: int, *, viewer: Principal | None = None) -> dict[str, Any]:
    """The plan, when ``viewer`` may accept its suggestions now: it exists (else
    :class:`NotFound`), lies in their area (:class:`Forbidden`) and is open (:class:`Conflict`).
    A quick read, so that an accept-all submitted as a job is refused at once."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
    _check_district(plan, viewer)
    _require_open(plan)
    return _plan_out(plan)


def accept_suggestions(
    plan_id: int,
    ids: list[str] | None = None,
    *,
    author: str | None = None,
    bands: Mapping[str, tuple[int, int]] | None = None,
    viewer: Principal | None = None,
    progress: Progress = None,
    record: Record | None = None,
) -> dict[str, Any]:
    """Accept suggestions by id (all current ones when ``ids`` is None), in one transaction (a
    job's ``record`` is given the answer in it).

    Suggestions are recomputed under the plan's lock, so an id names the same edit the planner
    saw unless the plan changed meanwhile (then the id is unknown: :class:`Conflict`). A
    ``viewer`` confined to an area accepts only suggestions inside it ("all" means all of those).
    ``progress`` is told of the suggestions computed, then of each one applied.
    """
    tell = progress if callable(progress) else None
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=True)
        _check_district(plan, viewer)
        _require_open(plan)
        b = _bands(_profile(plan), bands)
        weigh = _context(session, plan, grids, None, b, points=False, over_full=True)
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
        if tell:
            tell("suggest", 1, len(wanted) + 1)
        for sid in wanted:
            e = found[sid]["edit"]
            result = plans.apply_edit(layer, e["op"], e["params"], ctx=ctx)
            seq = _record(session, plan, result, author)
            applied.append({"id": sid, "seq": seq, "added": result.added,
                            "removed": result.removed, "changed": result.changed})  # fmt: skip
            layer = result.layer
            if tell:
                tell("accept", len(applied) + 1, len(wanted) + 1)
        repos.plans.touch_plan(session, plan_id)
        status = plans.balance(layer, ctx.communities, b)
        answer = {
            "plan": plan_id,
            "applied": applied,
            "out_of_band": int(status["status"].isin(["under", "over"]).sum()),
        }
        if record is not None:
            record(session, answer)
    return answer


# ---------------------------------------------------------------------------------- undo
def undo(
    plan_id: int, *, author: str | None = None, viewer: Principal | None = None
) -> dict[str, Any]:
    """Take back the plan's last edit not taken back yet, in one transaction under the plan's
    lock: the grids it left are removed from the draft, the grids it replaced come back as they
    were, and an ``undo`` edit naming it is appended to the log (no log row is ever removed).

    :class:`Conflict` when there is nothing to undo, or the edit kept no copy of what it replaced
    (a whole file imported, or an edit made before undo was recorded); a ``viewer`` confined to an
    area may only undo an edit inside it.
    """
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id, lock=True, wait_s=_wait())
        _check_district(plan, viewer)
        _require_open(plan)
        target = plans.undo_target(repos.plans.list_edits(session, plan_id))
        if target is None:
            raise Conflict(f"plan: plan {plan_id} has no edit left to undo", field="plan")
        seq = int(target["seq"])
        kept = repos.plans.edit_snapshot(session, plan_id, seq)
        if kept.empty:
            raise Conflict(
                f"plan: edit {seq} ({target['op']}) kept no copy of the grids it replaced and "
                "cannot be undone",
                field="plan",
            )
        _ensure_in_scope(viewer, sorted(set(kept["community_code"].dropna().astype(str))))
        before = kept.loc[kept["side"] == "before", "code"].tolist()
        after = kept.loc[kept["side"] == "after", "code"].tolist()
        repos.plans.delete_grids(session, plan["generation_id"], after)
        repos.plans.restore_snapshot(session, plan_id, seq, generation_id=plan["generation_id"])
        removed = sorted(set(after) - set(before))
        impact = {"restored": before, "removed": removed}
        new_seq = repos.plans.append_edit(
            session, plan_id, op=plans.UNDO, params={"seq": seq, "op": target["op"]},
            impact=impact, author=author,
        )  # fmt: skip
        repos.plans.touch_plan(session, plan_id)
    return {"plan": plan_id, "seq": new_seq, "undone": seq, "op": target["op"], **impact}


# ---------------------------------------------------------------------------------- workspace
@dataclass(frozen=True)
class _PlanRoster:
    """The roster of a plan's layer and district as stored, what the plan adds and moves, and
    the district's roles: what :func:`geo_grid.plans.roster_after` makes the roster of."""

    stored: pd.DataFrame
    planned: pd.DataFrame
    moves: dict[str, str]
    chosen: frozenset[str]
    roles: list[RosterRole]

    @classmethod
    def read(cls, session, plan: Mapping[str, Any]) -> _PlanRoster:
        return cls(
            stored=repos.district.roster_assignments(
                session, layer=plan["layer_key"], district=plan["district_code"]
            ),
            planned=repos.plans.read_plan_roster(session, plan["id"]),
            moves=plans.code_moves(repos.plans.list_edits(session, plan["id"])),
            chosen=frozenset(repos.plans.chosen_roster_grids(session, plan["id"])),
            roles=repos.district.read_roles(session, district=plan["district_code"]),
        )

    def after(self) -> pd.DataFrame:
        """The roster once the plan is published (:func:`geo_grid.plans.roster_after`)."""
        return plans.roster_after(self.stored, self.planned, self.moves, self.chosen)

    def on_duty(self, codes: list[str]) -> pd.Series:
        """People on duty per code of the draft once the plan is published."""
        off = plans.off_duty_keys(self.roles)
        return plans.on_duty_counts(codes, self.after(), off_duty=off)

    def plan_roles(self) -> list[RosterRole]:
        """The district's roles a planner may put people on duty in."""
        return [r for r in self.roles if r.duty in plans.PLAN_DUTIES]


def _staffing(session, plan: Mapping[str, Any], codes: list[str]) -> pd.Series:
    """People on duty per code of the draft once the plan is published (a Series): its own
    people, those a merge or recode carries to it, those the plan adds."""
    return _PlanRoster.read(session, plan).on_duty(codes)


def plan_grids(
    plan_id: int, *, codes: list[str] | None = None, viewer: Principal | None = None
) -> gpd.GeoDataFrame:
    """The draft's grids (all, or ``codes``) as the planner's workspace shows them: code, name,
    community and street (codes and names), households against their band (``low``, ``high``,
    ``status`` under/in/over), people on duty once published (``on_duty``) and what the plan did
    to the grid (``change``: added, changed or None)."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
        _check_district(plan, viewer)
        grids = repos.grids.read_grids(session, generation_id=plan["generation_id"], codes=codes)
        here = [plan["district_code"]]
        admin = repos.district.read_admin_areas(session, level="community", districts=here)
        streets = repos.district.read_admin_areas(session, level="street", districts=here)
        on_duty = _staffing(session, plan, grids["code"].astype(str).tolist())
        changes = repos.plans.changed_codes(
            session, plan["generation_id"], plan["base_generation_id"]
        )
    status = plans.balance(grids, admin, _bands(_profile(plan)))
    names = dict(zip(admin["code"], admin["name"], strict=True))
    names.update(zip(streets["code"], streets["name"], strict=True))
    out = grids[["code", "name", "community_code", "street_code", "households", "geometry"]].copy()
    out["community"] = out["community_code"].map(names)
    out["street"] = out["street_code"].map(names)
    for col in ("low", "high", "status"):
        out[col] = status[col].to_numpy()
    out["on_duty"] = on_duty.to_numpy()
    out["change"] = out["code"].map(changes)
    return out


def plan_buildings(
    plan_id: int, grid_code: str, *, viewer: Principal | None = None
) -> gpd.GeoDataFrame:
    """The buildings of one grid of the draft (``code``, ``households``, footprint): those a
    point inside lies in the grid, as every recount decides. What the workspace offers to move."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
        _check_district(plan, viewer)
        grid = _grid_row(session, plan, grid_code)
        bbox = tuple(float(v) for v in grid["geometry"].bounds)
        near = repos.plans.read_buildings(session, district=plan["district_code"], bbox=bbox)
    one = gpd.GeoDataFrame([grid], geometry="geometry", crs=near.crs or 4490)
    inside = plans.assign_points(shapely.point_on_surface(near.geometry.to_numpy()), one)
    return near.loc[inside == grid_code, ["code", "households", "geometry"]]


def _grid_row(session, plan: Mapping[str, Any], code: str) -> dict[str, Any]:
    """One grid of the draft (:class:`NotFound` naming the code when the plan has none)."""
    grids = repos.grids.read_grids(session, generation_id=plan["generation_id"], codes=[code])
    if grids.empty:
        raise NotFound(f"grid: no grid {code!r} in plan {plan['id']}", field="grid")
    return grids.iloc[0].to_dict()


def roster_form(plan_id: int, grid_code: str, *, viewer: Principal | None = None) -> dict[str, Any]:
    """What the roster form of one grid of the plan shows: the people on its stored roster, those
    a merge or recode of the plan carries to it (with the code they come from), those the plan
    adds, whom the planner may choose from (the people carried to it, then those on duty in the
    grids of the same community: the grid's own first, then those of the grid it was split from)
    and the roles a person may be put on duty in (the district's)."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
        _check_district(plan, viewer)
        grid = _grid_row(session, plan, grid_code)
        siblings = repos.grids.read_grids(session, generation_id=plan["generation_id"])
        siblings = siblings.loc[siblings["community_code"] == grid["community_code"], "code"]
        held = _PlanRoster.read(session, plan)
        sources = sorted(old for old, new in held.moves.items() if new == grid_code)
        roster = repos.district.read_roster(
            session, layer=plan["layer_key"], codes=[grid_code, *sources, *siblings],
            districts=[plan["district_code"]],
        )  # fmt: skip
        planned = repos.plans.read_plan_roster(session, plan_id, [grid_code])
    off = plans.off_duty_keys(held.roles)
    on_duty = roster.loc[~roster["role"].isin(off)]
    stored = on_duty.loc[on_duty["grid_code"] == grid_code]
    carried = on_duty.loc[on_duty["grid_code"].isin(sources)]
    origin = (grid.get("properties") or {}).get("split_from")
    rank = {**dict.fromkeys(sources, -1), grid_code: 0, origin: 1}
    ordered = on_duty.assign(rank=on_duty["grid_code"].map(rank).fillna(2)).sort_values(
        ["rank", "grid_code", "role", "person_id"]
    )
    candidates = ordered.drop_duplicates("person_id")
    return {
        "plan": plan_id,
        "grid": grid_code,
        "name": grid.get("name"),
        "community_code": grid.get("community_code"),
        "stored": _records(stored, ["person_id", "name", "role"]),
        "carried": _records(carried, ["person_id", "name", "role", "grid_code"]),
        "chosen": grid_code in held.chosen,
        "planned": _records(planned, ["person_id", "name", "role"]),
        "candidates": _records(candidates, ["person_id", "name", "role", "grid_code"]),
        "roles": [{"key": r.key, "name": r.name_zh} for r in held.plan_roles()],
        "on_duty": int(held.on_duty([grid_code]).iloc[0]),
    }


def _records(frame, columns: list[str]) -> list[dict[str, Any]]:
    """Some columns of a frame as plain records (an empty frame: none)."""
    if frame.empty:
        return []
    return frame[columns].astype(object).to_dict("records")


def _check_plan_roles(
    wanted: Sequence[Mapping[str, str]], roles: list[RosterRole], field: str
) -> None:
    """:class:`BadInput` naming the first entry whose role is not one of ``roles`` (the
    district's roles a planner may put on duty)."""
    keys = [r.key for r in roles]
    for i, entry in enumerate(wanted):
        if entry["role"] not in keys:
            raise BadInput(
                f"role: {entry['role']!r} is not a role on duty in this district "
                f"({', '.join(keys)})",
                field=f"{field}.{i}.role",
            )


def set_roster(
    plan_id: int,
    grid_code: str,
    entries: list[Mapping[str, str]],
    *,
    new_people: Sequence[Mapping[str, Any]] = (),
    author: str | None = None,
    viewer: Principal | None = None,
) -> dict[str, Any]:
    """Put ``entries`` (``person_id``, ``role``) and ``new_people`` (``name``, ``phone``,
    ``role``: people not on any roster yet, stored as people of the district) on duty in one
    grid of the open plan, replacing what the plan had there; they join the roster when the plan
    is published. For a grid a merge or recode carries people to, this is the planner's choice
    of whom it gets. The people must be of the plan's district, the roles the district's roles
    on duty, the grid the plan's and in the viewer's area. One transaction (the new people and
    the plan's roster together, or neither); answers with the form as it now is
    (:func:`roster_form`)."""
    wanted = [{"person_id": str(e["person_id"]), "role": str(e["role"])} for e in entries]
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id, lock=True, wait_s=_wait())
        _check_district(plan, viewer)
        _require_open(plan)
        grid = _grid_row(session, plan, grid_code)
        _ensure_in_scope(viewer, [str(grid["community_code"])])
        roles = _PlanRoster.read(session, plan).plan_roles()
        _check_plan_roles(wanted, roles, "entries")
        _check_plan_roles([{"role": str(p.get("role"))} for p in new_people], roles, "new_people")
        people = [
            new_person(plan["district_code"], p.get("name"), p.get("phone"),
                       field=f"new_people.{i}.")
            for i, p in enumerate(new_people)
        ]  # fmt: skip
        ids = sorted({e["person_id"] for e in wanted})
        known = set(
            repos.plans.people_in_district(session, ids, plan["district_code"])["person_id"]
        )
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise NotFound(
                f"person_id: no person {unknown[0]!r} in district {plan['district_code']}",
                field="person_id",
            )
        repos.plans.add_people(session, people, district=plan["district_code"])
        wanted += [{"person_id": p["person_id"], "role": str(n["role"])}
                   for p, n in zip(people, new_people, strict=True)]  # fmt: skip
        repos.plans.replace_plan_roster(session, plan_id, grid_code, wanted, author=author)
        repos.plans.touch_plan(session, plan_id)
    return roster_form(plan_id, grid_code, viewer=viewer)


# ---------------------------------------------------------------------------------- validate
def _publish_scope(session, plan: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """The draft's grids a publish checks: those of the communities the plan added, redrew, moved
    or dropped grids in. Every other grid is the published generation's own, unchanged (the plan
    copied it and no edit touched it), and a coverage nested in communities is clean or not
    community by community; so a one-grid split checks one community, however big the district.
    A plan on a layer never published (no base) is checked whole."""
    if plan["base_generation_id"] is None:
        return _load(session, plan["id"], lock=False)[1]
    touched = repos.plans.touched_communities(
        session, plan["generation_id"], plan["base_generation_id"]
    )
    grids = repos.grids.read_grids(
        session, generation_id=plan["generation_id"], communities=touched
    )
    return grids.drop(columns=["id"])


def _duplicates_elsewhere(session, plan: Mapping[str, Any], grids: gpd.GeoDataFrame) -> list[str]:
    """Codes of the checked grids used again by a grid outside them (a recode onto a code of an
    untouched community): what checking the touched communities alone cannot see."""
    codes = grids["code"].astype(str).tolist()
    seen = set(grids.loc[grids["code"].duplicated(), "code"])
    found = repos.plans.duplicate_codes(session, plan["generation_id"], codes)
    return [f"code {c} is used {n} times" for c, n in sorted(found.items()) if c not in seen]


def _validate(session, plan: Mapping[str, Any], grids: gpd.GeoDataFrame) -> dict[str, Any]:
    profile = _profile(plan)
    admin = repos.district.read_admin_areas(session, level="community", districts=[profile.code])
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
        local_crs=profile.local_crs,
    )
    status = plans.balance(grids, admin, _bands(profile))
    on_duty = _staffing(session, plan, grids["code"].astype(str).tolist())
    return {
        "plan": plan["id"],
        "valid": report.valid and not problems,
        "grids": len(grids),
        "problems": problems,
        "problems_zh": [reason_zh(p) for p in problems],
        "coverage": report.to_json(),
        "out_of_band": int(status["status"].isin(["under", "over"]).sum()),
        "unstaffed": [str(c) for c in on_duty.index[on_duty.to_numpy() == 0]],
    }


def validate(plan_id: int, *, viewer: Principal | None = None) -> dict[str, Any]:
    """Whole-plan check: a clean coverage nested in communities, codes unique, communities known."""
    with session_scope() as session:
        plan, grids = _load(session, plan_id, lock=False)
        _check_district(plan, viewer)
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
    if ga["district_code"] != gb["district_code"]:
        raise BadInput(
            f"generation: {a_id} and {b_id} belong to different districts", field="generation"
        )
    a = repos.grids.read_grids(session, generation_id=a_id)
    b = repos.grids.read_grids(session, generation_id=b_id)
    diff = plans.diff_layers(a, b, local_crs=district_profiles.get(ga["district_code"]).local_crs)
    counts = diff["change"].value_counts()
    summary = {
        "layer": ga["layer_key"],
        "from_generation": ga["number"],
        "to_generation": gb["number"],
        **{k: int(counts.get(k, 0)) for k in ("added", "removed", "changed")},
    }
    return diff, summary


def diff_plan(
    plan_id: int, *, viewer: Principal | None = None
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The plan's draft against the generation it started from."""
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id)
    _check_district(plan, viewer)
    if plan["base_generation_id"] is None:
        raise BadInput(f"plan: plan {plan_id} has no base generation", field="plan")
    diff, summary = diff_generations(plan["base_generation_id"], plan["generation_id"])
    return diff, {"plan": plan_id, **summary}


def diff_layers(diff: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A diff (:func:`diff_plan`) as two layers: every grid with its new outline, and the old
    outlines (``code``, ``change``) of the grids that had one (its ``geometry_before``, WKT)."""
    after = diff.drop(columns=["geometry_before"])
    before = diff.loc[diff["geometry_before"].notna(), ["code", "change", "geometry_before"]]
    before = gpd.GeoDataFrame(
        before.drop(columns=["geometry_before"]),
        geometry=gpd.GeoSeries.from_wkt(before["geometry_before"], crs=4490),
    )
    return after, before


def export_diff(diff: gpd.GeoDataFrame, path: Path | str) -> Path:
    """A GeoPackage QGIS opens: layer ``diff`` (new outlines) and ``before`` (old outlines)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    after, before = diff_layers(diff)
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
    district: str,
    note: str | None = None,
    author: str | None = None,
    upload_limits: bool = True,
) -> dict[str, Any]:
    """Store an edited layer file (e.g. a GPKG from QGIS) as a new plan on the published layer
    of ``district`` (``upload_limits``: see :func:`geo_grid.services.layers.read_file`).

    Community and street codes missing from the file are taken from the base grid of the same
    code, or from the community the grid lies in. The whole file is one ``import`` edit in the log,
    with the diff summary as its impact; :func:`validate` tells what still needs fixing.
    """
    from geo_grid.services.layers import read_file

    grids = read_file(path, upload_limits=upload_limits)
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
    profile = district_profiles.get(district)
    with session_scope() as session:
        base = repos.grids.resolve_generation(session, layer, district=profile.code)
        base_grids = repos.grids.read_grids(session, generation_id=base["id"])
        admin = repos.district.read_admin_areas(
            session, level="community", districts=[profile.code]
        )
        grids = _fill_codes(grids, base_grids, admin)
        grids["area_m2"] = area_m2(grids, profile.local_crs)
        grids["properties"] = [{} for _ in range(len(grids))]
        gid = repos.grids.create_generation(
            session, layer=layer, district=profile.code, author=author, note=note,
            source=Path(path).name, parent_id=base["id"],
        )  # fmt: skip
        repos.grids.insert_grids(session, gid, layer, grids)
        pid = repos.plans.insert_plan(
            session, layer=layer, generation_id=gid, base_generation_id=base["id"],
            author=author, note=note,
        )  # fmt: skip
        diff = plans.diff_layers(base_grids, grids, local_crs=profile.local_crs)
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


def _publish_roster(session, plan: Mapping[str, Any]) -> dict[str, int]:
    """Make the layer's roster what the plan says it will be (in the publish's transaction):
    the people of merged and recoded grids moved to the code they went to (or, where the planner
    chose, only those chosen), the plan's people added (:func:`geo_grid.plans.roster_changes`)."""
    held = _PlanRoster.read(session, plan)
    codes = repos.grids.grid_codes(session, plan["generation_id"])  # all, not the checked ones
    moved, retired, added = plans.roster_changes(
        held.stored, held.planned, held.moves, held.chosen, codes
    )
    return repos.plans.publish_roster(
        session, plan_id=plan["id"], moved=moved, retired=retired,
        added=added.to_dict("records"),
    )  # fmt: skip


def publish(
    plan_id: int, *, author: str | None = None, viewer: Principal | None = None
) -> dict[str, Any]:
    """Validate the plan, then make its draft the published generation, all in ONE transaction.

    The old generation is retired (kept for history), open cases record their new grid, the
    roster follows the plan (the people of merged and recoded grids go with their code, the
    people the plan put on duty join), and the plan is closed. If the layer was published by
    someone else since the plan started,
    :class:`Conflict`; if the plan is not clean, :class:`BadInput` naming the first defects. A
    ``viewer`` confined to an area may publish only a plan whose changes all lie in it: checked
    under the plan's lock, on the very draft that is published (an edit that lands between a
    check and the lock cannot slip a change outside the area through).

    Its cost grows with the change, not with the district or the store: what is checked is the
    communities the plan touched (:func:`_publish_scope`), and no other district's row is read.
    """
    with session_scope() as session:
        plan = repos.plans.get_plan(session, plan_id, lock=True, wait_s=_wait())
        _check_district(plan, viewer)
        _require_open(plan)
        if viewer is not None and viewer.scope_level in ("street", "community"):
            _ensure_changes_in_scope(session, plan, viewer)
        grids = _publish_scope(session, plan)
        check = _validate(session, plan, grids)
        check["problems"] += _duplicates_elsewhere(session, plan, grids)
        check["valid"] = check["valid"] and not check["problems"]
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
            previous_id=retired,
        )
        written = _publish_roster(session, plan)
        roster = written["added"]
        published = repos.grids.count_grids(session, plan["generation_id"])
        repos.plans.set_plan_status(session, plan_id, "published")
        repos.plans.append_edit(
            session, plan_id, op="publish", params={},
            impact={"cases_regridded": cases, "roster_added": roster,
                    "roster_moved": written["moved"], "roster_retired": written["retired"]},
            author=author,
        )  # fmt: skip
    from geo_grid.services import index

    index.invalidate()  # the locate engine reloads at once in this process
    return {
        "plan": plan_id,
        "layer": plan["layer_key"],
        "district_code": plan["district_code"],
        "published_generation": plan["generation"],
        "generation_id": plan["generation_id"],
        "retired_generation_id": retired,
        "cases_regridded": cases,
        "roster_added": roster,
        "roster_moved": written["moved"],
        "roster_retired": written["retired"],
        "unstaffed": check["unstaffed"],
        "grids": published,
    }
