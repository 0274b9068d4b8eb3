"""Repositories: the only SQL in the project. GeoDataFrames, dataclasses and dicts in and out.

One module per part of the store, as :mod:`geo_grid.db.models`: :mod:`.store` (meta facts),
:mod:`.grids` (layers, generations, grids), :mod:`.district` (admin areas, roster, address library),
:mod:`.cases`, :mod:`.checks`, :mod:`.gazetteer`, :mod:`.plans`, :mod:`.jobs` (the job queue), :mod:`.bulk` (indexes set aside during bulk loads), :mod:`.access`, and :mod:`.tiles` (vector tiles and
the small reads of the map pages). Shared helpers (COPY, quoted identifiers, WKB frames) live in
the private :mod:`._sql`.

Every function takes ``session`` first and never commits: the caller (a service, through
:func:`geo_grid.db.session.session_scope`) owns the transaction. Statements are constants with
bound parameters; names that cannot be bound go through :mod:`psycopg2.sql` (quoted by the driver).
Services use them as ``repos.grids.read_grids(session, ...)``.
"""

from __future__ import annotations

from geo_grid.db.repos import (
    access,
    bulk,
    cases,
    checks,
    district,
    gazetteer,
    grids,
    jobs,
    plans,
    store,
    tiles,
)

__all__ = [
    "access",
    "bulk",
    "cases",
    "checks",
    "district",
    "gazetteer",
    "grids",
    "jobs",
    "plans",
    "store",
    "tiles",
]
