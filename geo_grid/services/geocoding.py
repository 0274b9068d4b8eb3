"""Geocoding use cases: one address, a batch (list or CSV), a point's grids, the nearest address.

The CLI and the API both call these, so the shape of an answer (which columns a batch adds, how many
rows a batch may hold) is decided once, here. The geocoder and the locate index come from
:mod:`geo_grid.services.index`, which keeps them in memory and rebuilds them after a publish; a
call here never reads the address library itself.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from geo_grid.access import mask_phone
from geo_grid.address import GeocodeResult, ReverseResult
from geo_grid.errors import BadInput
from geo_grid.layers import UNIFIED
from geo_grid.locate import LocateResult
from geo_grid.services import index

__all__ = [
    "BATCH_COLUMNS",
    "LOCATE_MAX_AGE_S",
    "MAX_BATCH",
    "batch_answer",
    "batch_rows",
    "geocode",
    "geocode_batch",
    "geocode_table",
    "layer_keys",
    "locate",
    "read_address_csv",
    "reverse",
]

#: The most addresses one batch request may carry (the API refuses more; the CLI chunks files).
MAX_BATCH = 10_000

#: Columns a batch adds to each row, before the per-layer ``grid_<layer>`` columns.
BATCH_COLUMNS: tuple[str, ...] = (
    "status",
    "grid_code",
    "match_level",
    "confidence",
    "lon",
    "lat",
    "address_id",
    "matched_text",
    "reason",
)

_CHUNK = 500

#: How stale the locate index may be for :func:`locate` (seconds): the publish check is a database
#: round trip that would otherwise be most of a locate request's time.
LOCATE_MAX_AGE_S = 1.0
_ENCODINGS = ("utf-8-sig", "gb18030")


def geocode(text: str, *, districts: Sequence[str] | None = None) -> GeocodeResult:
    """Geocode one free-text address against the address libraries of ``districts`` (the
    caller's; None: every district served).

    Blank text is refused (a caller error, not an "unmatched" address).
    """
    if not isinstance(text, str) or not text.strip():
        raise BadInput("q: the address text is empty", field="q")
    return index.get_geocoder().geocode(text, districts)


def layer_keys() -> list[str]:
    """The published layers, unified first: the ``grid_<layer>`` columns a batch adds."""
    layers = list(index.get_locator().layers)
    return sorted(layers, key=lambda k: (k != UNIFIED, k))


def batch_rows(results: Iterable[GeocodeResult], layers: Sequence[str]) -> list[dict[str, Any]]:
    """One flat row per result: :data:`BATCH_COLUMNS` then ``grid_<layer>`` for each layer.

    An answer that is not ``matched`` carries no grid (its point, if any, is only a hint), so a
    spreadsheet filtered on ``grid_code`` never sends a case to a guessed grid.
    """
    rows = []
    for r in results:
        matched = r.status == "matched"
        row: dict[str, Any] = {
            "status": r.status,
            "grid_code": r.grid_code if matched else None,
            "match_level": r.level,
            "confidence": r.confidence,
            "lon": r.lon if matched else None,
            "lat": r.lat if matched else None,
            "address_id": r.address_id if matched else None,
            "matched_text": r.matched_text if matched else None,
            "reason": r.reason,
        }
        for layer in layers:
            row[f"grid_{layer}"] = r.grids.get(layer) if matched else None
        rows.append(row)
    return rows


def geocode_batch(
    texts: Sequence[Any],
    *,
    limit: int | None = MAX_BATCH,
    field: str = "addresses",
    progress: Callable[[int], None] | None = None,
    districts: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Geocode many addresses in ``districts`` (None: all); one row per input (see
    :func:`batch_rows`), input order kept.

    ``limit`` caps the count (``None``: no cap, for files on the command line); ``progress`` is
    called with the number of addresses done after each chunk. A blank or missing cell gives an
    ``unmatched`` row with its reason rather than failing the whole batch.
    """
    texts = list(texts)
    if limit is not None and len(texts) > limit:
        raise BadInput(f"{field}: {len(texts)} addresses, at most {limit} per batch", field=field)
    geocoder = index.get_geocoder()
    layers = layer_keys()
    rows: list[dict[str, Any]] = []
    for start in range(0, len(texts), _CHUNK):
        chunk = ["" if _blank(t) else str(t) for t in texts[start : start + _CHUNK]]
        rows += batch_rows(geocoder.geocode_many(chunk, districts), layers)
        if progress is not None:
            progress(len(rows))
    for text, row in zip(texts, rows, strict=True):
        row["query"] = None if _blank(text) else str(text)
    return rows


def batch_answer(
    texts: Sequence[Any],
    *,
    field: str = "addresses",
    districts: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """A batch geocode as the API answers it (in the request or as a job's result): ``{data,
    count, matched, ambiguous, unmatched}``, each row numbered (``row``) with its layers' grids
    under ``grids``. At most :data:`MAX_BATCH` addresses (:class:`BadInput` naming ``field``)."""
    rows = geocode_batch(texts, field=field, districts=districts, progress=progress)
    data = []
    for i, row in enumerate(rows):
        layers = [k for k in row if k.startswith("grid_") and k != "grid_code"]
        grids = {k.removeprefix("grid_"): row.pop(k) for k in layers}
        data.append({"row": i, **row, "grids": grids})
    counts = {s: sum(r["status"] == s for r in data) for s in ("matched", "ambiguous", "unmatched")}
    return {"data": data, "count": len(data), **counts}


def read_address_csv(
    source: Path | str | bytes,
    column: str,
    *,
    label: str | None = None,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Read a CSV of addresses (UTF-8, UTF-8 with BOM or GB18030), every column as text.

    ``label`` names the file in messages (default: its path; an upload's client file name).
    ``max_rows`` refuses a file with more addresses after reading one row past it, not the
    whole file. Raises :class:`BadInput` naming the file or the column when it cannot be used.
    """
    name = label or ("upload" if isinstance(source, bytes) else str(source))
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise BadInput(f"{name}: no such file", field="file")
    frame = None
    for encoding in _ENCODINGS:
        try:
            frame = pd.read_csv(
                io.BytesIO(source) if isinstance(source, bytes) else Path(source),
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                nrows=None if max_rows is None else max_rows + 1,
            )
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise BadInput(f"{name}: not a readable CSV ({exc})", field="file") from exc
    if frame is None:
        raise BadInput(f"{name}: not UTF-8 or GB18030 text", field="file")
    if max_rows is not None and len(frame) > max_rows:
        raise BadInput(f"{name}: more than {max_rows} addresses, at most {max_rows} per batch",
                       field="file")  # fmt: skip
    if column not in frame.columns:
        known = ", ".join(map(str, frame.columns[:20]))
        raise BadInput(f"column: no column {column!r} in {name} (columns: {known})", field="column")
    return frame


def geocode_table(
    frame: pd.DataFrame,
    column: str,
    *,
    limit: int | None = MAX_BATCH,
    progress: Callable[[int], None] | None = None,
    districts: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The input table with the batch columns added (replacing same-named ones), order kept."""
    if column not in frame.columns:
        raise BadInput(f"column: no column {column!r}", field="column")
    rows = geocode_batch(
        frame[column].tolist(), limit=limit, field="file", progress=progress, districts=districts
    )
    added = pd.DataFrame(rows, index=frame.index).drop(columns=["query"])
    kept = frame.drop(columns=[c for c in added.columns if c in frame.columns])
    return pd.concat([kept, added], axis=1)


def locate(
    lon: float, lat: float, crs: str = "wgs84", *, districts: Sequence[str] | None = None
) -> LocateResult:
    """Every published layer's grid, the community, street, district and roster at one point.

    A point in a district outside ``districts`` (the caller's; None: all) is answered as one
    outside every district: no grid, no people. A publish is seen within
    :data:`LOCATE_MAX_AGE_S` seconds (at once after ``index.invalidate``).
    """
    locator = index.get_locator(max_age_s=LOCATE_MAX_AGE_S)
    found = locator.locate(_number(lon, "lon"), _number(lat, "lat"), crs)
    # the generations of the point's district, by layer (the index holds every district's)
    prefix = f"{found.district_code}:"
    found = replace(found, generation={
        key.removeprefix(prefix): gid for key, gid in (found.generation or {}).items()
        if key.startswith(prefix)
    })  # fmt: skip
    if districts is not None and found.district_code not in districts:
        return replace(
            found, grids=dict.fromkeys(found.grids), community_code=None, community_name=None,
            street_code=None, street_name=None, roster=(), inside_district=False,
        )  # fmt: skip
    # phones are personal data: every caller (API, CLI, maps) gets them masked
    roster = tuple(replace(p, phone=mask_phone(p.phone)) for p in found.roster)
    return replace(found, roster=roster)


def reverse(
    lon: float,
    lat: float,
    crs: str = "wgs84",
    max_distance_m: float = 200.0,
    *,
    districts: Sequence[str] | None = None,
) -> ReverseResult:
    """The nearest library address within ``max_distance_m`` (in ``districts``; None: all) and
    the grids of the point."""
    if not 0 < max_distance_m <= 5000:
        raise BadInput(
            f"max_distance_m: {max_distance_m!r} is not in (0, 5000]", field="max_distance_m"
        )
    return index.get_geocoder().reverse(
        _number(lon, "lon"), _number(lat, "lat"), crs, max_distance_m=max_distance_m,
        districts=districts,
    )  # fmt: skip


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{field}: not a number: {value!r}", field=field) from exc
    bound = 180.0 if field == "lon" else 90.0
    if not -bound <= number <= bound:
        raise BadInput(f"{field}: {number} is outside [-{bound:g}, {bound:g}]", field=field)
    return number


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()
