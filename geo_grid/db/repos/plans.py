"""Plan storage: plans, their append-only edit log, the draft's grids and what a redraw touches.

Like every repository (:mod:`geo_grid.db.repos`), every function takes ``session`` first and never commits: the
service owns the transaction, so one edit (grids replaced + log row) is all or nothing, and so is a
publish (generation switch + cases re-gridded + plan closed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from geo_grid.db.repos._sql import bbox_params, read_table_frame, result_frame
from geo_grid.db.session import LOCK_NOT_AVAILABLE
from geo_grid.errors import Conflict, NotFound

__all__ = [
    "append_edit",
    "add_people",
    "chosen_roster_grids",
    "cases_table_exists",
    "changed_codes",
    "duplicate_codes",
    "touched_communities",
    "copy_grids",
    "delete_grids",
    "edit_snapshot",
    "get_plan",
    "grid_codes",
    "insert_plan",
    "list_edits",
    "list_plans",
    "people_in_district",
    "read_addresses",
    "read_buildings",
    "read_open_cases",
    "read_plan_roster",
    "record_case_regrid",
    "publish_roster",
    "replace_plan_roster",
    "restore_snapshot",
    "set_plan_status",
    "snapshot_grids",
    "touch_plan",
]

BBox = tuple[float, float, float, float]


#: ``geom`` within the box ``:minx..:maxy`` (see :func:`~geo_grid.db.repos._sql.bbox_params`), or any
#: row when they are NULL: psycopg2 inlines the NULLs and the planner drops the test.
_IN_BBOX = """(CAST(:minx AS float8) IS NULL
               OR geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4490))"""


# ---------------------------------------------------------------------------------- plans
def insert_plan(
    session: Session,
    *,
    layer: str,
    generation_id: int,
    base_generation_id: int | None,
    author: str | None = None,
    note: str | None = None,
) -> int:
    """A new open plan over draft ``generation_id`` (in its generation's district); returns its
    id."""
    return session.execute(
        text(
            "INSERT INTO plan (layer_key, district_code, generation_id, base_generation_id, "
            "author, note) SELECT :k, district_code, :g, :b, :a, :n FROM generation "
            "WHERE id = :g RETURNING id"
        ),
        {"k": layer, "g": generation_id, "b": base_generation_id, "a": author, "n": note},
    ).scalar_one()


def get_plan(
    session: Session, plan_id: int, *, lock: bool = False, wait_s: float | None = None
) -> dict[str, Any]:
    """One plan with its draft's number; ``lock`` serializes edits of the plan (FOR UPDATE).

    ``wait_s``: how long to wait for the lock (None: as long as it takes, as a job does); past
    it :class:`Conflict`, as a request should not wait behind a job of minutes on the plan (a
    404 for an unknown grid took 60 s behind an accept-all job in schemathesis's run)."""
    sql = """SELECT p.*, g.number AS generation, b.number AS base_generation,
                    (SELECT count(*) FROM plan_edit e WHERE e.plan_id = p.id) AS edits
             FROM plan p JOIN generation g ON g.id = p.generation_id
             LEFT JOIN generation b ON b.id = p.base_generation_id
             WHERE p.id = :id"""
    if lock:
        _lock_plan(session, plan_id, wait_s)
    row = session.execute(text(sql), {"id": plan_id}).mappings().first()
    if row is None:
        raise NotFound(f"plan: no plan with id {plan_id}", field="plan")
    return dict(row)


def _lock_plan(session: Session, plan_id: int, wait_s: float | None) -> None:
    lock = text("SELECT id FROM plan WHERE id = :id FOR UPDATE")
    if wait_s is None:
        session.execute(lock, {"id": plan_id})
        return
    timeout = f"{max(1, int(wait_s * 1000))}ms"
    session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": timeout})
    try:
        session.execute(lock, {"id": plan_id})
    except OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
            raise
        raise Conflict(
            f"plan: plan {plan_id} is being changed by another request or a job (accepting "
            f"suggestions, a publish); try again once it is done",
            field="plan",
        ) from None
    session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))


def list_plans(
    session: Session,
    *,
    layer: str | None = None,
    districts: Iterable[str] | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Plans (of one layer, of some districts, in one status; None: all)."""
    sql = """SELECT p.*, g.number AS generation, b.number AS base_generation,
                    (SELECT count(*) FROM plan_edit e WHERE e.plan_id = p.id) AS edits
             FROM plan p JOIN generation g ON g.id = p.generation_id
             LEFT JOIN generation b ON b.id = p.base_generation_id
             WHERE (CAST(:k AS text) IS NULL OR p.layer_key = :k)
               AND (CAST(:d AS text[]) IS NULL OR p.district_code = ANY(:d))
               AND (CAST(:s AS text) IS NULL OR p.status = :s)
             ORDER BY p.id"""
    params = {"k": layer, "d": None if districts is None else list(districts), "s": status}
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def set_plan_status(session: Session, plan_id: int, status: str, *, expected: str = "open") -> None:
    """Move a plan from ``expected`` to ``status``; :class:`Conflict` if it was not ``expected``."""
    done = session.execute(
        text(
            "UPDATE plan SET status = :s, updated_at = now(), "
            "published_at = CASE WHEN :s = 'published' THEN now() ELSE published_at END "
            "WHERE id = :id AND status = :e RETURNING id"
        ),
        {"s": status, "id": plan_id, "e": expected},
    ).scalar()
    if done is None:
        raise Conflict(f"plan: plan {plan_id} is not {expected}", field="plan")


def touch_plan(session: Session, plan_id: int) -> None:
    session.execute(text("UPDATE plan SET updated_at = now() WHERE id = :id"), {"id": plan_id})


def append_edit(
    session: Session,
    plan_id: int,
    *,
    op: str,
    params: Mapping[str, Any],
    impact: Mapping[str, Any],
    author: str | None = None,
) -> int:
    """Append one edit to the plan's log; returns its sequence number (1, 2, ...)."""
    return session.execute(
        text(
            "INSERT INTO plan_edit (plan_id, seq, op, params, impact, author) "
            "SELECT :p, coalesce(max(seq), 0) + 1, :op, CAST(:params AS jsonb), "
            "CAST(:impact AS jsonb), :a FROM plan_edit WHERE plan_id = :p RETURNING seq"
        ),
        {
            "p": plan_id,
            "op": op,
            "params": json.dumps(params, ensure_ascii=False, default=str),
            "impact": json.dumps(impact, ensure_ascii=False, default=str),
            "a": author,
        },
    ).scalar_one()


def list_edits(session: Session, plan_id: int) -> list[dict[str, Any]]:
    sql = "SELECT * FROM plan_edit WHERE plan_id = :p ORDER BY seq"
    return [dict(r) for r in session.execute(text(sql), {"p": plan_id}).mappings()]


# ---------------------------------------------------------------------------------- grids
def copy_grids(session: Session, *, source_id: int, target_id: int) -> int:
    """Copy every grid of generation ``source_id`` into ``target_id`` (server side, one statement);
    the copies take the target's district (a foreign key refuses another district's)."""
    result = session.execute(
        text(
            """INSERT INTO grid (generation_id, district_code, layer_key, code, name,
                                 community_code, street_code, households, area_m2, properties,
                                 geom)
               SELECT :t, (SELECT district_code FROM generation WHERE id = :t), layer_key, code,
                      name, community_code, street_code, households, area_m2, properties, geom
               FROM grid WHERE generation_id = :s ORDER BY code, id"""
        ),
        {"s": source_id, "t": target_id},
    )
    return int(result.rowcount)


def delete_grids(session: Session, generation_id: int, codes: Iterable[str]) -> int:
    result = session.execute(
        text("DELETE FROM grid WHERE generation_id = :g AND code = ANY(:c)"),
        {"g": generation_id, "c": list(codes)},
    )
    return int(result.rowcount)


def grid_codes(session: Session, generation_id: int | None) -> list[str]:
    if generation_id is None:
        return []
    rows = session.execute(
        text("SELECT code FROM grid WHERE generation_id = :g"), {"g": generation_id}
    )
    return [r[0] for r in rows]


def changed_codes(session: Session, generation_id: int, base_id: int | None) -> dict[str, str]:
    """Codes of generation ``generation_id`` that are ``added`` (not in ``base_id``) or
    ``changed`` (another outline, name or household count there); unchanged codes are left out."""
    sql = """SELECT g.code, CASE WHEN o.id IS NULL THEN 'added' ELSE 'changed' END AS change
             FROM grid g LEFT JOIN grid o
               ON o.generation_id = CAST(:b AS integer) AND o.code = g.code
             WHERE g.generation_id = :g
               AND (o.id IS NULL OR NOT ST_OrderingEquals(o.geom, g.geom)
                    OR o.name IS DISTINCT FROM g.name
                    OR o.households IS DISTINCT FROM g.households)
             ORDER BY g.code"""
    rows = session.execute(text(sql), {"g": generation_id, "b": base_id})
    return {r.code: r.change for r in rows}


def touched_communities(session: Session, generation_id: int, base_id: int) -> list[str | None]:
    """Communities of the grids generation ``generation_id`` adds, redraws, moves or drops
    against ``base_id`` (None: a grid without one): the only ones whose coverage it can change.
    Two index lookups per grid code of the two generations, in the database."""
    sql = """SELECT DISTINCT c FROM (
                 SELECT g.community_code AS c FROM grid g LEFT JOIN grid o
                   ON o.generation_id = :b AND o.code = g.code
                 WHERE g.generation_id = :g
                   AND (o.id IS NULL OR NOT ST_OrderingEquals(o.geom, g.geom)
                        OR o.community_code IS DISTINCT FROM g.community_code)
                 UNION ALL
                 SELECT o.community_code FROM grid o LEFT JOIN grid g
                   ON g.generation_id = :g AND g.code = o.code
                 WHERE o.generation_id = :b
                   AND (g.id IS NULL OR NOT ST_OrderingEquals(o.geom, g.geom)
                        OR o.community_code IS DISTINCT FROM g.community_code)) t
             ORDER BY c"""
    return [r[0] for r in session.execute(text(sql), {"g": generation_id, "b": base_id})]


def duplicate_codes(session: Session, generation_id: int, codes: Iterable[str]) -> dict[str, int]:
    """``codes`` used more than once in the generation, with how many times (the index on
    (generation, code) answers it without reading the other grids)."""
    sql = """SELECT code, count(*) AS n FROM grid
             WHERE generation_id = :g AND code = ANY(:codes) GROUP BY code HAVING count(*) > 1"""
    rows = session.execute(text(sql), {"g": generation_id, "codes": list(codes)})
    return {r.code: int(r.n) for r in rows}


# ---------------------------------------------------------------------------------- undo
#: The columns of a grid an edit's snapshot keeps (those of ``grid`` but its generation's).
_SNAPSHOT_COLUMNS = "code, name, community_code, street_code, households, area_m2, properties, geom"
_SNAPSHOT_SOURCE = (
    "s.code, s.name, s.community_code, s.street_code, s.households, s.area_m2, s.properties, s.geom"
)


def snapshot_grids(
    session: Session, plan_id: int, seq: int, side: str, *, generation_id: int,
    codes: Iterable[str],
) -> int:  # fmt: skip
    """Keep the draft's grids ``codes`` as edit ``seq`` found them (``side='before'``) or left
    them (``'after'``), whole rows, server side; returns how many."""
    result = session.execute(
        text(
            f"INSERT INTO plan_edit_grid (plan_id, seq, side, {_SNAPSHOT_COLUMNS}) "  # noqa: S608
            f"SELECT :p, :s, :side, {_SNAPSHOT_COLUMNS} FROM grid "
            "WHERE generation_id = :g AND code = ANY(:c) ORDER BY code"
        ),
        {"p": plan_id, "s": seq, "side": side, "g": generation_id, "c": sorted(set(codes))},
    )
    return int(result.rowcount)


def edit_snapshot(session: Session, plan_id: int, seq: int) -> pd.DataFrame:
    """The grids edit ``seq`` replaced (``side`` ``before``) and left (``after``): ``side``,
    ``code``, ``community_code``; no rows when the edit kept none (made before undo was
    recorded, or a whole file imported)."""
    result = session.execute(
        text(
            "SELECT side, code, community_code FROM plan_edit_grid "
            "WHERE plan_id = :p AND seq = :s ORDER BY side, code"
        ),
        {"p": plan_id, "s": seq},
    )
    return result_frame(result)


def restore_snapshot(session: Session, plan_id: int, seq: int, *, generation_id: int) -> int:
    """Put the grids edit ``seq`` replaced back into the draft ``generation_id`` (its district
    and layer), server side; returns how many."""
    result = session.execute(
        text(
            f"""INSERT INTO grid (generation_id, district_code, layer_key, {_SNAPSHOT_COLUMNS})
                SELECT n.id, n.district_code, n.layer_key, {_SNAPSHOT_SOURCE}
                FROM plan_edit_grid s JOIN generation n ON n.id = :g
                WHERE s.plan_id = :p AND s.seq = :s AND s.side = 'before' ORDER BY s.code"""  # noqa: S608
        ),
        {"p": plan_id, "s": seq, "g": generation_id},
    )
    return int(result.rowcount)


# ---------------------------------------------------------------------------------- roster
def read_plan_roster(
    session: Session, plan_id: int, codes: Iterable[str] | None = None
) -> pd.DataFrame:
    """The people the plan puts on duty (``grid_code``, ``person_id``, ``name``, ``role``),
    optionally in some grids only."""
    sql = """SELECT r.grid_code, r.person_id, p.name, r.role, r.author, r.created_at
             FROM plan_roster r JOIN person p ON p.id = r.person_id
             WHERE r.plan_id = :p AND (CAST(:c AS text[]) IS NULL OR r.grid_code = ANY(:c))
             ORDER BY r.grid_code, r.role, r.person_id"""
    result = session.execute(text(sql), {"p": plan_id, "c": None if codes is None else list(codes)})
    return result_frame(result)


def replace_plan_roster(
    session: Session,
    plan_id: int,
    grid_code: str,
    entries: Sequence[Mapping[str, str]],
    *,
    author: str | None = None,
) -> int:
    """The plan's people on duty in ``grid_code`` become ``entries`` (``person_id``, ``role``),
    and the grid is one whose roster the planner chose (``plan_roster_grid``); returns how many.
    The plan's draft, so replacing is what the planner asks for."""
    session.execute(
        text("DELETE FROM plan_roster WHERE plan_id = :p AND grid_code = :g"),
        {"p": plan_id, "g": grid_code},
    )
    session.execute(
        text(
            "INSERT INTO plan_roster_grid (plan_id, grid_code, author) VALUES (:p, :g, :a) "
            "ON CONFLICT (plan_id, grid_code) DO UPDATE SET author = excluded.author, "
            "updated_at = now()"
        ),
        {"p": plan_id, "g": grid_code, "a": author},
    )
    for entry in entries:
        session.execute(
            text(
                "INSERT INTO plan_roster (plan_id, grid_code, person_id, role, author) "
                "VALUES (:p, :g, :person, :role, :a) ON CONFLICT DO NOTHING"
            ),
            {
                "p": plan_id,
                "g": grid_code,
                "person": entry["person_id"],
                "role": entry["role"],
                "a": author,
            },  # fmt: skip
        )
    return len(entries)


def chosen_roster_grids(session: Session, plan_id: int) -> list[str]:
    """The grids of the plan whose roster the planner set (:func:`replace_plan_roster`)."""
    rows = session.execute(
        text("SELECT grid_code FROM plan_roster_grid WHERE plan_id = :p ORDER BY grid_code"),
        {"p": plan_id},
    )
    return [r[0] for r in rows]


def add_people(session: Session, people: Sequence[Mapping[str, Any]], *, district: str) -> int:
    """Store people of ``district`` (``person_id``, ``name``, ``phone``) met for the first time;
    one already stored under the same id (the same name and phone:
    :func:`geo_grid.roster.person_id_for`) is kept as it is. Returns how many were new."""
    if not people:
        return 0
    result = session.execute(
        text(
            "INSERT INTO person (id, name, phone, district_code) "
            "SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:names AS text[]), "
            "CAST(:phones AS text[]), CAST(:ds AS text[])) ON CONFLICT (id) DO NOTHING"
        ),
        {
            "ids": [p["person_id"] for p in people],
            "names": [p["name"] for p in people],
            "phones": [p.get("phone") for p in people],
            "ds": [district] * len(people),
        },  # fmt: skip
    )
    return int(result.rowcount)


def publish_roster(
    session: Session,
    *,
    plan_id: int,
    moved: Mapping[int, str],
    retired: Sequence[int],
    added: Sequence[Mapping[str, str]],
) -> dict[str, int]:
    """Write what publishing the plan does to the roster of its layer and district
    (:func:`geo_grid.plans.roster_changes`): rows ``moved`` (id → new grid code), rows
    ``retired`` (no longer active; kept), and the planned rows ``added`` (``grid_code``,
    ``person_id``, ``role``), each once. Counts of each."""
    if moved:
        session.execute(
            text(
                "UPDATE roster r SET grid_code = m.code FROM unnest(CAST(:ids AS integer[]), "
                "CAST(:codes AS text[])) AS m(id, code) WHERE r.id = m.id"
            ),
            {"ids": list(moved), "codes": list(moved.values())},
        )
    if retired:
        session.execute(
            text("UPDATE roster SET active = false WHERE id = ANY(:ids)"), {"ids": list(retired)}
        )
    result = session.execute(
        text(
            """INSERT INTO roster (person_id, district_code, role, layer_key, grid_code)
               SELECT DISTINCT a.person_id, p.district_code, a.role, p.layer_key, a.grid_code
               FROM unnest(CAST(:codes AS text[]), CAST(:people AS text[]),
                           CAST(:roles AS text[])) AS a(grid_code, person_id, role)
               JOIN plan p ON p.id = :p
               WHERE NOT EXISTS (SELECT 1 FROM roster o
                                 WHERE o.active AND o.layer_key = p.layer_key
                                   AND o.district_code = p.district_code
                                   AND o.grid_code = a.grid_code
                                   AND o.person_id = a.person_id AND o.role = a.role)"""
        ),
        {
            "p": plan_id,
            "codes": [a["grid_code"] for a in added],
            "people": [a["person_id"] for a in added],
            "roles": [a["role"] for a in added],
        },  # fmt: skip
    )
    return {"moved": len(moved), "retired": len(retired), "added": int(result.rowcount)}


def people_in_district(session: Session, ids: Iterable[str], district: str) -> pd.DataFrame:
    """The people of ``district`` among ``ids`` (``person_id``, ``name``)."""
    result = session.execute(
        text(
            "SELECT id AS person_id, name FROM person WHERE district_code = :d AND id = ANY(:i) "
            "ORDER BY id"
        ),
        {"d": district, "i": list(ids)},
    )
    return result_frame(result)


# ---------------------------------------------------------------------------------- context
def read_buildings(
    session: Session, *, district: str, bbox: BBox | None = None
) -> gpd.GeoDataFrame:
    """Building footprints (``code``, ``households``) of ``district`` intersecting a lon/lat
    bbox."""
    sql = (
        """SELECT code, households, community_code, ST_AsBinary(geom) AS geom FROM building
             WHERE district_code = :district AND """
        + _IN_BBOX
        + " ORDER BY code"
    )
    return read_table_frame(session, sql, {"district": district, **bbox_params(bbox)})


def read_buildings_near(
    session: Session, *, district: str, boxes: Sequence[BBox]
) -> gpd.GeoDataFrame:
    """:func:`read_buildings` of several lon/lat boxes at once (each building once, in code
    order): the footprints a plan's suggestions weigh, those of its over-full grids, read by the
    spatial index instead of every footprint of the district."""
    sql = """SELECT DISTINCT ON (b.code) b.code, b.households, b.community_code,
                    ST_AsBinary(b.geom) AS geom
               FROM building b
               JOIN unnest(CAST(:minx AS float8[]), CAST(:miny AS float8[]),
                           CAST(:maxx AS float8[]), CAST(:maxy AS float8[])) AS e(x0, y0, x1, y1)
                 ON b.geom && ST_MakeEnvelope(e.x0, e.y0, e.x1, e.y1, 4490)
              WHERE b.district_code = :district
              ORDER BY b.code"""
    columns = list(zip(*[[float(v) for v in box] for box in boxes], strict=True)) or [()] * 4
    params = dict(zip(("minx", "miny", "maxx", "maxy"), map(list, columns), strict=True))
    return read_table_frame(session, sql, {"district": district, **params})


def read_addresses(
    session: Session, *, district: str, bbox: BBox | None = None
) -> gpd.GeoDataFrame:
    """Address points (``address_id``) of ``district`` inside a lon/lat bbox."""
    sql = (
        """SELECT id AS address_id, ST_AsBinary(geom) AS geom FROM address
             WHERE district_code = :district AND """
        + _IN_BBOX
        + " ORDER BY id"
    )
    return read_table_frame(session, sql, {"district": district, **bbox_params(bbox)})


def cases_table_exists(session: Session) -> bool:
    """Whether the cases migration has been applied (plans work without it)."""
    return session.execute(text("SELECT to_regclass('public.case') IS NOT NULL")).scalar_one()


def read_open_cases(
    session: Session, *, closed_states: Sequence[str], district: str, bbox: BBox | None = None
) -> gpd.GeoDataFrame | None:
    """Open cases of ``district`` with a location (``id``, ``grid_code``); None when there is no
    case table."""
    if not cases_table_exists(session):
        return None
    params: dict[str, Any] = {"closed": list(closed_states), "d": district, **bbox_params(bbox)}
    sql = (
        """SELECT id, grid_code, ST_AsBinary(geom) AS geom FROM "case"
             WHERE geom IS NOT NULL AND status <> ALL(:closed) AND district_code = :d
               AND """
        + _IN_BBOX
        + " ORDER BY id"
    )
    return read_table_frame(session, sql, params)


def record_case_regrid(
    session: Session,
    *,
    layer: str,
    generation_id: int,
    closed_states: Sequence[str],
    plan_id: int | None = None,
    previous_id: int | None = None,
) -> int:
    """Record on every open case of the generation's district the grid of the new generation
    that its point falls in (no other district's case is read or written).

    With ``previous_id`` (the generation it replaces) only cases inside grids that are new or
    redrawn are looked at: a one-grid split reads the cases of two grids, not of the district.

    The case keeps the grid it was routed to (``grid_code`` / ``grids``) — its handlers do not
    change mid-way — and gains an entry in ``routing -> 'replanned'`` and a ``replan`` event in its
    append-only audit log (every step recorded); its version is bumped so a concurrent edit of the
    case sees the change. Returns how many cases changed grid.
    """
    if not cases_table_exists(session):
        return 0
    sql = """
        WITH changed AS (
            SELECT g.geom FROM grid g
            WHERE g.generation_id = :gid
              AND NOT EXISTS (SELECT 1 FROM grid o
                              WHERE o.generation_id = CAST(:prev AS integer) AND o.code = g.code
                                AND ST_OrderingEquals(o.geom, g.geom))
        ), candidates AS (
            SELECT DISTINCT c.id FROM "case" c JOIN changed ch ON ST_Intersects(ch.geom, c.geom)
            WHERE c.geom IS NOT NULL AND c.status <> ALL(:closed)
              AND c.district_code = (SELECT district_code FROM generation WHERE id = :gid)
        ), hit AS (
            SELECT DISTINCT ON (c.id) c.id, g.code AS new_code,
                   coalesce(c.grids ->> :layer,
                            CASE WHEN :layer = 'unified' THEN c.grid_code END) AS old_code
            FROM "case" c JOIN candidates USING (id)
            JOIN grid g ON g.generation_id = :gid AND ST_Intersects(g.geom, c.geom)
            ORDER BY c.id, g.code
        )
        , moved AS (
        UPDATE "case" c
        SET routing = jsonb_set(
                coalesce(c.routing, '{}'::jsonb), '{replanned}',
                coalesce(c.routing -> 'replanned', '[]'::jsonb) || jsonb_build_array(
                    jsonb_build_object('layer', CAST(:layer AS text), 'generation_id', :gid,
                                       'plan_id', CAST(:plan AS integer),
                                       'routed_grid', hit.old_code, 'grid_code', hit.new_code,
                                       'at', now()))),
            version = c.version + 1,
            updated_at = now()
        FROM hit
        WHERE c.id = hit.id AND hit.old_code IS DISTINCT FROM hit.new_code
        RETURNING c.id, c.status, hit.old_code, hit.new_code
        )
        INSERT INTO case_event (case_id, action, from_status, to_status, actor, role, at, note, data)
        SELECT id, 'replan', status, status, 'system:publish', 'system', now(),
               'grid redrawn: routed grid kept, new grid recorded',
               jsonb_build_object('layer', CAST(:layer AS text), 'generation_id', :gid,
                                  'plan_id', CAST(:plan AS integer),
                                  'routed_grid', old_code, 'grid_code', new_code)
        FROM moved
    """
    result = session.execute(
        text(sql),
        {
            "layer": layer,
            "gid": generation_id,
            "closed": list(closed_states),
            "plan": plan_id,
            "prev": previous_id,
        },  # fmt: skip
    )
    return int(result.rowcount)


def frame_bbox(frame: gpd.GeoDataFrame | pd.DataFrame, margin: float = 1e-4) -> BBox:
    """The bounds of a frame's geometries, widened by ``margin`` degrees."""
    minx, miny, maxx, maxy = frame.total_bounds
    return (minx - margin, miny - margin, maxx + margin, maxy + margin)
