"""The worker processes of ``api/workers.py`` as a process sees them: no wait for them at exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: A process whose one worker runs a minute of work as it ends: how long its exit takes.
_SCRIPT = """
import threading, time
from api import workers
workers.start()
threading.Thread(target=workers.run, args=(time.sleep, 60), daemon=True).start()
time.sleep(1.0)
started = time.monotonic()
import atexit
atexit.register(lambda: print(f"exit took {time.monotonic() - started:.2f} s", flush=True))
"""


def test_a_process_ends_without_waiting_for_the_work_its_workers_run(tmp_path) -> None:
    """concurrent.futures joins a pool at exit, so a server told to stop waited for whatever its
    workers still ran (the warm-up's page: seconds); the workers are ended first instead."""
    env = {**os.environ, "GEO_GRID_HOME": str(tmp_path), "GEO_GRID_HEAVY_WORKERS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    took = float(done.stdout.split("exit took ")[1].split()[0])
    assert took < 5.0, f"the exit waited {took:.1f} s for a worker's work"
