"""A private name stays in its module; a private module stays in its package.

What one module of ``geo_grid/`` or ``api/`` shares with another is public: no leading
underscore, listed in ``__all__``. Scanned with :mod:`ast`:

- ``from m import _x`` where ``_x`` is a name of another module ``m`` (not a submodule) is a
  finding, and so is ``m._x`` where ``m`` names another module of the project;
- a private module (``geo_grid/demo/_partition.py``) may be imported by the modules of its own
  package (``geo_grid.demo``) only: it is that package's helper, not the library's API.

Dunder names (``__version__``) are not private. There is no allow-list: every finding is a
failure naming ``file:line``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from test_rings import module_name, write_tree

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("geo_grid", "api")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_module(root: Path, name: str) -> bool:
    path = root / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _package(path: str) -> str:
    name = module_name(path)
    return name if path.endswith("__init__.py") else name.rpartition(".")[0]


def _private_module_outside(name: str, importer_package: str) -> bool:
    """``name`` has a private module in it whose package does not hold the importer."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            owner = ".".join(parts[:i])
            return not (importer_package == owner or importer_package.startswith(owner + "."))
    return False


def _resolve(node: ast.ImportFrom, path: str) -> str:
    if not node.level:
        return node.module or ""
    package = _package(path).split(".")
    anchor = package[: len(package) - node.level + 1]
    return ".".join([*anchor, node.module] if node.module else anchor)


def findings(root: Path) -> list[str]:
    """Every private name or module used across modules under ``root``'s scanned packages."""
    found: list[str] = []
    for source in sorted(p for top in SCANNED for p in (root / top).rglob("*.py")):
        path = source.relative_to(root).as_posix()
        if "/migrations/" in path:
            continue
        me, package = module_name(path), _package(path)
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=path)
        modules: dict[str, str] = {}  # local name → a project module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found += _from_import(root, node, path, me, package, modules)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in SCANNED:
                        top = alias.name.split(".")[0]  # ``import a.b`` binds ``a``
                        modules[alias.asname or top] = alias.name if alias.asname else top
                        if _private_module_outside(alias.name, package):
                            found.append(f"{path}:{node.lineno}: imports private {alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and modules[node.value.id] != me
            ):
                found.append(f"{path}:{node.lineno}: uses {modules[node.value.id]}.{node.attr}")
    return found


def _from_import(
    root: Path, node: ast.ImportFrom, path: str, me: str, package: str, modules: dict[str, str]
) -> list[str]:
    source = _resolve(node, path)
    if source.split(".")[0] not in SCANNED:
        return []
    out = []
    if _private_module_outside(source, package):
        out.append(f"{path}:{node.lineno}: imports from private {source}")
    for alias in node.names:
        full = f"{source}.{alias.name}"
        if _is_module(root, full):
            modules[alias.asname or alias.name] = full
            if _private_module_outside(full, package):
                out.append(f"{path}:{node.lineno}: imports private {full}")
        elif _private(alias.name) and source != me:
            out.append(f"{path}:{node.lineno}: imports {full}, private to {source}")
    return out


def test_no_private_name_crosses_a_module() -> None:
    found = findings(REPO)
    assert not found, "make what is shared public (in __all__):\n" + "\n".join(found)


# ------------------------------------------------------------------------------ planted faults
CLEAN = {
    "geo_grid/__init__.py": "__version__ = '1'\n",
    "geo_grid/demo/__init__.py": "from geo_grid.demo import _partition\n",
    "geo_grid/demo/_partition.py": "def cut():\n    return _d2()\ndef _d2():\n    return 1\n",
    "geo_grid/demo/_streets.py": "from . import _partition\nX = _partition.cut()\n",
    "geo_grid/services/__init__.py": "",
    "geo_grid/services/cases/__init__.py": "",
    "geo_grid/services/cases/_common.py": "def now():\n    return 1\n",
    "geo_grid/services/cases/views.py": "from geo_grid.services.cases._common import now\n",
    "api/__init__.py": "from geo_grid import __version__\n",
}

PLANTED = [
    (
        "geo_grid/services/cases/rules.py",
        "from geo_grid.services.cases.views import _find\n",
        "imports geo_grid.services.cases.views._find",
    ),
    ("geo_grid/services/cases/x.py", "from .views import _find\n", "views._find, private"),
    (
        "geo_grid/demo/_layers.py",
        "from geo_grid.demo import _partition as p\nY = p._d2()\n",
        "uses",
    ),
    ("geo_grid/demo/y.py", "import geo_grid.demo._partition as p\nY = p._d2()\n", "_d2"),
    ("geo_grid/services/demo.py", "from geo_grid.demo import _partition\n", "imports private"),
    ("geo_grid/services/demo.py", "from geo_grid.demo._partition import cut\n", "from private"),
    ("api/x.py", "from geo_grid.services.cases import _common\n", "imports private"),
]


def test_a_clean_synthetic_checkout_passes(tmp_path: Path) -> None:
    """A module's own privates, a package's private module used inside the package, and public
    names of a private module imported within its package are all fine."""
    assert findings(write_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(("path", "body", "said"), PLANTED)
def test_a_planted_crossing_is_reported(tmp_path: Path, path: str, body: str, said: str) -> None:
    found = findings(write_tree(tmp_path, {**CLEAN, path: body}))
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:") and said in found[0], found[0]
