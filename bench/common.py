"""Shared helpers for the benchmarks: the host line every benchmark prints, a network's multiply-adds, test
frames with real faces, timing, the FER2013 data path."""

import functools
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

#: The vector extensions that decide how fast the network runs (neon / asimd on ARM).
#: avx512_bf16 / amx_bf16: native bf16 units, where training's --precision auto picks bfloat16.
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "neon", "asimd")


def cpu_line():
    """The CPU model, its core count and vector extensions: every benchmark prints it beside its figures,
    since they compare only within one run on one host."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    model = re.search(r"^(?:model name|Model|Hardware)\s*:\s*(.+)$", text, re.M)
    found = set(re.findall(r"\b(" + "|".join(VECTOR_FLAGS) + r")\b", text))
    flags = [f for f in VECTOR_FLAGS if f in found]
    return (f"{model.group(1).strip() if model else platform.machine()}, {os.cpu_count()} cores, "
            f"{' '.join(flags) or 'none of ' + ' '.join(VECTOR_FLAGS)}")


MADDS = """
import sys
from emorec.common.quiet import import_keras
import_keras()
from emorec.network.architectures import multiply_adds
from emorec.network.files import ensemble_members, is_ensemble, load_keras_model, resolve_model_path
path = resolve_model_path(sys.argv[1] or None)
print(sum(multiply_adds(load_keras_model(p)) for p in (ensemble_members(path) if is_ensemble(path) else [path])))
"""


@functools.cache
def multiply_adds(model=None):
    """Multiply-adds of one pass of one face through the model (``emorec.network.architectures.multiply_adds``; an
    ensemble's: all its members'; counted in a child process, so the benchmark itself never imports TensorFlow)."""
    run = subprocess.run([sys.executable, "-c", MADDS, str(model or "")], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, cwd=ROOT)
    if run.returncode:
        raise SystemExit(f"counting the model's multiply-adds failed:\n{run.stderr[-2000:]}")
    return int(run.stdout.split()[-1])


def network_cost(model=None):
    """'264 M multiply-adds per pass': the figure printed beside per-face milliseconds."""
    return f"{multiply_adds(model) / 1e6:.0f} M multiply-adds per pass"


def host_header(model=None):
    """The lines a benchmark prints first: the host, and with ``model`` (a path, or "" for the shipped one) the
    network's cost per pass."""
    lines = [f"host: {cpu_line()}"]
    if model is not None:
        lines.append(f"network: {model or 'the shipped model'}, {network_cost(model)}")
    return "\n".join(lines)


def astronaut_bgr():
    """scikit-image's astronaut photo (512×512) as BGR; it ships inside the scikit-image wheel."""
    try:
        from skimage import data
    except ImportError:
        raise SystemExit("the benchmarks need scikit-image for their test photo: "
                         "pip install -r requirements-dev.txt") from None
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def frame_one_face():
    """640×480 BGR frame with one real face (~100 px wide)."""
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 80:560] = cv2.resize(astronaut_bgr(), (480, 480), interpolation=cv2.INTER_AREA)
    return frame


def frame_four_faces():
    """640×480 BGR frame with four real faces (2×2 tiles of the astronaut's head, ~95 px faces)."""
    head = cv2.resize(astronaut_bgr()[0:256, 100:356], (230, 230), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)
    for y in (5, 245):
        for x in (70, 340):
            frame[y:y + 230, x:x + 230] = head
    return frame


def times_ms(fn, repeat=200, warmup=10):
    """``fn()`` timed ``repeat`` times after ``warmup`` untimed calls: an array of milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return np.array(times)


def median_ms(fn, repeat=200, warmup=10):
    return float(statistics.median(times_ms(fn, repeat, warmup)))


def fer2013_csv():
    path = SHARED_DATA / "fer2013.csv.gz"
    if not path.exists():
        raise SystemExit(f"{path} not found: this benchmark reads the real FER2013 CSV")
    return path


def short_run_scores(dataset, configs, tta=False):
    """Train each named :class:`emorec.training.config.TrainConfig` (its ``out`` is replaced by a temporary folder)
    and score its best model on the validation split (PublicTest), never on PrivateTest.
    ``configs``: {name: TrainConfig}; returns {name: evaluate.score(...) dict}."""
    import tempfile
    from dataclasses import replace

    from emorec.core.classifier import Classifier
    from emorec.training.evaluate import score
    from emorec.training.train import train
    x, y = dataset.split("val")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, config) in enumerate(configs.items()):
            out = Path(tmp) / f"run{i}"
            train(replace(config, out=str(out)), dataset=dataset, verbose=0)
            results[name] = score(y, Classifier(out / "emotion_cnn.h5").predict(x, tta=tta))
    return results
