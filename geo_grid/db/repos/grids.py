"""SQL of the layer store: layers, their generations (draft → published → retired) and grids.

A layer key names the layer in every district; each district has its own line of generations of it
(numbered 1, 2, ... per district) and at most one published generation. Writers of one (layer,
district) are serialized by a transaction-scoped advisory lock, never by a lock another district's
publish would wait on.

Every repository function takes ``session`` (keyword-only where it helps) and never commits: the
caller (a service) owns the transaction, so a multi-step action (create a generation, load its
grids, publish it) is all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.db.repos._sql import bbox_params, copy_frame, read_table_frame
from geo_grid.errors import Conflict, NotFound
from geo_grid.layers import BUILTIN_LAYERS

__all__ = [
    "GRID_COLUMNS",
    "counts_by_layer",
    "count_grids",
    "grid_codes",
    "create_generation",
    "ensure_layer",
    "generation_row",
    "insert_grids",
    "list_generations",
    "list_layers",
    "lock_layer",
    "publish_generation",
    "published_generations",
    "read_grids",
    "resolve_generation",
]


# ---------------------------------------------------------------------------------- layers
def list_layers(session: Session, districts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every layer in every district (of ``districts`` only, when given), with its published
    generation there, that generation's grid count and households, and the district's drafts.

    ``district_code`` is None on the rows of a store with no district yet (one row per layer)."""
    sql = """
        SELECT l.key, l.name_zh, l.department, d.code AS district_code,
               g.id AS generation_id, g.number AS generation, g.published_at,
               (SELECT count(*) FROM grid WHERE generation_id = g.id) AS grids,
               (SELECT coalesce(sum(households), 0) FROM grid WHERE generation_id = g.id) AS households,
               (SELECT count(*) FROM generation n WHERE n.layer_key = l.key
                  AND n.district_code = d.code AND n.status = 'draft') AS drafts
        FROM layer l
        LEFT JOIN district d ON CAST(:codes AS text[]) IS NULL OR d.code = ANY(:codes)
        LEFT JOIN generation g ON g.layer_key = l.key AND g.district_code = d.code
                              AND g.status = 'published'
        ORDER BY d.code, coalesce(array_position(CAST(:order AS text[]), CAST(l.key AS text)), 1000),
                 l.created_at, l.key
    """
    params = {"order": [info.key for info in BUILTIN_LAYERS],
              "codes": None if districts is None else list(districts)}  # fmt: skip
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def _require_layer(session: Session, layer: str) -> None:
    """:class:`NotFound` naming the known layers when ``layer`` is not one (the row is then
    held FOR KEY SHARE: it cannot go away, and other districts' writers are not blocked)."""
    found = session.execute(
        text("SELECT key FROM layer WHERE key = :k FOR KEY SHARE"), {"k": layer}
    ).scalar()
    if found is None:
        known = ", ".join(r[0] for r in session.execute(text("SELECT key FROM layer ORDER BY key")))
        raise NotFound(f"layer: unknown layer {layer!r} (known: {known})", field="layer")


def lock_layer(session: Session, layer: str, district: str) -> None:
    """Serialize the writers of one layer in one district (publishing, numbering) until the
    transaction ends; 404 if the layer is unknown. Another district's writers go on: the lock is
    an advisory lock on (layer, district), not on a row they share."""
    _require_layer(session, layer)
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 4490))"),
        {"k": f"generation\x1f{layer}\x1f{district}"},
    )


def ensure_layer(session: Session, key: str, name_zh: str, department: str | None = None) -> None:
    session.execute(
        text(
            "INSERT INTO layer (key, name_zh, department) VALUES (:k, :n, :d) "
            "ON CONFLICT (key) DO NOTHING"
        ),
        {"k": key, "n": name_zh, "d": department},
    )


# ---------------------------------------------------------------------------------- generations
def create_generation(
    session: Session,
    *,
    layer: str,
    district: str,
    author: str | None = None,
    note: str | None = None,
    source: str | None = None,
    parent_id: int | None = None,
) -> int:
    """Create a draft generation of ``layer`` in ``district``, numbered after that district's
    last one; returns its id."""
    lock_layer(session, layer, district)
    number = session.execute(
        text(
            "SELECT coalesce(max(number), 0) + 1 FROM generation "
            "WHERE layer_key = :k AND district_code = :d"
        ),
        {"k": layer, "d": district},
    ).scalar_one()
    return session.execute(
        text(
            "INSERT INTO generation (layer_key, district_code, number, status, author, note, "
            "source, parent_id) VALUES (:k, :d, :n, 'draft', :a, :note, :s, :p) RETURNING id"
        ),
        {"k": layer, "d": district, "n": number, "a": author, "note": note, "s": source,
         "p": parent_id},
    ).scalar_one()  # fmt: skip


def generation_row(session: Session, generation_id: int) -> dict[str, Any]:
    row = (
        session.execute(text("SELECT * FROM generation WHERE id = :id"), {"id": generation_id})
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"generation: no generation with id {generation_id}", field="generation")
    return dict(row)


def count_grids(session: Session, generation_id: int) -> int:
    """How many grids a generation has (from the index on generation)."""
    sql = "SELECT count(*) FROM grid WHERE generation_id = :g"
    return int(session.execute(text(sql), {"g": generation_id}).scalar_one())


def grid_codes(session: Session, generation_id: int) -> set[str]:
    """The codes of a generation's grids (from the index on (generation, code))."""
    sql = "SELECT code FROM grid WHERE generation_id = :g"
    return {str(r[0]) for r in session.execute(text(sql), {"g": generation_id})}


def list_generations(session: Session, layer: str, district: str) -> list[dict[str, Any]]:
    sql = """SELECT g.*, (SELECT count(*) FROM grid WHERE generation_id = g.id) AS grids
             FROM generation g WHERE layer_key = :k AND district_code = :d ORDER BY number"""
    return [dict(r) for r in session.execute(text(sql), {"k": layer, "d": district}).mappings()]


def resolve_generation(
    session: Session, layer: str, generation: int | None = None, *, district: str
) -> dict[str, Any]:
    """The layer's generation in ``district`` by number, or its published one when
    ``generation`` is None."""
    known = session.execute(text("SELECT key FROM layer WHERE key = :k"), {"k": layer}).scalar()
    if known is None:
        keys = ", ".join(r[0] for r in session.execute(text("SELECT key FROM layer ORDER BY key")))
        raise NotFound(f"layer: unknown layer {layer!r} (known: {keys})", field="layer")
    params = {"k": layer, "d": district, "n": generation}
    if generation is None:
        sql = """SELECT * FROM generation
                 WHERE layer_key = :k AND district_code = :d AND status = 'published'"""
        row = session.execute(text(sql), params).mappings().first()
        if row is None:
            raise NotFound(
                f"generation: layer {layer!r} has no published generation in district {district}",
                field="generation",
            )
    else:
        sql = """SELECT * FROM generation
                 WHERE layer_key = :k AND district_code = :d AND number = :n"""
        row = session.execute(text(sql), params).mappings().first()
        if row is None:
            raise NotFound(
                f"generation: layer {layer!r} has no generation {generation} in district "
                f"{district}",
                field="generation",
            )
    return dict(row)


def publish_generation(
    session: Session,
    generation_id: int,
    *,
    expected_published: int | None = None,
    dry_run: bool = False,
) -> int | None:
    """Retire the published generation of the draft's layer in its district and publish the
    draft, atomically; no other district's row is read or written.

    Returns the id of the generation that was retired (or None). ``expected_published`` lets a
    caller say which generation it based its work on: if another publish happened meanwhile, the
    call raises :class:`Conflict` instead of silently overwriting it. ``dry_run`` makes the same
    checks under the same lock and returns what would be retired, changing nothing.
    """
    gen = generation_row(session, generation_id)
    lock_layer(session, gen["layer_key"], gen["district_code"])
    gen = generation_row(session, generation_id)  # re-read under the lock
    if gen["status"] != "draft":
        raise Conflict(
            f"generation: generation {gen['number']} of {gen['layer_key']} is {gen['status']}, not a draft",
            field="generation",
        )
    current = session.execute(
        text(
            "SELECT id FROM generation WHERE layer_key = :k AND district_code = :d "
            "AND status = 'published'"
        ),
        {"k": gen["layer_key"], "d": gen["district_code"]},
    ).scalar()
    if expected_published is not None and current != expected_published:
        raise Conflict(
            f"generation: layer {gen['layer_key']} of district {gen['district_code']} was "
            "published by someone else meanwhile",
            field="generation",
        )
    if dry_run:
        return current
    if current is not None:
        session.execute(
            text("UPDATE generation SET status = 'retired', retired_at = now() WHERE id = :id"),
            {"id": current},
        )
    session.execute(
        text("UPDATE generation SET status = 'published', published_at = now() WHERE id = :id"),
        {"id": generation_id},
    )
    return current


def published_generations(
    session: Session, districts: Sequence[str] | None = None
) -> dict[tuple[str, str], int]:
    """``{(district, layer): generation id}`` of every published generation (of ``districts``
    only, when given): the identity of the locate index and of the map pages."""
    rows = session.execute(
        text(
            "SELECT district_code, layer_key, id FROM generation WHERE status = 'published' "
            "AND (CAST(:codes AS text[]) IS NULL OR district_code = ANY(:codes))"
        ),
        {"codes": None if districts is None else list(districts)},
    )
    return {(d, k): int(v) for d, k, v in rows}


# ---------------------------------------------------------------------------------- grids
GRID_COLUMNS = (
    "generation_id",
    "district_code",
    "layer_key",
    "code",
    "name",
    "community_code",
    "street_code",
    "households",
    "area_m2",
    "properties",
    "geom",
)


def insert_grids(session: Session, generation_id: int, layer: str, grids: gpd.GeoDataFrame) -> int:
    """COPY a layer's grids (EPSG:4490, with ``area_m2`` computed by the caller) into a
    generation; they take its district (a unified code outside it is refused by a CHECK)."""
    district = generation_row(session, generation_id)["district_code"]
    frame = pd.DataFrame(
        {
            "generation_id": generation_id,
            "district_code": district,
            "layer_key": layer,
            "code": grids["code"].astype(str).to_numpy(),
            "name": grids["name"].to_numpy() if "name" in grids else None,
            "community_code": grids["community_code"].to_numpy()
            if "community_code" in grids
            else None,
            "street_code": grids["street_code"].to_numpy() if "street_code" in grids else None,
            "households": grids["households"].astype("Int64").to_numpy()
            if "households" in grids
            else None,
            "area_m2": grids["area_m2"].to_numpy(),
            "properties": [
                json.dumps(p if isinstance(p, dict) else {}, ensure_ascii=False, default=str)
                for p in (grids["properties"] if "properties" in grids else [{}] * len(grids))
            ],
            "geom": shapely.force_2d(grids.geometry.to_numpy()),
        }
    )
    return copy_frame(session, "grid", frame, GRID_COLUMNS)


def read_grids(
    session: Session,
    *,
    generation_id: int,
    bbox: tuple[float, float, float, float] | None = None,
    codes: Iterable[str] | None = None,
    communities: Iterable[str | None] | None = None,
) -> gpd.GeoDataFrame:
    """Grids of one generation, optionally within a lon/lat bbox or restricted to codes or to
    communities (None among them: the grids without one).

    One constant statement: an absent filter is a NULL parameter, which psycopg2 inlines, so the
    planner folds ``NULL IS NULL`` away and still uses the spatial and code indexes.
    """
    params: dict[str, Any] = {"gid": generation_id, **bbox_params(bbox)}
    params["codes"] = None if codes is None else list(codes)
    chosen = None if communities is None else list(communities)
    params["comms"] = None if chosen is None else [c for c in chosen if c is not None]
    params["no_comm"] = chosen is not None and None in chosen
    sql = """SELECT id, layer_key AS layer, code, name, community_code, street_code, households,
                    area_m2, properties, district_code, ST_AsBinary(geom) AS geom
             FROM grid WHERE generation_id = :gid
               AND (CAST(:minx AS float8) IS NULL
                    OR geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4490))
               AND (CAST(:codes AS text[]) IS NULL OR code = ANY(:codes))
               AND (CAST(:comms AS text[]) IS NULL OR community_code = ANY(:comms)
                    OR (:no_comm AND community_code IS NULL))
             ORDER BY code, id"""
    return read_table_frame(session, sql, params)


def counts_by_layer(session: Session) -> dict[str, dict[str, int]]:
    """Grids per layer in the published generation of each district (``/health``):
    ``{district: {layer: grids}}``, every layer listed for every district."""
    sql = """SELECT d.code, l.key, count(g.id) FROM district d CROSS JOIN layer l
             LEFT JOIN generation gen ON gen.layer_key = l.key AND gen.district_code = d.code
                                     AND gen.status = 'published'
             LEFT JOIN grid g ON g.generation_id = gen.id
             GROUP BY d.code, l.key ORDER BY d.code, l.key"""
    out: dict[str, dict[str, int]] = {}
    for district, layer, n in session.execute(text(sql)):
        out.setdefault(district, {})[layer] = int(n)
    return out
