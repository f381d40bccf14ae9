"""The polling loop of the platform's Jobs page, and the same loop written with the client.

`seed_wait_for_job` restates, in our own code, the Python loop that the platform's Jobs page
(the seed, "Polling Pattern") shows its users: a GET of /api/v1/jobs/<id> with the key as a
Bearer token, every 10 seconds; on a 429, sleep for the answer's Retry-After (60 when absent) and
ask again at once; return the job when its status is completed, failed or cancelled; give up after
10 minutes. The page uses `requests`; this restatement uses the standard library, whose urllib
raises on 4xx and 5xx answers where `requests` returns them, so those are caught and read the
same way. The interval and the sleep are parameters so the tests can shorten and observe them.

`client_wait_for_job` is the same loop rewritten with the client: the client follows the job's
event stream (or polls), waits out Retry-After on a 429, and stops at a terminal status.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict

import genjobs

TERMINAL = ("completed", "failed", "cancelled")


def seed_wait_for_job(
    job_id: str,
    api_key: str,
    base_url: str,
    interval: float = 10,
    timeout: float = 600,
    sleep: Callable[[float], None] = time.sleep,
) -> Dict[str, Any]:
    give_up_at = time.time() + timeout
    while True:
        request = urllib.request.Request(f"{base_url}/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {api_key}"})
        try:
            with urllib.request.urlopen(request) as response:
                status, headers, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, payload = error.code, error.headers, error.read()
        if status == 429:
            sleep(int(headers.get("Retry-After", "60")))
            continue
        job = json.loads(payload)
        if job.get("status") in TERMINAL:
            return job
        if time.time() > give_up_at:
            raise TimeoutError("Timed out waiting for job")
        sleep(interval)


def client_wait_for_job(client: genjobs.GenJobs, job_id: str, timeout: float = 600) -> genjobs.Job:
    return client.jobs.wait(job_id, timeout=timeout)
