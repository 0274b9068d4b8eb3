"""Coverage checks, fixes and the 多网合一 merge as user actions: load → compute → store.

The computing is :mod:`geo_grid.coverage` and :mod:`geo_grid.merge`; this module only finds the
input (a file, or a stored generation with the communities of ``admin_area`` as parents), runs
them and stores or writes what they return:

* a check of a stored generation is kept in ``coverage_check``/``coverage_defect`` keyed by
  (generation, parameters). Generations are immutable, so the stored answer never goes stale and
  ``GET /api/v1/layers/{layer}/checks`` is a read, not a recomputation;
* a fix goes to a file or to a new draft generation of the same layer (never over the original);
* a merge stores its crosswalk per base generation × department generation and its conformance
  report, and writes the proposed layer to a folder or as a draft generation of ``unified``.

File checks need no database: :func:`check_file` imports nothing from ``geo_grid.db``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from geo_grid.access import Principal
from geo_grid.coverage import CoverageReport, Progress, check_coverage, fix_coverage
from geo_grid.errors import BadInput, NotFound
from geo_grid.layers import UNIFIED
from geo_grid.services import districts as district_profiles

if TYPE_CHECKING:
    from geo_grid.services.jobs import Record

__all__ = [
    "DEPARTMENT_LAYERS",
    "PROGRESS_MIN_FEATURES",
    "check_file",
    "check_layer",
    "crosswalk_for",
    "fix_file",
    "fix_layer",
    "gap_width",
    "latest_check",
    "merge",
    "merge_inputs",
    "read_check_input",
    "resolve_generation",
    "unified_codes",
]

DEPARTMENT_LAYERS: tuple[str, ...] = ("politics_law", "urban_mgmt", "emergency", "ecology")
#: Columns a stored grid keeps when it is written back as a new generation.
_GRID_COLUMNS = ["code", "name", "community_code", "street_code", "households", "properties"]


#: Layers with fewer grids than this draw no progress bar (the check takes well under a second).
PROGRESS_MIN_FEATURES = 2_000


def _progress_for(features: int, progress: Progress) -> Progress:
    """``progress`` for big layers only, so small checks print nothing on stderr."""
    return progress if features >= PROGRESS_MIN_FEATURES else None


def gap_width(gap_width_m: float) -> float:
    """``gap_width_m`` when it is a width a check can use (> 0 m), else :class:`BadInput`."""
    if not gap_width_m > 0:
        raise BadInput(f"gap_width_m: must be > 0 m, got {gap_width_m}", field="gap_width_m")
    return float(gap_width_m)


def _params(gap_width_m: float) -> tuple[dict[str, Any], str]:
    """The check parameters that change its answer, and their canonical key."""
    params = {"gap_width_m": gap_width(gap_width_m)}
    return params, json.dumps(params, sort_keys=True)


def resolve_generation(layer: str, *, district: str, generation: int | None) -> dict[str, Any]:
    """The stored generation a check, fix or export of ``layer`` would read (the published one
    by default); :class:`NotFound` naming what is missing. A quick read, for checking a job's
    arguments when it is submitted."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    with session_scope() as session:
        return repos.grids.resolve_generation(session, layer, generation, district=district)


# ---------------------------------------------------------------------------------- files
def read_check_input(
    path: Path | str,
    *,
    crs: str | None = None,
    parent: Path | str | None = None,
    parent_crs: str | None = None,
    labels: tuple[str | None, str | None] = (None, None),
    upload_limits: bool = True,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """A layer file read for checking (duplicate codes allowed: they are defects) and its parent,
    both held to the upload limits unless ``upload_limits`` is False (the operator's own files
    on the command line: :func:`geo_grid.services.layers.read_file`).

    ``crs`` names the coordinates' real system when the file lies (e.g. GCJ-02 labelled
    EPSG:4326, as web-map extracts are); the parent file takes ``parent_crs``, default ``crs``.
    ``labels`` name the file and the parent in messages (an upload's name as the client sent it,
    not the server's temporary copy); default: their paths.
    """
    from geo_grid.services.layers import read_file

    grids = read_file(
        path, crs=crs, unique_codes=False, label=labels[0], upload_limits=upload_limits
    )
    parents = None
    if parent is not None:
        try:
            parents = read_file(
                parent, crs=parent_crs or crs, unique_codes=True, label=labels[1],
                upload_limits=upload_limits,
            )  # fmt: skip
        except BadInput as exc:  # the reader's "path" is the parent argument here
            if exc.field != "path":
                raise
            raise BadInput(exc.message, field="parent") from exc
    return grids, parents


def check_file(
    path: Path | str,
    *,
    parent: Path | str | None = None,
    crs: str | None = None,
    parent_crs: str | None = None,
    gap_width_m: float = 20.0,
    parent_field: str = "community_code",
    progress: Progress = None,
    labels: tuple[str | None, str | None] = (None, None),
    upload_limits: bool = True,
) -> CoverageReport:
    """Check a layer file (no database). Raises :class:`BadInput` for an unreadable file, naming
    it by ``labels``; ``upload_limits`` as :func:`read_check_input`."""
    _params(gap_width_m)
    grids, parents = read_check_input(
        path, crs=crs, parent=parent, parent_crs=parent_crs, labels=labels,
        upload_limits=upload_limits,
    )  # fmt: skip
    return check_coverage(
        grids,
        parents,
        gap_width_m=gap_width_m,
        parent_field=parent_field,
        progress=_progress_for(len(grids), progress),
    )


def fix_file(
    path: Path | str,
    out: Path | str,
    *,
    parent: Path | str | None = None,
    crs: str | None = None,
    parent_crs: str | None = None,
    gap_width_m: float = 20.0,
    overlap_rule: str = "longest_border",
    progress: Progress = None,
    upload_limits: bool = True,
) -> dict[str, Any]:
    """Fix a layer file into ``out`` (format from its extension); returns counts, the change log
    and the check of the fixed layer (clean unless the fixer failed). ``upload_limits`` as
    :func:`read_check_input`."""
    from geo_grid.io import write_layer

    _params(gap_width_m)
    grids, parents = read_check_input(
        path, crs=crs, parent=parent, parent_crs=parent_crs, upload_limits=upload_limits
    )
    before = check_coverage(grids, parents, gap_width_m=gap_width_m)
    fixed, log = fix_coverage(
        grids,
        parents,
        gap_width_m=gap_width_m,
        overlap_rule=overlap_rule,  # type: ignore[arg-type]
        progress=_progress_for(len(grids), progress),
    )
    after = check_coverage(fixed, parents, gap_width_m=gap_width_m)
    written = write_layer(fixed, out)
    return {
        "source": str(path),
        "path": str(written),
        "grids_in": len(grids),
        "grids_out": len(fixed),
        "defects_before": len(before.defects),
        "changes": _log_records(log),
        "check": after.summary(),
    }


def _log_records(log: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"code": r.code, "action": r.action, "area_m2": float(r.area_m2), "detail": r.detail}
        for r in log.itertuples(index=False)
    ]


# ---------------------------------------------------------------------------------- store
def _communities(session, district: str) -> gpd.GeoDataFrame | None:
    """The district's community polygons from ``admin_area`` as check parents (None when none
    are stored)."""
    from geo_grid.db import repos

    areas = repos.district.read_admin_areas(session, level="community", districts=[district])
    if len(areas) == 0:
        return None
    return areas[["code", "name", areas.geometry.name]]


def _stored_json(check: dict[str, Any], defects: gpd.GeoDataFrame) -> dict[str, Any]:
    """The JSON of a stored check: the same shape as :meth:`CoverageReport.to_json`."""
    report = CoverageReport(
        defects=defects.assign(ids=[list(i) for i in defects["ids"]]) if len(defects) else defects,
        features=int(check["features"]),
        params=dict(check["params"]),
    )
    body = report.to_json()
    body["summary"] = dict(check["summary"])
    return body


def _check_answer(
    gen: dict[str, Any], check: dict[str, Any], body: dict[str, Any], *, cached: bool
) -> dict[str, Any]:
    return {
        "layer": gen["layer_key"],
        "district_code": gen["district_code"],
        "generation": int(gen["number"]),
        "generation_id": int(gen["id"]),
        "generation_status": gen["status"],
        "checked_at": check["created_at"],
        "cached": cached,
        "params": dict(check["params"]),
        **body,
    }


def check_layer(
    layer: str,
    *,
    district: str,
    generation: int | None = None,
    gap_width_m: float = 20.0,
    refresh: bool = False,
    progress: Progress = None,
    record: Record | None = None,
) -> dict[str, Any]:
    """Check a stored generation of ``district`` (published by default) against its communities,
    measured in the district's local CRS.

    The result is stored once per (generation, ``gap_width_m``) and returned from the store on the
    next call (``cached`` True) unless ``refresh``. Returns ``{layer, generation, generation_id,
    generation_status, checked_at, cached, params, summary, defects}``. A job's ``record`` is
    given that answer in the transaction that stores the check.
    """
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    params, key = _params(gap_width_m)
    with session_scope() as session:
        gen = repos.grids.resolve_generation(session, layer, generation, district=district)
        found = repos.checks.find_check(session, generation_id=gen["id"], params_key=key)
        if found is not None and not refresh:
            defects = repos.checks.read_defects(session, found["id"])
            return _check_answer(gen, found, _stored_json(found, defects), cached=True)
        grids = repos.grids.read_grids(session, generation_id=gen["id"])
        parent = _communities(session, district)
    started = time.perf_counter()
    report = check_coverage(
        grids, parent, gap_width_m=gap_width_m, progress=_progress_for(len(grids), progress),
        local_crs=district_profiles.get(district).local_crs,
    )  # fmt: skip
    elapsed = round(time.perf_counter() - started, 3)
    body = report.to_json()
    with session_scope() as session:
        if refresh:
            repos.checks.delete_check(session, generation_id=gen["id"], params_key=key)
        check_id = repos.checks.insert_check(
            session,
            generation_id=gen["id"],
            layer=layer,
            params_key=key,
            params=params,
            features=report.features,
            valid=report.valid,
            summary=body["summary"],
            elapsed_s=elapsed,
        )
        if check_id is not None:
            repos.checks.insert_defects(session, check_id, report.defects)
        stored = repos.checks.find_check(session, generation_id=gen["id"], params_key=key)
        answer = _check_answer(gen, stored, body, cached=False)
        if record is not None:
            record(session, answer)
    return answer


def latest_check(
    layer: str, *, district: str, generation: int | None = None, compute: bool = True
) -> dict[str, Any]:
    """The latest stored check of a generation (published by default), whatever its parameters;
    when none is stored, computed once with the defaults and stored (unless ``compute`` is False:
    then :class:`NotFound`)."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    with session_scope() as session:
        gen = repos.grids.resolve_generation(session, layer, generation, district=district)
        found = repos.checks.latest_check(session, generation_id=gen["id"])
        if found is not None:
            defects = repos.checks.read_defects(session, found["id"])
            return _check_answer(gen, found, _stored_json(found, defects), cached=True)
    if not compute:
        raise NotFound(
            f"check: generation {gen['number']} of {layer!r} has not been checked "
            f"(run `geo-grid check --layer {layer}`)",
            field="layer",
        )
    return check_layer(layer, district=district, generation=generation)


def _writable_grids(grids: gpd.GeoDataFrame, local_crs: str) -> gpd.GeoDataFrame:
    from geo_grid.measure import area_m2

    out = grids[[c for c in _GRID_COLUMNS if c in grids.columns] + [grids.geometry.name]].copy()
    out["area_m2"] = area_m2(out, local_crs)
    return out


def fix_layer(
    layer: str,
    *,
    district: str,
    generation: int | None = None,
    out: Path | str | None = None,
    as_draft: bool = False,
    gap_width_m: float = 20.0,
    overlap_rule: str = "longest_border",
    author: str | None = None,
    progress: Progress = None,
    record: Record | None = None,
) -> dict[str, Any]:
    """Fix a stored generation into a file (``out``) and/or a new draft generation of the layer.

    The draft records the fixed generation as its parent and gets its own stored check (which is
    clean when the fix worked), so ``GET .../checks?generation=N`` answers at once. A job's
    ``record`` is given the answer in the transaction that stores the draft.
    """
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    if out is None and not as_draft:
        raise BadInput("out: give an output file or ask for a draft generation", field="out")
    params, key = _params(gap_width_m)
    local_crs = district_profiles.get(district).local_crs
    with session_scope() as session:
        gen = repos.grids.resolve_generation(session, layer, generation, district=district)
        grids = repos.grids.read_grids(session, generation_id=gen["id"])
        parent = _communities(session, district)
    if len(grids) == 0:
        raise BadInput(
            f"layer: generation {gen['number']} of {layer!r} has no grids", field="layer"
        )
    fixed, log = fix_coverage(
        grids.drop(columns=["id", "layer", "area_m2", "district_code"]),
        parent,
        gap_width_m=gap_width_m,
        overlap_rule=overlap_rule,  # type: ignore[arg-type]
        local_crs=local_crs,
        progress=_progress_for(len(grids), progress),
    )
    after = check_coverage(fixed, parent, gap_width_m=gap_width_m, local_crs=local_crs)
    result: dict[str, Any] = {
        "layer": layer,
        "source_generation": int(gen["number"]),
        "grids_in": len(grids),
        "grids_out": len(fixed),
        "changes": _log_records(log),
        "check": after.summary(),
        "path": None,
        "generation": None,
    }
    if layer == UNIFIED:
        bad = [c for c in fixed["code"] if not (len(c) == 15 and c.isdigit())]
        if bad and as_draft:
            raise BadInput(
                f"code: the fix renamed duplicate unified codes ({', '.join(bad[:5])}); unified "
                "codes are 15 digits, so recode them in a file (--out) and import it",
                field="code",
            )
    if out is not None:
        from geo_grid.io import write_layer

        result["path"] = str(write_layer(fixed, out, layer_name=f"{layer}_fixed"))
    if as_draft:
        rows = _writable_grids(fixed, local_crs)
        with session_scope() as session:
            gid = repos.grids.create_generation(
                session,
                layer=layer,
                district=district,
                author=author,
                note=f"coverage fix of generation {gen['number']}",
                source=f"fix:{layer}:{gen['number']}",
                parent_id=gen["id"],
            )
            repos.grids.insert_grids(session, gid, layer, rows)
            check_id = repos.checks.insert_check(
                session,
                generation_id=gid,
                layer=layer,
                params_key=key,
                params=params,
                features=after.features,
                valid=after.valid,
                summary=after.summary(),
            )
            if check_id is not None:
                repos.checks.insert_defects(session, check_id, after.defects)
            result["generation"] = int(repos.grids.generation_row(session, gid)["number"])
            result["generation_id"] = gid
            if record is not None:
                record(session, result)
    return result


# ---------------------------------------------------------------------------------- merge
def unified_codes(proposed: gpd.GeoDataFrame) -> list[str]:
    """Codes of a proposed layer in the unified format (12-digit community code + 3-digit
    sequence) when its communities have official codes; other codes are kept as they are.

    >>> import geopandas as gpd
    >>> unified_codes(gpd.GeoDataFrame({"code": ["123456001001-004", "C1-001"]}))
    ['123456001001004', 'C1-001']
    """
    out = []
    for code in proposed["code"].astype(str):
        community, _, seq = code.rpartition("-")
        joined = community + seq
        out.append(joined if len(joined) == 15 and joined.isdigit() else code)
    return out


def merge_inputs(
    layers: Sequence[str],
    *,
    district: str | None,
    base: str = UNIFIED,
    base_generation: int | None = None,
    share_threshold: float = 0.9,
    deviation_m: float = 10.0,
    viewer: Principal | None = None,
) -> tuple[list[str], str]:
    """A merge's arguments checked, and the generations it would read found (a quick read): the
    department layers without repeats and the district code. Raises what :func:`merge` would
    before it starts, so a merge submitted as a job is refused at once instead of failing later.
    ``viewer`` picks the district among theirs (:func:`geo_grid.services.districts.pick`)."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    layers = _merge_layers_checked(layers, base, share_threshold, deviation_m)
    district = district_profiles.pick(viewer, district).code
    with session_scope() as session:
        repos.grids.resolve_generation(session, base, base_generation, district=district)
        for key in layers:
            repos.grids.resolve_generation(session, key, None, district=district)
    return layers, district


def merge(
    layers: Sequence[str] = DEPARTMENT_LAYERS,
    *,
    district: str | None = None,
    base: str = UNIFIED,
    base_generation: int | None = None,
    out_dir: Path | str | None = None,
    as_draft: bool = False,
    share_threshold: float = 0.9,
    deviation_m: float = 10.0,
    max_households: int | None = 600,
    author: str | None = None,
    progress: Progress = None,
    record: Record | None = None,
) -> dict[str, Any]:
    """多网合一 over the published department ``layers`` of ``district`` (None: the store's only
    district, asked after the arguments are checked): crosswalk and conformance stored, the
    proposed layer written to ``out_dir`` (``proposed.gpkg``, ``crosswalk.csv``,
    ``conformance.csv``) and/or stored as a draft generation of ``unified``. ``progress`` is told
    of its five steps (read, the three of :func:`geo_grid.merge.merge_layers`, stored).

    Returns ``{merge_id, base, base_generation, departments: {layer: generation}, crosswalk:
    rows, conformance: {kind: count}, conformance_rows, proposed: {grids, households, check},
    files, draft_generation}``; a job's ``record`` is given it in the transaction that stores
    the run.
    """
    from geo_grid.coverage.progress import progress_reporter
    from geo_grid.merge import merge_layers

    layers, district = merge_inputs(
        layers, district=district, base=base, base_generation=base_generation,
        share_threshold=share_threshold, deviation_m=deviation_m,
    )  # fmt: skip
    local_crs = district_profiles.get(district).local_crs
    step = progress_reporter(progress, 5, "merge")
    inputs = _MergeInputs.read(layers, base, base_generation, district)
    step("read")
    result = merge_layers(
        inputs.base_grids,
        inputs.frames,
        communities=inputs.communities,
        share_threshold=share_threshold,
        deviation_m=deviation_m,
        max_households=max_households,
        local_crs=local_crs,
        progress=(lambda stage, done, total: step(stage)) if progress else None,
    )
    products = _MergeProducts.of(result, base)
    files: dict[str, str] = {}
    if out_dir is not None:
        files = _write_merge(Path(out_dir), products.proposed, result.crosswalk, result.conformance)

    def answer(run_id: int, draft: int | None) -> dict[str, Any]:
        step("stored")
        return {
            "merge_id": run_id,
            "district_code": district,
            "base": base,
            "base_generation": int(inputs.base_gen["number"]),
            "departments": {k: int(g["number"]) for k, g in inputs.gens.items()},
            **products.summary,
            "conformance_rows": products.conformance,
            "files": files,
            "draft_generation": draft,
        }

    return _store_merge(
        inputs, result, products, as_draft=as_draft, local_crs=local_crs, author=author,
        answer=answer, record=record,
    )  # fmt: skip


def _merge_layers_checked(
    layers: Sequence[str], base: str, share_threshold: float, deviation_m: float
) -> list[str]:
    """The department layers named once each, and the thresholds in range; else BadInput."""
    layers = list(dict.fromkeys(layers))
    if not layers:
        raise BadInput("layers: name at least one department layer", field="layers")
    if base in layers:
        raise BadInput(f"layers: {base!r} is the base layer, not a department's", field="layers")
    if not 0 < share_threshold <= 1:
        raise BadInput(
            f"share_threshold: must be in (0, 1], got {share_threshold}", field="share_threshold"
        )
    if not deviation_m > 0:
        raise BadInput(f"deviation_m: must be > 0 m, got {deviation_m}", field="deviation_m")
    return layers


@dataclass(frozen=True)
class _MergeInputs:
    """The published generations a merge relates, their grids and the district's communities."""

    district: str
    base: str
    layers: list[str]
    base_gen: dict[str, Any]
    base_grids: gpd.GeoDataFrame
    gens: dict[str, dict[str, Any]]
    frames: dict[str, gpd.GeoDataFrame]
    communities: gpd.GeoDataFrame | None

    @classmethod
    def read(
        cls, layers: list[str], base: str, base_generation: int | None, district: str
    ) -> _MergeInputs:
        """Read in one unit of work; an empty base generation is BadInput."""
        from geo_grid.db import repos
        from geo_grid.db.session import session_scope

        with session_scope() as session:
            base_gen = repos.grids.resolve_generation(
                session, base, base_generation, district=district
            )
            base_grids = repos.grids.read_grids(session, generation_id=base_gen["id"])
            gens, frames = {}, {}
            for key in layers:
                gens[key] = repos.grids.resolve_generation(session, key, None, district=district)
                frames[key] = repos.grids.read_grids(session, generation_id=gens[key]["id"])
            communities = _communities(session, district)
        if len(base_grids) == 0:
            raise BadInput(
                f"base: generation {base_gen['number']} of {base!r} is empty", field="base"
            )
        return cls(district, base, layers, base_gen, base_grids, gens, frames, communities)


@dataclass(frozen=True)
class _MergeProducts:
    """What a merge stores and answers: conformance rows, the proposed layer, the summary."""

    conformance: list[dict[str, Any]]
    proposed: gpd.GeoDataFrame
    summary: dict[str, Any]

    @classmethod
    def of(cls, result: Any, base: str) -> _MergeProducts:
        """From :func:`geo_grid.merge.merge_layers`' result; unified grids get unified codes."""
        from geo_grid.merge import CONFORMANCE_KINDS

        conformance = [
            {
                "kind": r.kind,
                "layer": r.layer,
                "codes": [str(c) for c in r.codes],
                "value": float(r.value),
                "detail": r.detail,
            }
            for r in result.conformance.itertuples(index=False)
        ]
        counts = result.conformance["kind"].value_counts()
        proposed = result.proposed.copy()
        if base == UNIFIED:
            proposed["code"] = unified_codes(proposed)
        summary = {
            "crosswalk": len(result.crosswalk),
            "conformance": {k: int(counts.get(k, 0)) for k in CONFORMANCE_KINDS},
            "proposed": {
                "grids": len(proposed),
                "households": int(pd.to_numeric(proposed["households"]).sum()),
                "check": result.check.summary() if result.check is not None else None,
            },
        }
        return cls(conformance, proposed, summary)


def _store_merge(
    inputs: _MergeInputs,
    result: Any,
    products: _MergeProducts,
    *,
    as_draft: bool,
    local_crs: str,
    author: str | None,
    answer: Callable[[int, int | None], dict[str, Any]],
    record: Record | None,
) -> dict[str, Any]:
    """The merge run and its crosswalk, and with ``as_draft`` the proposed layer as a draft of
    ``unified``, in one transaction, ending with ``record`` of the ``answer(merge run id,
    draft generation number or None)`` it returns."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    base_gen = inputs.base_gen
    with session_scope() as session:
        run_id = repos.checks.insert_merge_run(
            session,
            base_generation_id=base_gen["id"],
            dept_generations={k: int(g["id"]) for k, g in inputs.gens.items()},
            params=result.params,
            conformance=products.conformance,
            summary=products.summary,
            author=author,
        )
        for key, gen in inputs.gens.items():
            repos.checks.replace_crosswalk(
                session,
                base_generation_id=base_gen["id"],
                dept_generation_id=gen["id"],
                merge_run_id=run_id,
                rows=result.crosswalk[result.crosswalk["layer"] == key],
            )
        draft = None
        if as_draft:
            draft = _store_draft(session, inputs, products, run_id, local_crs, author)
        out = answer(run_id, draft)
        if record is not None:
            record(session, out)
    return out


def _store_draft(
    session, inputs: _MergeInputs, products: _MergeProducts, run_id: int, local_crs: str,
    author: str | None,
) -> int:  # fmt: skip
    """The merge's proposed layer as a draft generation of ``unified``; its number."""
    from geo_grid.db import repos

    base_gen = inputs.base_gen
    gid = repos.grids.create_generation(
        session,
        layer=UNIFIED,
        district=inputs.district,
        author=author,
        note=f"多网合一 proposal from {', '.join(inputs.layers)} over {inputs.base} "
        f"g{base_gen['number']}",
        source=f"merge:{run_id}",
        parent_id=base_gen["id"] if inputs.base == UNIFIED else None,
    )
    grids = _writable_grids(products.proposed, local_crs)
    repos.grids.insert_grids(session, gid, UNIFIED, grids)
    repos.checks.set_merge_proposed(session, run_id, gid)
    return int(repos.grids.generation_row(session, gid)["number"])


def _write_merge(
    folder: Path, proposed: gpd.GeoDataFrame, crosswalk: pd.DataFrame, conformance: pd.DataFrame
) -> dict[str, str]:
    """The merge's products as files QGIS and a spreadsheet open."""
    from geo_grid.io import write_layer

    if folder.exists() and not folder.is_dir():
        raise BadInput(f"out: {folder} exists and is not a folder", field="out")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "proposed": write_layer(proposed, folder / "proposed.gpkg", layer_name="proposed"),
        "crosswalk": folder / "crosswalk.csv",
        "conformance": folder / "conformance.csv",
    }
    crosswalk.to_csv(paths["crosswalk"], index=False)
    conf = conformance.copy()
    conf["codes"] = conf["codes"].map(lambda c: ";".join(map(str, c)))
    conf.to_csv(paths["conformance"], index=False)
    return {k: str(v) for k, v in paths.items()}


def crosswalk_for(code: str, *, generation: int | None = None) -> dict[str, Any]:
    """How one unified grid relates to each department's grids, from the stored crosswalk.

    Uses the published unified generation of the grid's district (its code's first six digits;
    or ``generation``) and, per department layer, the rows of its published generation when that
    one was merged, else of its latest merged one.
    """
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    if not (len(code) == 15 and code.isdigit()) or district_profiles.of_code(code) is None:
        raise NotFound(f"code: no grid {code!r} in the districts served here", field="code")
    with session_scope() as session:
        gen = repos.grids.resolve_generation(session, UNIFIED, generation, district=code[:6])
        rows = repos.checks.read_crosswalk(session, base_generation_id=gen["id"], unified_code=code)
        if not rows:
            exists = len(repos.grids.read_grids(session, generation_id=gen["id"], codes=[code]))
            if not exists:
                raise NotFound(
                    f"code: no grid {code!r} in unified generation {gen['number']}", field="code"
                )
            raise NotFound(
                f"crosswalk: unified generation {gen['number']} has not been merged "
                "(run `geo-grid merge`)",
                field="code",
            )
    chosen: dict[str, tuple[bool, int]] = {}
    for r in rows:
        best = chosen.get(r["layer"])
        rank = (r["dept_generation_status"] == "published", r["dept_generation_id"])
        if best is None or rank > best:
            chosen[r["layer"]] = rank
    data = [
        {
            "layer": r["layer"],
            "dept_generation": int(r["dept_generation"]),
            "dept_code": r["dept_code"],
            "overlap_m2": float(r["overlap_m2"]),
            "share_of_unified": float(r["share_of_unified"]),
            "share_of_dept": float(r["share_of_dept"]),
        }
        for r in rows
        if (r["dept_generation_status"] == "published", r["dept_generation_id"])
        == chosen[r["layer"]]
    ]
    covered: dict[str, float] = {}
    for r in data:
        covered[r["layer"]] = round(covered.get(r["layer"], 0.0) + r["share_of_unified"], 6)
    return {
        "code": code,
        "generation": int(gen["number"]),
        "merged_at": max(r["merged_at"] for r in rows if r["merged_at"] is not None)
        if any(r["merged_at"] for r in rows)
        else None,
        "covered": covered,
        "data": data,
        "count": len(data),
    }
