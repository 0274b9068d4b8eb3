"""``geo-grid users …``, ``geo-grid keys …``, ``geo-grid audit …``: accounts, API keys and the
personal-data read log, for the administrator at the server's console. Thin over
:mod:`geo_grid.services.access`; errors exit 2 with one line like every command.

A password is read from ``--password-stdin`` or asked for without echo, never taken as an argument
(it would sit in the shell history and in ``ps``). An API key is printed once, at creation.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from geo_grid.cli._common import out
from geo_grid.cli._common import print_json as _json
from geo_grid.labels import ROLE, label
from geo_grid.timefmt import format_time

__all__ = ["audit_app", "keys_app", "users_app"]

users_app = typer.Typer(help="Accounts of people: role and area.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of systems (Open311 clients, hotline bridges).",
                       no_args_is_help=True)  # fmt: skip
audit_app = typer.Typer(help="Who read personal data.", no_args_is_help=True)

RoleOpt = Annotated[
    str, typer.Option(help="admin|planner|dispatcher|grid_worker|leader|viewer|open311_client")
]
ScopeOpt = Annotated[
    str | None,
    typer.Option(
        help="Area as level:code (province:NN, city:NNNN, district:NNNNNN, street:9 digits, "
        "community:12 digits); default all: every district of the store."
    ),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str,
    role: RoleOpt,
    scope: ScopeOpt = None,
    person: Annotated[
        str | None, typer.Option(help="Grid workers: their roster person id.")
    ] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Create an account (the password is asked for, or read from standard input)."""
    from geo_grid.services import access

    row = access.create_user(
        username, _password(password_stdin), role, scope=scope, person_id=person
    )
    out.print(f"account {row['username']}: {row['role']} in {row['scope_level']} "
              f"{row['scope_code']}")  # fmt: skip


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every account, its role, area and whether it is active."""
    from geo_grid.services import access

    rows = access.list_users()
    if as_json:
        _json(rows)
        return
    table = Table("username", "role", "area", "person", "active")
    for r in rows:
        table.add_row(r["username"], label(ROLE, r["role"]), f"{r['scope_level']}:{r['scope_code']}",
                      r["person_id"] or "", "yes" if r["active"] else "no")  # fmt: skip
    out.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable an account: no more logins, its tokens refused within 30 s (never the last
    active admin)."""
    from geo_grid.services import access

    access.set_user_active(username, False)
    out.print(f"account {username} disabled")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled account again: it may log in at once."""
    from geo_grid.services import access

    access.set_user_active(username, True)
    out.print(f"account {username} enabled")


@keys_app.command("add")
def keys_add(name: str, role: RoleOpt = "open311_client", scope: ScopeOpt = None) -> None:
    """Create an API key and print it once (only its hash is kept)."""
    from geo_grid.services import access

    key, row = access.create_api_key(name, role, scope=scope)
    sys.stdout.write(key + "\n")
    sys.stderr.write(f"key {row['name']} ({row['role']}): keep it now, it is not shown again\n")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key by name and prefix, its role and last use."""
    from geo_grid.services import access

    rows = access.list_api_keys()
    if as_json:
        _json(rows)
        return
    table = Table("name", "prefix", "role", "active", "last used")
    for r in rows:
        table.add_row(r["name"], r["prefix"] + "…", label(ROLE, r["role"]),
                      "yes" if r["active"] else "no", format_time(r["last_used_at"]))  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke a key (other API processes forget it within a minute)."""
    from geo_grid.services import access

    access.set_api_key_active(name, False)
    out.print(f"key {name} revoked")


@audit_app.command("personal-data")
def audit_personal_data(
    case: Annotated[int | None, typer.Option(help="Only reads of this case id.")] = None,
    reader: Annotated[str | None, typer.Option(help="Only this reader (user:NAME).")] = None,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who read reporters' names and phones, newest first."""
    from geo_grid.services import access

    rows = access.personal_reads(case_id=case, principal=reader, limit=limit)
    if as_json:
        _json(rows)
        return
    table = Table("at", "reader", "role", "cases", "purpose")
    for r in rows:
        ids = r["case_ids"]
        shown = ", ".join(map(str, ids[:5])) + (f" … (+{len(ids) - 5})" if len(ids) > 5 else "")
        table.add_row(format_time(r["at"], seconds=True), r["principal"], label(ROLE, r["role"]),
                      shown, r["purpose"])  # fmt: skip
    out.print(table)
