"""Who works in which grid: a district's roster roles, and a roster spreadsheet read against them.

Cities name the people of a grid differently (专职网格员, 兼职网格员, 网格指导员, 楼栋长 for the
fourth level of 街道—社区—网格—楼栋, 网格党支部书记, 微网格长, each department's 报到 members),
so the roles are data: each district keeps its own table of :class:`RosterRole` (seeded with
:data:`DEFAULT_ROLES`, more added by an administrator). What the system *does* with a person is
decided by the role's ``duty``, one of :data:`DUTIES`:

``grid_leader`` / ``grid_worker``
    on duty for the grid's cases (a case goes to a worker first, then a leader);
``dept_member``
    on duty for a department layer's grid (城管, 应急 …): its 报到 members;
``police``
    the grid's 包保民警 (listed, assigned last);
``party_household``
    a 党员中心户 linked to households (listed, never assigned a case);
``none``
    listed on the grid and its page, never assigned (楼栋长, 网格党支部书记, 微网格长).

:func:`read_roster` turns a roster table (:class:`geo_grid.io.tables.Table`: grid code, name, role,
phone; optionally layer, department, person id and linked households) into rows the store takes,
mapping the district's own role names to its roles: by key or Chinese name, or through a role map
(``--role-map 专职网格员=grid_worker``, or a 角色 sheet in the workbook). The first bad cell is
named by file, row and column.

Examples
--------
>>> [r.name_zh for r in DEFAULT_ROLES][:5]
['网格长', '网格员', '包保民警', '党员中心户', '报到成员']
>>> parse_role_map("专职网格员=grid_worker, 楼长=楼栋长")
{'专职网格员': 'grid_worker', '楼长': '楼栋长'}
>>> check_role_key("building_leader"), duty_of(DEFAULT_ROLES, "building_leader")
('building_leader', 'none')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from geo_grid.errors import BadInput
from geo_grid.io.tables import Table
from geo_grid.layers import UNIFIED

__all__ = [
    "DEFAULT_ROLES",
    "DUTIES",
    "ON_DUTY",
    "ROSTER_COLUMNS",
    "RosterRole",
    "check_role_key",
    "NAME_MAX",
    "duty_of",
    "new_person",
    "parse_role_map",
    "person_id_for",
    "read_roster",
    "role_label",
    "role_lookup",
]

#: What a role does in the system (see the module docstring), in the order cases prefer them.
DUTIES: tuple[str, ...] = (
    "grid_worker", "grid_leader", "dept_member", "police", "party_household", "none",
)  # fmt: skip
#: Duties whose people are assigned a grid's cases.
ON_DUTY: frozenset[str] = frozenset({"grid_worker", "grid_leader", "dept_member"})

_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")


def check_role_key(key: Any) -> str:
    """A role key: lower-case ASCII, digits and ``_``, starting with a letter, ≤ 32 characters.

    >>> check_role_key("网格员")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: key: '网格员' is not a role key (a-z, 0-9 and _, from a letter; at most 32)
    """
    text = str(key) if key is not None else ""
    if not _KEY.fullmatch(text):
        raise BadInput(
            f"key: {key!r} is not a role key (a-z, 0-9 and _, from a letter; at most 32)",
            field="key",
        )
    return text


@dataclass(frozen=True)
class RosterRole:
    """One role of a district's roster: ``key`` (stored on each roster row), its Chinese name,
    its duty (:data:`DUTIES`) and, for a department's 报到 members, the department."""

    key: str
    name_zh: str
    duty: str
    department: str | None = None

    def __post_init__(self) -> None:
        check_role_key(self.key)
        if not self.name_zh or not str(self.name_zh).strip() or len(self.name_zh) > 32:
            raise BadInput("name_zh: a role needs a Chinese name of 1-32 characters",
                           field="name_zh")  # fmt: skip
        if self.duty not in DUTIES:
            raise BadInput(f"duty: {self.duty!r} is not one of {', '.join(DUTIES)}", field="duty")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The roles every district starts with (the five the store always knew, and three that
#: four-level grids and party-building add).
DEFAULT_ROLES: tuple[RosterRole, ...] = (
    RosterRole("grid_leader", "网格长", "grid_leader"),
    RosterRole("grid_worker", "网格员", "grid_worker"),
    RosterRole("police", "包保民警", "police"),
    RosterRole("party_household", "党员中心户", "party_household"),
    RosterRole("dept_member", "报到成员", "dept_member"),
    RosterRole("building_leader", "楼栋长", "none"),
    RosterRole("party_secretary", "网格党支部书记", "none"),
    RosterRole("micro_grid_leader", "微网格长", "none"),
)


def role_label(key: str | None, name_zh: str | None = None) -> str:
    """A role as people read it: its district's Chinese name (``roster_role.name_zh``), else the
    name of the default role of that key, else the key itself (never hidden).

    >>> role_label("grid_guide", "网格指导员"), role_label("grid_leader"), role_label("cg_member")
    ('网格指导员', '网格长', 'cg_member')
    """
    if name_zh:
        return str(name_zh)
    default = next((r.name_zh for r in DEFAULT_ROLES if r.key == key), None)
    return default or str(key)


#: The columns a roster row has once read (what :func:`geo_grid.db.repos.district.insert_roster`
#: stores).
ROSTER_COLUMNS: tuple[str, ...] = (
    "person_id", "name", "phone", "role", "layer", "grid_code", "department", "linked_households",
)  # fmt: skip

#: Column names a roster table may use for each field (matched ignoring case and spaces).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "grid_code": ("grid_code", "网格编码", "网格代码", "网格编号", "所属网格编码", "wgbm", "code"),
    "name": ("name", "姓名", "人员姓名", "名字"),
    "role": ("role", "角色", "职务", "岗位", "身份"),
    "phone": ("phone", "电话", "手机", "手机号", "手机号码", "联系电话", "联系方式"),
    "layer": ("layer", "图层", "网格类型", "网格图层"),
    "department": ("department", "部门", "单位", "所属部门", "报到单位"),
    "person_id": ("person_id", "人员编号", "人员编码", "工号", "编号"),
    "linked_households": ("linked_households", "联系户数", "联系户", "户数"),
}
_REQUIRED = ("grid_code", "name", "role")
_PHONE = re.compile(r"\+?[0-9][0-9\- ]{4,30}")


def duty_of(roles: Iterable[RosterRole], key: str) -> str | None:
    """The duty of role ``key`` among ``roles`` (None: no such role)."""
    return next((r.duty for r in roles if r.key == key), None)


def role_lookup(roles: Iterable[RosterRole]) -> dict[str, str]:
    """``{key or Chinese name: key}`` of a district's roles: how a roster names them."""
    out: dict[str, str] = {}
    for role in roles:
        out[role.key] = role.key
        out[role.name_zh] = role.key
    return out


def parse_role_map(text: str | None) -> dict[str, str]:
    """``"本地名称=角色, …"`` (a role's key or Chinese name on the right) as a dict; ``;``, ``,``,
    ``，`` and new lines separate pairs. BadInput naming ``role_map`` for a pair without ``=``."""
    out: dict[str, str] = {}
    for part in re.split(r"[,;，；\n]", text or ""):
        if not part.strip():
            continue
        name, sep, role = part.partition("=")
        if not sep or not name.strip() or not role.strip():
            raise BadInput(
                f"role_map: {part.strip()!r} is not NAME=ROLE (e.g. 专职网格员=grid_worker)",
                field="role_map",
            )
        out[name.strip()] = role.strip()
    return out


def _resolve_map(role_map: Mapping[str, str], lookup: Mapping[str, str]) -> dict[str, str]:
    """The role map with each right-hand side turned into a role key of the district."""
    out = {}
    for name, role in role_map.items():
        key = lookup.get(role)
        if key is None:
            raise BadInput(
                f"role_map: {role!r} (for {name!r}) is not a role of the district "
                f"({', '.join(sorted({v for v in lookup.values()}))}); add it first",
                field="role_map",
            )
        out[name] = key
    return out


def person_id_for(district: str, name: str, phone: str | None) -> str:
    """A stable person id when the roster gives none: the same person (district, name, phone)
    gets the same id at every import, so accounts linked to them stay linked.

    >>> person_id_for("110101", "张三", "13912345678") == person_id_for("110101", "张三", "13912345678")
    True
    >>> len(person_id_for("110101", "张三", None))
    23
    """
    digest = hashlib.sha1(f"{district}|{name}|{phone or ''}".encode()).hexdigest()[:16]
    return f"{district}P{digest}"


#: The longest name a person may be given by hand (as a role's Chinese name).
NAME_MAX = 32


def new_person(district: str, name: Any, phone: Any, *, field: str = "") -> dict[str, str]:
    """A person entered by hand (the planner's roster form): ``person_id`` (:func:`person_id_for`:
    the same name and phone is the same person), ``name`` and ``phone``, checked as a roster
    file's cells are. ``field`` prefixes the field an error names (``new_people.0.``).

    >>> new_person("990101", " 王芳 ", "139 1234 5678")["name"]
    '王芳'
    >>> new_person("990101", "王芳", "电话", field="new_people.0.")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: phone: '电话' is not a phone number (digits, +, - and spaces)
    """
    text = " ".join(str(name or "").split())
    if not text or len(text) > NAME_MAX or not text.isprintable():
        raise BadInput(f"name: a person needs a name of 1-{NAME_MAX} characters",
                       field=f"{field}name")  # fmt: skip
    number = str(phone or "").strip()
    if not _PHONE.fullmatch(number):
        raise BadInput(f"phone: {number!r} is not a phone number (digits, +, - and spaces)",
                       field=f"{field}phone")  # fmt: skip
    return {"person_id": person_id_for(district, text, number), "name": text, "phone": number}


def read_roster(
    table: Table,
    *,
    district: str,
    roles: Sequence[RosterRole],
    role_map: Mapping[str, str] | None = None,
    grid_codes: Mapping[str, set[str]] | None = None,
) -> pd.DataFrame:
    """The rows of a roster table as :data:`ROSTER_COLUMNS`, checked cell by cell.

    Parameters
    ----------
    table
        The roster as read by :func:`geo_grid.io.tables.read_table`: grid code, name and role
        required (Chinese or English headers, see ``_COLUMNS``); phone, layer (default
        ``unified``), department, person id and linked households optional.
    district
        The district's code: person ids the file does not give are made from it.
    roles
        The district's roles; a role cell names one by key or Chinese name, or through
        ``role_map`` (the district's own name → a role's key or name).
    grid_codes
        ``{layer: codes}`` of the district's published grids: a row naming another grid, or a
        layer with none, is refused (None: not checked).
    """
    lookup = role_lookup(roles)
    mapping = _resolve_map(role_map or {}, lookup)
    cols = {f: table.column(names, f, required=f in _REQUIRED) for f, names in _COLUMNS.items()}
    rows = []
    for i in range(len(table.frame)):
        rows.append(_roster_row(table, i, cols, district, lookup, mapping, grid_codes))
    if not rows:
        raise BadInput(f"{table.label}: the roster has no rows", field="file")
    frame = pd.DataFrame(rows, columns=list(ROSTER_COLUMNS), dtype=object)
    _check_people(table, frame)
    return frame.where(frame.notna(), None)


def _roster_row(
    table: Table,
    i: int,
    cols: Mapping[str, str | None],
    district: str,
    lookup: Mapping[str, str],
    mapping: Mapping[str, str],
    grid_codes: Mapping[str, set[str]] | None,
) -> dict[str, Any]:
    """One checked roster row (validate each cell, naming row and column)."""

    def cell(name: str) -> str:
        return table.cell(i, cols[name]) if cols[name] else ""

    for required in _REQUIRED:
        if not cell(required):
            table.fail(i, cols[required], "empty")
    role_text = cell("role")
    key = mapping.get(role_text) or lookup.get(role_text)
    if key is None:
        known = ", ".join(sorted(set(lookup) - set(lookup.values())))
        table.fail(i, cols["role"], f"{role_text!r} is not a role of the district ({known}); "
                   "map it with --role-map NAME=ROLE or a 角色 sheet")  # fmt: skip
    layer = cell("layer") or UNIFIED
    code = cell("grid_code")
    if grid_codes is not None:
        if layer not in grid_codes:
            table.fail(i, cols["layer"] or cols["grid_code"],
                       f"layer {layer!r} has no published grids in district {district}")  # fmt: skip
        if code not in grid_codes[layer]:
            table.fail(i, cols["grid_code"], f"no grid {code!r} in the published {layer} layer")
    phone = cell("phone") or None
    if phone is not None and not _PHONE.fullmatch(phone):
        table.fail(i, cols["phone"], f"{phone!r} is not a phone number")
    households = cell("linked_households")
    if households and not households.isdigit():
        table.fail(i, cols["linked_households"], f"{households!r} is not a whole number")
    person = cell("person_id") or person_id_for(district, cell("name"), phone)
    if len(person) > 32:
        table.fail(i, cols["person_id"], "a person id has at most 32 characters")
    return {
        "person_id": person, "name": cell("name"), "phone": phone, "role": key, "layer": layer,
        "grid_code": code, "department": cell("department") or None,
        "linked_households": int(households) if households else None,
    }  # fmt: skip


def _check_people(table: Table, frame: pd.DataFrame) -> None:
    """One person id is one person: the same id with two names is refused (naming its row)."""
    names = frame.groupby("person_id")["name"].nunique()
    clash = names[names > 1]
    if len(clash):
        i = int(frame.index[frame["person_id"] == clash.index[0]][-1])
        table.fail(i, table.column(_COLUMNS["person_id"], "person_id", required=False),
                   f"person id {clash.index[0]!r} is given to two names")  # fmt: skip
