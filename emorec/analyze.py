"""Batch analysis of images, folders and videos with the same :class:`recognizer.Recognizer` as the window.

Per input file, a folder ``OUT/<name>_<ext>/`` (``photo.jpg`` → ``photo_jpg``, ``clips/a.mp4`` found in the
folder ``clips`` → ``clips__a_mp4``) gets:
- image: ``annotated.png``, ``faces.csv`` (frame 0, time 0), ``summary.json``;
- video: ``annotated.mp4`` (unless ``no_video``), ``frames.csv``, ``timeline.png``, ``summary.json``.
Both CSVs have the columns of :data:`records.CSV_COLUMNS`. Every file is written under a temporary name and
renamed into place. ``summary.json`` is written last: it marks the input as done and records its identity
(resolved path, size, mtime), so a re-run skips an unchanged input, redoes a changed one, and gives a
different input whose folder name is taken the folder ``<name>_<ext>-2``. A failed input leaves nothing.
Videos are streamed: rows go to disk as they come, the summary is a running total and the timeline has a
fixed number of points, so memory does not grow with the video's length.
``OUT/index.json`` and ``OUT/index.csv`` list every finished folder in OUT, then this run's failures.
"""

import contextlib
import csv
import dataclasses
import io
import itertools
import multiprocessing as mp
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from .artifacts import AtomicFile, atomic_path, now_iso, read_json, remove_partials, write_json, write_text
from .drawing import draw_faces
from .errors import OutputError, error_message, output_error
from .records import AnnotatedVideo, FaceCsv
from .results import Summary, Timeline, plot_timeline
from .sources import Video, kind_of, read_image

#: Everything analyze writes in an input's folder; summary.json first, because it marks the folder as done.
OUTPUT_NAMES = ("summary.json", "annotated.png", "annotated.mp4", "faces.csv", "frames.csv", "timeline.png")
#: The fields of an input's record in the index (its summary.json holds them too).
RECORD_KEYS = ("input", "kind", "folder", "status", "reason", "seconds", "frames", "faces", "frames_per_s",
               "main_label", "label_share", "outputs")


@dataclass
class AnalyzeOptions:
    every: int = 1
    no_video: bool = False
    overwrite: bool = False
    recognizer: dict = field(default_factory=dict)   # keyword arguments for Recognizer


# ---------------------------------------------------------------- inputs and their folders

def collect_inputs(paths):
    """Expand files and folders (recursively) into [(path, key)], plus [(path, reason)] for bad inputs.

    ``key`` is the base name of the output folder: the path relative to the folder it was found in,
    flattened. A file named twice (itself and inside a named folder) is analysed once.
    """
    found, bad, seen = [], [], set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and kind_of(f) and not f.name.startswith("."))
            if not files:
                bad.append((p, "folder has no images or videos"))
            items = [(f, f.relative_to(p.parent)) for f in files]
        elif p.is_file():
            if kind_of(p) is None:
                bad.append((p, f"unsupported file type {p.suffix or '(none)'}"))
                continue
            items = [(p, Path(p.name))]
        else:
            bad.append((p, "not found"))
            continue
        for f, rel in items:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                found.append((f, "__".join(rel.parts).replace(".", "_")))
    return found, bad


def source_identity(path):
    """What makes an input the same input on a re-run: resolved path, size in bytes, mtime in ns."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def finished_folders(out):
    """{folder name: its summary.json as a dict} for every finished folder in ``out`` (a damaged summary.json
    counts as unfinished: that input is redone)."""
    finished = {}
    for path in sorted(Path(out).glob("*/summary.json")):
        try:
            finished[path.parent.name] = read_json(path)
        except (OSError, ValueError):
            continue
    return finished


def plan(inputs, out, finished, overwrite=False):
    """Give each of [(path, key)] its folder in ``out``: [(path, folder, source, summary)], where ``summary``
    is the finished, unchanged input's summary.json (to skip) or None (to do). ``finished``: the finished
    folders in ``out``, as :func:`finished_folders` reads them.

    An input finished before keeps its folder (redone there if it changed); a new input gets ``key``, or
    ``key-2``, ``key-3``, ... when another input's finished folder has that name. A folder without
    summary.json is unfinished and free to take.
    """
    folder_of = {_owner(summary): name for name, summary in finished.items()}
    taken, plans = set(), []
    for path, key in inputs:
        source = source_identity(path)
        name = folder_of.get(source["path"])
        if name is None:
            names = itertools.chain([key], (f"{key}-{n}" for n in itertools.count(2)))
            name = next(n for n in names if n not in taken and n not in finished)
        taken.add(name)
        summary = finished.get(name)
        done = summary if summary and summary.get("source") == source and not overwrite else None
        plans.append((path, out / name, source, done))
    return plans


def _owner(summary):
    # summaries written before inputs had an identity only name the path as it was given
    return (summary.get("source") or {}).get("path") or str(Path(summary.get("input", "")).resolve())


# ---------------------------------------------------------------- one input

def recognize_image(path, recognizer):
    """The work on one image: (its faces, the annotated picture as PNG bytes, (width, height))."""
    image = read_image(path)
    recognizer.reset()
    faces = recognizer(image)
    ok, png = cv2.imencode(".png", draw_faces(image, faces))
    if not ok:
        raise OutputError(f"OpenCV could not encode the annotated picture of {path} as PNG.")
    return faces, png.tobytes(), (image.shape[1], image.shape[0])


def write_image_outputs(folder, faces, png, size):
    """annotated.png and faces.csv in ``folder``; returns (result for summary.json, {name: path})."""
    outputs = {"annotated": folder / "annotated.png", "faces_csv": folder / "faces.csv"}
    with atomic_path(outputs["annotated"]) as tmp:
        Path(tmp).write_bytes(png)
    with FaceCsv(outputs["faces_csv"]) as table:
        table.add(0, 0.0, faces)
    summary = Summary()
    summary.add(faces)
    return {"frames": 1, "faces": len(faces), "size": list(size), "summary": summary.result()}, outputs


def analyze_image(path, folder, recognizer):
    """An image → annotated.png and faces.csv in ``folder``; returns (result for summary.json, {name: path})."""
    return write_image_outputs(folder, *recognize_image(path, recognizer))


class VideoOutputs:
    """The one writer of a video's outputs, whoever recognizes its frames (this process, or a cluster):
    ``add(index, faces)`` per analysed frame (rows to frames.csv, running summary, timeline), ``show(frame,
    faces)`` per frame (annotated.mp4, unless ``no_video``), then ``finish(frames)``. As a context manager an
    exception deletes the CSV and the mp4."""

    def __init__(self, folder, fps, options):
        self.fps = fps
        self.outputs = {"frames_csv": folder / "frames.csv", "timeline": folder / "timeline.png"}
        self._files = contextlib.ExitStack()
        self.table = self._files.enter_context(FaceCsv(self.outputs["frames_csv"]))
        self.annotated = None
        if not options.no_video:
            self.outputs["annotated"] = folder / "annotated.mp4"
            self.annotated = self._files.enter_context(AnnotatedVideo(self.outputs["annotated"], fps))
        self.summary, self.timeline = Summary(), Timeline(options.every / fps)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._files.__exit__(*exc)

    def add(self, index, faces):
        self.table.add(index, index / self.fps, faces)
        self.summary.add(faces)
        self.timeline.add(faces)

    def show(self, frame, faces):
        if self.annotated is not None:
            self.annotated.write(draw_faces(frame, faces))

    def finish(self, frames, title):
        """Commit the CSV and the mp4, plot the timeline; returns (result for summary.json, {name: path})."""
        self._files.close()
        plot_timeline(self.timeline, self.outputs["timeline"], title)
        return {"frames": frames, "analysed_frames": self.timeline.frames, "fps": self.fps,
                "faces": self.summary.faces, "summary": self.summary.result()}, self.outputs


def analyze_video(path, folder, recognizer, options, progress=None):
    """Stream a video through the recognizer: rows to frames.csv and frames to annotated.mp4 as they come,
    running totals for the summary and the timeline; memory stays flat however long the video is."""
    video = Video(path)
    if progress is not None and video.frame_count:
        progress.total = video.frame_count
        progress.refresh()
    recognizer.reset()
    faces, index = [], 0
    with contextlib.closing(video), VideoOutputs(folder, video.fps, options) as out:
        while (frame := video.read()) is not None:
            if index % options.every == 0:
                faces = recognizer(frame)
                out.add(index, faces)
            out.show(frame, faces)
            index += 1
            if progress is not None:
                progress.update(1)
        return out.finish(index, Path(path).name)


def analyze_one(path, folder, source, options, recognizer, progress=None):
    """Analyse one input into ``folder`` with ``recognizer``; returns its index record (see :func:`record_input`)."""
    def work(folder):
        if kind_of(path) == "video":
            return analyze_video(path, folder, recognizer, options, progress)
        result = analyze_image(path, folder, recognizer)
        if progress is not None:
            progress.update(1)
        return result
    return record_input(path, folder, source, options, work)


def record_input(path, folder, source, options, work):
    """Run ``work(folder)`` → (result, {name: path}) as one input's analysis; returns its index record, status
    done or failed (with the reason).

    Whatever goes wrong (an unreadable input, a full disk, a bug) fails this input alone and leaves nothing
    in its folder; ``source`` (:func:`source_identity`) goes into summary.json, which is written last.
    """
    folder = Path(folder)
    record = {"input": str(path), "kind": kind_of(path), "folder": str(folder)}
    t0 = time.perf_counter()
    try:
        _clear(folder)
        folder.mkdir(parents=True, exist_ok=True)
        result, outputs = work(folder)
        seconds = time.perf_counter() - t0
        shares = result["summary"]["overall"]["label_share"]
        record.update(status="done", seconds=round(seconds, 3), frames=result["frames"], faces=result["faces"],
                      frames_per_s=round(result["frames"] / seconds, 2) if seconds else None,
                      main_label=max(shares, key=shares.get) if shares else "",
                      label_share={e: v for e, v in shares.items() if v},
                      outputs={k: str(v) for k, v in outputs.items()})
        write_json(folder / "summary.json", {**record, **result, "source": source, "settings": _settings(options),
                                             "created": now_iso()})
        return record
    except Exception as e:   # one input's failure, whatever its kind, is reported and the others go on
        with contextlib.suppress(OSError):   # a folder we cannot clean is named in the reason already
            _clear(folder, remove_empty=True)
        return _failed(path, folder, error_message(e, folder, "write"))


def _failed(path, folder, reason):
    return {"input": str(path), "kind": kind_of(path), "folder": str(folder) if folder else "",
            "status": "failed", "reason": reason}


def _clear(folder, remove_empty=False):
    """Delete what analyze wrote in ``folder`` (summary.json first, so a half-redone folder never looks
    done) and the temporary files of a killed run; with ``remove_empty``, the folder too if nothing is left."""
    if not folder.is_dir():
        return
    for name in OUTPUT_NAMES:
        (folder / name).unlink(missing_ok=True)
    remove_partials(folder)
    if remove_empty and not any(folder.iterdir()):
        folder.rmdir()


def _settings(options):
    rec = dict(options.recognizer)
    if dataclasses.is_dataclass(rec.get("settings")):
        rec["settings"] = dataclasses.asdict(rec["settings"])
    return {"every": options.every, "no_video": options.no_video, "recognizer": rec}


# ---------------------------------------------------------------- running many files

_WORKER = {}
WORKER_DIED = ("a worker process stopped abruptly (killed, or out of memory) before this input was finished; "
               "run again to redo it (finished inputs are kept), with fewer --workers if memory is short")


def _init_worker(options, lock, slots):
    from tqdm import tqdm
    from .classifier import Classifier
    from .recognizer import Recognizer
    # Ctrl-C reaches every process of the terminal: the parent stops the workers and cleans up after them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Parallelism comes from the processes: OpenCV's own threads would oversubscribe the cores.
    cv2.setNumThreads(1)
    tqdm.set_lock(lock)
    with slots.get_lock():
        slots.value += 1
        _WORKER["slot"] = slots.value
    _WORKER["options"] = options
    try:   # one runtime thread per process: the processes already use every core
        _WORKER["recognizer"] = Recognizer(**options.recognizer,
                                           classifier=Classifier(options.recognizer.get("model"), num_threads=1))
    except Exception as e:   # an initializer that raises breaks the whole pool; _work reports it per input
        _WORKER["error"] = error_message(e)


def _work(path, folder, source):
    from tqdm import tqdm
    if "error" in _WORKER:
        return _failed(path, folder, _WORKER["error"])
    with tqdm(total=1, desc=Path(path).name[:30], unit="frame", position=_WORKER["slot"], leave=False) as bar:
        return analyze_one(path, folder, source, _WORKER["options"], _WORKER["recognizer"], bar)


def _analyze_in_pool(todo, options, workers, overall):
    """{folder: record} for [(path, folder, source)], analysed by ``workers`` spawned processes."""
    ctx = mp.get_context("spawn")
    results = {}
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(options, ctx.RLock(), ctx.Value("i", 0))) as pool:
        futures = {pool.submit(_work, *item): item for item in todo}
        try:
            for fut in as_completed(futures):
                path, folder, _ = futures[fut]
                try:
                    results[folder] = fut.result()
                except BrokenProcessPool:
                    results[folder] = _failed(path, folder, WORKER_DIED)
                except Exception as e:   # e.g. a result that cannot be sent back: still one input's failure
                    results[folder] = _failed(path, folder, error_message(e, folder, "write"))
                overall.update(1)
        except KeyboardInterrupt:
            # Stop the workers now rather than after their current video (`kill PID` reaches only this
            # process), then delete what the unfinished inputs had written.
            for process in list(pool._processes.values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            for _, folder, _ in todo:
                if folder not in results:
                    with contextlib.suppress(OSError):
                        _clear(folder, remove_empty=True)
            raise
    return results


def analyze_paths(paths, out, options, workers=None, recognizer=None, engine="local", address=None, **cluster):
    """Analyse every input; returns this run's records (done, skipped or failed), bad inputs first.

    ``engine``: "local" (this process, or ``workers`` processes, one file each) or "ray" (``workers`` Ray actors,
    default one per CPU, on a local Ray or the cluster at ``address``; videos cut into segments, see
    :mod:`emorec.cluster`, which ``cluster`` keywords go to). Rebuilds OUT/index.json|csv. Raises
    :class:`errors.OutputError` if OUT cannot be written, and the model's or detector's error before any work
    starts.
    """
    from tqdm import tqdm
    out = Path(out)
    if engine == "ray":
        from .cluster import check_engine
        check_engine(address)
    _prepare_out(out)
    inputs, bad = collect_inputs(paths)
    finished = finished_folders(out)     # read once: to plan this run, then to list in the index
    plans = plan(inputs, out, finished, options.overwrite)
    todo = [(path, folder, source) for path, folder, source, done in plans if done is None]
    if todo and recognizer is None:
        # Built here even when worker processes do the work, so that a missing or wrong model is reported
        # the same way for any --workers, and a stale export is rebuilt once, not by every worker at once.
        from .recognizer import Recognizer
        recognizer = Recognizer(**options.recognizer)
    overall = tqdm(total=len(todo), desc="files", unit="file", position=0, disable=not todo)   # no bar for nothing
    try:
        if engine == "ray" and todo:
            from .cluster import analyze_on_ray
            results = analyze_on_ray(todo, options, workers, address, on_done=lambda record: overall.update(1),
                                     **cluster)
        elif (workers or 1) <= 1 or len(todo) <= 1:   # one input is not worth starting processes for
            results = {}
            for path, folder, source in todo:
                with tqdm(total=1, desc=path.name[:30], unit="frame", position=1, leave=False) as bar:
                    results[folder] = analyze_one(path, folder, source, options, recognizer, bar)
                overall.update(1)
        else:
            results = _analyze_in_pool(todo, options, min(workers, len(todo)), overall)
    finally:
        overall.close()
    records = [_failed(p, None, r) for p, r in bad]
    records += [results[folder] if done is None else _skipped(path, folder, done) for path, folder, _, done in plans]
    for folder, record in results.items():   # what this run wrote (a failed input's folder holds nothing)
        if record["status"] == "done":
            finished[Path(folder).name] = record
        else:
            finished.pop(Path(folder).name, None)
    try:
        write_index(out, finished, [r for r in records if r["status"] == "failed"])
    except OSError as e:
        raise output_error(out / "index.json", e) from None
    return records


def _prepare_out(out):
    """Create OUT, check once that files can be created there, and delete a killed run's temporary files."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        AtomicFile(out / "index.json").abort()   # a trial file: a read-only OUT fails here, once, not per input
        remove_partials(out)
    except OSError as e:
        raise output_error(out, e, "write to the output folder") from None


def _skipped(path, folder, summary):
    return {**{k: summary[k] for k in RECORD_KEYS if k in summary}, "input": str(path), "folder": str(folder),
            "status": "skipped", "reason": "already done (pass --overwrite to redo)"}


def write_index(out, finished, failures=()):
    """OUT/index.json and index.csv: every finished folder in OUT, then ``failures``; returns the records.

    ``finished``: {folder name: its summary.json, or this run's record for it} for every finished folder, as
    the caller already has them (the folders are not read again).
    """
    out = Path(out)
    records = [{**{k: summary[k] for k in RECORD_KEYS if k in summary}, "status": "done", "folder": str(out / name)}
               for name, summary in sorted(finished.items())] + list(failures)
    write_json(out / "index.json", {"created": now_iso(), "files": records})
    cols = ["input", "kind", "status", "reason", "folder", "frames", "faces", "main_label", "seconds", "frames_per_s"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    w.writerows([r.get(c, "") for c in cols] for r in records)
    write_text(out / "index.csv", buf.getvalue())
    return records


# ---------------------------------------------------------------- the terminal report

LISTED = 20     # results printed to the terminal; index.csv lists them all


def describe_result(record):
    """What was found, worded so that it cannot be read as the pictures' confidences ("happy 92%"):
    an image '2 faces: happy ×1, neutral ×1'; a video '300 frames, 290 face-frames: labelled happy in 87 %,
    neutral in 13 %' (a face-frame is one face in one analysed frame; the shares are of those)."""
    n = record["faces"]
    shares = sorted(record["label_share"].items(), key=lambda kv: -kv[1])
    if record["kind"] == "video":
        head = f"{record['frames']} frames, "
        if not n:
            return head + "no face found"
        return head + f"{n} face-frame{'s' * (n != 1)}: labelled " + \
            ", ".join(f"{e} in {100 * v:.0f} %" for e, v in shares)
    if not n:
        return "no face found"
    if n == 1:
        return f"1 face: {shares[0][0]}"
    return f"{n} faces: " + ", ".join(f"{e} ×{round(v * n)}" for e, v in shares)


def report(records, out):
    """Print a line per finished input, the counts and the failures; returns the exit code (1 if any failed)."""
    counts = {s: sum(r["status"] == s for r in records) for s in ("done", "skipped", "failed")}
    done = [r for r in records if r["status"] == "done"]
    for r in done[:LISTED]:
        print(f"  {Path(r['input']).name}: {describe_result(r)}")
    if len(done) > LISTED:
        print(f"  … and {len(done) - LISTED} more (see index.csv)")
    print(f"{counts['done']} done, {counts['skipped']} skipped (already done), {counts['failed']} failed; "
          f"index: {Path(out) / 'index.json'}")
    for r in records:
        if r["status"] == "failed":
            print(f"  failed: {r['input']}: {r['reason']}", file=sys.stderr)
    return 1 if counts["failed"] else 0
