"""Saving output files: one URL, or every file a job's outputs point at."""
from __future__ import annotations

import os
import pathlib
import posixpath
import tempfile
import urllib.parse
from typing import List, Union

from ._transport import Transport

CHUNK = 64 * 1024


def file_name(url: str) -> str:
    """A safe local name for a URL: its last path segment, decoded, never a path of its own."""
    name = posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    name = name.replace("\\", "_").replace("\0", "")
    return name if name not in ("", ".", "..") else "download"


def download_url(http: Transport, url: str, folder: Union[str, "os.PathLike[str]"], name: str) -> pathlib.Path:
    """Streams `url` to `folder/name`: written under a temporary name, then moved into place."""
    target = pathlib.Path(folder) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with http.open_url(url) as stream:
        fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
            os.replace(part, target)
        except BaseException:
            os.unlink(part)
            raise
    return target


def unique_names(urls: List[str]) -> List[str]:
    """A file name for each URL, numbered where two would otherwise be the same."""
    names: List[str] = []
    for url in urls:
        base = name = file_name(url)
        n = 1
        while name in names:
            stem, dot, ext = base.rpartition(".")
            name = f"{stem}-{n}.{ext}" if dot else f"{base}-{n}"
            n += 1
        names.append(name)
    return names
