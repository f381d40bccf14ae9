"""Checking that a webhook delivery comes from genjobs, in constant time (hmac.compare_digest)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import WebhookVerificationError
from .types import Job, WebhookEvent

PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300.0
"""How far `webhook-timestamp` may be from now, in seconds, against replays (Standard Webhooks' own default)."""

Headers = Union[Mapping[str, Any], Iterable[Tuple[str, str]]]


def verify_webhook(
    body: Union[bytes, str],
    headers: Headers,
    secret: Union[str, Sequence[str]],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> WebhookEvent:
    """Checks a delivery and returns its parsed event, or raises WebhookVerificationError.

    `body` is the raw body exactly as received (never re-serialised JSON); `headers` the request's
    headers in any form (a dict, an `http.client.HTTPMessage`, a list of pairs; names in any case);
    `secret` the account's `whsec_` secret, or several (during a rotation, the new and the old).

    Both schemes genjobs signs with are accepted. Standard Webhooks (`webhook-id`,
    `webhook-timestamp`, `webhook-signature: v1,<base64>` over "id.timestamp.body") is checked
    whenever its headers are there, and then its timestamp must be within `tolerance` seconds of
    `now` (default: the clock). Otherwise the platform's `X-Armox-Signature: sha256=<hex>` of the
    body is checked (and `X-Armox-Signature-Previous`, signed with the previous secret during a
    rotation); it carries no timestamp, so dedupe such deliveries by `webhook-id` or job id.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    header = _reader(headers)
    keys = [_key(s) for s in ([secret] if isinstance(secret, str) else list(secret))]
    if not keys:
        raise WebhookVerificationError("No webhook secret to check against.")

    msg_id, timestamp, standard = header("webhook-id"), header("webhook-timestamp"), header("webhook-signature")
    armox = [h for h in (header("x-armox-signature"), header("x-armox-signature-previous")) if h]
    if msg_id and timestamp and standard:
        try:
            seconds = int(timestamp)
        except ValueError:
            raise WebhookVerificationError("webhook-timestamp is not a number of seconds.") from None
        if abs((time.time() if now is None else now) - seconds) > tolerance:
            raise WebhookVerificationError("webhook-timestamp is too far from now: a stale or replayed delivery.")
        signed = f"{msg_id}.{timestamp}.".encode("utf-8") + raw
        given = [_b64(c[3:]) for c in standard.split(" ") if c.startswith("v1,")]
        verified = _any_match(keys, given, signed)
    elif armox:
        given = [_hex(m.group(1)) for m in (re.fullmatch(r"sha256=([0-9a-fA-F]{64})", h.strip()) for h in armox) if m]
        verified = _any_match(keys, given, raw)
    else:
        raise WebhookVerificationError(
            "No signature headers: expected webhook-id, webhook-timestamp and webhook-signature, or X-Armox-Signature."
        )
    if not verified:
        raise WebhookVerificationError("The webhook signature does not match the secret.")
    try:
        event = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise WebhookVerificationError("The webhook body is not JSON.") from None
    return WebhookEvent(event=event.get("event", ""), job=Job.from_dict(event.get("job") or {}), raw=event)


def _any_match(keys: List[bytes], signatures: List[Optional[bytes]], message: bytes) -> bool:
    """Whether any signature is the HMAC-SHA256 of `message` under any key; every pair is compared in constant time."""
    ok = False
    for key in keys:
        expected = hmac.new(key, message, hashlib.sha256).digest()
        for sig in signatures:
            if sig is not None and hmac.compare_digest(sig, expected):
                ok = True
    return ok


def _reader(headers: Headers) -> Callable[[str], Optional[str]]:
    """A lookup by lower-case name; repeated headers are joined with spaces."""
    items: Iterable[Tuple[str, Any]] = headers.items() if isinstance(headers, Mapping) or hasattr(headers, "items") else headers
    lower: Dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        text = " ".join(value) if isinstance(value, (list, tuple)) else str(value)
        lower[key] = f"{lower[key]} {text}" if key in lower else text
    return lambda name: lower.get(name)


def _key(secret: str) -> bytes:
    """The HMAC key of a secret: the bytes its base64 part (after `whsec_`) stands for."""
    key = _b64(secret[len(PREFIX):] if secret.startswith(PREFIX) else secret)
    if not key:
        raise WebhookVerificationError("The webhook secret is not a whsec_ secret (base64 after the prefix).")
    return key


def _b64(text: str) -> Optional[bytes]:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _hex(text: str) -> Optional[bytes]:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None
