#!/usr/bin/env python3
"""Verifies a genjobs webhook (standard library only).

    python3 verify_webhook.py <secret> <headers.json> <body-file>   -> prints "ok" or exits 1
"""
import base64
import hashlib
import hmac
import json
import sys
import time

TOLERANCE_SECONDS = 5 * 60  # refuse replays of old deliveries


def verify(secret: str, headers: dict, body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # Several space-separated signatures are sent during a secret rotation: any one may match.
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


def verify_hex(secret: str, headers: dict, body: bytes) -> bool:
    """The platform's own header: X-Armox-Signature: sha256=<hex HMAC-SHA256 of the body>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-armox-signature", ""), expected)


if __name__ == "__main__":
    secret, headers_file, body_file = sys.argv[1:4]
    with open(headers_file) as f:
        headers = {k.lower(): v for k, v in json.load(f).items()}
    with open(body_file, "rb") as f:
        body = f.read()
    if verify(secret, headers, body) and verify_hex(secret, headers, body):
        print("ok")
    else:
        print("invalid signature", file=sys.stderr)
        sys.exit(1)
