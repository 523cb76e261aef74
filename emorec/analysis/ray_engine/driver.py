"""The driver of a Ray analysis: plans the units, starts the actors, and writes each input's files as its
units come back in order (tracking and smoothing happen here, sequentially)."""

import contextlib
import dataclasses
from pathlib import Path

from emorec.analysis.outputs import AnalyzeOptions, VideoOutputs, analysis_settings, record_input, write_image_outputs
from emorec.analysis.outputs import clear_outputs as _clear
from emorec.analysis.progress import progress_bar
from emorec.analysis.ray_engine.cluster import connect, import_ray
from emorec.analysis.ray_engine.planner import IMAGES_PER_TASK, SEGMENT_FRAMES, Job, plan_units
from emorec.analysis.ray_engine.scheduler import RETRIES, OrderedResults
from emorec.analysis.ray_engine.work import Failed
from emorec.analysis.ray_engine.worker import SegmentWorker
from emorec.common.errors import SourceError
from emorec.core.faces import Faces
from emorec.core.options import RecognizerOptions
from emorec.core.sources import Video
from emorec.core.tracking import Tracker
from emorec.network.files import resolve_model_path


def _video_work(job: Job, stream: OrderedResults, options: AnalyzeOptions):
    def work(folder):
        tracker = Tracker(options.recognizer.smoothing)
        faces, frames, ended = Faces.empty(), 0, False
        try:
            with contextlib.ExitStack() as stack:
                picture = None if options.no_video else Video(job.path)
                if picture is not None:
                    stack.callback(picture.close)
                out = stack.enter_context(VideoOutputs(folder, job.fps, options))
                for _ in job.units:
                    result = stream.take()
                    if isinstance(result, Failed):
                        raise SourceError(result.reason)
                    if ended or result.start != frames:   # an earlier segment ended before its stop
                        ended = True
                        continue
                    seen = iter(result.faces)
                    for index in range(result.start, result.start + result.frames):
                        if index % options.every == 0:
                            faces = tracker.track(next(seen))
                            out.add(index, faces)
                        if picture is not None and (frame := picture.read()) is not None:
                            out.show(frame, faces)
                    frames += result.frames
                return out.finish(frames, Path(job.path).name)
        finally:
            stream.skip_to(job.units.stop)
    return work


def _image_work(result):
    def work(folder):
        if isinstance(result, Failed):
            raise SourceError(result.reason)
        return write_image_outputs(folder, result.faces, result.png, result.size)
    return work


def _failed_work(reason):
    def work(folder):
        raise SourceError(reason)
    return work


def analyze_on_ray(todo, options: AnalyzeOptions, workers=None, address=None, segment_frames=SEGMENT_FRAMES,
                   images_per_task=IMAGES_PER_TASK, on_done=None, settings=None):
    """{folder: record} for ``todo`` [(path, folder, source)], analysed by ``workers`` Ray actors (default: one
    per CPU of the cluster). ``address``: a running cluster's (``ray start --head`` prints it); None starts a
    local Ray on this machine for the run. ``on_done(record)`` is called as each input is finished.
    ``settings``: :func:`emorec.analysis.outputs.analysis_settings` of ``options`` (worked out here when not
    given)."""
    settings = settings or analysis_settings(options)
    ray = import_ray()
    started = connect(ray, address, workers)
    results, stream, actors = {}, None, []
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(SegmentWorker).options(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)
        actors = [actor.remote(_absolute_model(options.recognizer)) for _ in range(count)]
        units, jobs = plan_units(todo, options, segment_frames, images_per_task)
        with progress_bar(len(units), f"segments on {count} Ray worker{'s' * (count > 1)}", "unit",
                          position=1, leave=False, disable=not units) as bar:
            stream = OrderedResults(ray, actors, units, bar)
            batch: tuple[int | None, list] = (None, [])   # (unit index, its results): the image batch being written
            for job in jobs:
                if job.error is not None:
                    work = _failed_work(job.error)
                elif job.kind == "image":
                    if batch[0] != job.units.start:   # this image's batch is the next unit in order
                        taken = stream.take()   # a list, or one Failed if its worker died for good
                        batch = (job.units.start, taken if isinstance(taken, list) else [taken] * (job.slot + 1))
                    work = _image_work(batch[1][job.slot])
                else:
                    work = _video_work(job, stream, options)
                results[job.folder] = record_input(job.path, job.folder, job.source, settings, work)
                if on_done is not None:
                    on_done(results[job.folder])
    except KeyboardInterrupt:
        for _, folder, _ in todo:   # what the unfinished inputs had written
            if folder not in results:
                with contextlib.suppress(OSError):
                    _clear(Path(folder), remove_empty=True)
        raise
    finally:
        if stream is not None:
            stream.cancel()
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
        if started:
            ray.shutdown()
    return results


def _absolute_model(options: RecognizerOptions) -> RecognizerOptions:
    """The options with the model as an absolute path: workers do not share the driver's working directory."""
    return dataclasses.replace(options, model=str(resolve_model_path(options.model).resolve()))
