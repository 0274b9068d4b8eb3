"""Household balance: each grid against the target band of its community's kind."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geo_grid.plans.context import Bands

__all__ = ["balance"]


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
