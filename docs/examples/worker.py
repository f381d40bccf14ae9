#!/usr/bin/env python3
"""A complete genjobs worker in Python, standard library only.

It claims jobs of one model, runs `generate()` for each while a thread sends heartbeats,
uploads the output file and completes the job. It stops the work when a heartbeat says the job
was cancelled or the lease was lost, fails the job (which refunds it) when the model raises or
the server refuses the upload, and gives its job back on Ctrl-C.

    GENJOBS_URL=http://localhost:8080 GENJOBS_WORKER_TOKEN=wk_live_... python3 worker.py acme/sdxl

`generate()` stands in for real inference: for an image model such as docs/workers.md's
acme/sdxl it draws a PNG from the prompt, one pass per step (the `steps` setting).
"""
import json
import os
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib

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


def png(width, height, pixel):
    """A PNG file (8-bit RGB) whose pixel (x, y) is pixel(x, y) -> (r, g, b)."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def generate(job, cancelled, report):
    """The model: replace with real inference. Returns (file bytes, file name), or None when cancelled."""
    settings = job["input"]
    prompt = str(settings.get("prompt") or settings.get("text") or "")
    steps = int(settings.get("steps") or 30)
    seed = zlib.crc32(prompt.encode())
    for step in range(steps):
        if cancelled.is_set():
            return None
        report(progress=step / steps, log=f"step {step + 1} of {steps}")
        time.sleep(0.02)
    # Noise from the prompt over a gradient: the same prompt draws the same picture.
    def pixel(x, y):
        n = (seed ^ (x * 73856093) ^ (y * 19349663)) & 0xFFFFFFFF
        return (x * 2 + n % 32) % 256, (y * 2 + (n >> 8) % 32) % 256, (seed >> 16) % 256

    return png(128, 128, pixel), "out.png"


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

    def beat_once():
        # Renews the lease and sends progress and log lines; the answer says when to stop
        # (cancelled, or the lease was lost).
        with lock:
            body = {"lease_token": lease, "progress": pending["progress"], "logs": pending["logs"][:100]}
            pending["logs"] = pending["logs"][100:]
        try:
            status, answer = call("POST", f"/jobs/{job['id']}/heartbeat", body)
        except OSError as err:  # the server is away for a moment: the next beat tries again
            print("heartbeat failed:", err, file=sys.stderr)
            return
        if status == 409 or (status == 200 and not answer["continue"]):
            cancelled.set()

    def heartbeats():
        while not finished.wait(job["heartbeat_interval_ms"] / 1000) and not cancelled.is_set():
            beat_once()

    beat = threading.Thread(target=heartbeats, daemon=True)
    beat.start()

    def fail(reason):
        # Failing refunds the job at once; without it the job would wait out its lease, three times.
        status, answer = call("POST", f"/jobs/{job['id']}/fail", {"lease_token": lease, "error": reason})
        print(job["id"], "failed:", reason, "->", status, file=sys.stderr)

    try:
        result = generate(job, cancelled, report)
    except Exception as exc:  # the model failed: the job fails and is refunded
        finished.set()
        fail(f"the model failed: {exc}")
        return
    finished.set()
    beat.join()
    beat_once()  # the last progress and log lines, before the output
    if result is None or cancelled.is_set():
        return  # cancelled, or the lease was lost: nothing to report
    data, name = result
    status, uploaded = call("POST", f"/jobs/{job['id']}/files?lease_token={lease}&name={name}", data=data,
                            content_type="application/octet-stream")
    if status == 409:
        return  # the job was cancelled or taken over meanwhile: stop
    if status != 201:
        fail(f"the output upload was refused ({status}): {(uploaded or {}).get('error', 'no reason given')}")
        return
    status, answer = call("POST", f"/jobs/{job['id']}/complete",
                          {"lease_token": lease, "output": {job["output_field"]: uploaded["url"]}})
    if status != 200 and status != 409:
        fail(f"completing was refused ({status}): {(answer or {}).get('error', 'no reason given')}")
        return
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
