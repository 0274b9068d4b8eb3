"""Plans: edits a planner makes to a draft grid layer, each checked and answered with its impact.

A plan is a draft copy of a published layer. The edits here are pure functions on that copy (a
GeoDataFrame in EPSG:4490 with ``code``, ``community_code`` and ``households``): split a grid by a
line, divide it into given parts, merge neighbours, reshape a grid to a new outline (its neighbours
give up what it takes and take what it gives up), move buildings between grids, recode or rename.

Every edit is checked *incrementally*, because a planner edits one corner of a 1,000-grid layer at
a time and must hear at once why an edit is refused: the grids it changed keep the union they had
(so no gap or overlap can appear against the untouched grids), and the changed grids with their
neighbours pass :func:`geo_grid.coverage.check_coverage` inside their communities. A refused edit
raises :class:`~geo_grid.errors.BadInput` (unusable input) or :class:`~geo_grid.errors.Conflict`
(clashes with the layer, e.g. a code taken) naming the reason; nothing is half-applied because the
input frame is never modified.

The impact of an edit counts what changes grid: addresses, buildings (by a point inside each
footprint), households, open cases and roster assignments, per grid before → after. Balance flags
grids whose households fall outside a target band per community kind, and :func:`suggest` proposes
edits (balanced splits of over-full grids along gaps between buildings, merges of under-full
neighbours) that :func:`apply_edit` applies like any other edit.

Geometry is edited in storage degrees, so the vertices an edit does not touch stay bit-identical to
the neighbours'; only measures (areas, border lengths) are taken in the local metric CRS.

Examples
--------
>>> import geopandas as gpd, shapely
>>> grids = gpd.GeoDataFrame(
...     {"code": ["320113001001001"], "community_code": ["320113001001"], "households": [0]},
...     geometry=[shapely.box(118.90, 32.10, 118.91, 32.11)], crs=4490)
>>> ctx = PlanContext(communities=gpd.GeoDataFrame(
...     {"code": ["320113001001"], "kind": ["urban"]},
...     geometry=[shapely.box(118.90, 32.10, 118.91, 32.11)], crs=4490))
>>> line = shapely.LineString([(118.905, 32.09), (118.905, 32.12)])
>>> result = split_grid(grids, "320113001001001", line, ctx=ctx)
>>> sorted(result.layer.code), result.added
(['320113001001001', '320113001001002'], ['320113001001002'])
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping, shape

from geo_grid.coverage import check_coverage
from geo_grid.errors import BadInput, Conflict, NotFound

__all__ = [
    "EDIT_OPS",
    "Bands",
    "EditResult",
    "PlanContext",
    "apply_edit",
    "balance",
    "diff_layers",
    "divide_grid",
    "merge_grids",
    "move_buildings",
    "next_codes",
    "recode_grid",
    "reshape_grid",
    "split_grid",
    "suggest",
    "assign_points",
]

STORAGE_CRS = "EPSG:4490"
#: Kinds of coverage defect that the incremental check refuses (gaps are checked by union instead,
#: because a local subset never covers its communities).
_LOCAL_DEFECTS = frozenset(
    {
        "invalid_geometry",
        "empty",
        "duplicate_code",
        "duplicate_geometry",
        "overlap",
        "outside_parent",
        "crosses_parent",
    }
)
_SEGMENT_DEG = 3e-5  # ~3 m: spacing of the points sampled on building outlines
_CRUMB_DEG2 = 1e-12
_SNAP_DEG = 1e-9
_NAME_SEQ = re.compile(r"^(.*第)(\d+)(网格)$")


# ----------------------------------------------------------------------------------- context
@dataclass(frozen=True)
class Bands:
    """Target household band per community kind; ``default`` applies to kinds not listed.

    >>> Bands(by_kind={"rural": (100, 300)}).band("rural"), Bands().band("urban")
    ((100, 300), (300, 500))
    """

    default: tuple[int, int] = (300, 500)
    by_kind: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def band(self, kind: str | None) -> tuple[int, int]:
        """The ``(low, high)`` band of a community kind."""
        low, high = self.by_kind.get(kind or "", self.default)
        return int(low), int(high)


@dataclass
class PlanContext:
    """What an edit is measured against: communities and the people and things inside grids.

    All frames in EPSG:4490. ``communities``: ``code``, ``kind``, geometry. ``buildings``: ``code``,
    ``households``, footprint. ``addresses``: ``address_id``, point. ``cases``: open cases, ``id``,
    point. ``roster``: ``grid_code``, ``person_id``, ``role``. Frames may be limited to the area an
    edit touches. ``reserved_codes`` are codes never to hand out again (those of the base
    generation), so a split never reuses the code of a grid merged away in the same plan.
    """

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame | None = None
    addresses: gpd.GeoDataFrame | None = None
    cases: gpd.GeoDataFrame | None = None
    roster: pd.DataFrame | None = None
    bands: Bands = field(default_factory=Bands)
    local_crs: str = "EPSG:4549"
    unified_codes: bool = True
    reserved_codes: frozenset[str] = frozenset()
    min_part_m2: float = 100.0
    union_tolerance_m2: float = 1.0

    def __post_init__(self) -> None:
        self._points: dict[str, np.ndarray] = {}

    def points(self, what: str) -> tuple[np.ndarray, pd.DataFrame]:
        """Points of ``buildings`` (a point inside each footprint), ``addresses`` or ``cases``."""
        frame = getattr(self, what)
        if frame is None or len(frame) == 0:
            return np.empty(0, dtype=object), pd.DataFrame()
        if what not in self._points:
            geoms = np.asarray(frame.geometry.array, dtype=object)
            if what == "buildings":
                geoms = shapely.point_on_surface(geoms)
            self._points[what] = geoms
        return self._points[what], frame

    def community(self, code: str):
        """A community's geometry and kind; :class:`NotFound` when unknown."""
        hit = self.communities.loc[self.communities["code"] == code]
        if hit.empty:
            raise NotFound(f"community_code: unknown community {code!r}", field="community_code")
        row = hit.iloc[0]
        return row.geometry, row.get("kind")


@dataclass
class EditResult:
    """The layer after an edit, what it changed and its impact (JSON-ready in ``to_json``)."""

    layer: gpd.GeoDataFrame
    op: str
    params: dict[str, Any]
    added: list[str]
    removed: list[str]
    changed: list[str]
    renames: dict[str, str]
    impact: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def affected(self) -> list[str]:
        """Codes present after the edit whose grid was added or changed."""
        return self.added + self.changed

    def to_json(self) -> dict[str, Any]:
        grids = self.layer.loc[self.layer["code"].isin(self.affected)]
        return {
            "op": self.op,
            "params": self.params,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "renames": self.renames,
            "impact": self.impact,
            "warnings": self.warnings,
            "grids": [
                {
                    "code": r.code,
                    "name": r.get("name"),
                    "community_code": r.community_code,
                    "households": None if pd.isna(r.households) else int(r.households),
                    "geometry": mapping(r.geometry),
                }
                for _, r in grids.iterrows()
            ],
        }


# ----------------------------------------------------------------------------------- helpers
def _prepare(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    for col in ("code", "community_code"):
        if col not in layer.columns:
            raise BadInput(f"layer: missing column {col!r}", field=col)
    if layer.crs is None:
        raise BadInput(f"layer: no CRS (expected {STORAGE_CRS})", field="crs")
    out = layer.to_crs(STORAGE_CRS) if not layer.crs.equals(STORAGE_CRS) else layer.copy()
    out = out.reset_index(drop=True)
    out["code"] = out["code"].astype(str)
    if "households" not in out.columns:
        out["households"] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out


def _row(layer: gpd.GeoDataFrame, code: str) -> int:
    hits = np.flatnonzero(layer["code"].to_numpy() == str(code))
    if len(hits) == 0:
        raise NotFound(f"grid: no grid {code!r} in this plan", field="grid")
    return int(hits[0])


def _multi(geom) -> shapely.MultiPolygon:
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not polys:
        polys = [
            q
            for p in shapely.get_parts(geom)
            for q in shapely.get_parts(p)
            if q.geom_type == "Polygon" and not q.is_empty
        ]
    if (
        len(polys) > 1
    ):  # float crumbs of a union (1e-12 deg² ≈ 0.01 m²) would not survive projection
        polys = [p for p in polys if p.area >= _CRUMB_DEG2] or polys
    return shapely.MultiPolygon(polys)


def _polygonal(geom):
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.MultiPolygon()


def _metric(geoms, local_crs: str) -> gpd.GeoSeries:
    return gpd.GeoSeries(
        list(np.atleast_1d(np.asarray(geoms, dtype=object))), crs=STORAGE_CRS
    ).to_crs(local_crs)


def _area_m2(geom, local_crs: str) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    return float(_metric([geom], local_crs).area.iloc[0])


def _deg2_to_m2(geom) -> float:
    """Area of a (thin) piece in m², scaled from degrees at its latitude.

    Slivers left by editing in degrees must be measured in degrees: projecting them bends their
    long straight edges by millimetres, which a metric area would count as square metres.
    """
    if geom is None or geom.is_empty:
        return 0.0
    lat = math.radians(shapely.centroid(geom).y)
    return float(geom.area * 111_320.0 * math.cos(lat) * 110_574.0)


def _border_m(a, b, local_crs: str) -> float:
    """Length of the shared boundary of two polygons in metres."""
    shared = shapely.intersection(a.boundary, b.boundary)
    lines = [
        g
        for g in shapely.get_parts(shared)
        if g.geom_type in ("LineString", "LinearRing") and not g.is_empty
    ]
    if not lines:
        return 0.0
    return float(_metric([shapely.MultiLineString(lines)], local_crs).length.iloc[0])


def _geom_in(value, name: str, kinds: tuple[str, ...]):
    """A shapely geometry from a shapely object, GeoJSON mapping or WKT; type-checked."""
    try:
        if isinstance(value, shapely.Geometry):
            geom = value
        elif isinstance(value, Mapping):
            geom = shape(value.get("geometry", value) if value.get("type") == "Feature" else value)
        elif isinstance(value, str):
            geom = shapely.from_wkt(value)
        else:
            raise TypeError(type(value).__name__)
    except Exception as exc:  # noqa: BLE001 (any parse failure is bad input)
        raise BadInput(f"{name}: not a geometry ({exc})", field=name) from exc
    if geom is None or geom.is_empty or geom.geom_type not in kinds:
        got = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise BadInput(f"{name}: expected {' or '.join(kinds)}, got {got}", field=name)
    lon, lat = shapely.get_coordinates(geom).T
    if not (np.all(np.abs(lon) <= 180) and np.all(np.abs(lat) <= 90)):
        raise BadInput(f"{name}: coordinates must be lon/lat (EPSG:4490)", field=name)
    return geom


def _renamed(name, seq: int) -> str | None:
    if not isinstance(name, str):
        return None
    m = _NAME_SEQ.match(name)
    return f"{m.group(1)}{seq}{m.group(3)}" if m else f"{name}-{seq}"


def next_codes(
    layer: gpd.GeoDataFrame, community_code: str, n: int, *, reserved: Iterable[str] = ()
) -> list[str]:
    """The next ``n`` free unified codes of a community: its 12 digits + a 3-digit sequence.

    New codes count up from the highest sequence used (in the layer or ``reserved``), so a code
    that was merged away is not handed to a different place; when 999 is reached, free lower
    numbers are used.

    >>> import geopandas as gpd
    >>> layer = gpd.GeoDataFrame({"code": ["320113001001001", "320113001001004"]})
    >>> next_codes(layer, "320113001001", 2)
    ['320113001001005', '320113001001006']
    """
    used = {str(c) for c in layer["code"]} | {str(c) for c in reserved}
    seqs = sorted(
        int(c[12:]) for c in used if c.startswith(community_code) and len(c) == 15 and c.isdigit()
    )
    start = (seqs[-1] if seqs else 0) + 1
    out = [f"{community_code}{s:03d}" for s in range(start, min(start + n, 1000))]
    s = 1
    while len(out) < n:
        if s > 999:
            raise Conflict(
                f"community {community_code}: no free 3-digit grid sequence left", field="code"
            )
        cand = f"{community_code}{s:03d}"
        if cand not in used and cand not in out:
            out.append(cand)
        s += 1
    return out


def assign_points(points: np.ndarray, layer: gpd.GeoDataFrame) -> np.ndarray:
    """The code of the grid containing each point (None outside every grid).

    A point on a shared edge goes to the grid first in ``code`` order, so a recount is stable.

    >>> import geopandas as gpd, shapely
    >>> layer = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> assign_points(shapely.points([(0.5, 0.5), (1.5, 0.5), (5, 5)]), layer).tolist()
    ['A', 'B', None]
    """
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0 or len(layer) == 0:
        return out
    order = np.argsort(layer["code"].astype(str).to_numpy(), kind="stable")
    geoms = np.asarray(layer.geometry.array, dtype=object)[order]
    codes = layer["code"].astype(str).to_numpy()[order]
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(points, predicate="intersects")
    if len(pi):
        first = pd.DataFrame({"p": pi, "g": gi}).groupby("p")["g"].min()
        out[first.index.to_numpy()] = codes[first.to_numpy()]
    return out


# ----------------------------------------------------------------------------------- impact
_ENTITIES = ("addresses", "buildings", "open_cases")


def _counts(codes: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    frame = pd.DataFrame({"c": codes, "w": 1 if weights is None else weights})
    frame = frame.loc[frame["c"].notna()]
    return frame.groupby("c")["w"].sum().to_dict()


def _impact(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    codes_before: Sequence[str],
    codes_after: Sequence[str],
    renames: Mapping[str, str],
    ctx: PlanContext,
) -> tuple[dict[str, Any], dict[str, int]]:
    """Per grid before → after and totals moved; also returns households of the after grids."""
    sub_b = before.loc[before["code"].isin(codes_before)]
    sub_a = after.loc[after["code"].isin(codes_after)]
    region = shapely.union_all(np.asarray(sub_b.geometry.array, dtype=object))
    region = shapely.union_all([region, *np.asarray(sub_a.geometry.array, dtype=object)])
    per: dict[str, dict[str, dict[str, int]]] = {
        c: {"before": {}, "after": {}} for c in dict.fromkeys([*codes_before, *codes_after])
    }
    moved: dict[str, int] = {}
    households_after: dict[str, int] = {}
    for what, key in (
        ("addresses", "addresses"),
        ("buildings", "buildings"),
        ("cases", "open_cases"),
    ):
        pts, frame = ctx.points(what)
        if len(pts) == 0:
            moved[key] = 0
            if what == "buildings":
                moved["households"] = 0
            continue
        shapely.prepare(region)
        inside = np.flatnonzero(shapely.intersects(region, pts)) if not region.is_empty else []
        p = pts[inside]
        cb, ca = assign_points(p, sub_b), assign_points(p, sub_a)
        moved[key] = int(np.sum(cb != ca))
        for side, codes in (("before", cb), ("after", ca)):
            for code, n in _counts(codes).items():
                per[code][side][key] = int(n)
        if what == "buildings":
            hh = frame["households"].fillna(0).astype(int).to_numpy()[inside]
            moved["households"] = int(hh[cb != ca].sum())
            for side, codes in (("before", cb), ("after", ca)):
                for code, n in _counts(codes, hh).items():
                    per[code][side]["households"] = int(n)
            households_after = {c: int(n) for c, n in _counts(ca, hh).items()}
            for c in codes_after:
                households_after.setdefault(c, 0)
    roster_moved = 0
    if ctx.roster is not None and len(ctx.roster):
        r = ctx.roster.loc[ctx.roster["grid_code"].astype(str).isin(list(per))]
        for code, n in r["grid_code"].astype(str).value_counts().items():
            per[code]["before"]["roster"] = int(n)
            target = renames.get(code, code)
            if target in per and target in set(codes_after):
                per[target]["after"]["roster"] = per[target]["after"].get("roster", 0) + int(n)
            if target != code:
                roster_moved += int(n)
    moved["roster"] = roster_moved
    fields = ("addresses", "buildings", "households", "open_cases", "roster")
    grids = []
    for code, sides in per.items():
        grids.append(
            {
                "code": code,
                "before": {f: sides["before"].get(f, 0) for f in fields}
                if code in set(codes_before)
                else None,
                "after": {f: sides["after"].get(f, 0) for f in fields}
                if code in set(codes_after)
                else None,
            }
        )
    return {"moved": moved, "grids": grids}, households_after


# ----------------------------------------------------------------------------------- checks
def _check(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    touched_before: Sequence[str],
    touched_after: Sequence[str],
    ctx: PlanContext,
) -> None:
    """Refuse an edit that breaks the coverage near it (see the module docstring)."""
    codes = after["code"].to_numpy()
    dup = pd.Series(codes).value_counts()
    dup = dup[dup > 1]
    if len(dup):
        raise Conflict(f"code: grid code {dup.index[0]} would be used twice", field="code")
    sub_a = after.loc[after["code"].isin(touched_after)]
    for _, row in sub_a.iterrows():
        g = row.geometry
        if g is None or g.is_empty or not g.is_valid:
            why = "empty" if g is None or g.is_empty else shapely.is_valid_reason(g)
            raise BadInput(f"geometry: grid {row.code} would be invalid ({why})", field="geometry")
    ub = shapely.union_all(np.asarray(before.loc[before["code"].isin(touched_before)].geometry))
    ua = shapely.union_all(np.asarray(sub_a.geometry.array, dtype=object))
    lost = _deg2_to_m2(shapely.difference(ub, ua))
    gained = _deg2_to_m2(shapely.difference(ua, ub))
    if lost > ctx.union_tolerance_m2:
        raise BadInput(f"geometry: the edit would leave a gap of {lost:.1f} m²", field="geometry")
    if gained > ctx.union_tolerance_m2:
        raise BadInput(
            f"geometry: the edit would overlap untouched grids by {gained:.1f} m²", field="geometry"
        )
    # the changed grids and their neighbours: a clean coverage inside their communities
    tree = shapely.STRtree(np.asarray(after.geometry.array, dtype=object))
    near = np.unique(tree.query(np.asarray(sub_a.geometry.array, dtype=object), "intersects")[1])
    local = after.iloc[near][["code", "community_code", "geometry"]]
    parents = ctx.communities.loc[ctx.communities["code"].isin(local["community_code"])]
    report = check_coverage(local, parents[["code", "geometry"]], local_crs=ctx.local_crs)
    touched = set(touched_after)
    bad = [
        r
        for r in report.defects.itertuples(index=False)
        if r.kind in _LOCAL_DEFECTS and touched.intersection(r.ids)
    ]
    if bad:
        r = bad[0]
        area = "" if pd.isna(r.area_m2) or r.area_m2 == 0 else f" ({r.area_m2:.1f} m²)"
        raise BadInput(
            f"geometry: the edit leaves {r.kind.replace('_', ' ')} at {', '.join(r.ids)}{area}",
            field="geometry",
        )


# ----------------------------------------------------------------------------------- assemble
def _finish(
    layer: gpd.GeoDataFrame,
    op: str,
    params: dict[str, Any],
    *,
    replace: Mapping[str, Any],
    new_rows: Sequence[dict[str, Any]] = (),
    renames: Mapping[str, str] | None = None,
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
    ctx: PlanContext,
    check: bool = True,
    warnings: Sequence[str] = (),
) -> EditResult:
    """Build the layer after an edit (``replace``: code → new geometry or None to remove)."""
    renames = dict(renames or {})
    after = layer.copy()
    removed = [c for c, g in replace.items() if g is None]
    for code, geom in replace.items():
        if geom is not None:
            after.at[_row(after, code), after.geometry.name] = _multi(geom)
    for code, values in (attrs or {}).items():
        i = _row(after, code)
        for k, v in values.items():
            after.at[i, k] = v
    after = after.loc[~after["code"].isin(removed)]
    if new_rows:
        extra = gpd.GeoDataFrame(
            [{**r, "geometry": _multi(r["geometry"])} for r in new_rows],
            geometry="geometry",
            crs=STORAGE_CRS,
        )
        after = pd.concat([after, extra], ignore_index=True)
    after = gpd.GeoDataFrame(after, geometry=layer.geometry.name, crs=STORAGE_CRS)
    after = after.reset_index(drop=True)
    added = [str(r["code"]) for r in new_rows]
    touched_before = list(dict.fromkeys([*replace, *(attrs or {})]))
    changed = [
        str((attrs or {}).get(c, {}).get("code", c)) for c in touched_before if c not in removed
    ]
    touched_after = list(dict.fromkeys([*changed, *added]))
    _settle(after, touched_after, ctx.local_crs)
    if check:
        _check(layer, after, touched_before, touched_after, ctx)
    impact, hh = _impact(layer, after, touched_before, touched_after, renames, ctx)
    if ctx.buildings is not None:
        for code, n in hh.items():
            if code in set(touched_after):
                after.at[_row(after, code), "households"] = n
    impact["balance"] = balance(
        after.loc[after["code"].isin(touched_after)], ctx.communities, ctx.bands
    ).to_dict("records")
    return EditResult(
        layer=after,
        op=op,
        params=params,
        added=added,
        removed=removed,
        changed=changed,
        renames=renames,
        impact=impact,
        warnings=list(warnings),
    )


def _settle(layer: gpd.GeoDataFrame, codes: Sequence[str], local_crs: str) -> None:
    """Snap edited outlines that a projection would make invalid to a 1e-9° (0.1 mm) grid.

    Cutting and Voronoi cells can leave a vertex a hair from an edge: valid in degrees, a
    self-intersection in metres. Only such grids are snapped, so clean neighbours keep their bits.
    """
    rows = np.flatnonzero(layer["code"].isin(codes).to_numpy())
    if not len(rows):
        return
    geoms = np.asarray(layer.geometry.array, dtype=object)[rows]
    local = np.asarray(_metric(geoms, local_crs).array, dtype=object)
    for k in np.flatnonzero(~shapely.is_valid(local) | ~shapely.is_valid(geoms)):
        snapped = _multi(_polygonal(shapely.set_precision(geoms[k], _SNAP_DEG)))
        layer.at[layer.index[rows[k]], layer.geometry.name] = snapped


def _split_rows(
    layer: gpd.GeoDataFrame,
    code: str,
    pieces: Sequence,
    ctx: PlanContext,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The piece with most households (else area) keeps ``code``; the others get new codes."""
    i = _row(layer, code)
    row = layer.iloc[i]
    pts, frame = ctx.points("buildings")
    hh = np.zeros(len(pieces))
    if len(pts):
        w = frame["households"].fillna(0).to_numpy()
        for k, p in enumerate(pieces):
            hh[k] = w[shapely.intersects(p, pts)].sum()
    areas = np.array([_area_m2(p, ctx.local_crs) for p in pieces])
    small = np.flatnonzero(areas < ctx.min_part_m2)
    if len(small):
        raise BadInput(
            f"line: the split cuts off a piece of {areas[small[0]]:.0f} m² "
            f"(smaller than {ctx.min_part_m2:.0f} m²)",
            field="line",
        )
    keep = int(np.lexsort((-areas, -hh))[0])
    community = str(row["community_code"])
    if ctx.unified_codes:
        codes = next_codes(layer, community, len(pieces) - 1, reserved=ctx.reserved_codes)
    else:
        codes = [f"{code}-{k}" for k in range(2, len(pieces) + 1)]
    rows = []
    others = [k for k in range(len(pieces)) if k != keep]
    for new_code, k in zip(codes, others, strict=True):
        seq = int(new_code[-3:]) if new_code[-3:].isdigit() else k + 1
        rec = {c: row[c] for c in layer.columns if c != layer.geometry.name}
        rec.update(code=new_code, geometry=pieces[k], households=int(hh[k]))
        if "name" in layer.columns:
            rec["name"] = _renamed(row.get("name"), seq)
        if "properties" in layer.columns:
            rec["properties"] = {"split_from": code}
        if "id" in rec:
            rec["id"] = None
        rows.append(rec)
    return {code: pieces[keep]}, rows


# ----------------------------------------------------------------------------------- edits
def split_grid(layer: gpd.GeoDataFrame, code: str, line, *, ctx: PlanContext) -> EditResult:
    """Split grid ``code`` by a line drawn across it (lon/lat LineString or GeoJSON).

    The piece with most households keeps the code (and its roster); each other piece gets the next
    free sequence in the community. A line that does not cross the grid from edge to edge, or that
    cuts off a piece smaller than ``ctx.min_part_m2``, is refused.
    """
    layer = _prepare(layer)
    line = _geom_in(line, "line", ("LineString", "MultiLineString"))
    grid = layer.geometry.iloc[_row(layer, code)]
    pieces = _split_by_line(grid, line)
    if len(pieces) < 2:
        raise BadInput(f"line: the line does not cross grid {code} from edge to edge", field="line")
    replace, rows = _split_rows(layer, code, pieces, ctx)
    params = {"grid": str(code), "line": mapping(line)}
    return _finish(layer, "split", params, replace=replace, new_rows=rows, ctx=ctx)


def _split_by_line(grid, line) -> list:
    """Faces of ``grid`` cut by ``line`` (dangling ends ignored), as polygons."""
    edges = shapely.union_all([grid.boundary, line])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    shapely.prepare(grid)
    faces = [f for f in faces if grid.contains(shapely.point_on_surface(f))]
    pieces = [shapely.intersection(grid, f) for f in faces]
    return [_polygonal(p) for p in pieces if not _polygonal(p).is_empty]


def divide_grid(
    layer: gpd.GeoDataFrame, code: str, parts: Sequence, *, ctx: PlanContext
) -> EditResult:
    """Replace grid ``code`` by ``parts`` (polygons that together make it up).

    Parts are clipped to the grid and the last one takes whatever the others leave, so a partition
    drawn to the nearest metre still covers the grid exactly. This is how a suggested balanced
    split is applied.
    """
    layer = _prepare(layer)
    if len(parts) < 2:
        raise BadInput("parts: give at least two parts", field="parts")
    geoms = [_geom_in(p, "parts", ("Polygon", "MultiPolygon")) for p in parts]
    grid = layer.geometry.iloc[_row(layer, code)]
    pieces, taken = [], shapely.MultiPolygon()
    for g in geoms[:-1]:
        piece = _polygonal(shapely.difference(shapely.intersection(grid, g), taken))
        pieces.append(piece)
        taken = shapely.union_all([taken, piece])
    pieces.append(_polygonal(shapely.difference(grid, taken)))
    if any(p.is_empty for p in pieces):
        raise BadInput(f"parts: a part does not overlap grid {code}", field="parts")
    replace, rows = _split_rows(layer, code, pieces, ctx)
    params = {"grid": str(code), "parts": [mapping(p) for p in pieces]}
    return _finish(layer, "divide", params, replace=replace, new_rows=rows, ctx=ctx)


def merge_grids(
    layer: gpd.GeoDataFrame, codes: Sequence[str], *, keep: str | None = None, ctx: PlanContext
) -> EditResult:
    """Merge neighbouring grids of one community into one; ``keep`` names the surviving code.

    By default the grid with most households survives; the others' roster moves to it.
    """
    layer = _prepare(layer)
    codes = [str(c) for c in dict.fromkeys(codes)]
    if len(codes) < 2:
        raise BadInput("grids: name at least two grids to merge", field="grids")
    rows = [layer.iloc[_row(layer, c)] for c in codes]
    communities = {str(r["community_code"]) for r in rows}
    if len(communities) > 1:
        raise BadInput(
            f"grids: {', '.join(codes)} lie in different communities ({', '.join(sorted(communities))})",
            field="grids",
        )
    _require_connected([r.geometry for r in rows], codes, ctx)
    if keep is None:
        hh = [0 if pd.isna(r["households"]) else int(r["households"]) for r in rows]
        keep = codes[int(np.argmax(hh))]
    elif str(keep) not in codes:
        raise BadInput(f"keep: {keep!r} is not one of the merged grids", field="keep")
    keep = str(keep)
    merged = shapely.union_all([r.geometry for r in rows])
    replace: dict[str, Any] = {c: None for c in codes if c != keep}
    replace[keep] = merged
    renames = {c: keep for c in codes if c != keep}
    params = {"grids": codes, "keep": keep}
    return _finish(layer, "merge", params, replace=replace, renames=renames, ctx=ctx)


def _require_connected(geoms: Sequence, codes: Sequence[str], ctx: PlanContext) -> None:
    n = len(geoms)
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j in range(n):
            if j not in seen and _border_m(geoms[i], geoms[j], ctx.local_crs) > 0.5:
                seen.add(j)
                todo.append(j)
    if len(seen) < n:
        lone = [codes[j] for j in range(n) if j not in seen]
        raise BadInput(f"grids: {', '.join(lone)} share no border with {codes[0]}", field="grids")


def reshape_grid(layer: gpd.GeoDataFrame, code: str, geometry, *, ctx: PlanContext) -> EditResult:
    """Give grid ``code`` a new outline; its neighbours in the community adjust around it.

    The new outline is clipped to the grid's community. Neighbours give up what it takes (one taken
    whole disappears and its roster moves to ``code``; crumbs smaller than ``ctx.min_part_m2``
    left of a neighbour go to ``code``), and each piece ``code`` gives up goes to the neighbour
    sharing the longest border with it. A piece with no neighbour to take it is refused.
    """
    layer = _prepare(layer)
    new = _geom_in(geometry, "geometry", ("Polygon", "MultiPolygon"))
    if not new.is_valid:
        new = _polygonal(shapely.make_valid(new))
    i = _row(layer, code)
    row = layer.iloc[i]
    community_geom, _ = ctx.community(str(row["community_code"]))
    new = _polygonal(shapely.intersection(new, community_geom))
    if _area_m2(new, ctx.local_crs) < ctx.min_part_m2:
        raise BadInput(
            f"geometry: the new outline of {code} hardly overlaps its community", field="geometry"
        )
    same = layer.loc[
        (layer["community_code"] == row["community_code"]) & (layer["code"] != str(code))
    ]
    replace: dict[str, Any] = {}
    renames: dict[str, str] = {}
    grown = new
    for _, n in same.iterrows():
        if not n.geometry.intersects(new):
            continue
        rest = _polygonal(shapely.difference(n.geometry, new))
        if rest.equals(n.geometry):
            continue
        keep, crumbs = [], []
        for part in shapely.get_parts(rest):
            (keep if _area_m2(part, ctx.local_crs) >= ctx.min_part_m2 else crumbs).append(part)
        if crumbs:
            grown = shapely.union_all([grown, *crumbs])
        if keep:
            replace[n.code] = shapely.union_all(keep)
        else:
            replace[n.code] = None
            renames[n.code] = str(code)
    # what the grid gives up goes to the neighbour with the longest border
    leftover = _polygonal(shapely.difference(row.geometry, grown))
    current = {c: g for c, g in zip(same["code"], same.geometry, strict=True)}
    current.update({c: g for c, g in replace.items() if g is not None})
    for c in [c for c, g in replace.items() if g is None]:
        current.pop(c, None)
    warnings = []
    for piece in shapely.get_parts(leftover):
        area = _area_m2(piece, ctx.local_crs)
        if area < 0.01:
            continue
        best, best_len = None, 0.0
        for c, g in current.items():
            length = _border_m(piece, g, ctx.local_crs) if g.intersects(piece) else 0.0
            if length > best_len:
                best, best_len = c, length
        if best is None:
            if area < ctx.min_part_m2:
                grown = shapely.union_all([grown, piece])
                warnings.append(f"kept a {area:.0f} m² piece no neighbour touches")
                continue
            raise BadInput(
                f"geometry: {area:.0f} m² that {code} gives up touch no neighbour in its community",
                field="geometry",
            )
        current[best] = shapely.union_all([current[best], piece])
        replace[best] = current[best]
    replace[str(code)] = grown
    params = {"grid": str(code), "geometry": mapping(new)}
    return _finish(
        layer, "reshape", params, replace=replace, renames=renames, ctx=ctx, warnings=warnings
    )


def _building_cells(grid, footprints: Sequence) -> list:
    """One cell per footprint: the part of ``grid`` nearer to it than to any other footprint.

    Points sampled every ~3 m along each outline seed a Voronoi diagram; a footprint's cell is the
    union of its points' cells, clipped to the grid. Cells therefore follow the gaps between
    buildings and together cover the grid exactly (the last cell takes the remainder).
    """
    if len(footprints) == 1:
        return [grid]
    coords, labels = [], []
    for k, fp in enumerate(footprints):
        ring = shapely.segmentize(shapely.get_exterior_ring(_largest(fp)), _SEGMENT_DEG)
        xy = shapely.get_coordinates(ring)[:-1]
        coords.append(xy)
        labels.append(np.full(len(xy), k))
    xy = np.vstack(coords)
    lab = np.concatenate(labels)
    _, first = np.unique(np.round(xy, 9), axis=0, return_index=True)
    first = np.sort(first)
    xy, lab = xy[first], lab[first]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=shapely.buffer(grid.envelope, 1e-3), ordered=True
        )
    )
    out, taken = [], shapely.MultiPolygon()
    for k in range(len(footprints)):
        mine = cells[lab == k]
        cell = shapely.coverage_union_all(mine) if len(mine) else shapely.MultiPolygon()
        if k < len(footprints) - 1:
            piece = _polygonal(shapely.difference(shapely.intersection(grid, cell), taken))
            taken = shapely.union_all([taken, piece])
        else:
            piece = _polygonal(shapely.difference(grid, taken))
        out.append(piece)
    return out


def _largest(geom):
    parts = shapely.get_parts(geom)
    return parts[int(np.argmax(shapely.area(parts)))]


def _buildings_in(grid, ctx: PlanContext) -> tuple[np.ndarray, pd.DataFrame]:
    pts, frame = ctx.points("buildings")
    if len(pts) == 0:
        return np.empty(0, dtype=int), frame
    return np.flatnonzero(shapely.intersects(grid, pts)), frame


def move_buildings(
    layer: gpd.GeoDataFrame, buildings: Sequence[str], to: str, *, ctx: PlanContext
) -> EditResult:
    """Move buildings (by code) into neighbouring grid ``to``, redrawing along the gaps around them.

    Each source grid is partitioned into building cells (:func:`_building_cells`); the cells of
    the moved buildings join ``to``. Refused when a building is unknown, already in ``to``, in
    another community, or when the cells would not touch ``to``.
    """
    layer = _prepare(layer)
    if ctx.buildings is None:
        raise BadInput("buildings: no building footprints to move", field="buildings")
    wanted = [str(b) for b in dict.fromkeys(buildings)]
    if not wanted:
        raise BadInput("buildings: name at least one building", field="buildings")
    bcodes = ctx.buildings["code"].astype(str).to_numpy()
    missing = [b for b in wanted if b not in set(bcodes)]
    if missing:
        raise NotFound(f"buildings: unknown building {missing[0]!r}", field="buildings")
    target = layer.iloc[_row(layer, to)]
    pts, _ = ctx.points("buildings")
    idx = np.array([int(np.flatnonzero(bcodes == b)[0]) for b in wanted])
    src = assign_points(pts[idx], layer)
    replace: dict[str, Any] = {}
    renames: dict[str, str] = {}
    grown = target.geometry
    for source in dict.fromkeys(src):
        if source is None:
            raise BadInput("buildings: a building lies outside every grid", field="buildings")
        if source == str(to):
            raise BadInput(f"buildings: already in grid {to}", field="buildings")
        srow = layer.iloc[_row(layer, source)]
        if srow["community_code"] != target["community_code"]:
            raise BadInput(
                f"buildings: grid {source} is in another community than {to}", field="buildings"
            )
        inside, frame = _buildings_in(srow.geometry, ctx)
        inside = inside[assign_points(pts[inside], layer) == source]
        cells = _building_cells(srow.geometry, list(frame.geometry.to_numpy()[inside]))
        moving = set(idx[src == source].tolist())
        chosen = [c for k, c in zip(inside, cells, strict=True) if int(k) in moving]
        region = _polygonal(shapely.union_all(chosen))
        rest = _polygonal(shapely.difference(srow.geometry, region))
        if _area_m2(rest, ctx.local_crs) < ctx.min_part_m2:
            replace[source] = None
            renames[source] = str(to)
            region = srow.geometry
        else:
            replace[source] = rest
        grown = shapely.union_all([grown, region])
    if len(shapely.get_parts(_polygonal(grown))) > len(shapely.get_parts(target.geometry)):
        raise BadInput(
            f"buildings: the moved buildings' area would not touch grid {to}", field="buildings"
        )
    replace[str(to)] = grown
    params = {"buildings": wanted, "to": str(to)}
    return _finish(layer, "move_buildings", params, replace=replace, renames=renames, ctx=ctx)


def recode_grid(
    layer: gpd.GeoDataFrame,
    code: str,
    *,
    new_code: str | None = None,
    name: str | None = None,
    ctx: PlanContext,
) -> EditResult:
    """Give a grid a new code and/or name; the roster follows the code.

    A unified code must stay the community's 12 digits + 3 digits and be free in the layer.
    """
    layer = _prepare(layer)
    i = _row(layer, code)
    row = layer.iloc[i]
    attrs: dict[str, Any] = {}
    renames: dict[str, str] = {}
    if new_code is not None and str(new_code) != str(code):
        new_code = str(new_code)
        if ctx.unified_codes and not (
            re.fullmatch(r"[0-9]{15}", new_code) and new_code.startswith(str(row["community_code"]))
        ):
            raise BadInput(
                f"code: {new_code!r} must be community {row['community_code']} + 3 digits",
                field="code",
            )
        if new_code in set(layer["code"]):
            raise Conflict(f"code: grid code {new_code} is already taken", field="code")
        attrs["code"] = new_code
        renames[str(code)] = new_code
    if name is not None:
        attrs["name"] = name
    if not attrs:
        raise BadInput("code: give a new code or a new name", field="code")
    params = {"grid": str(code), "code": new_code, "name": name}
    return _finish(
        layer, "recode", params, replace={}, attrs={str(code): attrs}, renames=renames, ctx=ctx
    )


#: Edit operations by name, with the parameter names each takes (JSON-ready; geometry as GeoJSON).
EDIT_OPS: dict[str, tuple[str, ...]] = {
    "split": ("grid", "line"),
    "divide": ("grid", "parts"),
    "merge": ("grids", "keep"),
    "reshape": ("grid", "geometry"),
    "move_buildings": ("buildings", "to"),
    "recode": ("grid", "code", "name"),
}


def apply_edit(
    layer: gpd.GeoDataFrame, op: str, params: Mapping[str, Any], *, ctx: PlanContext
) -> EditResult:
    """Apply one edit by name with JSON parameters (the form stored in a plan's edit log).

    >>> apply_edit(None, "explode", {}, ctx=None)
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: op: unknown edit 'explode' (known: split, divide, merge, reshape, move_buildings, recode)
    """
    if op not in EDIT_OPS:
        raise BadInput(f"op: unknown edit {op!r} (known: {', '.join(EDIT_OPS)})", field="op")
    unknown = set(params) - set(EDIT_OPS[op])
    if unknown:
        raise BadInput(f"{op}: unknown parameter {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    need = {"split": ("grid", "line"), "divide": ("grid", "parts"), "merge": ("grids",),
            "reshape": ("grid", "geometry"), "move_buildings": ("buildings", "to"),
            "recode": ("grid",)}[op]  # fmt: skip
    for key in need:
        if params.get(key) in (None, "", []):
            raise BadInput(f"{key}: required for {op}", field=key)
    if op == "split":
        return split_grid(layer, params["grid"], params["line"], ctx=ctx)
    if op == "divide":
        return divide_grid(layer, params["grid"], params["parts"], ctx=ctx)
    if op == "merge":
        return merge_grids(layer, params["grids"], keep=params.get("keep"), ctx=ctx)
    if op == "reshape":
        return reshape_grid(layer, params["grid"], params["geometry"], ctx=ctx)
    if op == "move_buildings":
        return move_buildings(layer, params["buildings"], params["to"], ctx=ctx)
    return recode_grid(
        layer, params["grid"], new_code=params.get("code"), name=params.get("name"), ctx=ctx
    )


# ----------------------------------------------------------------------------------- balance
def balance(
    layer: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, bands: Bands | None = None
) -> pd.DataFrame:
    """Each grid's households against its community kind's band: ``under``, ``in`` or ``over``.

    >>> import geopandas as gpd
    >>> grids = gpd.GeoDataFrame({"code": ["a", "b"], "community_code": ["c1", "c2"],
    ...                           "households": [120, 420]})
    >>> comms = gpd.GeoDataFrame({"code": ["c1", "c2"], "kind": ["rural", "urban"]})
    >>> balance(grids, comms, Bands(by_kind={"rural": (100, 300)}))["status"].tolist()
    ['in', 'in']
    >>> balance(grids, comms)["status"].tolist()
    ['under', 'in']
    """
    bands = bands or Bands()
    kinds = dict(
        zip(
            communities["code"].astype(str),
            communities.get("kind", pd.Series(dtype=object)),
            strict=False,
        )
    )
    rows = []
    for code, comm, hh in zip(
        layer["code"], layer["community_code"], layer["households"], strict=True
    ):
        kind = kinds.get(str(comm))
        low, high = bands.band(kind)
        n = None if pd.isna(hh) else int(hh)
        status = None if n is None else ("under" if n < low else "over" if n > high else "in")
        rows.append(
            {
                "code": str(code),
                "community_code": str(comm),
                "kind": kind,
                "households": n,
                "low": low,
                "high": high,
                "status": status,
            }  # fmt: skip
        )
    return pd.DataFrame(
        rows, columns=["code", "community_code", "kind", "households", "low", "high", "status"]
    )


# ----------------------------------------------------------------------------------- suggest
def _bisect(
    xy: np.ndarray, w: np.ndarray, k: int, low: int, high: int, local: np.ndarray
) -> list[np.ndarray] | None:
    """Recursive bisection of building points into ``k`` groups each within [low, high].

    At each level the points are ordered along an axis (x, y, and the principal axis, in metres)
    and cut where both sides can still reach the band; among the feasible cuts the widest gap
    between consecutive buildings wins, so parts follow open ground and roads.
    """
    idx = np.arange(len(w))
    if k == 1:
        return [idx] if low <= w.sum() <= high else None
    k1, k2 = k // 2, k - k // 2
    centred = local - local.mean(axis=0)
    axes = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    if len(w) > 2:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axes.insert(0, vt[0])
    best = None
    for axis in axes:
        proj = centred @ axis
        order = np.argsort(proj, kind="stable")
        cum = np.cumsum(w[order])
        total = cum[-1]
        for cut in range(1, len(w)):
            a = cum[cut - 1]
            if not (k1 * low <= a <= k1 * high and k2 * low <= total - a <= k2 * high):
                continue
            gap = proj[order[cut]] - proj[order[cut - 1]]
            balance_err = abs(a / total - k1 / k)
            score = gap - 50.0 * balance_err
            if best is None or score > best[0]:
                best = (score, order[:cut], order[cut:])
    if best is None:
        return None
    _, left, right = best
    a = _bisect(xy[left], w[left], k1, low, high, local[left])
    b = _bisect(xy[right], w[right], k2, low, high, local[right])
    if a is None or b is None:
        return None
    return [left[g] for g in a] + [right[g] for g in b]


def _split_suggestion(
    layer: gpd.GeoDataFrame, row, low: int, high: int, ctx: PlanContext
) -> dict[str, Any] | None:
    inside, frame = _buildings_in(row.geometry, ctx)
    if len(inside) < 2:
        return None
    pts, _ = ctx.points("buildings")
    inside = inside[assign_points(pts[inside], layer) == row.code]
    w = frame["households"].fillna(0).to_numpy()[inside].astype(float)
    total = w.sum()
    k = max(2, math.ceil(total / high))
    if total < k * low:
        return None
    xy = shapely.get_coordinates(pts[inside])
    local = shapely.get_coordinates(_metric(pts[inside], ctx.local_crs).array)
    groups = _bisect(xy, w, k, low, high, local)
    if groups is None:
        return None
    cells = _building_cells(row.geometry, list(frame.geometry.to_numpy()[inside]))
    parts = [_polygonal(shapely.union_all([cells[j] for j in g])) for g in groups]
    parts = _tidy(parts, ctx)
    return {
        "id": f"split:{row.code}",
        "kind": "split",
        "grids": [row.code],
        "reason": f"{int(total)} households > {high}: {k} parts of "
        + ", ".join(str(int(w[g].sum())) for g in groups),
        "households_after": [int(w[g].sum()) for g in groups],
        "edit": {
            "op": "divide",
            "params": {"grid": row.code, "parts": [mapping(p) for p in parts]},
        },
    }


def _tidy(parts: list, ctx: PlanContext) -> list:
    """Hand detached crumbs of a part to the part sharing the longest border with them.

    A part made of pieces that touch at a point is valid in degrees but may self-intersect once
    projected, so only each part's largest piece stays with it.
    """
    parts = list(parts)
    for i in range(len(parts)):
        pieces = list(shapely.get_parts(parts[i]))
        if len(pieces) < 2:
            continue
        areas = shapely.area(np.asarray(pieces, dtype=object))
        main = int(np.argmax(areas))
        for j, piece in enumerate(pieces):
            if j == main:
                continue
            lengths = [
                _border_m(piece, parts[o], ctx.local_crs) if o != i else -1.0
                for o in range(len(parts))
            ]
            o = int(np.argmax(lengths))
            if lengths[o] <= 0:  # touches the others at points only: the nearest takes it
                dist = [
                    shapely.distance(piece, q) if k != i else np.inf for k, q in enumerate(parts)
                ]
                o = int(np.argmin(dist))
            parts[o] = _polygonal(shapely.union_all([parts[o], piece]))
            parts[i] = _polygonal(shapely.difference(parts[i], piece))
    return parts


def _merge_suggestions(
    layer: gpd.GeoDataFrame, status: pd.DataFrame, ctx: PlanContext, used: set[str]
) -> list[dict[str, Any]]:
    """Greedy: from the emptiest under-full grid, add neighbours until the group is in band."""
    out = []
    hh = dict(zip(layer["code"], layer["households"].fillna(0).astype(int), strict=True))
    geoms = dict(zip(layer["code"], layer.geometry, strict=True))
    comm = dict(zip(layer["code"], layer["community_code"], strict=True))
    tree = shapely.STRtree(np.asarray(layer.geometry.array, dtype=object))
    codes = layer["code"].to_numpy()
    under = status.loc[status["status"] == "under"].sort_values(["households", "code"])
    for _, s in under.iterrows():
        if s.code in used:
            continue
        low, high = int(s.low), int(s.high)
        group, total = [s.code], hh[s.code]
        while total < low:
            cands = set()
            for g in group:
                for j in tree.query(geoms[g], "intersects"):
                    c = codes[j]
                    if c not in group and c not in used and comm[c] == comm[s.code]:
                        cands.add(c)
            options = []
            for c in sorted(cands):
                new_total = total + hh[c]
                if new_total > high:
                    continue
                border = max(_border_m(geoms[c], geoms[g], ctx.local_crs) for g in group)
                if border <= 0.5:
                    continue
                reach = 0 if new_total >= low else 1
                options.append((reach, abs(new_total - (low + high) / 2), -border, c))
            if not options:
                break
            c = min(options)[3]
            group.append(c)
            total += hh[c]
        if total < low or len(group) < 2:
            continue
        used.update(group)
        out.append(
            {
                "id": "merge:" + "+".join(sorted(group)),
                "kind": "merge",
                "grids": sorted(group),
                "reason": f"{hh[s.code]} households < {low}: merged {total}",
                "households_after": [int(total)],
                "edit": {"op": "merge", "params": {"grids": sorted(group)}},
            }
        )
    return out


def suggest(layer: gpd.GeoDataFrame, *, ctx: PlanContext) -> list[dict[str, Any]]:
    """Edits that bring out-of-band grids into their band where the buildings allow it.

    Over-full grids are divided into balanced parts by recursive bisection of their buildings
    (cells follow the gaps between buildings); under-full grids are merged with neighbours of the
    same community while the total stays in band. Each suggestion carries an ``edit`` (``op`` and
    ``params``) for :func:`apply_edit`; suggestions touch disjoint grids, so all can be accepted.
    """
    layer = _prepare(layer)
    status = balance(layer, ctx.communities, ctx.bands)
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    over = status.loc[status["status"] == "over"].sort_values("households", ascending=False)
    for _, s in over.iterrows():
        row = layer.iloc[_row(layer, s.code)]
        found = _split_suggestion(layer, row, int(s.low), int(s.high), ctx)
        if found is not None:
            out.append(found)
            used.add(s.code)
    out += _merge_suggestions(layer, status, ctx, used)
    return out


# ----------------------------------------------------------------------------------- diff
def diff_layers(
    before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, *, local_crs: str = "EPSG:4549",
    tolerance_m2: float = 0.01,
) -> gpd.GeoDataFrame:  # fmt: skip
    """Grids added, removed and changed between two layers, matched by code.

    Columns ``code``, ``change`` (added/removed/changed), ``name``, ``community_code``,
    ``households_before``, ``households_after``, ``area_changed_m2``, geometry (the new outline;
    the old one for a removed grid) and ``geometry_before`` (WKT of the old outline, or None).

    >>> import geopandas as gpd, shapely
    >>> a = gpd.GeoDataFrame({"code": ["x", "y"], "community_code": ["c", "c"], "households": [1, 2]},
    ...     geometry=[shapely.box(0, 0, 1e-3, 1e-3), shapely.box(1e-3, 0, 2e-3, 1e-3)], crs=4490)
    >>> b = a.iloc[[0]].copy(); b["households"] = [3]
    >>> diff_layers(a, b)[["code", "change"]].values.tolist()
    [['x', 'changed'], ['y', 'removed']]
    """
    a = before.set_index(before["code"].astype(str))
    b = after.set_index(after["code"].astype(str))
    rows = []
    for code in sorted(set(a.index) | set(b.index)):
        ra = a.loc[code] if code in a.index else None
        rb = b.loc[code] if code in b.index else None
        if ra is None or rb is None:
            change = "added" if ra is None else "removed"
            moved = 0.0
        else:
            moved = _area_m2(shapely.symmetric_difference(ra.geometry, rb.geometry), local_crs)
            same_attrs = all(
                (pd.isna(ra.get(f)) and pd.isna(rb.get(f))) or ra.get(f) == rb.get(f)
                for f in ("name", "households", "community_code")
            )
            if moved <= tolerance_m2 and same_attrs:
                continue
            change = "changed"
        src = rb if rb is not None else ra
        rows.append(
            {
                "code": code,
                "change": change,
                "name": src.get("name"),
                "community_code": src.get("community_code"),
                "households_before": None if ra is None or pd.isna(ra.get("households")) else int(ra["households"]),
                "households_after": None if rb is None or pd.isna(rb.get("households")) else int(rb["households"]),
                "area_changed_m2": round(moved, 2),
                "geometry_before": None if ra is None else ra.geometry.wkt,
                "geometry": src.geometry,
            }
        )  # fmt: skip
    cols = ["code", "change", "name", "community_code", "households_before", "households_after",
            "area_changed_m2", "geometry_before", "geometry"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS)
