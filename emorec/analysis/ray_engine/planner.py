"""Cutting the inputs into units of work: videos into segments that start where detection resyncs, images
into batches."""

from dataclasses import dataclass
from pathlib import Path

from emorec.analysis.outputs import AnalyzeOptions
from emorec.analysis.ray_engine.work import ImageBatch, Unit, VideoSegment
from emorec.common.errors import EmorecError
from emorec.core.sources import Video, kind_of

#: Frames per video segment (rounded to the resync period): ~20 s of 30 frames/s video, a few seconds of work.
SEGMENT_FRAMES = 600
#: Images per unit of work.
IMAGES_PER_TASK = 16


@dataclass
class Job:
    """One input as the driver plans it: which units carry it (``units``; an image's ``slot`` in its batch),
    the video's frame rate, or why it cannot be analysed at all (``error``)."""
    path: Path
    folder: Path
    source: dict
    kind: str
    units: range = range(0)
    slot: int = 0
    fps: float = 0.0
    error: str | None = None


def resync_period(options: AnalyzeOptions) -> int:
    """Video frames between the points where a segment may start (see :mod:`emorec.analysis.ray_engine`)."""
    return options.every * options.recognizer.resync_period


def segments(frame_count, period, length=SEGMENT_FRAMES):
    """[(start, stop)] covering a video of ``frame_count`` frames (None: unknown, one segment); each start a
    multiple of ``period``; the last segment's stop is None (to the end, whatever the header said)."""
    if not frame_count:
        return [(0, None)]
    step = max(period, round(length / period) * period)
    starts = list(range(0, frame_count, step)) or [0]
    return [(a, b) for a, b in zip(starts, starts[1:])] + [(starts[-1], None)]


def plan_units(todo, options: AnalyzeOptions, segment_frames=SEGMENT_FRAMES, images_per_task=IMAGES_PER_TASK):
    """The units for ``todo`` [(path, folder, source)], input by input, and per input its kind, the range of
    its units and what the driver needs (fps), or the reason it cannot be analysed at all."""
    units: list[Unit] = []
    jobs: list[Job] = []
    images: list[tuple[Job, int]] = []

    def flush_images():
        for i in range(0, len(images), images_per_task):
            batch = images[i:i + images_per_task]
            for slot, (job, _) in enumerate(batch):
                job.units, job.slot = range(len(units), len(units) + 1), slot
            units.append(Unit(batch[0][1], ImageBatch(tuple(str(Path(job.path).resolve()) for job, _ in batch))))
        images.clear()

    for j, (path, folder, source) in enumerate(todo):
        job = Job(path, folder, source, kind_of(path))
        if job.kind == "image":
            images.append((job, j))
        else:
            flush_images()
            try:
                video = Video(path)
                job.fps, count = video.fps, video.frame_count
                video.close()
            except EmorecError as e:
                job.error = str(e)
                count = None
            first = len(units)
            if job.error is None:
                units += [Unit(j, VideoSegment(str(Path(path).resolve()), a, b, options.every))
                          for a, b in segments(count, resync_period(options), segment_frames)]
            job.units = range(first, len(units))
        jobs.append(job)
    flush_images()
    return units, jobs
