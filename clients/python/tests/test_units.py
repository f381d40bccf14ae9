"""The parts that need no server: dataclasses keeping unknown fields, the event-stream reader, Retry-After."""
from __future__ import annotations

import email.utils
import io
import time
import unittest

import support  # noqa: F401  (puts the package on the path)
import genjobs
from genjobs._sse import read_events
from genjobs._runs import cancel_after_header
from genjobs.errors import error_for, retry_after_seconds


class RecordTest(unittest.TestCase):
    def test_a_job_keeps_fields_it_does_not_know(self) -> None:
        job = genjobs.Job.from_dict({"id": "j1", "status": "completed", "priority": 7, "labels": {"team": "a"}})
        self.assertEqual((job.id, job.status), ("j1", "completed"))
        self.assertEqual(job.extra, {"priority": 7, "labels": {"team": "a"}})
        self.assertEqual(job.to_dict()["priority"], 7)

    def test_a_model_maps_camel_case_and_keeps_unknown_setting_fields(self) -> None:
        model = genjobs.Model.from_dict({
            "id": "a/b", "inputTypes": ["text"], "promptRequired": False,
            "settings": [{"key": "k", "inputType": "number", "defaultValue": 1, "step": 0.5}], "gpu": "A100",
        })
        self.assertEqual((model.input_types, model.prompt_required, model.extra), (["text"], False, {"gpu": "A100"}))
        self.assertEqual((model.settings[0].input_type, model.settings[0].default_value, model.settings[0].extra), ("number", 1, {"step": 0.5}))
        self.assertEqual(model.to_dict()["settings"][0], {
            "key": "k", "label": None, "inputType": "number", "defaultValue": 1, "options": None, "min": None,
            "max": None, "required": None, "step": 0.5,
        })

    def test_output_urls_cover_model_and_app_outputs(self) -> None:
        model_job = genjobs.Job.from_dict({"id": "m", "output_data": {"outputImage": "http://h/f/a.png", "outputText": "hello"}})
        app_job = genjobs.Job.from_dict({"id": "a", "output_data": {"app_id": "x", "app_name": "X", "node_outputs": {
            "one": {"outputImage": "https://h/f/1.png"}, "two": {"outputImages": ["https://h/f/2.png", "https://h/f/3.png"]},
        }}})
        self.assertEqual(model_job.output_urls, ["http://h/f/a.png"])
        self.assertEqual(app_job.output_urls, ["https://h/f/1.png", "https://h/f/2.png", "https://h/f/3.png"])
        self.assertEqual(genjobs.Job(id="p", status="pending").output_urls, [])


def events(text: bytes) -> list:
    return [(e.id, e.event, e.data) for e in read_events(io.BytesIO(text).readline)]


class EventStreamReaderTest(unittest.TestCase):
    def test_reads_fields_skips_comments_and_joins_data_lines(self) -> None:
        stream = b": genjobs event stream\n\nid: 1\nevent: status\ndata: {\"a\":1}\n\n: heartbeat\n\nid: 2\ndata: line one\ndata: line two\n\n"
        self.assertEqual(events(stream), [("1", "status", '{"a":1}'), ("2", "message", "line one\nline two")])

    def test_accepts_crlf_and_lone_cr_line_ends(self) -> None:
        self.assertEqual(events(b"id: 1\r\nevent: log\r\ndata: x\r\n\r\nid: 2\revent: node\rdata: y\r\r\n"), [("1", "log", "x"), ("2", "node", "y")])

    def test_an_event_cut_off_by_the_end_of_the_stream_is_dropped(self) -> None:
        self.assertEqual(events(b"id: 1\ndata: whole\n\nid: 2\ndata: cut"), [("1", "message", "whole")])
        self.assertEqual(events(b"id: 1\ndata: no blank line yet\n"), [])

    def test_the_last_id_carries_over_and_an_event_without_data_is_not_dispatched(self) -> None:
        self.assertEqual(events(b"id: 7\nevent: status\n\ndata: later\n\n"), [("7", "message", "later")])


class CancelAfterTest(unittest.TestCase):
    def test_seconds_timedeltas_and_durations_become_the_header(self) -> None:
        import datetime

        self.assertEqual(cancel_after_header(90), "90")
        self.assertEqual(cancel_after_header(90.7), "90")
        self.assertEqual(cancel_after_header(datetime.timedelta(hours=1, minutes=30)), "5400")
        self.assertEqual(cancel_after_header("1h30m"), "1h30m")
        with self.assertRaises(TypeError):
            cancel_after_header(True)


class RetryAfterTest(unittest.TestCase):
    def test_seconds_and_http_dates(self) -> None:
        self.assertEqual(retry_after_seconds({"retry-after": "12"}), 12)
        soon = email.utils.formatdate(time.time() + 30, usegmt=True)
        self.assertAlmostEqual(retry_after_seconds({"retry-after": soon}), 30, delta=2)
        self.assertIsNone(retry_after_seconds({"retry-after": "soon"}))
        self.assertIsNone(retry_after_seconds({}))

    def test_each_status_has_its_error_class(self) -> None:
        classes = {s: type(error_for(s, {"error": "e", "code": "c"}, {})) for s in (400, 401, 402, 403, 404, 409, 429, 500, 503, 418)}
        self.assertEqual(classes, {
            400: genjobs.BadRequestError, 401: genjobs.AuthenticationError, 402: genjobs.InsufficientCreditsError,
            403: genjobs.PermissionDeniedError, 404: genjobs.NotFoundError, 409: genjobs.ConflictError,
            429: genjobs.RateLimitError, 500: genjobs.ServerError, 503: genjobs.ServerError, 418: genjobs.ApiError,
        })
        err = error_for(502, "<html>Bad gateway</html>", {})
        self.assertEqual((err.status, err.code, err.message), (502, None, "HTTP 502: <html>Bad gateway</html>"))


if __name__ == "__main__":
    unittest.main()
