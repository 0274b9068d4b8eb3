"""The notebooks run top to bottom against the test database (demo loaded): tour and quick start.

Each is executed by nbclient in a fresh kernel whose environment points ``GEO_GRID_DATABASE_URL`` at
the test PostGIS, in a temporary working folder (the tour writes its pages there).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name: str, database_url: str, workdir: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = {**os.environ, "GEO_GRID_DATABASE_URL": database_url}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(NOTEBOOKS.parent), os.environ.get("PYTHONPATH")) if p
    )
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=env)
    return nb


def _outputs(nb) -> str:
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text.append(out.get("text", "") or str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


def test_tour_renders_every_map(demo_db, tmp_path):
    nb = _run("tour.ipynb", demo_db, tmp_path)
    out = tmp_path / "tour_maps"
    pages = {p.stem for p in out.glob("*.html")}
    for kind in ("coverage", "checks_urban_mgmt", "cases", "indicators", "services", "dispatch"):
        assert kind in pages, (kind, sorted(pages))
    assert any(p.startswith("grid_") for p in pages)
    assert (out / "static" / "vendor" / "leaflet" / "leaflet.js").is_file()
    assert (out / "coverage.html").stat().st_size <= 3_000_000
    assert "coverage" in _outputs(nb)


def test_quickstart_runs(demo_db, tmp_path):
    nb = _run("quickstart.ipynb", demo_db, tmp_path)
    text = _outputs(nb)
    assert "unified" in text and "urban_mgmt" in text
    assert "matched" in text or "ambiguous" in text, text[-500:]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
