"""Codes and names for grids split off: the next free unified code of a community, and the
``…第N网格`` name that goes with its sequence number."""

from __future__ import annotations

import re
from collections.abc import Iterable

import geopandas as gpd

from geo_grid.errors import Conflict

__all__ = ["next_codes", "renamed_codes"]


_NAME_SEQ = re.compile(r"^(.*第)(\d+)(网格)$")


def renamed_codes(name, seq: int) -> str | None:
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
    >>> layer = gpd.GeoDataFrame({"code": ["123456001001001", "123456001001004"]})
    >>> next_codes(layer, "123456001001", 2)
    ['123456001001005', '123456001001006']
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
