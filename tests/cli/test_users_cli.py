"""`geo-grid users …`: list, disable and enable accounts at the console; refusals exit 2."""

from __future__ import annotations

import json
import uuid

import pytest

from geo_grid.cli import main


@pytest.fixture
def user(demo_db):
    from geo_grid.services import access

    name, password = f"t.cli.{uuid.uuid4().hex[:8]}", "long-enough-1"
    access.create_user(name, password, "viewer")
    return name, password


def _active(capsys, name: str) -> bool:
    assert main(["users", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    return next(r for r in rows if r["username"] == name)["active"]


def test_disable_then_enable_an_account(user, capsys):
    from geo_grid.errors import Unauthorized
    from geo_grid.services import access

    name, password = user
    assert main(["users", "disable", name]) == 0
    assert f"account {name} disabled" in capsys.readouterr().out
    assert _active(capsys, name) is False
    with pytest.raises(Unauthorized):
        access.authenticate(name, password)
    assert main(["users", "enable", name]) == 0
    assert f"account {name} enabled" in capsys.readouterr().out
    assert _active(capsys, name) is True
    assert access.authenticate(name, password).name == name


def test_unknown_account_and_the_last_admin_exit_2_with_one_line(demo_db, capsys):
    from geo_grid.services import access

    assert main(["users", "enable", "t.nobody.at.all"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no account 't.nobody.at.all'" in err[0]
    admin = f"t.cli.admin.{uuid.uuid4().hex[:6]}"
    access.create_user(admin, "long-enough-1", "admin")
    others = [u["username"] for u in access.list_users()
              if u["role"] == "admin" and u["active"] and u["username"] != admin]  # fmt: skip
    for name in others:
        access.set_user_active(name, False)
    try:
        assert main(["users", "disable", admin]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "last active administrator" in err[0]
        assert _active(capsys, admin) is True
    finally:
        for name in others:
            access.set_user_active(name, True)
