"""One settings object for the library, the CLI and the API (env prefix ``GEO_GRID_``).

Read through :func:`get_settings`, which is cached so every caller sees the same values; tests
override by clearing the cache (``get_settings.cache_clear()``) after changing the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration.

    ``database_url`` unset means "use the private local cluster under ``home``" (see
    :mod:`geo_grid.db.cluster`); set it to point at an existing PostGIS server instead.
    """

    model_config = SettingsConfigDict(env_prefix="GEO_GRID_", extra="ignore")

    database_url: str | None = None
    home: Path = Path(".geo-grid")
    storage_srid: int = 4490
    local_crs: str = "EPSG:4549"
    district_code: str = "320113"
    tiles_url: str | None = None
    tiles_attribution: str = ""
    tiles_crs: str = "wgs84"
    host: str = "127.0.0.1"
    port: int = 8000
    #: HMAC key signing the API's tokens; unset: a random key kept in ``<home>/auth-secret`` (0600),
    #: shared by every worker of this machine. Set it (same value) on every machine of a cluster.
    auth_secret: str | None = None
    #: lifetime of a login token (a disabled account is refused within a minute regardless)
    auth_token_minutes: int = 60
    #: mark the browser session cookie Secure (set when the API is served over HTTPS)
    auth_cookie_secure: bool = False
    #: wrong passwords in a row that lock an account, and for how long
    auth_max_failed_logins: int = 5
    auth_lock_minutes: int = 15
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
    #: most one zip member may expand (unpacked / packed) before it is refused as a zip bomb
    upload_max_zip_ratio: float = 100.0
    #: processes that build map pages and run checks, merges and indicator reports for the API,
    #: so that one long request does not stall the others (0: in the request's thread)
    heavy_workers: int = 2
    #: seconds between escalation sweeps run by the API process (0: off; `geo-grid cases tick` by cron)
    case_tick_seconds: float = 300
    #: JSON overriding the red/yellow/green thresholds, e.g. {"ontime_rate": [0.9, 0.8]}
    case_indicator_thresholds: str | None = None

    @property
    def cluster_dir(self) -> Path:
        """Where the private PostgreSQL cluster lives (data, socket, log)."""
        return (self.home / "pg").resolve()

    @property
    def tmp_dir(self) -> Path:
        """Where the server keeps its temporary files (uploads, unpacked zips, exports): under
        ``home``, not the machine's shared ``/tmp``, and emptied when the server starts."""
        return (self.home / "tmp").resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the cached settings; call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
