"""The client's methods against a live genjobs server: catalog, account, runs, and job handling."""
from __future__ import annotations

import datetime
import os
import unittest
from unittest import mock

import support
import genjobs


class ClientSetupTest(unittest.TestCase):
    def test_reads_the_base_url_and_key_from_the_environment(self) -> None:
        srv = support.server()
        _, key = srv.cli_account()
        with mock.patch.dict(os.environ, {"GENJOBS_BASE_URL": srv.url + "/api/v1/", "GENJOBS_API_KEY": key}):
            client = genjobs.GenJobs()
        self.assertEqual(client.base_url, srv.url)
        self.assertEqual(client.account.get().credits, 1000)

    def test_refuses_to_start_without_a_key(self) -> None:
        with mock.patch.dict(os.environ, {"GENJOBS_API_KEY": ""}):
            with self.assertRaisesRegex(ValueError, "GENJOBS_API_KEY"):
                genjobs.GenJobs(base_url="http://localhost:8080")

    def test_refuses_a_base_url_that_is_not_http(self) -> None:
        with self.assertRaisesRegex(ValueError, "http"):
            genjobs.GenJobs(base_url="localhost:8080", api_key="sk_live_x")

    def test_a_wrong_key_raises_authentication_error(self) -> None:
        client = support.server().client("sk_live_not_a_key")
        with self.assertRaises(genjobs.AuthenticationError) as ctx:
            client.models.list()
        self.assertEqual((ctx.exception.status, ctx.exception.code, ctx.exception.message), (401, "invalid_api_key", "Invalid API key"))


class CatalogAndAccountTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.user_id, key = cls.srv.account(credits=500)
        cls.client = cls.srv.client(key)

    def test_models_list_gives_models_with_snake_case_fields(self) -> None:
        models = {m.id: m for m in self.client.models.list()}
        image = models["local/image"]
        self.assertEqual((image.modality, image.cost, image.prompt_required, image.output_type, image.sync), ("image", 10, True, "image", True))
        aspect = next(s for s in image.settings if s.key == "aspect_ratio")
        self.assertEqual(aspect.input_type, "select")
        self.assertIn("16:9", aspect.options)
        self.assertEqual(image.to_dict()["promptRequired"], True)

    def test_apps_list_gives_the_template_apps_with_their_inputs(self) -> None:
        apps = self.client.apps.list()
        render = next(a for a in apps if a.name == "Render and Upscale")
        self.assertEqual((render.id, render.is_template, render.object), ("5e0d4c1a-6f38-4b8e-9c3e-2a7b1f0c9d11", True, "app"))
        self.assertEqual(
            [(i.id, i.type, i.required, i.target_handle, i.allow_multiple) for i in render.inputs],
            [("prompt", "text", True, "render:prompt", False), ("aspect_ratio", "select", False, "render:aspect_ratio", False)],
        )
        self.assertEqual(render.to_dict()["inputs"][0]["targetHandle"], "render:prompt")

    def test_account_get_and_ledger(self) -> None:
        account = self.client.account.get()
        self.assertEqual((account.user_id, account.credits), (self.user_id, 500))
        self.assertIsInstance(account.usage, genjobs.AccountUsage)
        self.assertEqual(account.api_keys.active, 1)
        ledger = self.client.account.ledger()
        self.assertEqual([(e.kind, e.amount, e.balance_after) for e in ledger], [("grant", 500, 500)])


class RunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        _, key = cls.srv.account(credits=1000)
        cls.client = cls.srv.client(key)

    def test_run_of_a_synchronous_model_answers_the_finished_job(self) -> None:
        job = self.client.run("local/text", {"prompt": "a short story", "max_words": 5})
        self.assertEqual((job.status, job.run_type, job.model_id, job.model), ("completed", "model", "local/text", "local/text"))
        self.assertEqual(job.output, job.output_data)
        self.assertIn("outputText", job.output_data)

    def test_run_with_wait_returns_the_ended_job_and_reports_each_change(self) -> None:
        seen = []
        job = self.client.run("local/test", {"duration_ms": 300}, wait=True, on_update=lambda j: seen.append(j.status))
        self.assertEqual(job.status, "completed")
        self.assertEqual(job.output, {"outputText": "local/test completed after 300 ms"})
        self.assertEqual(seen[-1], "completed")
        self.assertLessEqual(len(seen), 3)

    def test_apps_run_starts_an_app_job(self) -> None:
        app = next(a for a in self.client.apps.list() if a.name == "Render and Upscale")
        job = self.client.apps.run(app.id, {app.inputs[0].id: "a harbour at night"}, wait=60)
        self.assertEqual((job.run_type, job.app_id, job.app_name, job.status), ("app", app.id, "Render and Upscale", "completed"))
        self.assertEqual(sorted(job.output_data["node_outputs"]), ["render", "upscale"])

    def test_apps_run_without_its_required_input_is_a_bad_request(self) -> None:
        app = next(a for a in self.client.apps.list() if a.name == "Render and Upscale")
        with self.assertRaises(genjobs.BadRequestError) as ctx:
            self.client.apps.run(app.id, {})
        self.assertEqual(ctx.exception.code, "missing_inputs")
        self.assertIn("Missing required inputs", ctx.exception.message)

    def test_an_unknown_app_is_not_found(self) -> None:
        with self.assertRaises(genjobs.NotFoundError) as ctx:
            self.client.apps.run("no-such-app", {})
        self.assertEqual(ctx.exception.code, "app_not_found")

    def test_an_unknown_model_is_a_bad_request_naming_it(self) -> None:
        with self.assertRaises(genjobs.BadRequestError) as ctx:
            self.client.run("acme/nothing", {})
        self.assertEqual((ctx.exception.status, ctx.exception.code), (400, "unknown_model"))
        self.assertIn("acme/nothing", ctx.exception.message)

    def test_too_few_credits_raise_insufficient_credits_and_create_no_job(self) -> None:
        _, key = self.srv.account(credits=5)
        poor = self.srv.client(key)
        with self.assertRaises(genjobs.InsufficientCreditsError) as ctx:
            poor.run("local/image", {"prompt": "x"})
        self.assertEqual((ctx.exception.status, ctx.exception.code), (402, "insufficient_credits"))
        self.assertEqual(list(poor.jobs.list()), [])

    def test_the_same_idempotency_key_returns_the_first_job_and_charges_once(self) -> None:
        _, key = self.srv.account(credits=100)
        client = self.srv.client(key)
        first = client.run("local/text", {"prompt": "once"}, idempotency_key="py-idem-1")
        again = client.run("local/text", {"prompt": "once"}, idempotency_key="py-idem-1")
        self.assertEqual(again.id, first.id)
        self.assertEqual(client.account.get().credits, 98)
        with self.assertRaises(genjobs.ConflictError) as ctx:
            client.run("local/text", {"prompt": "another"}, idempotency_key="py-idem-1")
        self.assertEqual(ctx.exception.code, "idempotency_conflict")

    def test_cancel_after_sets_the_deadline(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 60000}, cancel_after=datetime.timedelta(minutes=5))
        self.addCleanup(self.client.jobs.cancel, job.id)
        created, deadline = (datetime.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (job.created_at, job.cancel_after_at))
        self.assertAlmostEqual((deadline - created).total_seconds(), 300, delta=1)

    def test_a_job_still_running_at_its_cancel_after_deadline_is_cancelled_and_refunded(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 60000}, cancel_after="5s", wait=60)
        self.assertEqual((job.status, job.credits_refunded), ("cancelled", 1))


class JobsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()

    def setUp(self) -> None:
        _, key = self.srv.account(credits=1000)
        self.client = self.srv.client(key)

    def test_get_reads_a_job_and_an_unknown_one_is_not_found(self) -> None:
        job = self.client.run("local/text", {"prompt": "read me"})
        got = self.client.jobs.get(job.id)
        self.assertEqual((got.id, got.status, got.credits_charged), (job.id, "completed", 2))
        self.assertIsNone(got.output)  # `output` belongs to run answers only
        with self.assertRaises(genjobs.NotFoundError) as ctx:
            self.client.jobs.get("01a00000-0000-7000-8000-000000000000")
        self.assertEqual((ctx.exception.status, ctx.exception.code), (404, "job_not_found"))

    def test_get_with_hold_answers_once_the_job_has_ended(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 500})
        self.assertEqual(self.client.jobs.get(job.id, hold=30).status, "completed")

    def test_cancel_refunds_a_running_job_and_a_second_cancel_conflicts(self) -> None:
        job = self.client.run("local/test", {"duration_ms": 60000})
        cancelled = self.client.jobs.cancel(job.id)
        self.assertEqual((cancelled.id, cancelled.status, cancelled.credits_refunded), (job.id, "cancelled", 1))
        self.assertIsNotNone(cancelled.cancelled_at)
        with self.assertRaises(genjobs.ConflictError) as ctx:
            self.client.jobs.cancel(job.id)
        self.assertEqual(ctx.exception.code, "job_not_cancellable")
        self.assertIn("cancelled", ctx.exception.message)

    def test_cancel_many_cancels_only_the_jobs_that_match(self) -> None:
        long = [self.client.run("local/test", {"duration_ms": 60000}) for _ in range(3)]
        done = self.client.run("local/text", {"prompt": "finished already"})
        result = self.client.jobs.cancel_many(model_id="local/test")
        self.assertEqual((result.cancelled, sorted(result.ids), result.credits_refunded), (3, sorted(j.id for j in long), 3))
        self.assertEqual(self.client.jobs.get(done.id).status, "completed")
        self.assertEqual(self.client.jobs.cancel_many().cancelled, 0)

    def test_retry_runs_a_job_again_as_a_new_job(self) -> None:
        failed = self.client.run("local/test", {"outcome": "failed", "error_message": "boom"}, wait=30)
        self.assertEqual((failed.status, failed.error_message), ("failed", "boom"))
        again = self.client.jobs.retry(failed.id, wait=30)
        self.assertNotEqual(again.id, failed.id)
        self.assertEqual((again.retry_of, again.status, again.model_id), (failed.id, "failed", "local/test"))

    def test_list_pages_through_every_job_newest_first(self) -> None:
        ids = [self.client.run("local/text", {"prompt": f"job {n}"}).id for n in range(7)]
        listing = self.client.jobs.list(limit=3)
        pages = list(listing.pages())
        self.assertEqual([len(p.data) for p in pages], [3, 3, 1])
        self.assertEqual([p.has_more for p in pages], [True, True, False])
        self.assertEqual([j.id for j in listing], list(reversed(ids)))
        self.assertEqual([j.id for j in self.client.jobs.list()], list(reversed(ids)))
        first = self.client.jobs.list(limit=2).first_page()
        self.assertEqual(([j.id for j in first.data], first.has_more), (list(reversed(ids))[:2], True))

    def test_list_filters(self) -> None:
        text = self.client.run("local/text", {"prompt": "a"})
        failed = self.client.run("local/test", {"outcome": "failed"}, wait=30)
        self.assertEqual([j.id for j in self.client.jobs.list(model_id="local/text")], [text.id])
        self.assertEqual([j.id for j in self.client.jobs.list(status="failed")], [failed.id])
        self.assertEqual([j.id for j in self.client.jobs.list(run_type="app")], [])
        after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        self.assertEqual(list(self.client.jobs.list(created_after=after)), [])
        self.assertEqual(len(list(self.client.jobs.list(created_before=after))), 2)

    def test_a_bad_list_limit_is_a_bad_request_naming_limit(self) -> None:
        with self.assertRaises(genjobs.BadRequestError) as ctx:
            self.client.jobs.list(limit=500).first_page()
        self.assertIn("limit", ctx.exception.message)


if __name__ == "__main__":
    unittest.main()
