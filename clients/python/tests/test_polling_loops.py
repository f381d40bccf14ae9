"""The platform's own polling loop (restated in polling_loops.py) and its rewrite with the client, both against genjobs."""
from __future__ import annotations

import threading
import time
import unittest
from typing import Any, Dict, List

import support
import genjobs
from polling_loops import client_wait_for_job, seed_wait_for_job


class PollingLoopTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        _, cls.key = cls.srv.account(credits=1000)
        cls.client = cls.srv.client(cls.key)

    def test_the_seed_loop_returns_each_kind_of_ended_job(self) -> None:
        completed = self.client.run("local/test", {"duration_ms": 500})
        failed = self.client.run("local/test", {"duration_ms": 300, "outcome": "failed", "error_message": "no luck"})
        doomed = self.client.run("local/test", {"duration_ms": 60000})
        self.client.jobs.cancel(doomed.id)
        for job, status in ((completed, "completed"), (failed, "failed"), (doomed, "cancelled")):
            done = seed_wait_for_job(job.id, self.key, self.srv.url, interval=0.1)
            self.assertEqual((done["id"], done["status"]), (job.id, status))
        self.assertEqual(seed_wait_for_job(failed.id, self.key, self.srv.url, interval=0.1)["error_message"], "no luck")

    def test_the_client_loop_returns_the_same_jobs(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 500})
        mine = client_wait_for_job(self.client, job.id)
        seed = seed_wait_for_job(job.id, self.key, self.srv.url, interval=0.1)
        self.assertEqual({k: mine.to_dict()[k] for k in seed}, seed)
        self.assertEqual(mine.status, "completed")

    def test_the_seed_loop_gives_up_after_its_timeout(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 60000})
        self.addCleanup(self.client.jobs.cancel, job.id)
        with self.assertRaisesRegex(TimeoutError, "Timed out waiting for job"):
            seed_wait_for_job(job.id, self.key, self.srv.url, interval=0.1, timeout=0.5)


class PollingLoopRateLimitTest(unittest.TestCase):
    """A key out of requests: both loops must wait out the server's Retry-After (up to a minute), then finish."""

    def test_both_loops_wait_out_retry_after_and_finish(self) -> None:
        srv = support.server()
        user_id, limited = srv.cli_account(rate_limit=3)
        roomy = srv.cli("keys", "create", user_id, "--rate-limit", "10000", "--quiet")
        job = srv.client(roomy).run("local/test", {"duration_ms": 200})
        limited_client = srv.client(limited, max_retries=1)
        for _ in range(3):
            limited_client.account.get()
        with self.assertRaises(genjobs.RateLimitError) as ctx:
            srv.client(limited, max_retries=0).account.get()
        retry_after = ctx.exception.retry_after

        slept: List[float] = []
        results: Dict[str, Any] = {}

        def seed() -> None:
            try:
                results["seed"] = seed_wait_for_job(job.id, limited, srv.url, interval=0.1, sleep=lambda s: (slept.append(s), time.sleep(s)))
            except BaseException as err:  # noqa: BLE001 (reported below)
                results["seed"] = err

        def client() -> None:
            try:
                # One retry only: it succeeds only if the client waited the whole Retry-After first.
                results["client"] = client_wait_for_job(limited_client, job.id)
            except BaseException as err:  # noqa: BLE001
                results["client"] = err

        threads = [threading.Thread(target=seed), threading.Thread(target=client)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        self.assertIsInstance(results.get("client"), genjobs.Job, results)
        self.assertEqual(results["client"].status, "completed")
        self.assertIsInstance(results.get("seed"), dict, results)
        self.assertEqual(results["seed"]["status"], "completed")
        # The seed loop's first answer was a 429: it slept that answer's Retry-After, a whole number of seconds.
        self.assertIsInstance(slept[0], int)
        self.assertGreaterEqual(slept[0], 1)
        self.assertLessEqual(slept[0], retry_after)


if __name__ == "__main__":
    unittest.main()
