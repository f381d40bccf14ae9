"""client.download: output files saved to disk, checked as real PNGs."""
from __future__ import annotations

import pathlib
import struct
import tempfile
import unittest
import zlib
from typing import Tuple

import support
import genjobs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk: no data, then its fixed CRC


def png_size(path: pathlib.Path) -> Tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature, the IHDR's CRC and the end."""
    data = path.read_bytes()
    if data[:8] != PNG_SIGNATURE:
        raise AssertionError(f"{path} does not start with the PNG signature: {data[:8]!r}")
    length, kind = struct.unpack(">I4s", data[8:16])
    if (length, kind) != (13, b"IHDR"):
        raise AssertionError(f"{path}: the first chunk is {kind!r} of {length} bytes, not IHDR")
    ihdr = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    if crc != zlib.crc32(kind + ihdr):
        raise AssertionError(f"{path}: the IHDR chunk's CRC is wrong")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", ihdr[:10])
    if bit_depth not in (1, 2, 4, 8, 16) or colour_type not in (0, 2, 3, 4, 6):
        raise AssertionError(f"{path}: bit depth {bit_depth} and colour type {colour_type} are not a PNG's")
    if not data.endswith(PNG_END):
        raise AssertionError(f"{path} does not end with the IEND chunk")
    return width, height


class DownloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        _, key = cls.srv.account(credits=1000)
        cls.client = cls.srv.client(key)

    def setUp(self) -> None:
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="genjobs-dl-"))

    def test_downloading_an_image_job_saves_a_valid_png(self) -> None:
        job = self.client.run("local/image", {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9"})
        paths = self.client.download(job, self.folder / "out")
        self.assertEqual(len(paths), 1)
        self.assertEqual(paths[0].parent, self.folder / "out")
        self.assertEqual(paths[0].name, job.output_data["outputImage"].rsplit("/", 1)[1])
        self.assertEqual(png_size(paths[0]), (640, 360))
        self.assertEqual(sorted(p.name for p in (self.folder / "out").iterdir()), [paths[0].name])  # no leftover part file

    def test_downloading_a_url_returns_its_path(self) -> None:
        job = self.client.run("local/image", {"prompt": "a red fox", "aspect_ratio": "3:4"})
        path = self.client.download(job.output_data["outputImage"], self.folder)
        self.assertIsInstance(path, pathlib.Path)
        self.assertEqual(png_size(path), (384, 512))

    def test_downloading_an_app_job_saves_every_nodes_file(self) -> None:
        app = next(a for a in self.client.apps.list() if a.name == "Render and Upscale")
        job = self.client.apps.run(app.id, {app.inputs[0].id: "a harbour"}, wait=60)
        render, upscale = self.client.download(job, self.folder)
        self.assertEqual(png_size(render), (640, 360))
        self.assertEqual(png_size(upscale), (1280, 720))

    def test_a_missing_file_raises_not_found(self) -> None:
        job = self.client.run("local/image", {"prompt": "gone"})
        with self.assertRaises(genjobs.NotFoundError):
            self.client.download(job.output_data["outputImage"] + "-missing.png", self.folder)
        self.assertEqual(list(self.folder.iterdir()), [])

    def test_a_job_without_files_downloads_nothing(self) -> None:
        job = self.client.run("local/text", {"prompt": "words only"})
        self.assertEqual(self.client.download(job, self.folder), [])


if __name__ == "__main__":
    unittest.main()
