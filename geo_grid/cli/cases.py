"""``geo-grid cases …``: the escalation sweep, listing, one case, indicators. Thin over the services.

``geo-grid cases tick`` is idempotent: cron can run it every few minutes (the API also runs it on a
timer), and running it twice at the same instant escalates nothing the second time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from geo_grid.cli._common import DistrictOpt, district_codes, out
from geo_grid.cli._common import print_json as _json
from geo_grid.labels import ACTOR_ROLE, CASE_ACTION, label
from geo_grid.timefmt import format_time, zone_suffix

__all__ = ["cases_app"]

cases_app = typer.Typer(help="Cases: 吹哨报到 sweep, listing, indicators.", no_args_is_help=True)


def _when(value: str | None, option: str, *, local: bool = True) -> datetime | None:
    """``--from``/``--to``/``--now`` read as the API reads them (:mod:`geo_grid.periods`):
    ISO 8601, the district's time zone when no offset is given (``local=False``: required)."""
    from geo_grid.periods import parse_instant

    return parse_instant(value, option, local=local)


@cases_app.command("tick")
def tick_cmd(
    now: Annotated[
        str | None, typer.Option(help="Sweep as of this ISO datetime (with offset).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Escalate every overdue open case (grid → community → street → district)."""
    from geo_grid.services import cases

    result = cases.tick(_when(now, "--now", local=False))
    if as_json:
        _json(result)
    else:
        out.print(
            f"sweep at {result['at']}: {result['cases']} cases escalated "
            f"({result['escalations']} steps, {result['report_ins']} report-ins due)"
        )


@cases_app.command("list")
def list_cmd(
    status: Annotated[list[str] | None, typer.Option(help="Status (repeatable).")] = None,
    grid: Annotated[str | None, typer.Option(help="Unified grid code.")] = None,
    department: Annotated[str | None, typer.Option()] = None,
    overdue: Annotated[bool, typer.Option(help="Only open cases past their deadline.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    district: DistrictOpt = None,
) -> None:
    """List cases (of every district, or of --district), newest first."""
    from geo_grid.services import cases

    filters = {
        "districts": district_codes(district),
        "status": status or None,
        "grid_code": grid,
        "department": department,
        "overdue_at": datetime.now(UTC) if overdue else None,
    }
    rows, total = cases.list_cases(filters, limit=limit)
    if as_json:
        _json({"data": rows, "count": total})
        return
    table = Table("number", "status", "level", "category", "grid", "department",
                  f"received {zone_suffix()}")  # fmt: skip
    for r in rows:
        table.add_row(
            r["number"], r["status_zh"], r["level_zh"], r["category_name"] or r["category_code"],
            r["grid_code"] or "-", r["department"] or "-", format_time(r["received_at"], suffix=False),
        )  # fmt: skip
    out.print(table)
    out.print(f"{len(rows)} of {total}")


@cases_app.command("show")
def show_cmd(
    ref: Annotated[str, typer.Argument(help="Case id or number.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One case with its routing trace and audit log."""
    from geo_grid.services import cases

    case = cases.get_case(ref)
    if as_json:
        _json(case)
        return
    out.print(
        f"{case['number']} {case['category_name']} [{case['status_zh']}] level {case['level_zh']} "
        f"grid {case['grid_code']} → {case['department'] or '-'} / {case['assignee_name'] or '-'}"
    )
    for line in case["routing"].get("trace", []):
        out.print(f"  · {line}")
    for e in case["events"]:
        action, role = label(CASE_ACTION, e["action"]), label(ACTOR_ROLE, e["role"])
        out.print(f"  {format_time(e['at'])} {action:<6} {e['actor']} ({role}) {e['note'] or ''}")


@cases_app.command("indicators")
def indicators_cmd(
    level: Annotated[str, typer.Option(help="grid|community|street|department")] = "street",
    start: Annotated[
        str | None,
        typer.Option("--from", help="ISO date or time, Beijing time (default: 30 days ago)"),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="ISO date or time, exclusive (default: now)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    district: DistrictOpt = None,
) -> None:
    """红绿指标 per unit over a period (of every district, or of --district), each district's
    units by its own thresholds."""
    from geo_grid.periods import days_before
    from geo_grid.services import cases

    to = _when(end, "--to") or datetime.now(UTC)
    frm = _when(start, "--from") or days_before(to, 30, "--to")
    # checks the period before reading anything
    rows = cases.indicators(level, frm, to, districts=district_codes(district))
    if as_json:
        _json({"data": rows, "count": len(rows)})
        return
    colours = {"green": "[green]●[/green]", "yellow": "[yellow]●[/yellow]", "red": "[red]●[/red]"}
    table = Table(
        "", level, "received", "due", "结案率", "按期结案率", "返工率", "overdue", "满意率"
    )
    pct = lambda v: "-" if v is None else f"{v:.0%}"  # noqa: E731
    for r in rows:
        table.add_row(
            colours.get(r["colour"], " "), r["code"], str(r["received"]), str(r["due"]),
            pct(r["closure_rate"]), pct(r["ontime_rate"]), pct(r["rework_rate"]),
            str(r["overdue"]), pct(r["satisfaction"]),
        )  # fmt: skip
    out.print(table)
