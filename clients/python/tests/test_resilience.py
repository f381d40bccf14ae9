"""Rate limits and failures: typed 429s with Retry-After, and retries only where repeating is safe."""
from __future__ import annotations

import unittest

import support
from faults import FaultProxy
import genjobs


class RateLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()

    def exhausted_client(self, **options: object) -> genjobs.GenJobs:
        """A client whose key (2 requests a minute, made with the CLI) has just used up its window."""
        _, key = self.srv.cli_account(rate_limit=2)
        client = self.srv.client(key, **options)
        client.account.get()
        client.account.get()
        return client

    def test_over_the_limit_raises_rate_limit_error_with_retry_after(self) -> None:
        client = self.exhausted_client(max_retries=0)
        with self.assertRaises(genjobs.RateLimitError) as ctx:
            client.models.list()
        err = ctx.exception
        self.assertEqual((err.status, err.code, err.message), (429, "rate_limited", "Rate limit exceeded"))
        self.assertGreater(err.retry_after, 0)
        self.assertLessEqual(err.retry_after, 61)
        self.assertEqual(err.headers["x-ratelimit-limit"], "2")
        self.assertEqual(err.headers["x-ratelimit-remaining"], "0")

    def test_a_retry_after_longer_than_max_retry_after_is_raised_at_once(self) -> None:
        client = self.exhausted_client(max_retries=5, max_retry_after=1)
        with self.assertRaises(genjobs.RateLimitError) as ctx:
            client.run("local/text", {"prompt": "x"})
        self.assertGreater(ctx.exception.retry_after, 1)

    def test_wait_gives_up_at_its_deadline_rather_than_wait_out_a_longer_retry_after(self) -> None:
        client = self.exhausted_client(max_retries=3)
        unknown = "01a00000-0000-7000-8000-000000000000"  # had it waited a minute, the answer would be a 404
        with self.assertRaises(genjobs.WaitTimeoutError) as ctx:
            client.jobs.wait(unknown, timeout=5)
        self.assertIsInstance(ctx.exception.__cause__, genjobs.RateLimitError)
        self.assertEqual(str(ctx.exception), f"Job {unknown} has not ended after 5 s")

    # Waiting out a real Retry-After takes up to a minute: test_polling_loops.py does it once,
    # for the seed's loop and the client together.


class NetworkFailureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()

    def setUp(self) -> None:
        _, self.key = self.srv.account(credits=100)
        self.proxy = FaultProxy(self.srv.url)
        self.addCleanup(self.proxy.close)
        self.client = genjobs.GenJobs(base_url=self.proxy.url, api_key=self.key, max_retries=2)
        self.direct = self.srv.client(self.key)

    def charges(self) -> int:
        return sum(1 for e in self.direct.account.ledger() if e.kind == "charge")

    def test_a_get_is_retried_after_a_broken_connection(self) -> None:
        self.proxy.fail_next("refuse")
        self.assertEqual(self.client.account.get().credits, 100)
        self.assertEqual([f for f, _ in self.proxy.requests], ["refuse", None])

    def test_a_get_is_retried_after_a_503(self) -> None:
        self.proxy.fail_next("503", "503")
        self.assertTrue(self.client.models.list())
        self.assertEqual([f for f, _ in self.proxy.requests], ["503", "503", None])

    def test_retries_stop_at_max_retries(self) -> None:
        self.proxy.fail_next("503", "503", "503")
        with self.assertRaises(genjobs.ServerError) as ctx:
            self.client.account.get()
        self.assertEqual((ctx.exception.status, ctx.exception.code, ctx.exception.retry_after), (503, "unavailable", 0))
        self.assertEqual(len(self.proxy.requests), 3)

    def test_a_run_whose_answer_was_lost_is_sent_again_and_charged_once(self) -> None:
        self.proxy.fail_next("lose-answer")
        job = self.client.run("local/text", {"prompt": "charged once"})
        self.assertEqual(job.status, "completed")
        self.assertEqual(len(self.proxy.requests), 2)
        self.assertEqual(self.charges(), 1)
        self.assertEqual([j.id for j in self.direct.jobs.list()], [job.id])

    def test_a_run_without_an_idempotency_key_is_not_sent_again(self) -> None:
        self.proxy.fail_next("lose-answer")
        with self.assertRaises(genjobs.ApiConnectionError) as ctx:
            self.client.run("local/text", {"prompt": "no key"}, idempotency_key=None)
        self.assertIsNone(ctx.exception.status)
        self.assertEqual(len(self.proxy.requests), 1)
        self.assertEqual(self.charges(), 1)  # the server did run it: only the answer was lost

    def test_a_cancel_is_not_sent_again_after_a_broken_connection(self) -> None:
        job = self.direct.run("local/test", {"duration_ms": 60000})
        self.proxy.fail_next("refuse")
        with self.assertRaises(genjobs.ApiConnectionError):
            self.client.jobs.cancel(job.id)
        self.assertEqual(len(self.proxy.requests), 1)
        self.assertEqual(self.client.jobs.cancel(job.id).status, "cancelled")

    def test_a_503_to_a_run_without_a_key_is_raised_not_retried(self) -> None:
        self.proxy.fail_next("503")
        with self.assertRaises(genjobs.ServerError):
            self.client.run("local/text", {"prompt": "x"}, idempotency_key=None)
        self.assertEqual(self.charges(), 0)

    def test_an_unreachable_server_raises_api_connection_error(self) -> None:
        client = genjobs.GenJobs(base_url=f"http://127.0.0.1:{support.free_port()}", api_key=self.key, max_retries=1)
        with self.assertRaises(genjobs.ApiConnectionError) as ctx:
            client.models.list()
        self.assertIn("Could not reach", str(ctx.exception))

    def test_leaving_an_event_stream_early_closes_its_connection(self) -> None:
        job = self.direct.run("local/test", {"duration_ms": 60000})
        self.addCleanup(self.direct.jobs.cancel, job.id)
        stream = self.client.jobs.events(job.id)
        self.assertEqual(next(stream).event, "status")
        self.assertEqual(self.proxy.closed_count, 0)
        stream.close()
        self.assertTrue(self.proxy.wait_closed(1))


if __name__ == "__main__":
    unittest.main()
