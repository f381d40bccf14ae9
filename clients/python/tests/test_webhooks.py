"""verify_webhook against real deliveries from the server, in both signature schemes."""
from __future__ import annotations

import http.server
import queue
import threading
import unittest
from typing import Any, Dict, Tuple

import support
import genjobs

Delivery = Tuple[Any, bytes]  # (the request's headers as http.server gives them, the raw body)


class Receiver:
    """A webhook receiver on loopback that keeps every delivery it gets and answers 200."""

    def __init__(self) -> None:
        self.deliveries: "queue.Queue[Delivery]" = queue.Queue()
        deliveries = self.deliveries

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                deliveries.put((self.headers, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self) -> Delivery:
        return self.deliveries.get(timeout=60)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def only(headers: Any, *names: str) -> Dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in names}


class WebhookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        _, cls.key = cls.srv.account(credits=100)
        cls.client = cls.srv.client(cls.key)
        cls.secret = cls.srv.raw(cls.key, "GET", "/api/v1/webhooks/secret")["secret"]
        cls.receiver = Receiver()
        cls.job = cls.client.run("local/text", {"prompt": "ring the bell"}, webhook_url=cls.receiver.url)
        cls.headers, cls.body = cls.receiver.next()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.receiver.close()

    def test_a_real_delivery_verifies_with_standard_webhooks_headers(self) -> None:
        self.assertTrue(self.headers["webhook-signature"].startswith("v1,"))
        event = genjobs.verify_webhook(self.body, self.headers, self.secret)
        self.assertEqual((event.event, event.job.id, event.job.status), ("job.completed", self.job.id, "completed"))
        self.assertEqual(event.raw["job"]["id"], self.job.id)

    def test_a_real_delivery_verifies_with_the_platforms_hex_signature(self) -> None:
        headers = only(self.headers, "x-armox-signature", "content-type")
        self.assertTrue(headers["x-armox-signature"].startswith("sha256="))
        event = genjobs.verify_webhook(self.body.decode("utf-8"), headers, self.secret)
        self.assertEqual(event.job.id, self.job.id)

    def test_a_tampered_body_is_refused_by_both_schemes(self) -> None:
        tampered = self.body.replace(b'"completed"', b'"failed"', 1)
        self.assertNotEqual(tampered, self.body)
        for headers in (self.headers, only(self.headers, "x-armox-signature")):
            with self.assertRaisesRegex(genjobs.WebhookVerificationError, "does not match"):
                genjobs.verify_webhook(tampered, headers, self.secret)

    def test_a_tampered_signature_or_another_secret_is_refused(self) -> None:
        forged = dict(self.headers.items())
        sig = forged["webhook-signature"]
        forged["webhook-signature"] = sig[:-6] + ("AAAA==" if not sig.endswith("AAAA==") else "BBBB==")
        with self.assertRaises(genjobs.WebhookVerificationError):
            genjobs.verify_webhook(self.body, forged, self.secret)
        hex_forged = {"X-Armox-Signature": "sha256=" + "0" * 64}
        with self.assertRaises(genjobs.WebhookVerificationError):
            genjobs.verify_webhook(self.body, hex_forged, self.secret)
        other = "whsec_" + "A" * 32
        for headers in (self.headers, only(self.headers, "x-armox-signature")):
            with self.assertRaises(genjobs.WebhookVerificationError):
                genjobs.verify_webhook(self.body, headers, other)

    def test_an_old_timestamp_is_refused_as_a_replay(self) -> None:
        sent = int(self.headers["webhook-timestamp"])
        genjobs.verify_webhook(self.body, self.headers, self.secret, now=sent + 299)
        with self.assertRaisesRegex(genjobs.WebhookVerificationError, "too far from now"):
            genjobs.verify_webhook(self.body, self.headers, self.secret, now=sent + 301)
        with self.assertRaises(genjobs.WebhookVerificationError):
            genjobs.verify_webhook(self.body, self.headers, self.secret, now=sent + 20, tolerance=10)

    def test_missing_signature_headers_are_refused(self) -> None:
        with self.assertRaisesRegex(genjobs.WebhookVerificationError, "No signature headers"):
            genjobs.verify_webhook(self.body, {"content-type": "application/json"}, self.secret)


class WebhookRotationTest(unittest.TestCase):
    def test_during_a_rotation_both_the_new_and_the_old_secret_verify(self) -> None:
        srv = support.server()
        _, key = srv.account(credits=100)
        client = srv.client(key)
        old = srv.raw(key, "GET", "/api/v1/webhooks/secret")["secret"]
        new = srv.raw(key, "POST", "/api/v1/webhooks/secret/rotate")["secret"]
        self.assertNotEqual(old, new)
        receiver = Receiver()
        self.addCleanup(receiver.close)
        client.run("local/text", {"prompt": "rotated"}, webhook_url=receiver.url)
        headers, body = receiver.next()
        self.assertEqual(len(headers["webhook-signature"].split(" ")), 2)
        hex_only = only(headers, "x-armox-signature", "x-armox-signature-previous")
        for secret in (new, old, [old, new]):
            genjobs.verify_webhook(body, headers, secret)
            genjobs.verify_webhook(body, hex_only, secret)
        with self.assertRaises(genjobs.WebhookVerificationError):
            genjobs.verify_webhook(body, headers, "whsec_" + "B" * 32)


if __name__ == "__main__":
    unittest.main()
