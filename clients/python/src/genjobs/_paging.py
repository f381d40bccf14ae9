"""Paging through `GET /api/v1/jobs`: each next page starts after the last job of the one before."""
from __future__ import annotations

import datetime
from typing import Any, Callable, Dict, Iterator, Optional

from .types import Job, JobPage


class JobList:
    """A job listing: iterate over it for every job that matches, page after page (nothing is
    fetched before that), or call `first_page()` for one page."""

    def __init__(self, fetch_page: Callable[[Dict[str, Any]], JobPage], query: Dict[str, Any]) -> None:
        self._fetch_page = fetch_page
        self._query = query

    def first_page(self) -> JobPage:
        """One page, as the query says (`limit` unset: the server's default of 20)."""
        return self._fetch_page(dict(self._query))

    def pages(self) -> Iterator[JobPage]:
        """Every page, `limit` jobs each (100, the most the API gives, unless the query set it)."""
        query = dict(self._query)
        if query.get("limit") is None:
            query["limit"] = 100
        while True:
            page = self._fetch_page(query)
            yield page
            if not page.has_more or not page.data:
                return
            query["starting_after"] = page.data[-1].id

    def __iter__(self) -> Iterator[Job]:
        for page in self.pages():
            yield from page.data


def query_time(value: Any) -> Optional[str]:
    """A time for a query: ISO 8601 text as it is, a datetime in UTC with milliseconds (a naive one is taken as local time)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        utc = value.astimezone(datetime.timezone.utc)
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    raise TypeError(f"expected ISO 8601 text or a datetime, not {value!r}")
