"""Vendor assets: pinned tarballs verified by sha512, extracted once, clear failure offline.

A fake package is served from 127.0.0.1 so the tests need no internet.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile

import pytest
from browser import serve_directory

from geo_grid import assets
from geo_grid.assets import AssetError, NpmPackage, ensure_assets

CLOSED = "http://127.0.0.1:9"  # discard port: nothing listens, connection refused at once


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    """A one-package registry on 127.0.0.1 holding ``fakeleaf-1.0.0.tgz``; yields (pkg, hits)."""
    data = _tarball(
        {
            "dist/fake.js": b"window.fake = 1;",
            "dist/images/a.png": b"\x89PNG",
            "dist/fake.js.map": b"{}",
            "src/ignored.js": b"",
            "package.json": b'{"name": "fakeleaf", "license": "MIT"}',
        }
    )
    root = tmp_path / "registry"
    (root / "fakeleaf" / "-").mkdir(parents=True)
    (root / "fakeleaf" / "-" / "fakeleaf-1.0.0.tgz").write_bytes(data)
    pkg = NpmPackage("fakeleaf", "1.0.0", _integrity(data), ("fake.js", "images/"))
    monkeypatch.setattr(assets, "PACKAGES", {"fakeleaf": pkg})
    with serve_directory(root) as base:
        monkeypatch.setattr(assets, "REGISTRY", base.rstrip("/"))
        yield pkg


def test_downloads_verifies_and_extracts_only_wanted_files(fake_registry, tmp_path):
    dest = ensure_assets(tmp_path / "vendor")
    folder = dest / "fakeleaf"
    got = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert got == [".manifest.json", "fake.js", "images/a.png", "package.json"]
    manifest = json.loads((folder / ".manifest.json").read_text())
    assert manifest["integrity"] == fake_registry.integrity
    assert manifest["files"]["fake.js"] == hashlib.sha256(b"window.fake = 1;").hexdigest()


def test_second_run_needs_no_network_and_tampering_is_repaired(
    fake_registry, tmp_path, monkeypatch
):
    dest = ensure_assets(tmp_path / "vendor")
    monkeypatch.setattr(assets, "REGISTRY", CLOSED)
    assert ensure_assets(dest) == dest  # verified from the manifest, nothing fetched
    (dest / "fakeleaf" / "fake.js").write_text("alert('changed')")
    with pytest.raises(AssetError, match="cannot download"):
        ensure_assets(dest)  # altered file → fetch again → offline here


def test_a_changed_file_selection_is_extracted_again(fake_registry, tmp_path, monkeypatch):
    """Same version, other files wanted (a new page needs one more file): not 'current' any more."""
    dest = ensure_assets(tmp_path / "vendor")
    assert not (dest / "fakeleaf" / "fake.js.map").exists()
    more = NpmPackage("fakeleaf", "1.0.0", fake_registry.integrity, ("fake.js", "fake.js.map"))
    monkeypatch.setattr(assets, "PACKAGES", {"fakeleaf": more})
    ensure_assets(dest)
    assert (dest / "fakeleaf" / "fake.js.map").read_bytes() == b"{}"
    assert not (dest / "fakeleaf" / "images").exists()


def test_files_from_the_package_root_or_another_folder(fake_registry, tmp_path, monkeypatch):
    """swagger-ui-dist keeps its files at the package root, ReDoc under ``bundles/``."""
    root = NpmPackage("fakeleaf", "1.0.0", fake_registry.integrity, ("src/ignored.js",), folder="")
    monkeypatch.setattr(assets, "PACKAGES", {"fakeleaf": root})
    folder = ensure_assets(tmp_path / "vendor") / "fakeleaf"
    got = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert got == [".manifest.json", "package.json", "src/ignored.js"]
    wrong = NpmPackage("fakeleaf", "1.0.0", fake_registry.integrity, ("x.js",), folder="bundles/")
    monkeypatch.setattr(assets, "PACKAGES", {"fakeleaf": wrong})
    with pytest.raises(AssetError, match="lacks bundles/x.js"):
        ensure_assets(tmp_path / "other")


def test_internet_urls_in_a_bundle_are_replaced_and_must_be_there(
    fake_registry, tmp_path, monkeypatch
):
    """ReDoc's sidebar logo comes from cdn.redoc.ly: the extracted bundle points elsewhere."""
    data = _tarball({"dist/fake.js": b'img.src="https://cdn.example/logo.svg";'})
    (tmp_path / "registry" / "fakeleaf" / "-" / "fakeleaf-1.0.0.tgz").write_bytes(data)
    swap = (("fake.js", "https://cdn.example/logo.svg", assets.BLANK),)
    pkg = NpmPackage("fakeleaf", "1.0.0", _integrity(data), ("fake.js",), offline=swap)
    monkeypatch.setattr(assets, "PACKAGES", {"fakeleaf": pkg})
    folder = ensure_assets(tmp_path / "vendor") / "fakeleaf"
    text = (folder / "fake.js").read_text()
    assert "cdn.example" not in text and assets.BLANK in text
    monkeypatch.setattr(assets, "REGISTRY", CLOSED)
    ensure_assets(tmp_path / "vendor")  # the manifest holds the replaced file's digest
    gone = (("fake.js", "https://cdn.example/other.svg", assets.BLANK),)
    stale = NpmPackage("fakeleaf", "1.0.0", _integrity(data), ("fake.js",), offline=gone)
    monkeypatch.setattr(assets, "PACKAGES", {"fakeleaf": stale})
    with pytest.raises(AssetError, match="cannot download"):
        ensure_assets(tmp_path / "vendor")  # another replacement: extract again (offline here)


def test_no_vendor_file_fetches_from_a_cdn():
    """What the pages load names no CDN host (links to project sites are fine)."""
    folder = assets.asset_path()
    if not (folder / "redoc" / ".manifest.json").exists():
        pytest.skip("vendor assets not installed (run python -m geo_grid.assets)")
    for path in folder.rglob("*.js"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for host in ("cdn.redoc.ly", "cdn.jsdelivr.net", "unpkg.com", "fonts.googleapis.com"):
            assert host not in text, (path.name, host)


def test_tarball_not_matching_pinned_integrity_is_refused(fake_registry, tmp_path, monkeypatch):
    wrong = NpmPackage("fakeleaf", "1.0.0", _integrity(b"something else"), ("fake.js",))
    monkeypatch.setattr(assets, "PACKAGES", {"fakeleaf": wrong})
    with pytest.raises(AssetError, match="integrity"):
        ensure_assets(tmp_path / "vendor")
    assert not (tmp_path / "vendor" / "fakeleaf").exists()


def test_offline_and_missing_fails_with_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(assets, "REGISTRY", CLOSED)
    assert assets.main([str(tmp_path / "vendor")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "leaflet" in err and "python -m geo_grid.assets" in err


def test_pinned_packages_are_the_expected_versions():
    assert assets.PACKAGES["leaflet"].version == "1.9.4"
    for pkg in assets.PACKAGES.values():
        assert pkg.integrity.startswith("sha512-") and len(pkg.integrity) == 95
        assert pkg.url.startswith("https://registry.npmjs.org/")


def test_installed_vendor_tree_verifies_offline(monkeypatch):
    """The real vendor folder, once set up, is complete and checks out without the network."""
    folder = assets.asset_path()
    if not (folder / "leaflet" / ".manifest.json").exists():
        pytest.skip("vendor assets not installed (run python -m geo_grid.assets)")
    monkeypatch.setattr(assets, "REGISTRY", CLOSED)
    ensure_assets()
    assert (folder / "leaflet" / "leaflet.js").stat().st_size > 100_000
    assert (folder / "leaflet" / "images" / "layers.png").exists()
    assert (folder / "leaflet.markercluster" / "MarkerCluster.Default.css").exists()
    assert (folder / "leaflet.heat" / "leaflet-heat.js").exists()
    assert (folder / "leaflet-draw" / "leaflet.draw.js").exists()
    # the API documentation pages: one Swagger UI bundle (of four) and its CSS, ReDoc's bundle
    swagger = sorted(p.name for p in (folder / "swagger-ui-dist").iterdir())
    assert "swagger-ui-bundle.js" in swagger and "swagger-ui.css" in swagger
    assert not [n for n in swagger if n.endswith(".map") or "es-bundle" in n], swagger
    assert (folder / "redoc" / "redoc.standalone.js").stat().st_size > 500_000
