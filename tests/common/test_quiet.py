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


LIBRARY_CALLS = """
import logging, sys, warnings
import keras, tensorflow   # what the libraries do at import is theirs
def state():
    return (warnings.formatwarning, [logging.getLogger(n).level for n in ("absl", "tensorflow", "py.warnings")])
before = state()
from emorec.common.quiet import import_keras
from emorec.network.files import load_keras_model, to_litert
import_keras()
assert len(to_litert(load_keras_model(sys.argv[1]))) > 1000
print("same" if state() == before else f"changed: {before} -> {state()}")
"""


def test_import_keras_and_to_litert_leave_warnings_and_loggers_as_they_were(tiny_model):
    out = subprocess.run([sys.executable, "-c", LIBRARY_CALLS, str(tiny_model)], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "same"


def test_quiet_libraries_is_what_an_entry_point_calls_and_it_does_quiet_warnings():
    code = ("import warnings\nfrom emorec.common.quiet import quiet_libraries\nquiet_libraries()\n"
            "warnings.warn('careful')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stderr == "warning: careful\n"
