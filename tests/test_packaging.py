"""`pip install .` gives a wheel that works from any folder, offline: the shipped models and their LiteRT exports,
the cascade and the web pages are inside it, with the two console scripts; TensorFlow only with the train extra."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_the_model_the_cascade_the_pages_and_the_commands(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("emorec-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        stamps = {d: z.read(f"emorec/assets/{d}/emotion_cnn.tflite.json") for d in ("model", "fast")}
        metadata = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    for folder in ("model", "fast"):          # model/default and model/fast
        for name in ("emotion_cnn.h5", "emotion_cnn.json", "emotion_cnn.tflite", "emotion_cnn.tflite.json"):
            assert f"emorec/assets/{folder}/{name}" in names
    assert (ROOT / "model/default/emotion_cnn.tflite.json").read_bytes() == stamps["model"]
    assert (ROOT / "model/fast/emotion_cnn.tflite.json").read_bytes() == stamps["fast"]
    members = [m for m in (ROOT / "model/accurate").iterdir() if m.is_dir()]     # the ensemble's own members
    assert "emorec/assets/accurate/ensemble.json" in names and members
    for member in members:
        for name in ("emotion_cnn.h5", "emotion_cnn.json", "emotion_cnn.tflite", "emotion_cnn.tflite.json"):
            assert f"emorec/assets/accurate/{member.name}/{name}" in names
    assert "emorec/assets/haarcascade_frontalface_default.xml" in names
    assert {"emorec/assets/face_detection_full_range_sparse.tflite", "emorec/assets/face_detection_short_range.tflite",
            "emorec/assets/NOTICE"} <= names
    assert {"emorec/server/web/live.html", "emorec/server/web/upload.html"} <= names
    assert "emorec = emorec.cli.main:main" in entry_points and "emorec-ui = emorec.cli.window:main" in entry_points
    assert not [n for n in names if n.startswith(("tests/", "data/", "bench/")) or "__pycache__" in n]
    # The light install: TensorFlow and Keras only with the train extra; LiteRT always.
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    heavy = [r for r in requires if r.startswith(("tensorflow", "keras"))]
    assert heavy and all("; extra == " in r for r in heavy), heavy      # train, and dev which has it
    assert {r.split("<")[0] for r in heavy if "extra == 'train'" in r} == {"keras", "tensorflow-cpu"}
    assert any(r.startswith("ai-edge-litert") and "extra" not in r for r in requires)


def test_the_shipped_detector_files_are_the_ones_notice_names():
    import hashlib
    import re
    notice = (ROOT / "NOTICE").read_text()
    for name, digest in re.findall(r"^(face_detection_\S+\.tflite).*\n\s+SHA-256 ([0-9a-f]{64})", notice, re.M):
        assert hashlib.sha256((ROOT / name).read_bytes()).hexdigest() == digest, name
    assert len(re.findall(r"SHA-256 [0-9a-f]{64}", notice)) == 2
