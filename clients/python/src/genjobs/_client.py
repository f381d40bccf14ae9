"""The client: `GenJobs(...)` and its `models`, `apps` and `account` parts (`jobs` is in jobs.py)."""
from __future__ import annotations

import os
import pathlib
from typing import Any, Callable, Dict, List, Optional, Union, overload

from ._download import download_url, file_name, unique_names
from ._runs import AUTO, CancelAfter, Wait, run_request
from ._transport import Transport
from .jobs import Jobs
from .types import Account, App, Job, LedgerEntry, Model

DEFAULT_BASE_URL = "http://localhost:8080"


class Models:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(self) -> List[Model]:
        """Every model of the server's catalog."""
        return [Model.from_dict(m) for m in self._http.json("GET", "/models", repeatable=True).data["data"]]


class Apps:
    def __init__(self, http: Transport, jobs: Jobs) -> None:
        self._http = http
        self._jobs = jobs

    def list(self) -> List[App]:
        """The apps the account may run: every template, then its own active apps."""
        return [App.from_dict(a) for a in self._http.json("GET", "/apps", repeatable=True).data["data"]]

    def run(
        self,
        app_id: str,
        inputs: Optional[Dict[str, Any]] = None,
        *,
        wait: Wait = False,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = AUTO,
        cancel_after: Optional[CancelAfter] = None,
        on_update: Optional[Callable[[Job], None]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Job:
        """Runs an app with `inputs` (keyed by the app's input ids); options as `client.run`'s."""
        return run_request(
            self._http, self._jobs, "/apps/run", {"app_id": app_id, "inputs": inputs or {}}, wait=wait,
            webhook_url=webhook_url, idempotency_key=idempotency_key, cancel_after=cancel_after,
            on_update=on_update, timeout=timeout, max_retries=max_retries,
        )


class AccountApi:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def get(self) -> Account:
        """The key's account: credits, usage over 30 days, active keys."""
        return Account.from_dict(self._http.json("GET", "/account", repeatable=True).data)

    def ledger(self) -> List[LedgerEntry]:
        """The account's last 100 ledger entries, newest first (charges negative, refunds positive)."""
        return [LedgerEntry.from_dict(e) for e in self._http.json("GET", "/account/ledger", repeatable=True).data["data"]]


class GenJobs:
    """A client of one genjobs server with one API key.

        client = GenJobs(base_url="http://localhost:8080", api_key="sk_live_...")
        job = client.run("local/image", {"prompt": "a lighthouse"}, wait=True)
        print(job.status, job.output_data)

    `base_url` and `api_key` default to the GENJOBS_BASE_URL and GENJOBS_API_KEY variables
    (and the base URL then to http://localhost:8080). `timeout` is how long, in seconds, one
    attempt may wait on the network: to connect, and for each read. `max_retries` bounds the
    retries after a 429 (after its Retry-After), and after a network failure or a 5xx where
    repeating is safe (GETs, and runs with an idempotency key, which every run gets unless told
    otherwise). A 429 asking to wait longer than `max_retry_after` seconds is raised at once.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 2,
        max_retry_after: float = 120.0,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("GENJOBS_API_KEY", "")
        if not key:
            raise ValueError("GenJobs needs an API key: pass api_key=... or set GENJOBS_API_KEY to the sk_live_... key your operator created.")
        url = base_url if base_url is not None else os.environ.get("GENJOBS_BASE_URL") or DEFAULT_BASE_URL
        url = url.rstrip("/")
        if url.endswith("/api/v1"):
            url = url[: -len("/api/v1")]
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, not {url!r}")
        self.base_url = url
        self._http = Transport(base_url=url, api_key=key, timeout=timeout, max_retries=max_retries, max_retry_after=max_retry_after)
        self.jobs = Jobs(self._http)
        self.models = Models(self._http)
        self.apps = Apps(self._http, self.jobs)
        self.account = AccountApi(self._http)

    def __repr__(self) -> str:
        return f"GenJobs(base_url={self.base_url!r})"

    def run(
        self,
        model: str,
        input: Optional[Dict[str, Any]] = None,
        *,
        wait: Wait = False,
        webhook_url: Optional[str] = None,
        idempotency_key: Optional[str] = AUTO,
        cancel_after: Optional[CancelAfter] = None,
        on_update: Optional[Callable[[Job], None]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Job:
        """Runs a model and returns its job once the run is accepted (a synchronous model has
        finished by then) or, with `wait`, once the job has ended.

        `wait`: False, True (no limit) or at most this many seconds (then WaitTimeoutError);
        `on_update(job)` sees each change while waiting. `webhook_url` is called when the job ends.
        `idempotency_key`: a new random one unless given; the same key within 24 hours returns the
        first run's job and charges nothing, which is what makes a run safe to retry. None sends
        none (and then a run is never retried after a network failure or a 5xx). `cancel_after`:
        cancel the job if it has not ended by then (seconds, a timedelta, or "10m", "1h30m").
        """
        return run_request(
            self._http, self.jobs, "/models/run", {"model": model, "input": input or {}}, wait=wait,
            webhook_url=webhook_url, idempotency_key=idempotency_key, cancel_after=cancel_after,
            on_update=on_update, timeout=timeout, max_retries=max_retries,
        )

    @overload
    def download(self, url_or_job: str, folder: Union[str, "os.PathLike[str]"] = ...) -> pathlib.Path: ...
    @overload
    def download(self, url_or_job: Job, folder: Union[str, "os.PathLike[str]"] = ...) -> List[pathlib.Path]: ...

    def download(self, url_or_job: Union[str, Job], folder: Union[str, "os.PathLike[str]"] = ".") -> Union[pathlib.Path, List[pathlib.Path]]:
        """Saves output files into `folder` (created if missing), each under its URL's file name.

        Given a URL, saves it and returns its path. Given a job, saves every file its outputs point
        at (an app's node by node) and returns their paths in that order. No API key is sent:
        output URLs need none, and they may be on another host.
        """
        if isinstance(url_or_job, Job):
            urls = url_or_job.output_urls
            return [download_url(self._http, u, folder, n) for u, n in zip(urls, unique_names(urls))]
        if isinstance(url_or_job, str):
            return download_url(self._http, url_or_job, folder, file_name(url_or_job))
        raise TypeError(f"download() takes a URL or a Job, not {type(url_or_job).__name__}")
