#!/usr/bin/env python3
"""A complete genjobs worker in Python, standard library only.

It claims jobs of one model, runs `generate()` for each while a thread sends heartbeats,
uploads the output file and completes the job; it stops the work when a heartbeat says the job
was cancelled, and gives its job back on Ctrl-C.

    GENJOBS_URL=http://localhost:8080 GENJOBS_WORKER_TOKEN=wk_live_... python3 worker.py gpu/echo
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

URL = os.environ.get("GENJOBS_URL", "http://localhost:8080").rstrip("/") + "/worker/v1"
TOKEN = os.environ["GENJOBS_WORKER_TOKEN"]
MODEL = sys.argv[1] if len(sys.argv) > 1 else None


def call(method, path, body=None, data=None, content_type="application/json"):
    """One request to the worker API; returns (status, parsed JSON or None)."""
    payload = data if data is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(URL + path, data=payload, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if payload is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            text = res.read().decode()
            return res.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as err:
        text = err.read().decode()
        return err.code, (json.loads(text) if text else None)


def generate(job, cancelled, report):
    """The model: replace with real inference. Returns (file bytes, file name)."""
    text = str(job["input"].get("text", ""))
    for step in range(5):
        if cancelled.is_set():
            return None
        report(progress=step / 5, log=f"step {step + 1} of 5")
        time.sleep(0.2)
    return text[::-1].encode(), "out.txt"


def run(job):
    lease = job["lease_token"]
    cancelled = threading.Event()
    finished = threading.Event()
    pending = {"progress": None, "logs": []}
    lock = threading.Lock()

    def report(progress=None, log=None):
        with lock:
            if progress is not None:
                pending["progress"] = progress
            if log:
                pending["logs"].append(log)

    def heartbeats():
        # Renews the lease; the answer says when to stop (cancelled, or the lease was lost).
        while not finished.wait(job["heartbeat_interval_ms"] / 1000):
            with lock:
                body = {"lease_token": lease, "progress": pending["progress"], "logs": pending["logs"][:100]}
                pending["logs"] = pending["logs"][100:]
            status, answer = call("POST", f"/jobs/{job['id']}/heartbeat", body)
            if status == 200 and not answer["continue"]:
                cancelled.set()
                return

    beat = threading.Thread(target=heartbeats, daemon=True)
    beat.start()
    try:
        result = generate(job, cancelled, report)
    except Exception as exc:  # the model failed: the job fails and is refunded
        finished.set()
        call("POST", f"/jobs/{job['id']}/fail", {"lease_token": lease, "error": str(exc)})
        return
    finished.set()
    if result is None or cancelled.is_set():
        return  # cancelled: nothing to report
    data, name = result
    status, uploaded = call("POST", f"/jobs/{job['id']}/files?lease_token={lease}&name={name}", data=data,
                            content_type="application/octet-stream")
    if status != 201:
        print("upload refused:", uploaded, file=sys.stderr)
        return
    status, answer = call("POST", f"/jobs/{job['id']}/complete",
                          {"lease_token": lease, "output": {job["output_field"]: uploaded["url"]}})
    print(job["id"], "->", status, answer, file=sys.stderr)


def main():
    body = {"wait_ms": 20000}
    if MODEL:
        body["models"] = [MODEL]
    while True:
        try:
            status, answer = call("POST", "/jobs/claim", body)
        except OSError as err:  # the server is away: try again shortly
            print("claim failed:", err, file=sys.stderr)
            time.sleep(2)
            continue
        if status == 204:
            continue  # no job within the wait: ask again
        if status != 200:
            print("claim refused:", status, answer, file=sys.stderr)
            time.sleep(5)
            continue
        job = answer["job"]
        try:
            run(job)
        except KeyboardInterrupt:
            call("POST", f"/jobs/{job['id']}/release", {"lease_token": job["lease_token"]})
            raise


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
