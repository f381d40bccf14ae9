"""What every test module shares: one live genjobs server for the whole run, and fresh accounts on it.

The server is the repository's own build (`npx tsc -p tsconfig.json` makes dist/), started as
`node dist/src/cli/main.js serve` on a free port with a temporary DATA_DIR, and stopped when the
run ends. Accounts and keys are made with the same CLI an operator uses. The store is whatever
the environment says (SQLite in DATA_DIR unless DATABASE_URL is set).
"""
from __future__ import annotations

import atexit
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any, Dict, Optional, Tuple

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

import genjobs  # noqa: E402  (after the path above)

CLI = ROOT / "dist" / "src" / "cli" / "main.js"
NODE = os.environ.get("GENJOBS_NODE") or shutil.which("node") or "node"
ADMIN_TOKEN = "py-client-tests-" + os.urandom(8).hex()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        if not CLI.exists():
            raise RuntimeError(f"{CLI} is missing: build the server first (npx tsc -p tsconfig.json in {ROOT})")
        self.data_dir = tempfile.mkdtemp(prefix="genjobs-py-")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DATA_DIR": self.data_dir,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "PUBLIC_URL": self.url,
            "LOG_LEVEL": "warn",
            "GENJOBS_POLL_MS": "100",
            "GENJOBS_WEBHOOK_ALLOW_PRIVATE": "true",  # the tests' webhook receiver listens on loopback
            "GENJOBS_WEBHOOK_BACKOFF_MS": "200",
            "GENJOBS_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        self.log_path = os.path.join(self.data_dir, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [NODE, str(CLI), "serve"], env=self.env, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )
        until = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"genjobs serve exited early ({self.proc.returncode}): {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > until:
                self.stop()
                raise RuntimeError(f"genjobs serve did not answer /healthz within 30 s: {self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")[-4000:]

    def cli(self, *args: str) -> str:
        """Runs an operator command of the `genjobs` CLI against this server's store."""
        r = subprocess.run([NODE, str(CLI), *args], env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"genjobs {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r.stdout.strip()

    def cli_account(self, credits: int = 1000, rate_limit: int = 10000) -> Tuple[str, str]:
        """A new account and key made as an operator makes them, with the CLI: (user id, key)."""
        user_id = self.cli("users", "create", "--credits", str(credits), "--quiet")
        key = self.cli("keys", "create", user_id, "--rate-limit", str(rate_limit), "--quiet")
        return user_id, key

    def account(self, credits: int = 1000, rate_limit: int = 10000) -> Tuple[str, str]:
        """A new account with `credits` and a key allowing `rate_limit` requests a minute: (user id,
        key). Made through the admin API, which is much quicker than a CLI process per account."""
        user = self._admin("/admin/v1/users", {"credits": credits})
        key = self._admin(f"/admin/v1/users/{user['id']}/keys", {"rate_limit_per_minute": rate_limit})
        return user["id"], key["key"]

    def slow_app(self, user_id: str) -> str:
        """A private app of the account whose first node takes 5 s, so that its events can be
        watched from the start, on a loaded machine too: `wait` (local/test), then `draw`
        (local/image, prompted by wait's text)."""
        app = self._admin(f"/admin/v1/users/{user_id}/apps", {
            "name": "Slow Drawing",
            "nodes": [
                {"id": "wait", "model": "local/test", "settings": {"duration_ms": 5000}},
                {"id": "draw", "model": "local/image", "settings": {"aspect_ratio": "1:1"}},
            ],
            "edges": [{"from": "wait", "output": "outputText", "to": "draw", "input": "prompt"}],
            "inputs": [],
        })
        return str(app["id"])

    def _admin(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        req = urllib.request.Request(
            f"{self.url}{path}", method="POST", data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read())

    def client(self, key: str, **options: Any) -> genjobs.GenJobs:
        return genjobs.GenJobs(base_url=self.url, api_key=key, **options)

    def raw(self, key: str, method: str, path: str) -> Dict[str, Any]:
        """A plain request outside the client, for routes it has no method for (the webhook secret)."""
        req = urllib.request.Request(f"{self.url}{path}", method=method, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _die_with_parent() -> None:
    """In the server's process, before it starts: on Linux, ask for SIGTERM when the test run dies,
    so that even a killed run leaves no server behind."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_server: Optional[Server] = None


def server() -> Server:
    """The run's server, started on first use and stopped when the run ends (SIGTERM included)."""
    global _server
    if _server is None:
        _server = Server()
        atexit.register(_server.stop)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    return _server
