"""emorec.analysis.outputs: each input's output files."""

import tracemalloc

import numpy as np

import emorec.analysis.analyze
import emorec.analysis.outputs
import emorec.analysis.results
from emorec.analysis.analyze import analyze_paths
from emorec.analysis.outputs import AnalyzeOptions
from emorec.core.recognizer import Recognizer
from tests.helpers import FakeClassifier, FakeDetector, read_csv


class Synthetic:
    """Stands in for sources.Video: ``n`` small frames, 10 fps, made on the fly."""
    n = 0

    def __init__(self, path):
        self.fps, self.frame_count, self.i = 10.0, self.n, 0

    def read(self):
        self.i += 1
        return np.full((60, 80, 3), 40 + self.i % 100, np.uint8) if self.i <= self.n else None

    def close(self):
        pass


def test_video_memory_does_not_grow_with_its_length(tmp_path, monkeypatch):
    (tmp_path / "clip.avi").write_bytes(b"stand-in")
    monkeypatch.setattr(emorec.analysis.outputs, "Video", Synthetic)
    monkeypatch.setattr(emorec.analysis.results, "TIMELINE_POINTS", 16)   # both lengths fill the timeline

    def peak_bytes(n):
        Synthetic.n = n
        recognizer = Recognizer(detector=FakeDetector([[10, 10, 40, 40]]), classifier=FakeClassifier(), tta=False)
        tracemalloc.start()
        try:
            [record] = analyze_paths([tmp_path / "clip.avi"], tmp_path / f"out{n}", AnalyzeOptions(no_video=True),
                                     recognizer=recognizer)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert record.frames == n
        return peak

    peak_bytes(20)   # first-use allocations (matplotlib's fonts, caches)
    assert peak_bytes(600) - peak_bytes(100) < 300_000   # +1.0 MB when every row and face was kept
    assert len(read_csv(tmp_path / "out600" / "clip_avi" / "frames.csv")) == 600
