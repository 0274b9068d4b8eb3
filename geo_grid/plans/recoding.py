"""Recoding or renaming a grid; the roster follows the code."""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd

from geo_grid.errors import BadInput, Conflict
from geo_grid.plans._common import prepare_layer, row_index
from geo_grid.plans.assemble import finish_edit
from geo_grid.plans.context import EditResult, PlanContext

__all__ = ["recode_grid"]


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
    layer = prepare_layer(layer)
    i = row_index(layer, code)
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
    return finish_edit(
        layer, "recode", params, replace={}, attrs={str(code): attrs}, renames=renames, ctx=ctx
    )
