"""One settings object for the library, the CLI and the API (env prefix ``GEO_GRID_``).

Read through :func:`get_settings`, which is cached so every caller sees the same values; tests
override by clearing the cache (``get_settings.cache_clear()``) after changing the environment.
"""

from __future__ import annotations

from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration.

    ``database_url`` unset means "use the private local cluster under ``home``" (see
    :mod:`geo_grid.db.cluster`); set it to point at an existing PostGIS server instead. What
    differs from one district to the next (its CRS, names, bounds) is in the store, one profile
    per district (:mod:`geo_grid.services.districts`); the household band, indicator thresholds
    and time zone here are the defaults of districts that set none.
    """

    model_config = SettingsConfigDict(env_prefix="GEO_GRID_", extra="ignore")

    database_url: str | None = None
    home: Path = Path(".geo-grid")
    #: where fetched data packages (the national gazetteer's CSV files) are kept; unset:
    #: ``$XDG_CACHE_HOME/geo-grid`` or ``~/.cache/geo-grid``, shared by every checkout of the machine
    data_cache: Path | None = None
    #: the maps' base: a 天地图 preset (``tianditu:vec`` 矢量, ``tianditu:img`` 影像,
    #: ``tianditu:ter`` 地形, each with its annotation), or an XYZ template
    #: (``https://tiles.intranet/{z}/{x}/{y}.png``); unset: the district's own roads and names
    #: drawn from the store (:mod:`geo_grid.maps.basemap`)
    tiles_url: str | None = None
    tiles_attribution: str = ""
    #: the datum of the tiles: wgs84 / cgcs2000 (overlays drawn as stored) or gcj02 (AMap and
    #: Tencent tiles: overlays shifted)
    tiles_crs: str = "wgs84"
    #: 天地图's key (``tk``), which its tiles need
    tiles_key: str | None = None
    #: 天地图's tile matrix set: ``webmercator`` (its ``_w`` services) or ``cgcs2000`` (``_c``:
    #: longitude/latitude, the maps then drawn in that projection)
    tiles_projection: str = "webmercator"
    #: where 天地图's tiles come from: its public servers, or the intranet's copy of them
    #: (``http://10.0.0.8/tianditu``; ``{s}`` picks one of several servers)
    tiles_host: str = "https://t{s}.tianditu.gov.cn"
    #: the ``{s}`` servers of an XYZ template
    tiles_subdomains: str = "abc"
    host: str = "127.0.0.1"
    port: int = 8000
    #: HMAC key signing the API's tokens; unset: a random key kept in ``<home>/auth-secret`` (0600),
    #: shared by every worker of this machine. Set it (same value) on every machine of a cluster.
    auth_secret: str | None = None
    #: lifetime of a login token; what it names is re-read from the account more often (below)
    auth_token_minutes: int = 60
    #: seconds a token's account (active? role, area, roster grids) is trusted before it is read
    #: again: a disabled account, a new role or a roster change reach live tokens within this time
    auth_recheck_seconds: float = 30.0
    #: mark the browser session cookie Secure (set when the API is served over HTTPS)
    auth_cookie_secure: bool = False
    #: login throttle (docs/security.md). Wrong passwords for one username from one address before
    #: that pair must wait; the first wait, doubled at each further failure up to the cap
    auth_login_free_failures: int = 5
    auth_login_first_delay_seconds: float = 1.0
    auth_login_max_delay_seconds: float = 900.0
    #: a pair's count starts over after this long without a failure (or at a good login)
    auth_login_reset_minutes: float = 60.0
    #: failures one address may make across all usernames per window (credential stuffing) ...
    auth_login_address_budget: int = 50
    #: ... and one username may take across addresses, past which only its owner's usual
    #: addresses (a good login within ``auth_login_usual_days``) may still try
    auth_login_account_budget: int = 100
    auth_login_window_minutes: float = 60.0
    auth_login_usual_days: float = 90.0
    #: proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the client; empty:
    #: the client is the connection's peer and the header is ignored
    auth_trusted_proxies: str = ""
    household_band_min: int = 300
    household_band_max: int = 500
    #: largest layer file an import takes, as uploaded (a zip counts packed); HTTP 413 above it
    upload_max_bytes: int = 50 * 1024 * 1024
    #: most features one import may hold
    upload_max_features: int = 20_000
    #: most vertices (coordinates) one import or checked file may hold, all features together
    upload_max_vertices: int = 1_000_000
    #: most vertices one feature may have, in a file or in a JSON body (a plan's split line or
    #: reshaped outline); the demo's most detailed grid has under 300
    geometry_max_vertices: int = 20_000
    #: largest request body other than a layer upload (JSON, forms), in bytes; HTTP 413 above it
    body_max_bytes: int = 4 * 1024 * 1024
    #: most a zipped shapefile may unpack to (declared and actually produced)
    upload_max_unzipped_bytes: int = 200 * 1024 * 1024
    #: most rows a table a district hands in may hold (its standard address library, its roster)
    table_max_rows: int = 1_000_000
    #: most one zip member may expand (unpacked / packed) before it is refused as a zip bomb
    upload_max_zip_ratio: float = 100.0
    #: largest photo of a case's work a grid worker may upload (JPEG, PNG or WebP), in bytes;
    #: HTTP 413 above it
    photo_max_bytes: int = 10 * 1024 * 1024
    #: most pixels (width × height) a photo may decode to: a small file cannot unpack into
    #: gigabytes of memory (a 48-megapixel phone camera is under the default)
    photo_max_pixels: int = 50_000_000
    #: processes that run the API's heavy requests (map pages, checks, merges, imports, a layer's
    #: GeoJSON, plan edits, batch geocode jobs, indicator reports), so that one long request does
    #: not stall the others (0: in the request's thread)
    heavy_workers: int = 2
    #: whether the API builds its caches (locate index, geocoders, coverage pages, places) and
    #: starts the heavy workers' imports as it starts, before the first user asks; off, each is
    #: built by the first request that needs it (a server that only takes uploads or publishes,
    #: or lives for seconds, spends no CPU on them)
    warm_up: bool = True
    #: threads of the API process that take jobs (merge, accept-all, checks and fixes of big
    #: layers, batch geocodes, exports) from the queue and run them in the heavy workers above
    #: (0: none; then `geo-grid worker` processes must run them)
    job_workers: int = 1
    #: seconds between a running job's heartbeats ...
    job_heartbeat_seconds: float = 5.0
    #: ... and how old its last one may be before the job is thought abandoned (its worker died)
    #: and taken up again by another worker
    job_stale_seconds: float = 60.0
    #: attempts a job gets in all (a worker dying during each one) before it is failed
    job_max_attempts: int = 3
    #: seconds an idle worker waits before it asks the queue again
    job_poll_seconds: float = 1.0
    #: a batch geocode of at most this many addresses is answered in the request (200); a larger
    #: one, or any sent with ``Prefer: respond-async``, becomes a job (202)
    job_sync_max_addresses: int = 1000
    #: serve Open311 discovery.{json,xml}, services.{json,xml} and services/{code}.{fmt} without a
    #: key, as GeoReport v2 expects (clients read the service list before they have one); false on
    #: a closed intranet requires a key or token for them too. Requests are always behind one.
    open311_public_discovery: bool = True
    #: seconds a request editing a plan (an edit, undo, roster, publish) waits for another one
    #: or a job (accepting all suggestions) holding the plan, before 409: a job takes minutes
    plan_lock_wait_seconds: float = 5.0
    #: seconds between escalation sweeps run by the API process (0: off; `geo-grid cases tick` by cron)
    case_tick_seconds: float = 300
    #: JSON overriding the red/yellow/green thresholds, e.g. {"ontime_rate": [0.9, 0.8]}
    case_indicator_thresholds: str | None = None
    #: the district's time zone (IANA name): a date or time given without an offset means this,
    #: and every time a person reads is shown in it (the one definition of Beijing time)
    time_zone: str = "Asia/Shanghai"
    #: longest period (``from``…``to``) a case page, indicator or case query may span, in days;
    #: longer ones are refused (422) instead of drawing every case since 1970
    max_period_days: int = 366
    #: most cases one spreadsheet export holds (``/api/v1/exports/cases.xlsx``); a bigger
    #: selection is refused (422) rather than cut short
    export_max_rows: int = 50_000

    @model_validator(mode="after")
    def _tiles_work(self) -> Settings:
        """A base map that cannot work is refused when the settings are read (naming the
        setting), not on the first map a dispatcher opens."""
        if self.tiles_url:
            from geo_grid.errors import BadInput
            from geo_grid.maps.basemap import tile_base

            try:
                tile_base(**self.tile_options())
            except BadInput as exc:
                raise ValueError(str(exc)) from None
        return self

    def tile_options(self) -> dict[str, Any]:
        """The arguments of :func:`geo_grid.maps.basemap.tile_base` these settings give."""
        return {
            "url": self.tiles_url, "key": self.tiles_key, "projection": self.tiles_projection,
            "host": self.tiles_host, "attribution": self.tiles_attribution,
            "crs": self.tiles_crs, "subdomains": self.tiles_subdomains,
        }  # fmt: skip

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Refuse an unknown zone when the settings are read, not at the first time shown."""
        return check_time_zone(value)

    @property
    def zone(self) -> tzinfo:
        """:attr:`time_zone` as a tzinfo (China keeps one offset, +08:00, all year). Read it
        through :func:`geo_grid.timefmt.local_zone`, which also names it for people."""
        return ZoneInfo(self.time_zone)

    @property
    def photos_dir(self) -> Path:
        """Where the photos of cases' work are kept: ``<home>/photos/<case id>/<uuid>.<ext>``."""
        return (self.home / "photos").resolve()

    @property
    def cluster_dir(self) -> Path:
        """Where the private PostgreSQL cluster lives (data, socket, log)."""
        return (self.home / "pg").resolve()

    @property
    def tmp_dir(self) -> Path:
        """Where the server keeps its temporary files (uploads, unpacked zips, exports): under
        ``home``, not the machine's shared ``/tmp``, and emptied when the server starts."""
        return (self.home / "tmp").resolve()


def check_time_zone(value: str) -> str:
    """``value`` if it names an IANA time zone, else :class:`ValueError` naming it: the one check
    of a zone name (the store-wide setting's and a district profile's)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA time zone name: {value!r}") from None
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the cached settings; call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
