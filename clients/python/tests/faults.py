"""A TCP proxy in front of the test server that breaks chosen connections, to show what the
client does when the network fails: everything else passes through to the real server untouched.

Each new connection takes the next planned fault (or none):
- "refuse": closes the connection as soon as the request has arrived, before the server sees it;
- "lose-answer": passes the request to the server, waits for its answer to begin, then closes
  the connection without passing the answer on (the server did the work; the client never hears);
- "503": answers 503 with `Retry-After: 0` itself, as a server that is shutting down would.
"""
from __future__ import annotations

import select
import socket
import threading
import urllib.parse
from typing import List, Optional, Tuple


class FaultProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urllib.parse.urlsplit(upstream_url)
        self.upstream: Tuple[str, int] = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.plan: List[Optional[str]] = []
        self.requests: List[Tuple[Optional[str], bytes]] = []  # (fault, request line) per connection
        self.closed = threading.Condition()
        self.closed_count = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def fail_next(self, *faults: Optional[str]) -> None:
        with self._lock:
            self.plan.extend(faults)

    def close(self) -> None:
        self._listener.close()

    def wait_closed(self, count: int, timeout: float = 10.0) -> bool:
        """Waits until `count` client connections have been closed (by either end)."""
        with self.closed:
            return self.closed.wait_for(lambda: self.closed_count >= count, timeout)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                fault = self.plan.pop(0) if self.plan else None
            threading.Thread(target=self._serve, args=(client, fault), daemon=True).start()

    def _serve(self, client: socket.socket, fault: Optional[str]) -> None:
        try:
            request = _read_request(client)
            with self._lock:
                self.requests.append((fault, request.split(b"\r\n", 1)[0]))
            if fault == "refuse":
                return
            if fault == "503":
                body = b'{"error":"The service is unavailable right now: shutting down. Try again shortly.","code":"unavailable"}'
                client.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 0\r\n"
                    + b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
                )
                return
            with socket.create_connection(self.upstream) as server:
                server.sendall(request)
                if fault == "lose-answer":
                    server.recv(1)  # the server has answered, so it has done the work
                    return
                _pipe(client, server)
        except OSError:
            pass
        finally:
            client.close()
            with self.closed:
                self.closed_count += 1
                self.closed.notify_all()


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copies bytes both ways until either side closes."""
    while True:
        ready, _, _ = select.select([a, b], [], [])
        for src in ready:
            dst = b if src is a else a
            chunk = src.recv(65536)
            if not chunk:
                return
            dst.sendall(chunk)
