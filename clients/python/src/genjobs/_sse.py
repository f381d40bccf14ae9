"""Reads a text/event-stream body into events, as the HTML standard describes them.

Lines end with CRLF, LF or CR; `data` lines join with a newline; a blank line dispatches the
event; comments (lines starting with `:`, such as the server's heartbeat) and unknown fields are
skipped; an event without data is not dispatched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional


@dataclass
class RawEvent:
    id: Optional[str]
    event: str
    data: str


def read_events(readline: Callable[[], bytes]) -> Iterator[RawEvent]:
    """The events of a stream whose next line `readline()` returns (b"" once it has ended)."""
    last_id: Optional[str] = None
    event = ""
    data: List[str] = []
    saw_data = False
    while True:
        chunk = readline()
        if not chunk.endswith(b"\n"):
            return  # the end, or a last line cut off by it: an unfinished event is dropped
        body = chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1]
        for line in body.split(b"\r"):  # readline splits at LF only; a lone CR ends a line too
            text = line.decode("utf-8", errors="replace")
            if text == "":
                if saw_data:
                    yield RawEvent(last_id, event or "message", "\n".join(data))
                event, data, saw_data = "", [], False
                continue
            if text.startswith(":"):
                continue
            name, colon, value = text.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
                saw_data = True
            elif name == "event":
                event = value
            elif name == "id" and "\0" not in value:
                last_id = value
