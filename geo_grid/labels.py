"""Chinese labels of the domain's code words: what a person reads instead of ``sliver_gap``.

Code, JSON and the database speak in stable English identifiers (``overlap``, ``dispatched``,
``grid_worker``); pages, popups, the CLI's tables and exports show people these labels. This
module is the one place they are written, so a map popup, a case page and the CLI never disagree
(``tests/geo_grid/test_labels.py`` checks that every value of every domain enum has one). Pure:
no import from the rest of the library, so any module may use it.

:func:`reason_zh` translates the free-text reasons the geocoder and the case router give in
English for developers (``"fuzzy name 尧佳路 (0.92)"``) into Chinese for dispatchers, phrase by
phrase, keeping the names and figures in them.

Examples
--------
>>> DEFECT_KIND["sliver_gap"], CASE_STATE["dispatched"], ROLE["grid_worker"]
('狭缝', '已派遣', '网格员')
>>> label(PLAN_STATE, "open"), label(PLAN_STATE, "someday")
('编辑中', 'someday')
>>> reason_zh("geocoder ambiguous: fuzzy name 尧佳路 (0.92); candidates: 尧佳路12号(0.55)")
'地址有多个候选：名称近似 尧佳路（相似度 0.92）；候选：尧佳路12号(0.55)'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = [
    "ACTOR_ROLE",
    "BAND_STATUS",
    "CASE_ACTION",
    "CASE_CHANNEL",
    "CASE_LEVEL",
    "CASE_SEVERITY",
    "CASE_STATE",
    "DEFECT_KIND",
    "GENERATION_STATE",
    "GEOCODE_LEVEL",
    "GEOCODE_STATUS",
    "INDICATOR_COLOUR",
    "INDICATOR_RATE",
    "JOB_KIND",
    "JOB_STAGE",
    "JOB_STATUS",
    "PLACE_KIND",
    "PLAN_CHANGE",
    "PLAN_OP",
    "PHOTO_PHASE",
    "PLAN_STATE",
    "ROLE",
    "ROSTER_ROLE",
    "ROUTING_STRATEGY",
    "SCOPE_LEVEL",
    "SYSTEM_ACTOR",
    "label",
    "reason_zh",
]

#: Coverage defects (:data:`geo_grid.coverage.DEFECT_KINDS`).
DEFECT_KIND: dict[str, str] = {
    "invalid_geometry": "无效几何",
    "empty": "空几何",
    "duplicate_code": "编码重复",
    "duplicate_geometry": "几何重复",
    "overlap": "重叠",
    "gap": "缝隙",
    "sliver_gap": "狭缝",
    "outside_parent": "超出上级",
    "crosses_parent": "跨越上级边界",
    "parent_not_covered": "上级未覆盖",
}

#: Kinds of long work run as jobs (:data:`geo_grid.services.job_kinds.KINDS`).
JOB_KIND: dict[str, str] = {
    "merge": "多网合一",
    "accept_suggestions": "采纳调整建议",
    "check_layer": "覆盖检查",
    "fix_layer": "覆盖修复",
    "geocode_batch": "批量地址匹配",
    "export_layer": "图层导出",
    "export_cases": "案件导出",
    "export_indicators": "红绿指标导出",
}

#: A job's state (:data:`geo_grid.db.models.JOB_STATUSES`).
JOB_STATUS: dict[str, str] = {
    "queued": "排队中",
    "running": "执行中",
    "done": "已完成",
    "failed": "失败",
}

#: The steps long work reports as its progress (coverage checks and fixes, the merge, plans,
#: batch geocoding, layer and spreadsheet exports): what a job's message says while it runs.
JOB_STAGE: dict[str, str] = {
    "read": "读取图层",
    "validity": "检查几何有效性",
    "codes": "检查编码",
    "edges": "检查共享边界",
    "overlaps": "查找重叠",
    "gaps": "查找缝隙",
    "gap widths": "量测缝隙宽度",
    "parents": "检查与上级的嵌套",
    "repairs": "修复几何",
    "faces": "分配重叠与缝隙",
    "small parts": "合并碎片",
    "assemble": "组装修复后的图层",
    "crosswalk": "计算网格对照关系",
    "conformance": "检查部门网格一致性",
    "proposed": "生成合一网格方案",
    "stored": "写入结果",
    "suggest": "计算调整建议",
    "accept": "采纳调整建议",
    "geocode": "匹配地址",
    "write": "写出文件",
    "cases": "读取案件",
    "indicators": "统计指标",
    "workbook": "写入表格",
}

#: Case states (:data:`geo_grid.cases.lifecycle.STATES`), as a case's status reads.
CASE_STATE: dict[str, str] = {
    "received": "已受理",
    "manual": "待人工派遣",
    "assessed": "已研判",
    "dispatched": "已派遣",
    "handling": "处置中",
    "handled": "已办结",
    "verified": "已核查",
    "closed": "已结案",
    "rated": "已评价",
    "returned": "已退回",
    "suspended": "已挂起",
    "rejected": "不予受理",
}

#: What is done to a case (:data:`geo_grid.cases.lifecycle.ACTIONS`, ``NOTE_ACTIONS``; ``receive``
#: opens every case's history, ``replan`` records a redrawn grid, ``photo`` a photo of the work).
CASE_ACTION: dict[str, str] = {
    "receive": "受理",
    "assess": "研判",
    "to_manual": "转人工",
    "dispatch": "派遣",
    "accept": "签收处置",
    "return": "退回",
    "reassign": "改派",
    "suspend": "挂起",
    "resume": "恢复",
    "handle": "办结",
    "reopen": "核查不通过",
    "verify": "核查通过",
    "close": "结案",
    "rate": "评价",
    "reject": "不予受理",
    "contact": "联系反映人",
    "comment": "备注",
    "escalate": "升级",
    "photo": "上传照片",
    "replan": "网格调整",
}

#: Photos of a case's work (:data:`geo_grid.cases.duties.PHOTO_STATES`).
PHOTO_PHASE: dict[str, str] = {"before": "处置前", "after": "处置后"}

#: Levels a case climbs when it is overdue or whistled (:data:`geo_grid.cases.escalation.LEVELS`).
CASE_LEVEL: dict[str, str] = {
    "grid": "网格",
    "community": "社区",
    "street": "街道",
    "district": "区",
}

#: How a case came in.
CASE_CHANNEL: dict[str, str] = {
    "hotline": "12345热线",
    "app": "APP",
    "wechat": "微信群",
    "patrol": "网格巡查",
    "open311": "Open311",
}

#: Severity of a case category (:data:`geo_grid.cases.rules.SEVERITIES`).
CASE_SEVERITY: dict[str, str] = {
    "low": "一般偏低",
    "normal": "一般",
    "high": "较急",
    "urgent": "紧急",
}

#: How a case is routed (:mod:`geo_grid.cases.rules`).
ROUTING_STRATEGY: dict[str, str] = {
    "territorial_first": "先属地后属主",
    "owner_first": "先属主后属地",
    "territorial_fallback": "属地兜底",
}

#: Redrawing plans (``plan.status``).
PLAN_STATE: dict[str, str] = {"open": "编辑中", "published": "已发布", "abandoned": "已放弃"}

#: What a plan's edit log records (:data:`geo_grid.plans.EDIT_OPS`, ``undo``, a file ``import``ed,
#: the ``publish``).
PLAN_OP: dict[str, str] = {
    "split": "分割网格",
    "divide": "按建议分割",
    "merge": "合并网格",
    "reshape": "调整边界",
    "move_buildings": "移动楼栋",
    "recode": "修改编码或名称",
    "import": "导入文件",
    "undo": "撤销",
    "publish": "发布",
}

#: How a grid's households stand against its band (:func:`geo_grid.plans.balance`).
BAND_STATUS: dict[str, str] = {"under": "户数偏少", "in": "户数适中", "over": "户数偏多"}

#: What a plan does to a grid (:func:`geo_grid.plans.diff_layers`, column ``change``).
PLAN_CHANGE: dict[str, str] = {"added": "新增", "changed": "调整", "removed": "撤销"}

#: Generations of a layer (``generation.status``).
GENERATION_STATE: dict[str, str] = {"draft": "草稿", "published": "已发布", "retired": "已停用"}

#: Geocoder answers (:class:`geo_grid.geocode.GeocodeResult` ``status``).
GEOCODE_STATUS: dict[str, str] = {
    "matched": "已匹配",
    "ambiguous": "有多个候选",
    "unmatched": "未匹配",
}

#: Geocoder match levels (:data:`geo_grid.geocode.LEVELS`): already the words people use.
GEOCODE_LEVEL: dict[str, str] = {
    level: level for level in ("门牌", "楼栋", "小区", "道路", "社区", "街道")
}

#: Account roles (:data:`geo_grid.access.ROLES`).
ROLE: dict[str, str] = {
    "admin": "系统管理员",
    "planner": "网格规划员",
    "dispatcher": "调度员",
    "grid_worker": "网格员",
    "leader": "领导",
    "viewer": "只读用户",
    "open311_client": "Open311 接入系统",
}

#: Roles a case's history records (``case_event.role``): the account roles, and ``system`` for
#: the service's own moves (:data:`geo_grid.cases.duties.SYSTEM`: the router, the escalation sweep).
ACTOR_ROLE: dict[str, str] = {**ROLE, "system": "系统自动"}

#: The service's own actors in a case's history (``system:router``, ``system:tick``), by name.
SYSTEM_ACTOR: dict[str, str] = {"router": "自动派遣", "tick": "超期升级", "publish": "网格发布"}

#: People on a grid's roster (``roster.role``): the default roles' names (a district's own roles
#: carry their names in ``roster_role.name_zh``).
ROSTER_ROLE: dict[str, str] = {
    "grid_leader": "网格长",
    "grid_worker": "网格员",
    "police": "包保民警",
    "party_household": "党员中心户",
    "dept_member": "报到成员",
    "building_leader": "楼栋长",
    "party_secretary": "网格党支部书记",
    "micro_grid_leader": "微网格长",
}

#: An account's area (:data:`geo_grid.access.SCOPE_LEVELS`).
SCOPE_LEVEL: dict[str, str] = {
    "all": "全部辖区", "province": "省", "city": "市", "district": "区", "street": "街道",
    "community": "社区",
}  # fmt: skip

#: 红绿指标 colours; None: too few cases in the period to judge.
INDICATOR_COLOUR: dict[str | None, str] = {
    "red": "红",
    "yellow": "黄",
    "green": "绿",
    None: "案件过少，不评",
}

#: 红绿指标 rates (:data:`geo_grid.cases.indicators.RATES`).
INDICATOR_RATE: dict[str, str] = {
    "closure_rate": "结案率",
    "ontime_rate": "按期结案率",
    "rework_rate": "返工率",
    "extension_rate": "延期率",
    "response_rate": "响应率",
    "solve_rate": "解决率",
    "satisfaction": "满意率",
}

#: What the map's search box finds (:data:`geo_grid.address.places.PLACE_KINDS`).
PLACE_KIND: dict[str, str] = {
    "address": "门牌地址",
    "grid": "网格",
    "street": "街道",
    "community": "社区",
    "road": "道路",
    "xiaoqu": "小区",
    "village": "村",
}


def label(table: Mapping[str | None, str], value: str | None) -> str:
    """The label of ``value`` in ``table``; an unknown value is shown as it is (never hidden)."""
    found = table.get(value)
    return found if found is not None else ("" if value is None else str(value))


def _status(match: re.Match[str]) -> str:
    return f"地址{label(GEOCODE_STATUS, match[1])}："


#: English reason phrases (geocoder, placement, routing) → Chinese, applied in order.
_REASONS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"geocoder (\w+): ", _status),
        (r"; candidates: ", "；候选："),
        (r"fuzzy name (.+?) \(([\d.]+)\)", r"名称近似 \1（相似度 \2）"),
        (r"door (.+?) not in library: road segment", r"地址库中没有 \1 号门牌，按路段估计"),
        (r"no address text", "地址为空"),
        (r"(.+?) has the same numbers: a character may be missing",
         r"与“\1”门牌号相同，可能少写了一个字"),
        (r"district not onboarded: (.+?) \((.+?)\) is not in (.+)",
         r"该区尚未接入：\1（\2）不在\3"),
        (r"no road, 小区, village or admin area of the library found in the text",
         "文中没有地址库里的道路、小区、村或街道社区"),
        (r"unit/room not in library", "地址库中没有该单元或室号"),
        (r"room not in library", "地址库中没有该室号"),
        (r"building not in library", "地址库中没有该楼栋"),
        (r"door not in library", "地址库中没有该门牌"),
        (r"no building given", "未写楼栋号"),
        (r"no group given", "未写村民小组"),
        (r"no door number given", "未写门牌号"),
        (r"only the community was recognised", "只识别出社区"),
        (r"only the street was recognised", "只识别出街道"),
        (r"low confidence", "置信度不足"),
        (r"the report has neither a point nor an address", "上报既无坐标也无地址"),
        (r"no address and no point", "既无地址也无坐标"),
        (r"the point \(([^)]*)\) lies outside the district", r"坐标（\1）不在本辖区内"),
        (r"the point lies outside every unified grid", "坐标不在任何全科网格内"),
        (r"sent back to the manual queue", "退回人工派遣队列"),
        (r"grid redrawn: routed grid kept, new grid recorded",
         "网格已重新划分：派遣时的网格不变，记下新的所属网格"),
        (r"code (\S+) is used (\d+) times", r"编码 \1 被 \2 个网格使用"),
        (r"community (\S+) does not exist", r"社区 \1 不存在"),
        (r"grid (\S+) has no community", r"网格 \1 没有所属社区"),
        (r"; ", "；"),
    )
)  # fmt: skip


def reason_zh(reason: str | None) -> str | None:
    """A geocoder's or router's reason in Chinese; names, figures and unknown text are kept.

    >>> reason_zh("door 12 not in library: road segment")
    '地址库中没有 12 号门牌，按路段估计'
    >>> reason_zh(None) is None, reason_zh("群众来电补充：在桥下")
    (True, '群众来电补充：在桥下')
    """
    if reason is None:
        return None
    text = reason
    for pattern, replacement in _REASONS:
        text = pattern.sub(replacement, text)
    return text
