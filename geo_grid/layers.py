"""The grid layers the service knows out of the box, with their Chinese labels.

More layers (e.g. ``health`` 卫健) are rows in the ``layer`` table, added without a migration; this
module only lists the five every city starts with so the demo and the migrations agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerInfo:
    """A layer key, its user-facing Chinese name and the department that draws it."""

    key: str
    name_zh: str
    department: str


UNIFIED = "unified"
POLITICS_LAW = "politics_law"
URBAN_MGMT = "urban_mgmt"
EMERGENCY = "emergency"
ECOLOGY = "ecology"

BUILTIN_LAYERS: tuple[LayerInfo, ...] = (
    LayerInfo(UNIFIED, "全科网格", "网格化服务管理中心"),
    LayerInfo(POLITICS_LAW, "政法综治网格", "政法委"),
    LayerInfo(URBAN_MGMT, "城管网格", "城市管理局"),
    LayerInfo(EMERGENCY, "应急网格", "应急管理局"),
    LayerInfo(ECOLOGY, "生态环境网格", "生态环境局"),
)

DEPARTMENT_LAYERS: tuple[str, ...] = (POLITICS_LAW, URBAN_MGMT, EMERGENCY, ECOLOGY)
LAYER_NAMES_ZH: dict[str, str] = {info.key: info.name_zh for info in BUILTIN_LAYERS}
