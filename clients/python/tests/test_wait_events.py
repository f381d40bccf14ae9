"""Waiting for a job (live and by polling, with a timeout) and reading its event stream."""
from __future__ import annotations

import unittest

import support
import genjobs


class WaitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.user_id, key = cls.srv.account(credits=1000)
        cls.client = cls.srv.client(key)

    def test_wait_gives_up_after_its_timeout_with_the_last_state_seen(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 60000})
        try:
            with self.assertRaises(genjobs.WaitTimeoutError) as ctx:
                self.client.jobs.wait(job.id, timeout=0.5)
            self.assertEqual(ctx.exception.job.id, job.id)
            self.assertIn(ctx.exception.job.status, ("pending", "processing"))
            self.assertIsInstance(ctx.exception, TimeoutError)
        finally:
            self.client.jobs.cancel(job.id)

    def test_wait_by_polling_gives_up_after_its_timeout_too(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 60000})
        try:
            with self.assertRaises(genjobs.WaitTimeoutError):
                self.client.jobs.wait(job.id, timeout=1.5, live=False, poll_interval=0.1)
        finally:
            self.client.jobs.cancel(job.id)

    def test_run_with_a_wait_limit_raises_when_the_job_outlasts_it(self) -> None:
        with self.assertRaises(genjobs.WaitTimeoutError) as ctx:
            self.client.run("local/test", {"duration_ms": 60000}, wait=0.5)
        self.client.jobs.cancel(ctx.exception.job.id)

    def test_wait_follows_the_job_live_to_its_end(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 400})
        statuses = []
        done = self.client.jobs.wait(job.id, timeout=30, on_update=lambda j: statuses.append(j.status))
        self.assertEqual(done.status, "completed")
        self.assertEqual(statuses[-1], "completed")
        self.assertEqual(statuses, sorted(set(statuses), key=statuses.index))  # each change once, in order

    def test_wait_by_polling_reaches_the_end_too(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 400})
        done = self.client.jobs.wait(job.id, timeout=30, live=False, poll_interval=0.1)
        self.assertEqual((done.id, done.status), (job.id, "completed"))

    def test_wait_sees_a_job_cancelled_by_someone_else(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 60000})
        seen = []

        def on_update(j: genjobs.Job) -> None:
            seen.append(j.status)
            if j.status == "processing":
                self.client.jobs.cancel(j.id)

        self.client.jobs.wait(job.id, timeout=30, on_update=on_update)
        self.assertEqual(seen[-1], "cancelled")

    def test_wait_on_an_app_job_reports_each_node_output_as_it_comes(self) -> None:
        job = self.client.apps.run(self.srv.slow_app(self.user_id), {})
        nodes_seen = []
        done = self.client.jobs.wait(job.id, timeout=60, on_update=lambda j: nodes_seen.append(sorted((j.output_data or {}).get("node_outputs", {}))))
        self.assertEqual(done.status, "completed")
        self.assertIn(["wait"], nodes_seen)
        self.assertEqual(nodes_seen[-1], ["draw", "wait"])
        self.assertLess(nodes_seen.index(["wait"]), nodes_seen.index(["draw", "wait"]))

    def test_wait_for_an_unknown_job_raises_not_found(self) -> None:
        with self.assertRaises(genjobs.NotFoundError):
            self.client.jobs.wait("01a00000-0000-7000-8000-000000000000", timeout=5)


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.user_id, key = cls.srv.account(credits=1000)
        cls.client = cls.srv.client(key)

    def test_an_app_job_streams_status_then_each_node_then_its_end_in_order(self) -> None:
        job = self.client.apps.run(self.srv.slow_app(self.user_id), {})
        events = list(self.client.jobs.events(job.id))
        kinds = [e.event for e in events]
        self.assertEqual(kinds[0], "status")
        self.assertIn(events[0].job.status, ("pending", "processing"))
        self.assertEqual([e.data["node_id"] for e in events if e.event == "node"], ["wait", "draw"])
        self.assertEqual((kinds[-1], events[-1].id, events[-1].job.status), ("status", "end", "completed"))
        numbered = [int(e.id) for e in events[:-1]]
        self.assertEqual(numbered, sorted(numbered))
        self.assertEqual(len(set(numbered)), len(numbered))
        self.assertTrue(all(isinstance(e.job, genjobs.Job) for e in events if e.event == "status"))
        last_node = [e for e in events if e.event == "node"][-1]
        self.assertEqual(events[-1].job.output_data["node_outputs"]["draw"], last_node.data["output"])

    def test_a_model_job_streams_its_statuses_in_lifecycle_order(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 300})
        statuses = [e.job.status for e in self.client.jobs.events(job.id) if e.event == "status"]
        order = ["pending", "processing", "completed"]
        self.assertEqual(statuses[-1], "completed")
        self.assertEqual(statuses, sorted(statuses, key=order.index))

    def test_an_ended_job_streams_one_status_event(self) -> None:
        job = self.client.run("local/text", {"prompt": "done"})
        events = list(self.client.jobs.events(job.id))
        self.assertEqual([(e.event, e.id, e.job.status) for e in events], [("status", "end", "completed")])

    def test_resuming_after_the_end_yields_nothing(self) -> None:
        job = self.client.run("local/text", {"prompt": "done"})
        self.assertEqual(list(self.client.jobs.events(job.id, last_event_id="end")), [])


if __name__ == "__main__":
    unittest.main()
