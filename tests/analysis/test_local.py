"""emorec.analysis.local: analyze's in-process engine and its worker processes."""

import os

from emorec.analysis.analyze import analyze_paths
from emorec.analysis.outputs import AnalyzeOptions
from emorec.cli.main import main


class DyingDetector:
    """Kills the (worker) process that calls it, as the kernel's out-of-memory killer would."""
    def __call__(self, gray):
        os._exit(1)


def test_a_worker_that_dies_fails_its_inputs_with_a_message(inputs, tmp_path):
    options = AnalyzeOptions(no_video=True, recognizer={"detector": DyingDetector()})
    records = analyze_paths([inputs], tmp_path / "out", options, workers=2)
    assert [r.status for r in records] == ["failed"] * 3
    assert all("stopped abruptly" in r.reason and "run again" in r.reason for r in records)


def test_two_workers_give_the_same_results_as_one(inputs, tmp_path, tiny_model):
    for workers in (1, 2):
        assert main(["analyze", str(inputs), "--out", str(tmp_path / f"w{workers}"), "--model", str(tiny_model),
                     "--workers", str(workers), "--no-video"]) == 0
    for name in ("in__sub__clip_avi/frames.csv", "in__a_png/faces.csv"):
        assert (tmp_path / "w1" / name).read_text() == (tmp_path / "w2" / name).read_text()
