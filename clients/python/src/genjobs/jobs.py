"""`client.jobs`: read, list, cancel, retry, follow and wait for jobs."""
from __future__ import annotations

import dataclasses
import json
import math
import time
import urllib.parse
from typing import Any, Callable, Dict, Iterator, Literal, Optional

from ._paging import JobList, query_time
from ._runs import AUTO, CancelAfter, Wait, run_request
from ._sse import read_events
from ._transport import Transport
from .errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)
from .types import BulkCancelResult, Job, JobEvent, JobPage, JobStatus, RunType

# The server sends a heartbeat comment every 15 s: a stream silent for much longer is broken.
STREAM_IDLE_TIMEOUT = 45.0


class Jobs:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def get(self, id: str, *, hold: Optional[float] = None, timeout: Optional[float] = None) -> Job:
        """One job. `hold` (seconds, at most 60) asks the server to answer only once the job has
        ended or that time has passed (`Prefer: wait`)."""
        return self._get(id, hold, timeout, None)

    def _get(self, id: str, hold: Optional[float], timeout: Optional[float], deadline: Optional[float]) -> Job:
        seconds = min(60, math.ceil(hold)) if hold and hold > 0 else 0
        headers = {"Prefer": f"wait={seconds}"} if seconds else {}
        answer = self._http.json("GET", f"/jobs/{_enc(id)}", headers=headers, repeatable=True, timeout=timeout, hold=seconds, deadline=deadline)
        return Job.from_dict(answer.data)

    def list(
        self,
        *,
        status: Optional[JobStatus] = None,
        run_type: Optional[RunType] = None,
        model_id: Optional[str] = None,
        app_id: Optional[str] = None,
        created_after: Any = None,
        created_before: Any = None,
        limit: Optional[int] = None,
        starting_after: Optional[str] = None,
    ) -> JobList:
        """The account's jobs, newest first, filtered. Iterate over the answer for every job that
        matches, page after page (`limit` per page, 100 unless given); `.first_page()` fetches one
        page only. `created_after` / `created_before` take ISO 8601 text or a datetime."""
        query: Dict[str, Any] = {
            "status": status, "run_type": run_type, "model_id": model_id, "app_id": app_id,
            "created_after": query_time(created_after), "created_before": query_time(created_before),
            "limit": limit, "starting_after": starting_after,
        }

        def fetch(q: Dict[str, Any]) -> JobPage:
            return JobPage.from_dict(self._http.json("GET", "/jobs", query=q, repeatable=True).data)

        return JobList(fetch, query)

    def cancel(self, id: str) -> Job:
        """Cancels a pending or processing job (refunded as the server's policy says); a job that has
        already ended raises ConflictError. Answers the job's `id`, `status`, `cancelled_at` and
        `credits_refunded`."""
        return Job.from_dict(self._http.json("POST", f"/jobs/{_enc(id)}/cancel", repeatable=False).data)

    def cancel_many(
        self, *, status: Optional[Literal["pending", "processing"]] = None, model_id: Optional[str] = None, app_id: Optional[str] = None,
    ) -> BulkCancelResult:
        """Cancels every pending or processing job that matches; with no filter, all of them.
        `status` narrows it to `pending` or `processing` jobs."""
        body = {k: v for k, v in {"status": status, "model_id": model_id, "app_id": app_id}.items() if v is not None}
        return BulkCancelResult.from_dict(self._http.json("POST", "/jobs/cancel", body=body, repeatable=False).data)

    def retry(
        self,
        id: str,
        *,
        wait: Wait = False,
        idempotency_key: Optional[str] = AUTO,
        cancel_after: Optional[CancelAfter] = None,
        on_update: Optional[Callable[[Job], None]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Job:
        """Runs a job again as a new job (charged like a new run, `retry_of` set); options as `client.run`'s."""
        return run_request(
            self._http, self, f"/jobs/{_enc(id)}/retry", None, wait=wait, webhook_url=None, idempotency_key=idempotency_key,
            cancel_after=cancel_after, on_update=on_update, timeout=timeout, max_retries=max_retries,
        )

    def events(self, id: str, *, last_event_id: Optional[str] = None) -> Iterator[JobEvent]:
        """The job's server-sent events, parsed, in order: a `status` event first, then its progress,
        log lines and app nodes so far and as they come, and the terminal `status` event last (then
        the iteration ends). Leaving the loop early closes the stream."""
        return self._follow(id, None, last_event_id)

    def wait(
        self,
        id: str,
        *,
        timeout: Optional[float] = None,
        on_update: Optional[Callable[[Job], None]] = None,
        live: bool = True,
        poll_interval: float = 2.0,
    ) -> Job:
        """Returns the job once it has ended (completed, failed or cancelled: check `status`).

        Follows the job's event stream (`live`), and polls when there is none or it breaks, asking
        the server to hold each answer until the job ends. `on_update(job)` is called each time the
        job changes (status, progress, an app node's output). After `timeout` seconds (None: no
        limit) it raises WaitTimeoutError, whose `job` is the last state seen.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: Optional[Job] = None

        def seen(job: Job) -> bool:
            nonlocal last
            last = job
            if on_update is not None:
                on_update(job)
            return job.is_terminal

        if live:
            try:
                for event in self._follow(id, deadline, None):
                    job = apply_event(last, event)
                    if job is not None and job is not last and seen(job):
                        return job
            except (NotFoundError, AuthenticationError, PermissionDeniedError):
                raise  # a job that cannot be seen cannot be polled either
            except ApiError:
                pass  # the stream broke, or the deadline came: polling takes over (and checks the deadline)
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeoutError(last if last is not None else Job(id=id), timeout or 0.0)
            started = time.monotonic()
            try:
                job = self._get(id, 60 if remaining is None else max(1.0, remaining), None, deadline)
            except (RateLimitError, ServerError, ApiConnectionError) as err:
                if deadline is None or time.monotonic() + (err.retry_after or 0) <= deadline:
                    raise
                # Waiting out the server's Retry-After (or another retry) would pass the deadline.
                raise WaitTimeoutError(last if last is not None else Job(id=id), timeout or 0.0) from err
            if (last is None or job != last) and seen(job):
                return job
            pause = poll_interval - (time.monotonic() - started)
            if deadline is not None:
                pause = min(pause, deadline - time.monotonic())
            if pause > 0:
                time.sleep(pause)

    def _follow(self, id: str, deadline: Optional[float], last_event_id: Optional[str]) -> Iterator[JobEvent]:
        """The event stream, each read bounded by the idle timeout and by `deadline` (monotonic)."""

        def bound(limit: float) -> float:
            if deadline is None:
                return limit
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiTimeoutError("The wait's deadline passed")
            return min(limit, left)

        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        stream = self._http.stream(f"/jobs/{_enc(id)}/events", headers=headers, timeout=bound(self._http.timeout), deadline=deadline)
        idle = max(self._http.timeout, STREAM_IDLE_TIMEOUT)
        try:
            if stream.status == 204:
                return
            for raw in read_events(lambda: stream.readline(bound(idle))):
                data = json.loads(raw.data)
                job = Job.from_dict(data) if raw.event == "status" and isinstance(data, dict) else None
                yield JobEvent(event=raw.event, id=raw.id, data=data, job=job)
        finally:
            stream.close()


def apply_event(job: Optional[Job], event: JobEvent) -> Optional[Job]:
    """The job after one event: a status event carries the whole job; progress and node events patch it."""
    if event.event == "status":
        return event.job
    if job is None or not isinstance(event.data, dict):
        return job
    if event.event == "progress":
        return dataclasses.replace(job, progress=event.data.get("progress"))
    if event.event == "node":
        out = dict(job.output_data or {"app_id": job.app_id, "node_outputs": {}})
        out["node_outputs"] = {**out.get("node_outputs", {}), event.data.get("node_id"): event.data.get("output")}
        return dataclasses.replace(job, output_data=out)
    return job


def _enc(id: str) -> str:
    return urllib.parse.quote(id, safe="")
