"""Following a job the API started: poll its Location until it ends (tests' one way to wait)."""

from __future__ import annotations

import time
from typing import Any


def wait_for_job(client: Any, answer: Any, *, timeout_s: float = 300.0) -> dict:
    """The job of a 202 ``answer`` (an httpx or schemathesis response) once it is done or failed,
    polling its ``Location`` with ``client`` (a TestClient or an httpx client); AssertionError
    after ``timeout_s``."""
    assert answer.status_code == 202, answer.text[:500]
    location = answer.headers["location"]
    if isinstance(location, list):  # a schemathesis response: each header's values
        (location,) = location
    assert location == f"/api/v1/jobs/{answer.json()['id']}"
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(location)
        assert job.status_code == 200, job.text[:500]
        body = job.json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']}: {body}"
        time.sleep(0.2)


def job_result(client: Any, answer: Any, *, timeout_s: float = 300.0) -> dict:
    """The result of the job of a 202 ``answer``, which must end done."""
    job = wait_for_job(client, answer, timeout_s=timeout_s)
    assert job["status"] == "done", job
    return job["result"]
