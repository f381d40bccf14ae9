"""The exceptions the client raises, one class per kind of failure (as in the TypeScript SDK).

    try:
        client.run("local/image", {"prompt": "a fox"})
    except genjobs.InsufficientCreditsError as e:
        print(e.message)           # "Insufficient credits. Required 10, available 5"
    except genjobs.ApiError as e:  # every other answer that was not a 2xx, and no answer at all
        print(e.status, e.code, e.retry_after)
"""
from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Type

if TYPE_CHECKING:  # pragma: no cover
    from .types import Job


class GenJobsError(Exception):
    """The base of every exception this package raises."""


class ApiError(GenJobsError):
    """An answer that was not a 2xx, or no answer at all (then `status` is None).

    `code` is the server's stable code (docs/errors.md in genjobs), `retry_after` the seconds the
    server asked to wait before trying again (429 and 503), `headers` the answer's headers
    (lower-case names) and `body` its parsed JSON.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        retry_after: Optional[float] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.headers: Dict[str, str] = dict(headers or {})
        self.body = body

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.status} {self.code or 'error'}: {self.message}"


class BadRequestError(ApiError):
    """400: the request was wrong; the message names the field."""


class AuthenticationError(ApiError):
    """401: no key, or a key that is unknown, revoked or expired."""


class InsufficientCreditsError(ApiError):
    """402: the account has too few credits for the run; nothing was charged."""


class PermissionDeniedError(ApiError):
    """403: the key's account may not do this (for instance, it has no API access)."""


class NotFoundError(ApiError):
    """404: no such job, app or route (another account's objects are not found either)."""


class ConflictError(ApiError):
    """409: the state refuses it, such as cancelling a job that has already ended."""


class RateLimitError(ApiError):
    """429: over the key's requests per minute; `retry_after` says when to try again."""


class ServerError(ApiError):
    """5xx: the server failed or is unavailable."""


class ApiConnectionError(ApiError):
    """No answer: the server could not be reached, or the connection broke."""


class ApiTimeoutError(ApiConnectionError):
    """No answer within the client's `timeout`."""


class WaitTimeoutError(GenJobsError, TimeoutError):
    """`jobs.wait` gave up: the job had not ended within `timeout` seconds. `job` is the last state seen."""

    def __init__(self, job: Job, timeout: float) -> None:
        state = f"is still {job.status}" if job.status else "has not ended"
        super().__init__(f"Job {job.id} {state} after {timeout:g} s")
        self.job = job
        self.timeout = timeout


class WebhookVerificationError(GenJobsError):
    """A webhook delivery whose signature or timestamp does not check out."""


_BY_STATUS: Dict[int, Type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_for(status: int, body: Any, headers: Mapping[str, str]) -> ApiError:
    """The exception for an answer: the class of its status, ServerError for 5xx, else ApiError."""
    message = f"HTTP {status}"
    code = None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            message = body["error"]
        if isinstance(body.get("code"), str):
            code = body["code"]
    elif isinstance(body, str) and body.strip():
        message = f"HTTP {status}: {body.strip()[:200]}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(message, status=status, code=code, retry_after=retry_after_seconds(headers), headers=headers, body=body)


def retry_after_seconds(headers: Mapping[str, str]) -> Optional[float]:
    """`Retry-After` in seconds (it may be a number of seconds or an HTTP date), or None."""
    raw = headers.get("retry-after")
    if raw is None or raw.strip() == "":
        return None
    try:
        seconds = float(raw)
        return seconds if seconds >= 0 else None
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if at is None:  # Python 3.9 answers None for what it cannot read
        return None
    return max(0.0, at.timestamp() - time.time())
