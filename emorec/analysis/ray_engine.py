"""``main.py analyze --engine ray``: the same analysis, spread over a Ray cluster (or a local Ray).

The work is cut into units: a video into segments of about ``segment_frames`` frames, and images into
batches. A segment starts at a frame where the recognizer's detection begins afresh with a full scan (a
multiple of every × detect_every × full_scan_every, :attr:`recognizer.Recognizer.resync_period`), so the
boxes it finds are exactly those of one uninterrupted run. Ray actors, one per worker, each load the model
once and detect and classify. Tracking and smoothing are sequential and cheap: the driver does them as the
segments come back, in order, and it alone writes every file, through the same :class:`analyze.VideoOutputs`
and :func:`analyze.record_input` as the in-process engine. The outputs are therefore the in-process ones:
the same face ids and rows, probabilities equal to float rounding.

Where things live: results (boxes and probabilities per frame, an annotated PNG per image) travel back to
the driver through Ray, so only the driver's machine needs the output folder. Every node needs this project
installed at the same path as on the driver (as Ray clusters are usually built: one image everywhere), and
must see the inputs and the model at the paths the driver names (shared storage such as NFS, or copies).
For annotated videos the driver decodes each video once more to draw on it; that, and writing, is the part
that does not spread over the cluster (see ``bench/bench_scale.py``).

A worker process that dies is restarted by Ray and its unit retried; its results reach the writer once, in
order, so nothing is lost or written twice.
"""

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from emorec.common.errors import EmorecError, InputError, SourceError, error_message
from emorec.common.invocation import python

#: Frames per video segment (rounded to the resync period): ~20 s of 30 frames/s video, a few seconds of work.
SEGMENT_FRAMES = 600
#: Images per unit of work.
IMAGES_PER_TASK = 16
#: Units a worker holds at once: one running, one waiting, so it never idles while the driver catches up.
DEPTH = 2
#: How often Ray restarts a dead worker process, and retries the unit it was doing.
RETRIES = 3
#: Set to a file path (tests only): the first worker to create that file kills its own process mid-segment.

WORKER_LOST = ("a Ray worker stopped abruptly (killed, out of memory, or its node left) {n} times while "
               "working on this input; run again to redo it (finished inputs are kept)")
RAY_MISSING = ("--engine ray needs Ray, which is not installed: {python} -m pip install -r requirements-cluster.txt "
               "(or leave out --engine to analyse in this process)")


# ---------------------------------------------------------------- what travels between driver and workers

@dataclass
class SegmentResult:
    """A video segment, detected and classified: frames ``start`` .. ``start + frames - 1`` were read, and
    ``boxes`` (N×4 int32, frame pixels) and ``probs`` (N×7 float32, unsmoothed) hold one array each per
    analysed frame (every ``--every``-th)."""
    start: int
    frames: int
    boxes: list
    probs: list


@dataclass
class ImageResult:
    """One image, recognized as a still: its faces, the annotated picture as PNG bytes, (width, height)."""
    faces: list
    png: bytes
    size: tuple


@dataclass
class Failed:
    """A unit (or one image of it) that could not be done; its input fails with ``reason``."""
    reason: str


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


# ---------------------------------------------------------------- the workers (run in Ray's processes)

class SegmentWorker:
    """One Ray actor: a recognizer loaded once, then units of work. Errors come back as :class:`Failed`
    (the input fails with that reason) rather than as exceptions, so Ray retries only dead processes."""

    def __init__(self, recognizer_kwargs):
        import cv2

        from emorec.core.classifier import Classifier
        from emorec.core.recognizer import Recognizer
        cv2.setNumThreads(1)   # the parallelism is the actors: one core each
        self.error = None
        try:
            self.recognizer = Recognizer(**recognizer_kwargs,
                                         classifier=Classifier(recognizer_kwargs.get("model"), num_threads=1))
        except Exception as e:   # a node without the model: every unit it gets says so
            self.error = _reason(e)

    def video(self, path, start, stop, every):
        """Frames ``start`` .. ``stop`` - 1 of a video (to its end if ``stop`` is None): {"start", "frames"
        read, "boxes" and "probs": one array each per analysed frame} as a :class:`SegmentResult`."""
        import numpy as np
        if self.error:
            return Failed(self.error)
        try:
            # Detection alone over the resync period before the segment: its first frame's network passes
            # then depend on the frame before it exactly as in one uninterrupted run (Recognizer.advance).
            lead = min(start, self.recognizer.resync_period * every)
            video = _open_at(path, start - lead)
            boxes, probs, index = [], [], start - lead
            self.recognizer.reset(index // every)
            with contextlib.closing(video):
                while (stop is None or index < stop) and (frame := video.read()) is not None:
                    if index < start:
                        if index % every == 0:
                            self.recognizer.advance(frame)
                    elif index % every == 0:
                        b, p = self.recognizer.observe(frame)
                        boxes.append(np.asarray(b, np.int32))
                        probs.append(np.asarray(p, np.float32))
                    index += 1
            return SegmentResult(start, max(0, index - start), boxes, probs)
        except Exception as e:
            return Failed(_reason(e, path))

    def images(self, paths):
        """An :class:`ImageResult` or :class:`Failed` for each image path."""
        from emorec.analysis.outputs import recognize_image
        results = []
        for path in paths:
            if self.error:
                results.append(Failed(self.error))
                continue
            try:
                faces, png, size = recognize_image(path, self.recognizer)
                results.append(ImageResult(faces, png, size))
            except Exception as e:
                results.append(Failed(_reason(e, path)))
        return results


def _open_at(path, start):
    """The video positioned at frame ``start``; None past its end (the frame count in a file's header is
    sometimes larger than the frames it holds)."""
    from emorec.core.sources import Video
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


def _reason(error, path=None):
    node = os.uname().nodename
    return error_message(error, path, "write") + (f" (on node {node})" if os.environ.get("RAY_ADDRESS") else "")


# ---------------------------------------------------------------- the driver

@dataclass
class Unit:
    """One task: ``method`` of a worker with ``args``; ``job`` is the index of the input it belongs to."""
    job: int
    method: str
    args: tuple


class OrderedResults:
    """Hands out the units' results in the units' order while keeping every worker busy: each worker holds up
    to :data:`DEPTH` units, and at most ``window`` finished results wait for the writer."""

    def __init__(self, ray, workers, units, progress=None, window=None):
        self.ray, self.units, self.progress = ray, units, progress
        self.slots = [w for w in workers for _ in range(DEPTH)]
        self.window = window or 4 * len(workers)
        self.pending, self.done = {}, {}
        self.next_submit = self.next_take = 0

    def _fill(self):
        while self.slots and self.next_submit < len(self.units) and self.next_submit - self.next_take < self.window:
            unit, worker = self.units[self.next_submit], self.slots.pop(0)
            self.pending[getattr(worker, unit.method).remote(*unit.args)] = (self.next_submit, worker)
            self.next_submit += 1

    def take(self):
        """The next unit's result (waiting for it); :class:`Failed` if its worker died more than allowed."""
        while self.next_take not in self.done:
            self._fill()
            ready, _ = self.ray.wait(list(self.pending), num_returns=1)
            for ref in ready:
                index, worker = self.pending.pop(ref)
                self.slots.append(worker)
                result = self._get(ref)
                if index >= self.next_take:   # results of skipped units are dropped
                    self.done[index] = result
                if self.progress is not None:
                    self.progress.update(1)
        result = self.done.pop(self.next_take)
        self.next_take += 1
        self._fill()
        return result

    def skip_to(self, index):
        """Forget the units before ``index`` (an input that failed): those not sent are never sent."""
        if index <= self.next_take:
            return
        if self.progress is not None:
            self.progress.update(max(0, index - max(self.next_submit, self.next_take)))
        for i in range(self.next_take, index):
            self.done.pop(i, None)
        self.next_take = index
        self.next_submit = max(self.next_submit, index)

    def _get(self, ref):
        ray = self.ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayActorError:
            return Failed(WORKER_LOST.format(n=RETRIES + 1))
        except ray.exceptions.RayError as e:   # e.g. the object was lost with its node
            return Failed(f"Ray could not finish this unit: {type(e).__name__}; run again to redo it")

    def cancel(self):
        for ref in self.pending:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self.pending.clear()


def resync_period(options):
    """Video frames between the points where a segment may start (see the module's docstring)."""
    from emorec.core.recognizer import FULL_SCAN_EVERY
    from emorec.core.recognizer import resync_period as recognizer_period
    rec = options.recognizer
    return options.every * recognizer_period(rec.get("detect_every", 1), rec.get("full_scan_every", FULL_SCAN_EVERY))


def segments(frame_count, period, length=SEGMENT_FRAMES):
    """[(start, stop)] covering a video of ``frame_count`` frames (None: unknown, one segment); each start a
    multiple of ``period``; the last segment's stop is None (to the end, whatever the header said)."""
    if not frame_count:
        return [(0, None)]
    step = max(period, round(length / period) * period)
    starts = list(range(0, frame_count, step)) or [0]
    return [(a, b) for a, b in zip(starts, starts[1:])] + [(starts[-1], None)]


def plan_units(todo, options, segment_frames=SEGMENT_FRAMES, images_per_task=IMAGES_PER_TASK):
    """The units for ``todo`` [(path, folder, source)], input by input, and per input its kind, the range of
    its units and what the driver needs (fps), or the reason it cannot be analysed at all."""
    from emorec.core.sources import Video, kind_of
    units, jobs, images = [], [], []

    def flush_images():
        for i in range(0, len(images), images_per_task):
            batch = images[i:i + images_per_task]
            for slot, (job, _) in enumerate(batch):
                job.units, job.slot = range(len(units), len(units) + 1), slot
            units.append(Unit(batch[0][1], "images", ([str(Path(job.path).resolve()) for job, _ in batch],)))
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
                units += [Unit(j, "video", (str(Path(path).resolve()), a, b, options.every))
                          for a, b in segments(count, resync_period(options), segment_frames)]
            job.units = range(first, len(units))
        jobs.append(job)
    flush_images()
    return units, jobs


def _video_work(job, stream, options):
    from emorec.analysis.outputs import VideoOutputs
    from emorec.core.recognizer import track
    from emorec.core.sources import Video
    from emorec.core.tracking import DEFAULT_SMOOTHING, Tracker

    def work(folder):
        tracker = Tracker(options.recognizer.get("smoothing", DEFAULT_SMOOTHING))
        faces, frames, ended = [], 0, False
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
                    seen = iter(zip(result.boxes, result.probs))
                    for index in range(result.start, result.start + result.frames):
                        if index % options.every == 0:
                            faces = track(tracker, *next(seen))
                            out.add(index, faces)
                        if picture is not None and (frame := picture.read()) is not None:
                            out.show(frame, faces)
                    frames += result.frames
                return out.finish(frames, Path(job.path).name)
        finally:
            stream.skip_to(job.units.stop)
    return work


def _image_work(result):
    from emorec.analysis.outputs import write_image_outputs

    def work(folder):
        if isinstance(result, Failed):
            raise SourceError(result.reason)
        return write_image_outputs(folder, result.faces, result.png, result.size)
    return work


def _failed_work(reason):
    def work(folder):
        raise SourceError(reason)
    return work


def analyze_on_ray(todo, options, workers=None, address=None, segment_frames=SEGMENT_FRAMES,
                   images_per_task=IMAGES_PER_TASK, on_done=None, settings=None):
    """{folder: record} for ``todo`` [(path, folder, source)], analysed by ``workers`` Ray actors (default: one
    per CPU of the cluster). ``address``: a running cluster's (``ray start --head`` prints it); None starts a
    local Ray on this machine for the run. ``on_done(record)`` is called as each input is finished.
    ``settings``: :func:`outputs.analysis_settings` of ``options`` (worked out here when not given)."""
    from emorec.analysis.outputs import analysis_settings, record_input
    from emorec.analysis.outputs import clear_outputs as _clear
    from emorec.analysis.progress import progress_bar
    settings = settings or analysis_settings(options)
    ray = _import_ray()
    started = _connect(ray, address, workers)
    results, stream, actors = {}, None, []
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(SegmentWorker).options(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)
        actors = [actor.remote(_absolute_model(options.recognizer)) for _ in range(count)]
        units, jobs = plan_units(todo, options, segment_frames, images_per_task)
        with progress_bar(len(units), f"segments on {count} Ray worker{'s' * (count > 1)}", "unit",
                          position=1, leave=False, disable=not units) as bar:
            stream = OrderedResults(ray, actors, units, bar)
            batch = (None, None)   # (unit index, its results): the image batch being written
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


def _absolute_model(recognizer_kwargs):
    """The recognizer's keywords with the model as an absolute path: workers do not share the driver's
    working directory."""
    from emorec.network.files import resolve_model_path
    return {**recognizer_kwargs, "model": str(resolve_model_path(recognizer_kwargs.get("model")).resolve())}


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError(RAY_MISSING.format(python=python())) from None
    return ray


def check_engine(address=None):
    """Before any work or progress bar: Ray is installed, and ``address`` (if given) is reachable."""
    if address and "RAY_AUTH_MODE" not in os.environ and _token_available():
        # `ray start` (Ray >= 2.59) turns token authentication on and leaves the token in ~/.ray/auth_token; a
        # driver that names the address must ask for it (before Ray is imported: Ray reads it then), and a
        # token also works with a cluster that has authentication off.
        os.environ["RAY_AUTH_MODE"] = "token"
    _import_ray()
    if address:
        _check_reachable(address)


def _check_reachable(address):
    """Fail fast on an address nothing listens at (Ray itself waits for minutes before it gives up)."""
    import socket
    from urllib.parse import urlsplit
    if address == "auto":
        return
    try:
        parts = urlsplit(address if "://" in address else f"ray://{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise InputError(f"--address {address}: expected HOST:PORT, as `ray start --head` prints it "
                         "(e.g. 192.168.1.10:6379)")
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise InputError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}. Start it with `ray start "
                         "--head` on the head node (it prints the address to use), or leave out --address to run "
                         "a local Ray on this machine.") from None


def _token_available():
    return bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                or (Path.home() / ".ray" / "auth_token").is_file())


def _connect(ray, address, workers):
    """Join the cluster at ``address``, or start a local Ray; returns whether this run started it (and so stops
    it). Worker processes import this package as the driver does: it must be installed on every node."""
    if ray.is_initialized():
        return False
    env = {}
    for name in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND", "XDG_CACHE_HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    kwargs = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False,
              "runtime_env": {"env_vars": env}}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), **kwargs)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        hint = ("Check the address `ray start --head` printed on the head node, that this machine reaches it "
                "with the same Ray and Python versions, and that it has the cluster's token (`ray get-auth-token` "
                "on the head node; copy ~/.ray/auth_token here)." if address else
                "Run `ray stop` to clear a broken local Ray, or analyse without --engine ray.")
        raise InputError(f"cannot start {where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}. "
                         f"{hint}") from None
    return True
