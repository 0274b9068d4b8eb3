"""Temporary files, kept under ``<home>/tmp/`` instead of the machine's shared ``/tmp``.

Uploads are spooled to disk, zipped shapefiles unpacked and exports written before they are sent;
each lives in a folder of :func:`scratch_dir` that is removed when the work is done. A process
killed with ``kill -9`` cannot remove its files (a normal exit removes its folder), so the server
calls :func:`sweep` when it starts.

Each process works in a folder of its own, ``<home>/tmp/<pid>-<random>/``, and holds an exclusive
``flock`` on the ``.lock`` file in it for as long as it runs. The kernel drops that lock when the
process ends, however it ends, so :func:`sweep` removes exactly the folders whose lock it can take:
those of processes that are gone. A worker starting next to running ones (``--workers 4``, or a
CLI import while the server runs) leaves their folders alone, and a restarted container whose
server gets the same pid again still finds its old folder unlocked.

>>> with scratch_dir("doctest_") as folder:
...     _ = (folder / "x").write_text("x")
...     folder.parent == process_dir()
True
>>> folder.exists()
False
"""

from __future__ import annotations

import atexit
import fcntl
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geo_grid.settings import get_settings

__all__ = ["process_dir", "scratch_dir", "sweep"]

_LOCK = ".lock"
_GRACE_S = 60.0
_mine: dict[tuple[int, Path], tuple[Path, int]] = {}  # (pid, tmp_dir) → (folder, locked fd)
_guard = threading.Lock()


def process_dir() -> Path:
    """This process's folder under the settings' ``tmp_dir``: made (0700) and locked on first use."""
    root = get_settings().tmp_dir
    key = (os.getpid(), root)
    with _guard:
        if key in _mine and _mine[key][0].is_dir():
            return _mine[key][0]
        root.mkdir(parents=True, exist_ok=True)
        folder = root / f"{os.getpid()}-{secrets.token_hex(4)}"
        folder.mkdir(mode=0o700)
        fd = os.open(folder / _LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until this process ends
        _mine[key] = (folder, fd)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # a normal exit cleans up
        return folder


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A fresh private folder for one piece of work, removed with everything in it afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix, dir=process_dir()) as folder:
        yield Path(folder)


def _in_use(folder: Path) -> bool:
    """True while the process that made ``folder`` runs (it holds the lock on its ``.lock``)."""
    try:
        fd = os.open(folder / _LOCK, os.O_RDONLY)
    except OSError:  # no lock file: a leftover, unless its process is between mkdir and flock
        return time.time() - folder.stat().st_mtime < _GRACE_S
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock this call may have taken
    return False


def sweep() -> list[Path]:
    """Remove what ended processes left in ``tmp_dir``; return the paths removed.

    The folders of running processes (this one included) are kept; everything else goes, the
    ``geo_grid_upload_*`` folders an older version left directly under ``tmp_dir`` included.
    """
    root = get_settings().tmp_dir
    if not root.is_dir():
        return []
    removed = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            if _in_use(entry):
                continue
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
