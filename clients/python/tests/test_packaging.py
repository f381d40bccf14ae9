"""The package installs with pip from its folder, offline, as the README says."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import Optional

import support

PACKAGE = support.ROOT / "clients" / "python"
# Whether an interpreter can build the package with no index: setuptools 61+ (pyproject metadata)
# and a bdist_wheel command (setuptools 70.1+ has its own; older ones need the wheel package).
CAN_BUILD = (
    "import setuptools, sys\n"
    "v = tuple(int(x) for x in setuptools.__version__.split('.')[:2])\n"
    "if v < (70, 1):\n"
    "    import wheel\n"
    "sys.exit(0 if v >= (61, 0) else 1)\n"
)


def offline_builder() -> Optional[str]:
    """This Python if it can build offline, else Debian's system Python if that can (the README names it)."""
    for python in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(python) and subprocess.run([python, "-c", CAN_BUILD], capture_output=True).returncode == 0:
            return python
    return None


class PackagingTest(unittest.TestCase):
    def test_pip_installs_it_offline_with_its_type_marker_and_no_dependencies(self) -> None:
        python = offline_builder()
        if python is None:
            self.skipTest("no Python here has setuptools 61+ with bdist_wheel (setuptools 70.1+, or the wheel package)")
        work = pathlib.Path(tempfile.mkdtemp(prefix="genjobs-pip-"))
        self.addCleanup(shutil.rmtree, work, True)
        source = work / "source"  # a copy: pip builds in the source tree, which must stay clean
        shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
        target = work / "site"
        r = subprocess.run(
            [python, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--no-deps", "--target", str(target), str(source)],
            capture_output=True, text=True, timeout=600, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue((target / "genjobs" / "py.typed").exists())
        metadata = next(target.glob("genjobs-*.dist-info")) / "METADATA"
        text = metadata.read_text()
        self.assertIn("Requires-Python: >=3.9", text)
        self.assertNotIn("Requires-Dist", text)
        probe = subprocess.run(
            [python, "-c", "import genjobs; print(genjobs.__file__); print(genjobs.__version__)"],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(target)}, cwd=str(work),
        )
        self.assertEqual(probe.returncode, 0, probe.stderr)
        where, version = probe.stdout.split()
        self.assertTrue(where.startswith(str(target)), where)
        self.assertEqual(version, "0.1.0")


if __name__ == "__main__":
    unittest.main()
