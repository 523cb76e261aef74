"""Native libraries' lines on file descriptor 2 are hidden inside silenced_stderr, and only there."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = """
import os
from emorec.common.quiet import silenced_stderr
with silenced_stderr():
    os.write(2, b"hidden\\n")
os.write(2, b"shown\\n")
"""


def test_silenced_stderr_hides_native_writes_and_restores_the_descriptor():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0 and out.stderr == "shown\n"
