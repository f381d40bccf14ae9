"""Sends requests to one genjobs server with one key: authentication, timeouts, retries, errors.

Built on http.client rather than urllib so that the socket stays reachable: a live event stream
gets a read deadline before each line, which is what lets `jobs.wait(timeout=...)` keep its word.
Each request uses a connection of its own.
"""
from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from ._version import __version__
from .errors import ApiConnectionError, ApiError, ApiTimeoutError, error_for

USER_AGENT = f"genjobs-python/{__version__}"


def backoff(attempt: int) -> float:
    """The delay before retry number `attempt` (0-based): exponential from 0.5 s, at most 8 s, with jitter."""
    return float(min(8.0, 0.5 * 2.0**attempt) * (0.75 + random.random() * 0.5))


@dataclass
class Answer:
    status: int
    headers: Dict[str, str]
    data: Any


class Stream:
    """An open 2xx answer whose body is read line by line (server-sent events)."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse, sock: socket.socket, url: str) -> None:
        self.status = response.status
        self.headers = _headers(response)
        self._conn = conn
        self._response = response
        self._sock = sock
        self._url = url

    def readline(self, timeout: Optional[float]) -> bytes:
        """The next line (b"" at the end of the stream); waits at most `timeout` seconds for it (None: forever)."""
        try:
            self._sock.settimeout(timeout)
            return self._response.readline()
        except socket.timeout as err:
            raise ApiTimeoutError(f"No event from {self._url} within {timeout:g} s") from err
        except (OSError, http.client.HTTPException) as err:
            raise ApiConnectionError(f"The stream from {self._url} broke: {_describe(err)}") from err

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of the body (b"" at its end), each read within the client's timeout."""
        try:
            return self._response.read(size)
        except socket.timeout as err:
            raise ApiTimeoutError(f"{self._url} stopped sending") from err
        except (OSError, http.client.HTTPException) as err:
            raise ApiConnectionError(f"Reading {self._url} failed: {_describe(err)}") from err

    def close(self) -> None:
        self._response.close()
        self._conn.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport:
    def __init__(self, *, base_url: str, api_key: str, timeout: float, max_retries: int, max_retry_after: float) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after

    def url(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        qs = urllib.parse.urlencode({k: v for k, v in (query or {}).items() if v is not None})
        return f"{self.base_url}/api/v1{path}" + (f"?{qs}" if qs else "")

    def json(
        self,
        method: str,
        path: str,
        *,
        repeatable: bool,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        hold: float = 0.0,
        deadline: Optional[float] = None,
    ) -> Answer:
        """Sends an API request, retrying where that is safe, and parses its JSON answer.

        `repeatable` says whether the request may be sent again after a network failure or a 5xx
        (GETs, and runs with an idempotency key); a 429 is always retried, since the server refused
        it before doing anything. `hold` is how long the server may take on purpose (`Prefer: wait`,
        a synchronous run), added to the timeout. A retry that would start after `deadline` (a
        time.monotonic() value) is not waited for: the error is raised instead.
        """
        all_headers = self._api_headers("application/json", headers)
        payload = None
        if body is not None:
            all_headers["Content-Type"] = "application/json"
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        status, answer_headers, raw, _ = self._send(
            method, self.url(path, query), all_headers, payload, repeatable,
            (self.timeout if timeout is None else timeout) + hold, max_retries, keep_open=False, deadline=deadline,
        )
        return Answer(status, answer_headers, _parse(raw))

    def stream(
        self, path: str, *, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None, deadline: Optional[float] = None,
    ) -> Stream:
        """Opens a GET whose 2xx body stays unread, for the caller to read line by line."""
        all_headers = self._api_headers("text/event-stream", headers)
        timeout = self.timeout if timeout is None else timeout
        *_, opened = self._send("GET", self.url(path), all_headers, None, True, timeout, None, keep_open=True, deadline=deadline)
        assert opened is not None
        return opened

    def open_url(self, url: str, *, timeout: Optional[float] = None) -> Stream:
        """Opens a GET of any http(s) URL, without the API key (output files need none, and other hosts must not see it)."""
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        *_, opened = self._send("GET", url, headers, None, True, self.timeout if timeout is None else timeout, None, keep_open=True)
        assert opened is not None
        return opened

    def _api_headers(self, accept: str, extra: Optional[Mapping[str, str]]) -> Dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": accept, "User-Agent": USER_AGENT}
        headers.update(extra or {})
        return headers

    def _send(
        self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes], repeatable: bool,
        timeout: float, max_retries: Optional[int], *, keep_open: bool, deadline: Optional[float] = None,
    ) -> Tuple[int, Dict[str, str], bytes, Optional[Stream]]:
        retries = self.max_retries if max_retries is None else max_retries

        def too_late(delay: float) -> bool:
            return deadline is not None and time.monotonic() + delay > deadline

        attempt = 0
        while True:
            try:
                status, answer_headers, raw, opened = self._attempt(method, url, headers, body, timeout, keep_open)
            except ApiConnectionError as err:
                delay = backoff(attempt)
                if not repeatable or attempt >= retries or isinstance(err.__cause__, ssl.SSLCertVerificationError) or too_late(delay):
                    raise
                time.sleep(delay)
                attempt += 1
                continue
            if 200 <= status < 300:
                return status, answer_headers, raw, opened
            error = error_for(status, _parse(raw), answer_headers)
            if attempt >= retries or not _retryable(error, repeatable):
                raise error
            delay = error.retry_after if error.retry_after is not None else backoff(attempt)
            if delay > self.max_retry_after or too_late(delay):
                raise error
            time.sleep(delay)
            attempt += 1

    def _attempt(
        self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes], timeout: float, keep_open: bool,
    ) -> Tuple[int, Dict[str, str], bytes, Optional[Stream]]:
        """One request on a new connection. A 2xx with `keep_open` comes back as an open Stream; anything else is read whole."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            conn.connect()
            sock = conn.sock
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            if keep_open and 200 <= response.status < 300:
                return response.status, _headers(response), b"", Stream(conn, response, sock, url)
            raw = response.read()
            conn.close()
            return response.status, _headers(response), raw, None
        except socket.timeout as err:
            conn.close()
            raise ApiTimeoutError(f"No answer from {url} within {timeout:g} s") from err
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise ApiConnectionError(f"Could not reach {url}: {_describe(err)}") from err


def _retryable(error: ApiError, repeatable: bool) -> bool:
    if error.status == 429:
        return True
    return repeatable and error.status is not None and error.status >= 500


def _headers(response: http.client.HTTPResponse) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
