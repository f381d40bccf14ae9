"""Sending a run (of a model, an app, or a retry) and, when asked, waiting for its job to end."""
from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Union

from ._transport import Transport
from .types import Job

if TYPE_CHECKING:  # pragma: no cover
    from .jobs import Jobs


class _Auto:
    """The default of `idempotency_key`: a new random key for each call."""

    def __repr__(self) -> str:
        return "AUTO"


AUTO: Any = _Auto()

# A run may be held by the server for its synchronous window (GENJOBS_SYNC_WAIT_MS, 60 s by
# default) before it answers: that time is added to the client's timeout for runs.
SYNC_WINDOW = 60.0

Wait = Union[bool, float]
"""`wait=` of a run: False (answer once accepted), True (until the job ends), or at most this many seconds."""
CancelAfter = Union[int, float, str, datetime.timedelta]


def cancel_after_header(value: CancelAfter) -> str:
    """`Cancel-After` as the server reads it: whole seconds, or a duration such as "10m" or "1h30m"."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, str):
        return value
    raise TypeError(f"cancel_after must be seconds, a timedelta or a duration such as '10m', not {value!r}")


def run_request(
    http: Transport,
    jobs: Jobs,
    path: str,
    body: Optional[Dict[str, Any]],
    *,
    wait: Wait,
    webhook_url: Optional[str],
    idempotency_key: Optional[str],
    cancel_after: Optional[CancelAfter],
    on_update: Optional[Callable[[Job], None]],
    timeout: Optional[float],
    max_retries: Optional[int],
) -> Job:
    key = str(uuid.uuid4()) if idempotency_key is AUTO else idempotency_key
    headers: Dict[str, str] = {}
    if key is not None:
        headers["Idempotency-Key"] = key
    if cancel_after is not None:
        headers["Cancel-After"] = cancel_after_header(cancel_after)
    payload = dict(body, webhook_url=webhook_url) if body is not None and webhook_url is not None else body
    answer = http.json(
        "POST", path, body=payload, headers=headers, repeatable=key is not None,
        timeout=timeout, max_retries=max_retries, hold=SYNC_WINDOW,
    )
    accepted = Job.from_dict(answer.data)
    if not wait or accepted.is_terminal:
        return accepted
    wait_timeout = None if wait is True else float(wait)
    done = jobs.wait(accepted.id, timeout=wait_timeout, on_update=on_update)
    # Shaped like the run's answer: `model`, `output`, and `app_name` for apps.
    done.output = done.output_data
    done.model = done.model_id
    done.app_name = accepted.app_name
    return done
