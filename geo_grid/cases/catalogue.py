"""The case catalogue: what can be reported, who owns it, and whether it is an event or a facility.

The urban-management catalogue (数字城管 事部件分类) splits problems into **events** 事件 (something
happening: garbage, a stall on the pavement) and **facilities** 部件 (a thing that is broken: a manhole
cover, a street lamp). The split decides routing: an event goes to the territorial grid first
(先属地后属主), a facility to its owner first (先属主后属地). The department layers add their own major
classes: 矛盾纠纷/治安隐患 (政法综治), 安全隐患/消防 (应急), 污染/河湖 (生态环境).

Codes are ``E`` (event) or ``F`` (facility) + 2-digit major class + 2-digit subclass; department
classes use the layer's initial (``Z`` 政法, ``Y`` 应急, ``S`` 生态). ``E0699`` 其他 has no owner on
purpose: it exercises 属地兜底.

>>> category("E0502").name_zh, category("E0502").major_zh, category("E0502").kind
('占道经营', '街面秩序', 'event')
>>> category("F0102").layer
'urban_mgmt'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from geo_grid.errors import NotFound

__all__ = ["CATALOGUE", "KINDS", "MAJORS", "Category", "categories", "category"]

#: Category kinds: 事件 and 部件.
KINDS: dict[str, str] = {"event": "事件", "facility": "部件"}

#: Major classes by code prefix, with the layer whose department owns them (None: territorial).
MAJORS: dict[str, tuple[str, str | None, str | None]] = {
    "E01": ("市容环境", "urban_mgmt", "城市管理局"),
    "E02": ("宣传广告", "urban_mgmt", "城市管理局"),
    "E03": ("施工管理", "urban_mgmt", "城市管理局"),
    "E04": ("突发事件", "emergency", "应急管理局"),
    "E05": ("街面秩序", "urban_mgmt", "城市管理局"),
    "E06": ("扩展", "urban_mgmt", "城市管理局"),
    "F01": ("公用设施", "urban_mgmt", "市政设施管理处"),
    "F02": ("道路交通", "urban_mgmt", "交通运输局"),
    "F03": ("园林绿化", "urban_mgmt", "园林绿化管理所"),
    "F04": ("市容环境设施", "urban_mgmt", "环境卫生管理所"),
    "Z01": ("矛盾纠纷", "politics_law", "政法委"),
    "Z02": ("治安隐患", "politics_law", "公安分局"),
    "Y01": ("安全隐患", "emergency", "应急管理局"),
    "Y02": ("消防", "emergency", "消防救援大队"),
    "S01": ("污染", "ecology", "生态环境局"),
    "S02": ("河湖", "ecology", "水务局"),
}


@dataclass(frozen=True)
class Category:
    """One reportable problem type.

    ``layer``/``department`` are the owner (属主); None means the owner is unclear and the case falls
    to the territorial authority (属地兜底).
    """

    code: str
    name_zh: str
    major_zh: str
    kind: str
    layer: str | None
    department: str | None
    severity: str = "normal"
    keywords: tuple[str, ...] = ()

    @property
    def kind_zh(self) -> str:
        return KINDS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind_zh"] = self.kind_zh
        out["keywords"] = list(self.keywords)
        return out


def _c(code: str, name: str, severity: str = "normal", *keywords: str, owner: bool = True):
    major, layer, dept = MAJORS[code[:3]]
    kind = "facility" if code.startswith("F") else "event"
    if not owner:
        layer, dept = None, None
    return Category(code, name, major, kind, layer, dept, severity, keywords)


CATALOGUE: tuple[Category, ...] = (
    _c("E0101", "暴露垃圾", "normal", "垃圾", "满溢"),
    _c("E0102", "积存垃圾渣土", "normal", "渣土"),
    _c("E0103", "道路不洁", "low", "路面脏"),
    _c("E0104", "乱堆物堆料", "normal", "堆物", "楼道堆物"),
    _c("E0105", "违章晾挂", "low", "晾晒"),
    _c("E0201", "非法小广告", "low", "小广告", "牛皮癣"),
    _c("E0202", "违规张贴悬挂广告", "low", "横幅"),
    _c("E0301", "施工扰民", "normal", "夜间施工"),
    _c("E0302", "工地扬尘", "normal", "扬尘"),
    _c("E0303", "道路遗撒", "normal", "遗撒"),
    _c("E0401", "路面塌陷", "urgent", "塌陷", "坑"),
    _c("E0402", "自来水管爆裂", "urgent", "爆管", "漏水"),
    _c("E0403", "道路积水", "high", "积水", "内涝"),
    _c("E0501", "无照经营游商", "normal", "游商", "流动摊贩"),
    _c("E0502", "占道经营", "normal", "占道", "摆摊"),
    _c("E0503", "机动车乱停放", "low", "乱停车"),
    _c("E0504", "露天烧烤", "normal", "烧烤", "油烟"),
    _c("E0601", "群租房", "normal", "群租"),
    _c("E0602", "违法建设", "high", "违建", "搭建"),
    _c("E0699", "其他", "normal", owner=False),
    _c("F0101", "井盖破损", "high", "井盖"),
    _c("F0102", "路灯不亮", "normal", "路灯"),
    _c("F0103", "下水道堵塞", "normal", "下水道", "堵塞"),
    _c("F0201", "交通护栏损坏", "normal", "护栏"),
    _c("F0202", "交通信号灯故障", "high", "红绿灯"),
    _c("F0301", "绿地损坏", "low", "绿地", "树木"),
    _c("F0401", "垃圾箱破损", "low", "垃圾桶"),
    _c("Z0101", "邻里纠纷", "normal", "纠纷", "邻居"),
    _c("Z0102", "劳资纠纷", "high", "欠薪", "工资"),
    _c("Z0103", "物业纠纷", "normal", "物业"),
    _c("Z0201", "治安隐患", "high", "治安", "可疑"),
    _c("Z0202", "噪音扰民(社会生活)", "low", "噪音", "广场舞"),
    _c("Y0101", "安全生产隐患", "high", "安全生产"),
    _c("Y0102", "燃气隐患", "urgent", "燃气", "煤气"),
    _c("Y0201", "消防通道堵塞", "high", "消防通道"),
    _c("Y0202", "电动车违规充电", "high", "飞线充电", "电动车"),
    _c("S0101", "噪声污染(工业)", "normal", "工厂噪声"),
    _c("S0102", "大气污染", "normal", "烟尘", "异味"),
    _c("S0103", "污水直排", "high", "污水", "排污"),
    _c("S0201", "河湖漂浮物", "low", "漂浮物", "河道垃圾"),
    _c("S0202", "河道违法排口", "high", "排口"),
)

_BY_CODE: dict[str, Category] = {c.code: c for c in CATALOGUE}


def categories() -> tuple[Category, ...]:
    """Every category, in catalogue order."""
    return CATALOGUE


def category(code: str) -> Category:
    """The category with this code; :class:`NotFound` names the code otherwise."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise NotFound(
            f"category: unknown category code {code!r} (see /api/v1/rules)", field="category"
        ) from None
