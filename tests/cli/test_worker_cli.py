"""``geo-grid worker`` as a process: a worker killed with ``kill -9`` mid-job has its job taken
up again by another worker, which finishes it; SIGTERM lets the job in hand finish, then exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import QIXIA

from geo_grid.access import Principal
from geo_grid.services import jobs

REPO = Path(__file__).resolve().parents[2]
WHO = Principal(name="t.worker", role="planner")
#: A dead worker's job is taken again after this long without a heartbeat (the setting's
#: default is a minute: short here so the test does not wait for it).
STALE_S = 4.0


def _worker(log: Path) -> subprocess.Popen:
    env = {**os.environ, "GEO_GRID_JOB_STALE_SECONDS": str(STALE_S),
           "GEO_GRID_JOB_HEARTBEAT_SECONDS": "0.5", "GEO_GRID_JOB_POLL_SECONDS": "0.2"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "geo_grid.cli", "worker", "--kinds", "merge"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def _until(job_id: int, ready, timeout_s: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = jobs.get(job_id, viewer=WHO)
        if ready(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


@pytest.fixture
def merge_job(demo_db) -> dict:
    return jobs.submit("merge", {"layers": ["ecology"], "district": QIXIA}, principal=WHO)


def test_a_worker_killed_mid_job_leaves_it_to_another_which_finishes_it(merge_job, tmp_path):
    first = _worker(tmp_path / "first.log")
    try:
        running = _until(merge_job["id"], lambda j: j["status"] == "running" and j["progress"] > 0)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert running["attempts"] == 1
    left = jobs.get(merge_job["id"], viewer=WHO)
    assert left["status"] == "running" and left["result"] is None  # nobody finished it
    second = _worker(tmp_path / "second.log")
    try:
        done = _until(merge_job["id"], lambda j: j["status"] in ("done", "failed"))
        assert done["status"] == "done", (done, (tmp_path / "second.log").read_text()[-2000:])
        assert done["attempts"] == 2 and done["progress"] == 1.0
        assert done["result"]["departments"] == {"ecology": 1}
        assert done["result"]["proposed"]["check"]["valid"]
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0  # idle: stops at once


def test_sigterm_lets_the_job_in_hand_finish_then_exits_0(merge_job, tmp_path):
    log = tmp_path / "worker.log"
    worker = _worker(log)
    try:
        _until(merge_job["id"], lambda j: j["status"] == "running")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(300) == 0, log.read_text()[-2000:]
    finally:
        if worker.poll() is None:
            worker.kill()
    job = jobs.get(merge_job["id"], viewer=WHO)
    assert job["status"] == "done" and job["attempts"] == 1, job
    assert "finishing the job in hand" in log.read_text()
