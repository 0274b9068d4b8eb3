"""The rings of ARCHITECTURE.md hold: arrows point inward, and SQL lives in ``geo_grid/db/`` only.

Scanned with :mod:`ast` (every ``import``, ``from … import`` — relative ones resolved — and
``importlib.import_module``/``__import__`` of a constant name, wherever it stands, including
inside functions and ``TYPE_CHECKING`` blocks):

- domain modules (everything in ``geo_grid/`` but ``db/``, ``services/`` and ``cli/``) import
  nothing of ``geo_grid.db``, ``geo_grid.services``, ``api``, fastapi, starlette, sqlalchemy,
  geoalchemy2, psycopg2 or alembic. ``settings.py`` and ``assets.py`` are infrastructure by role
  (configuration; the offline Leaflet fetcher) but import none of those, so they are held to the
  domain rule too: an exemption would only hide a future mistake;
- ``api/`` imports no sqlalchemy, psycopg2, geoalchemy2, alembic or ``geo_grid.db`` (it calls
  services and maps domain errors; the database's own errors are translated inside ``geo_grid.db``);
- the CLI (``geo_grid/cli/``) imports no ``geo_grid.db``, sqlalchemy, psycopg2, geoalchemy2,
  alembic or ``api`` (it calls services);
- nothing in ``geo_grid/`` imports ``api``;
- SQL text (a string holding an SQL statement, or a string handed to ``text``/``execute``/…)
  appears in ``geo_grid/`` and ``api/`` only under ``geo_grid/db/``. Docstrings are prose and
  are not read; how SQL is built is :mod:`tests.test_no_sql_strings`' business.

There is no allow-list: every finding is a failure naming ``file:line``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_DRIVERS = ("sqlalchemy", "geoalchemy2", "psycopg2", "alembic")


@dataclass(frozen=True)
class Ring:
    """Files (by path prefix under the repository, minus ``outside``) and what they may not import."""

    name: str
    under: str
    outside: tuple[str, ...]
    forbidden: tuple[str, ...]


RINGS = (
    Ring(
        "domain",
        "geo_grid/",
        ("geo_grid/db/", "geo_grid/services/", "geo_grid/cli/"),
        ("geo_grid.db", "geo_grid.services", "api", "fastapi", "starlette", *_DRIVERS),
    ),
    Ring("api", "api/", (), ("geo_grid.db", *_DRIVERS)),
    Ring("cli", "geo_grid/cli/", (), ("geo_grid.db", "api", *_DRIVERS)),
    Ring("library", "geo_grid/", (), ("api",)),
)

#: Where SQL may be written.
SQL_HOME = "geo_grid/db/"

#: An SQL statement in a string (upper-case keywords, as every statement of this project is).
_SQL = (
    r"\b(SELECT\b[\s\S]*?\bFROM\b|SELECT\s+(1\b|\w+\s*\()|INSERT\s+INTO\b|UPDATE\s+\"?\w+\"?\s+SET\b"
    r"|DELETE\s+FROM\b|TRUNCATE\b|(CREATE|ALTER|DROP)\s+(TABLE|INDEX|EXTENSION|TRIGGER|FUNCTION)\b"
    r"|COPY\s+\"?\w+\"?\s*(\(|FROM\b|TO\b))"
)
SQL_STATEMENT = re.compile(_SQL)
#: A string handed to one of these is SQL whatever its case.
SQL_CALLS = frozenset({"text", "execute", "executemany", "exec_driver_sql", "copy_expert", "SQL"})
SQL_ANY_CASE = re.compile(_SQL, re.IGNORECASE)


def module_name(path: str) -> str:
    """``geo_grid/db/__init__.py`` → ``geo_grid.db``; ``api/errors.py`` → ``api.errors``."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.AST, path: str) -> list[tuple[int, list[str]]]:
    """``(line, modules)`` of every import in ``tree``: ``from a import b`` names ``a`` and
    ``a.b`` (``b`` may be a module: ``from geo_grid import db``), relative ones resolved."""
    name = module_name(path)
    package = name.split(".") if path.endswith("__init__.py") else name.split(".")[:-1]
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.append((node.lineno, [alias.name for alias in node.names]))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # ``from .x`` is in this package, ``from ..x`` in its parent
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, [base, *(f"{base}.{a.name}" for a in node.names)]))
        elif isinstance(node, ast.Call) and _called(node) in ("import_module", "__import__"):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, [arg.value]))
    return found


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else None


def _is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _docstrings(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, owners)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def sql_text(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, start of the string)`` of every SQL statement written in ``tree``'s code."""
    docs = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if SQL_STATEMENT.search(node.value):
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.Call) and _called(node) in SQL_CALLS and node.args:
            first = node.args[0]
            pieces = first.values if isinstance(first, ast.JoinedStr) else [first]
            said = "".join(
                p.value for p in pieces if isinstance(p, ast.Constant) and isinstance(p.value, str)
            )
            if said and SQL_ANY_CASE.search(said) and not SQL_STATEMENT.search(said):
                found.append((node.lineno, said))
    return found


def ring_violations(root: Path) -> list[str]:
    """Every finding under ``root`` (a repository checkout, or a synthetic one in a test)."""
    found: list[str] = []
    for source in sorted(p for top in ("geo_grid", "api") for p in (root / top).rglob("*.py")):
        path = source.relative_to(root).as_posix()
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=path)
        for ring in RINGS:
            if not path.startswith(ring.under) or path.startswith(ring.outside):
                continue
            for line, names in imports(tree, path):
                bad = [n for n in names if any(_is_within(n, f) for f in ring.forbidden)]
                if bad:
                    found.append(f"{path}:{line}: the {ring.name} ring imports {bad[0]}")
        if not path.startswith(SQL_HOME):
            for line, statement in sql_text(tree):
                head = " ".join(statement.split())[:50]
                found.append(f"{path}:{line}: SQL outside {SQL_HOME}: {head!r}")
    return found


def test_the_rings_hold() -> None:
    sources = list((REPO / "geo_grid").rglob("*.py")) + list((REPO / "api").rglob("*.py"))
    assert len(sources) > 100  # the scan really looked at the packages
    found = ring_violations(REPO)
    assert not found, "ring violations (see ARCHITECTURE.md):\n" + "\n".join(found)


def test_the_rings_cover_the_modules_they_name() -> None:
    """The CLI, the API and the domain are where the scan believes they are."""
    domain, api, cli, _ = RINGS
    for path in ("geo_grid/coverage.py", "geo_grid/plans/edits.py", "geo_grid/settings.py"):
        assert path.startswith(domain.under) and not path.startswith(domain.outside)
    for path in ("geo_grid/db/session.py", "geo_grid/services/layers.py", "geo_grid/cli/db.py"):
        assert path.startswith(domain.outside)
    assert (REPO / "geo_grid/cli/__init__.py").is_file() and (REPO / api.under).is_dir()
    assert (REPO / cli.under / "db.py").is_file()


# ------------------------------------------------------------------------------ planted faults
CLEAN = {
    "geo_grid/__init__.py": "",
    "geo_grid/coverage.py": "import shapely\nfrom geo_grid.crs import to_local\n",
    "geo_grid/settings.py": "from pydantic_settings import BaseSettings\n",
    "geo_grid/db/__init__.py": "",
    "geo_grid/db/repos.py": (
        "from sqlalchemy import text\n"
        "def f(s):\n    return s.execute(text('SELECT code FROM grid WHERE id = :i'))\n"
    ),
    "geo_grid/services/__init__.py": "",
    "geo_grid/services/layers.py": (
        '"""Reads grids (SELECT code FROM grid, in prose: a docstring)."""\n'
        "from geo_grid.db import repos\nfrom sqlalchemy.exc import IntegrityError\n"
    ),
    "geo_grid/cli/__init__.py": "import typer\nfrom geo_grid.services import layers\n",
    "api/__init__.py": "",
    "api/errors.py": "from fastapi import FastAPI\nfrom geo_grid.errors import DatabaseUnavailable\n",
}

PLANTED = [
    ("geo_grid/coverage.py", "from geo_grid.db import repos\n", "domain ring imports geo_grid.db"),
    (
        "geo_grid/locate.py",
        "from .db.session import session_scope\n",
        "imports geo_grid.db.session",
    ),
    ("geo_grid/plans/x.py", "from .. import services\n", "imports geo_grid.services"),
    ("geo_grid/merge.py", "def f():\n    import sqlalchemy\n", "imports sqlalchemy"),
    ("geo_grid/maps/page.py", "from fastapi import Request\n", "imports fastapi"),
    ("geo_grid/io/read.py", "import importlib\nimportlib.import_module('psycopg2')\n", "psycopg2"),
    (
        "geo_grid/crs.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from starlette.requests import Request\n",
        "imports starlette",
    ),  # fmt: skip
    ("geo_grid/settings.py", "from alembic import command\n", "imports alembic"),
    ("api/errors.py", "from sqlalchemy.exc import DBAPIError\n", "api ring imports sqlalchemy"),
    ("api/routers/x.py", "from geo_grid.db.session import error_line\n", "api ring imports"),
    ("api/deps.py", "import psycopg2.errors\n", "api ring imports psycopg2"),
    ("geo_grid/cli/db.py", "from geo_grid.db import migrate\n", "cli ring imports geo_grid.db"),
    ("geo_grid/cli/x.py", "from sqlalchemy.exc import OperationalError\n", "cli ring"),
    ("geo_grid/services/x.py", "import api.main\n", "library ring imports api"),
    ("geo_grid/services/x.py", "Q = 'DELETE FROM coverage_check WHERE id = :i'\n", "SQL outside"),
    ("geo_grid/services/y.py", 'def f(s):\n    s.execute(text("select 1"))\n', "SQL outside"),
    ("geo_grid/services/z.py", "def f(s):\n    s.execute(text(f'select * from {t}'))\n", "SQL"),
    ("api/routers/q.py", 'SQL = """SELECT code\n   FROM grid"""\n', "SQL outside"),
]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """A synthetic checkout under ``root``: each path written with its (dedented) body."""
    for path, body in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(body), encoding="utf-8")
    return root


def test_a_clean_synthetic_checkout_passes(tmp_path: Path) -> None:
    """The scan does not cry wolf: db writes SQL, services import db and sqlalchemy, the CLI
    imports services, a docstring may mention SQL."""
    assert ring_violations(write_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(("path", "body", "said"), PLANTED)
def test_a_planted_violation_is_reported(tmp_path: Path, path: str, body: str, said: str) -> None:
    root = write_tree(tmp_path, {**CLEAN, path: body})
    found = ring_violations(root)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:") and said in found[0], found[0]
