"""No SQL is built from strings: every statement is a constant with bound parameters.

Scans ``geo_grid/`` and ``api/`` with :mod:`ast` for calls that hand SQL to the driver
(``text``, ``execute``, ``executemany``, ``exec_driver_sql``, ``copy_expert``, ``mogrify``) whose SQL
argument is built at run time: an f-string with placeholders, ``%`` formatting, ``+``
concatenation, ``.format()`` or ``.join()`` (except on a ``psycopg2.sql.SQL`` composition, which
quotes what it is given; ``SQL(...)`` itself is checked like ``text(...)``). A plain name is followed to what it was assigned in
the same function (or module), so ``sql = f"..."; text(sql)`` is caught too. Identifiers that
cannot be bound go through ``psycopg2.sql`` or SQLAlchemy constructs, which quote them.

There is no allow-list: every finding is a failure naming ``file:line``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("geo_grid", "api")
SQL_CALLS = frozenset(
    {"text", "execute", "executemany", "exec_driver_sql", "copy_expert", "mogrify", "SQL"}
)
SQL_KEYWORDS = ("statement", "sql", "query", "operation")


def _module_constants(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """Names assigned at module level (not inside functions or classes)."""
    out: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        _collect(node, out, descend=False)
    return out


def _collect(node: ast.AST, out: dict[str, list[ast.AST]], *, descend: bool) -> None:
    """Record what ``node`` assigns to plain names; ``x += y`` counts as ``x + y`` and a ``for``
    over a literal tuple or list assigns each element in turn."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                out.setdefault(target.id, []).append(node.value)
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        out.setdefault(node.target.id, []).append(node.value)
    elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        combined = ast.copy_location(
            ast.BinOp(left=node.target, op=node.op, right=node.value), node
        )
        out.setdefault(node.target.id, []).append(combined)
    elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
        if isinstance(node.iter, ast.Tuple | ast.List):
            out.setdefault(node.target.id, []).extend(node.iter.elts)
        else:
            out.setdefault(node.target.id, []).append(node.iter)
    if descend:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                _collect(child, out, descend=True)


def _local_names(function: ast.AST) -> dict[str, list[ast.AST]]:
    out: dict[str, list[ast.AST]] = {}
    for child in ast.iter_child_nodes(function):
        if not isinstance(child, ast.arguments):
            _collect(child, out, descend=True)
    return out


def _dynamic(
    node: ast.AST | None, names: dict[str, list[ast.AST]], seen: frozenset[str] = frozenset()
) -> str | None:
    """Why ``node`` is SQL text built at run time, or None when it is a constant.

    A constant is a literal, an f-string whose placeholders are constants, a ``+`` of constants,
    or a name only ever assigned constants (a module-level string such as a column list, or a
    loop variable over a literal tuple). Names we cannot see into (parameters, imports, calls)
    are not judged here: a function that passes its parameter to ``text()`` is itself treated as
    an SQL call by :func:`findings_in`.
    """
    if node is None or isinstance(node, ast.Constant):
        return None
    if isinstance(node, ast.JoinedStr):
        parts = [p.value for p in node.values if isinstance(p, ast.FormattedValue)]
        return "f-string" if any(_opaque(p, names, seen) for p in parts) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "%-formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        opaque = _opaque(node.left, names, seen) or _opaque(node.right, names, seen)
        return "+ concatenation" if opaque else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("format", "format_map", "join"):
            if _is_sql_composition(node.func.value):
                return None  # psycopg2.sql: the driver quotes what goes in
            return f".{node.func.attr}()"
        return None
    if isinstance(node, ast.IfExp):
        return _dynamic(node.body, names, seen) or _dynamic(node.orelse, names, seen)
    if isinstance(node, ast.Name) and node.id not in seen:
        for value in names.get(node.id, []):
            why = _dynamic(value, names, seen | {node.id})
            if why:
                return f"{why} assigned to {node.id!r} at line {value.lineno}"
    return None


def _is_sql_composition(node: ast.AST) -> bool:
    """``sql.SQL("...")`` (or a ``.format``/``.join`` of one): a psycopg2 composition, whose
    ``format`` and ``join`` take ``Identifier``/``Literal``/``SQL`` objects, not text. ``SQL`` is
    itself in :data:`SQL_CALLS`, so text built at run time cannot enter it unseen."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "SQL":
            return True
        if node.func.attr not in ("format", "join"):
            return False
        node = node.func.value
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "SQL"


def _opaque(node: ast.AST, names: dict[str, list[ast.AST]], seen: frozenset[str]) -> bool:
    """Inside an f-string or a ``+``: True unless ``node`` is proven constant text or number."""
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, str | int | float)
    if isinstance(node, ast.Name):
        if node.id in seen:  # ``sql += "..."``: the other assignments decide
            return False
        if node.id not in names:
            return True
        return any(_opaque(v, names, seen | {node.id}) for v in names[node.id])
    if isinstance(node, ast.JoinedStr | ast.BinOp | ast.IfExp):
        return _dynamic(node, names, seen) is not None
    return True


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _sql_argument(call: ast.Call, position: int, keyword: str | None) -> ast.AST | None:
    if len(call.args) > position:
        return call.args[position]
    keywords = (keyword,) if keyword else SQL_KEYWORDS
    return next((kw.value for kw in call.keywords if kw.arg in keywords), None)


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def sql_forwarders(trees: list[ast.Module]) -> dict[str, tuple[int, str]]:
    """Functions that hand one of their parameters to an SQL call: name → (position, name).

    ``read_table_frame(session, sql, params)`` runs ``text(sql)``, so its callers are checked
    like callers of ``text`` (at position 1). Repeated until nothing new turns up.
    """
    calls: dict[str, tuple[int, str | None]] = {name: (0, None) for name in SQL_CALLS}
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for function in _functions(tree):
                params = [a.arg for a in function.args.posonlyargs + function.args.args]
                reassigned = _local_names(function)
                for node in ast.walk(function):
                    if not (isinstance(node, ast.Call) and _called_name(node) in calls):
                        continue
                    position, keyword = calls[_called_name(node)]
                    arg = _sql_argument(node, position, keyword)
                    if (
                        isinstance(arg, ast.Name)
                        and arg.id in params
                        and arg.id not in reassigned
                        and function.name not in calls
                    ):
                        calls[function.name] = (params.index(arg.id), arg.id)
                        changed = True
    return calls  # type: ignore[return-value]


def findings_in(
    source: str, filename: str, calls: dict[str, tuple[int, str | None]] | None = None
) -> list[str]:
    """``file:line: call() gets SQL built by ...`` for every string-built statement."""
    tree = ast.parse(source, filename=filename)
    calls = calls if calls is not None else sql_forwarders([tree])
    module_names = _module_constants(tree)
    found: list[str] = []

    def visit(scope: ast.AST, names: dict[str, list[ast.AST]]) -> None:
        for node in ast.iter_child_nodes(scope):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(node, {**names, **_local_names(node)})
                continue
            if isinstance(node, ast.Call) and _called_name(node) in calls:
                position, keyword = calls[_called_name(node)]
                why = _dynamic(_sql_argument(node, position, keyword), names)
                if why:
                    found.append(
                        f"{filename}:{node.lineno}: {_called_name(node)}() gets SQL built by {why}"
                    )
            visit(node, names)

    visit(tree, module_names)
    return found


def _sources() -> list[Path]:
    return sorted(p for top in SCANNED for p in (REPO / top).rglob("*.py"))


@pytest.mark.parametrize(
    ("snippet", "caught"),
    [
        ('text(f"SELECT * FROM {t}")', True),
        ('s.execute("SELECT %s" % x)', True),
        ('conn.exec_driver_sql("DELETE FROM " + t)', True),
        ('s.execute(text("SELECT {}".format(c)))', True),
        ('def f():\n    sql = f"SELECT {c}"\n    s.execute(text(sql))', True),
        ('def f():\n    sql = "SELECT 1"\n    sql += where\n    s.execute(text(sql))', True),
        ('cur.copy_expert(sql=f"COPY {t} FROM STDIN", file=buf)', True),
        ('s.execute(text("SELECT * FROM grid WHERE code = :c"), {"c": c})', False),
        ('def f():\n    sql = "SELECT 1"\n    s.execute(text(sql))', False),
        ('text(f"constant")', False),
        (
            'COLS = "id, code"\ndef f():\n    s.execute(text("SELECT " + COLS + " FROM grid"))',
            False,
        ),
        (
            'def f():\n    sql = "SELECT 1"\n    sql += " FROM grid"\n    s.execute(text(sql))',
            False,
        ),
        ('def f(c):\n    s.execute(text("SELECT " + c))', True),
        ('def f():\n    for t in ("a", "b"):\n        s.execute(text(f"DELETE FROM {t}"))', False),
        ('def f(ts):\n    for t in ts:\n        s.execute(text(f"DELETE FROM {t}"))', True),
        ('def run(s, sql):\n    s.execute(text(sql))\nrun(s, f"SELECT {c}")', True),
        ('def run(s, sql):\n    s.execute(text(sql))\nrun(s, "SELECT 1")', False),
        ("s.execute(select(t).where(t.c.code == c))", False),
        ('cur.execute(sql.SQL("SELECT {} FROM t").format(sql.Identifier(c)))', False),
        ('cur.execute(sql.SQL("; ").join(parts))', False),
        ('cur.execute(sql.SQL(f"SELECT {c} FROM t"))', True),
        ('cur.execute(sql.SQL("SELECT " + c))', True),
        ('cur.execute(sql.SQL("SELECT {}".format(c)))', True),
    ],
)
def test_the_scanner_sees_string_built_sql(snippet: str, caught: bool) -> None:
    assert bool(findings_in(snippet, "x.py")) is caught


def test_no_sql_is_built_from_strings() -> None:
    sources = _sources()
    assert len(sources) > 20  # the scan really looked at the packages
    texts = {path: path.read_text(encoding="utf-8") for path in sources}
    calls = sql_forwarders([ast.parse(text) for text in texts.values()])
    assert "read_table_frame" in calls  # the repository helper that runs text(sql) is followed
    found = [
        finding
        for path, text in texts.items()
        for finding in findings_in(text, str(path.relative_to(REPO)), calls)
    ]
    assert not found, (
        "SQL built from strings (use bound parameters or psycopg2.sql):\n" + "\n".join(found)
    )
