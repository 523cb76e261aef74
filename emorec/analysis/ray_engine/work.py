"""What travels between the driver and the Ray workers: the units of work (a video segment, a batch of
images), each of which knows how to run on a recognizer, and what comes back."""

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from emorec.analysis.outputs import recognize_image
from emorec.common.errors import SourceError, error_message
from emorec.core.faces import Faces
from emorec.core.sources import Video


@dataclass
class SegmentResult:
    """A video segment, detected and classified: frames ``start`` .. ``start + frames - 1`` were read, and
    ``faces`` holds one :class:`faces.Faces` per analysed frame (every ``--every``-th), classified but neither
    tracked nor smoothed (the driver tracks them in order)."""
    start: int
    frames: int
    faces: list[Faces]


@dataclass
class ImageResult:
    """One image, recognized as a still: its faces, the annotated picture as PNG bytes, (width, height)."""
    faces: Faces
    png: bytes
    size: tuple


@dataclass
class Failed:
    """A unit (or one image of it) that could not be done; its input fails with ``reason``."""
    reason: str


@dataclass(frozen=True)
class VideoSegment:
    """Frames ``start`` .. ``stop`` - 1 of the video at ``path`` (to its end if ``stop`` is None), every
    ``every``-th of them analysed."""
    path: str
    start: int
    stop: int | None
    every: int

    def run(self, recognizer) -> "SegmentResult | Failed":
        try:
            # Detection alone over the resync period before the segment: its first frame's network passes
            # then depend on the frame before it exactly as in one uninterrupted run (Recognizer.advance).
            lead = min(self.start, recognizer.resync_period * self.every)
            video = open_at(self.path, self.start - lead)
            faces: list[Faces] = []
            index = self.start - lead
            recognizer.reset(index // self.every)
            with contextlib.closing(video):
                while (self.stop is None or index < self.stop) and (frame := video.read()) is not None:
                    if index % self.every == 0:
                        if index < self.start:
                            recognizer.advance(frame)
                        else:
                            faces.append(recognizer.observe(frame))
                    index += 1
            return SegmentResult(self.start, max(0, index - self.start), faces)
        except Exception as e:
            return Failed(reason(e, self.path))

    def failed(self, why: str) -> Failed:
        return Failed(why)


@dataclass(frozen=True)
class ImageBatch:
    """Images recognized as stills, one result each."""
    paths: tuple[str, ...]

    def run(self, recognizer) -> "list[ImageResult | Failed]":
        results: list[ImageResult | Failed] = []
        for path in self.paths:
            try:
                results.append(ImageResult(*recognize_image(path, recognizer)))
            except Exception as e:
                results.append(Failed(reason(e, path)))
        return results

    def failed(self, why: str) -> list[Failed]:
        return [Failed(why) for _ in self.paths]


@dataclass(frozen=True)
class Unit:
    """One task: ``work`` for a worker; ``job`` is the index of the input it belongs to."""
    job: int
    work: VideoSegment | ImageBatch


def open_at(path, start):
    """The video positioned at frame ``start``; an ended reader past its end (the frame count in a file's
    header is sometimes larger than the frames it holds)."""
    if not Path(path).is_file():
        raise SourceError(f"video not found: {path} (on a cluster, every node must see the inputs at the path "
                          "the driver names: put them on shared storage)")
    try:
        return Video(path, start)
    except SourceError:
        if start == 0:
            raise
        return _Ended()


class _Ended:
    def read(self):
        return None

    def close(self):
        pass


def reason(error, path=None):
    """The one-line reason a unit failed, naming the node on a cluster."""
    node = os.uname().nodename
    return error_message(error, path, "write") + (f" (on node {node})" if os.environ.get("RAY_ADDRESS") else "")
