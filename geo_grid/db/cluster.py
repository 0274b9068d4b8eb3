"""The private PostgreSQL/PostGIS cluster that makes geo-grid run on a laptop with no DBA.

With ``GEO_GRID_DATABASE_URL`` unset, ``geo-grid db start`` creates a cluster under
``<home>/pg`` (data in ``data/``, the Unix socket in the folder itself, TCP on 127.0.0.1 on a free
port) and a database ``geogrid``. Postgres refuses to run as root, so when we are root the cluster
belongs to the ``postgres`` system user (Debian's packages create it) and every server command runs
as that user; otherwise it runs as the current user. Clients connect over the socket as the
``geogrid`` role with trust authentication, which is safe because the socket directory is private
(mode 0700) and TCP listens on loopback only.

This module only starts and stops servers; the schema belongs to Alembic (:mod:`geo_grid.db.migrate`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from geo_grid.errors import DatabaseUnavailable

__all__ = ["LocalCluster", "find_pg_bindir", "postgis_available"]

ROLE = "geogrid"
DATABASE = "geogrid"


def find_pg_bindir() -> Path:
    """Locate the server binaries (``initdb``, ``pg_ctl``); Debian keeps them off the PATH."""
    env = os.environ.get("GEO_GRID_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists() and (Path(cand) / "postgres").exists():
            return Path(cand)
    raise DatabaseUnavailable(
        "PostgreSQL server binaries not found: install postgresql-15-postgis-3 "
        "(apt-get install postgresql-15-postgis-3) or set GEO_GRID_DATABASE_URL"
    )


def postgis_available(bindir: Path) -> bool:
    """True when the PostGIS extension files are installed for this server version."""
    out = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True)
    sharedir = Path(out.stdout.strip() or "/usr/share/postgresql")
    return any(sharedir.glob("extension/postgis.control"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: A throwaway cluster's durability settings (the test sessions'): nothing is flushed to disk, so a
#: commit does not wait for the disk. PostgreSQL's docs name exactly these for data that can be
#: rebuilt ("Non-Durable Settings"); a crash of the machine may then corrupt the cluster, a crash
#: or stop of the server alone loses nothing that was committed but ``synchronous_commit``'s last
#: fraction of a second.
NON_DURABLE = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


@dataclass
class LocalCluster:
    """A private cluster in ``root``; state (the port) lives in files there, not in memory.

    ``durable=False`` makes a throwaway cluster (:data:`NON_DURABLE`): only for data that is
    rebuilt rather than recovered, such as a test session's, never for ``geo-grid db start``.
    """

    root: Path
    durable: bool = True

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()

    # -- paths and identity ---------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def port(self) -> int:
        return int(self.port_file.read_text().strip())

    @property
    def url(self) -> str:
        """SQLAlchemy URL over the Unix socket (fastest path, no TCP)."""
        return f"postgresql+psycopg2://{ROLE}@/{DATABASE}?host={self.root}&port={self.port}"

    @property
    def tcp_url(self) -> str:
        return f"postgresql+psycopg2://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    @staticmethod
    def _server_user() -> str | None:
        """The system user that owns the server: ``postgres`` when we are root, else ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise DatabaseUnavailable(
                "running as root but there is no 'postgres' system user to own the cluster; "
                "install postgresql-15-postgis-3 or run as a normal user"
            ) from exc
        return "postgres"

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
        user = self._server_user()
        cmd = ["runuser", "-u", user, "--", *args] if user else args
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            raise DatabaseUnavailable(
                f"{Path(args[0]).name} failed: {(proc.stderr or proc.stdout).strip()[-400:]}"
            )
        return proc

    # -- lifecycle ------------------------------------------------------------------------
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        """Cheap liveness test (no subprocess): the postmaster's pid file names a live process.

        Every session asks this through ``database_url()``, so it must cost microseconds.
        """
        pid_file = self.data_dir / "postmaster.pid"
        if not self.port_file.exists() or not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, OSError):
            return False
        return True

    def init(self) -> None:
        """Create the cluster (once): a private folder, owned by the server user."""
        bindir = find_pg_bindir()
        if not postgis_available(bindir):
            raise DatabaseUnavailable(
                "PostGIS is not installed for this PostgreSQL: apt-get install postgresql-15-postgis-3"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        user = self._server_user()
        if user:
            pw = pwd.getpwnam(user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            # the server user must be able to reach the folder through its parents
            for parent in self.root.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        os.chmod(self.root, 0o700 if not user else 0o711)
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                ROLE,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(
                "\n# geo-grid private cluster\n"
                f"unix_socket_directories = '{self.root}'\n"
                "listen_addresses = '127.0.0.1'\n"
                "fsync = on\nshared_buffers = 256MB\nmax_connections = 200\n"
                "work_mem = 32MB\nmaintenance_work_mem = 256MB\n"
            )
            if not self.durable:  # later lines of the file win
                fh.write(NON_DURABLE)

    def start(self, *, port: int | None = None, timeout: float = 30.0) -> str:
        """Start the server if needed, create the database, and return its URL."""
        if not self.initialized():
            self.init()
        if self.running():
            return self.url
        bindir = find_pg_bindir()
        port = port or _free_port()
        self.port_file.write_text(str(port))
        user = self._server_user()
        if user:
            pw = pwd.getpwnam(user)
            os.chown(self.port_file, pw.pw_uid, pw.pw_gid)
            if self.log_file.exists():
                os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
            else:
                self.log_file.touch()
                os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
        self._run(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                str(int(timeout)),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {port}",
            ]
        )
        self._wait_ready(timeout)
        self._ensure_database()
        return self.url

    def _psql(self, sql: str, db: str = "postgres") -> subprocess.CompletedProcess:
        bindir = find_pg_bindir()
        return subprocess.run(
            [
                str(bindir / "psql"),
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                ROLE,
                "-d",
                db,
                "-tAc",
                sql,
            ],
            capture_output=True,
            text=True,
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._psql("select 1").returncode == 0:
                return
            time.sleep(0.2)
        raise DatabaseUnavailable(f"local PostgreSQL did not answer; see {self.log_file}")

    def _ensure_database(self) -> None:
        exists = self._psql(f"select 1 from pg_database where datname = '{DATABASE}'")
        if exists.stdout.strip() != "1":
            created = self._psql(f"create database {DATABASE}")
            if created.returncode != 0:
                raise DatabaseUnavailable(f"could not create database: {created.stderr.strip()}")

    def stop(self) -> None:
        if not self.running():
            return
        bindir = find_pg_bindir()
        self._run([str(bindir / "pg_ctl"), "stop", "-m", "fast", "-D", str(self.data_dir)])

    def destroy(self) -> None:
        """Stop and delete the cluster (tests' temporary clusters)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
