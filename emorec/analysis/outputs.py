"""What analysing one input writes, whoever does the recognizing (this process, worker processes, Ray):
its options, the settings that made it, the image and video writers, and :func:`record_input`, which turns one
input's work into its :class:`InputRecord` and leaves nothing behind when it fails or is interrupted."""

import contextlib
import dataclasses
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emorec.analysis.results import Summary, Timeline, plot_timeline
from emorec.common.argtypes import number
from emorec.common.artifacts import atomic_path, now_iso, remove_partials, write_json
from emorec.common.errors import OutputError, error_message
from emorec.common.options import flag_of, option
from emorec.core.drawing import draw_faces
from emorec.core.faces import Faces
from emorec.core.options import RecognizerOptions
from emorec.core.records import AnnotatedVideo, FaceCsv
from emorec.core.sources import Video, kind_of, read_image
from emorec.network.files import model_digest, resolve_model_path

#: Everything analyze writes in an input's folder; summary.json first, because it marks the folder as done.
OUTPUT_NAMES = ("summary.json", "annotated.png", "annotated.mp4", "faces.csv", "frames.csv", "timeline.png")


@dataclass(frozen=True)
class AnalyzeOptions:
    """What ``main.py analyze`` is asked to do, beside its inputs and engine; each field is also its flag."""
    every: int = option(1, "analyse every Nth video frame", type=number(int, 1))
    no_video: bool = option(False, "videos: write the CSV, summary and timeline only")
    overwrite: bool = option(False, "redo files that are already done")
    recognizer: RecognizerOptions = option(factory=RecognizerOptions, group=RecognizerOptions.FLAGS_TITLE)


class Status(str, enum.Enum):
    """What became of an input in a run."""
    DONE = "done"          # analysed by this run
    SKIPPED = "skipped"    # finished before, unchanged, with the same settings
    FAILED = "failed"      # not analysed: the record's reason says why


@dataclass(kw_only=True)
class InputRecord:
    """One input's result in a run: its line in ``index.json`` / ``index.csv`` (:meth:`as_dict`, the fields
    of :data:`RECORD_KEYS` that are set), and the first fields of its summary.json. ``width`` (frame width in
    pixels) is not written: it says how small a face could have been found (:mod:`emorec.core.face_size`)."""
    input: str
    kind: str | None = None
    folder: str = ""
    status: Status
    reason: str | None = None
    seconds: float | None = None
    frames: int | None = None
    face_frames: int | None = None       # faces summed over the analysed frames (an image: its faces)
    frames_per_s: float | None = None
    main_label: str | None = None
    label_share: dict[str, float] | None = None
    outputs: dict[str, str] | None = None
    width: int | None = field(default=None, metadata={"written": False})

    def as_dict(self) -> dict[str, Any]:
        """The record as the index and summary.json write it: the fields that are set, in field order."""
        values = {k: getattr(self, k) for k in RECORD_KEYS}
        values["status"] = self.status.value
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_summary(cls, summary: dict[str, Any], **changes: Any) -> "InputRecord":
        """The record a finished input's summary.json holds, with ``changes``."""
        values = {k: summary[k] for k in RECORD_KEYS if k in summary}
        if "faces" in summary and "face_frames" not in summary:     # written before 0.3.1
            values["face_frames"] = summary["faces"]
        size = summary.get("size")
        width = size[0] if isinstance(size, list) and size else None
        return cls(**{**values, "status": Status(values.get("status", "done")), "width": width, **changes})


#: The fields of an input's record in the index (its summary.json holds them too), in the order written.
RECORD_KEYS = tuple(f.name for f in dataclasses.fields(InputRecord) if f.metadata.get("written", True))


# ---------------------------------------------------------------- the settings that made an input's results

def model_identity(model: str | Path | None) -> dict[str, str]:
    """{"path": the model file, resolved, "sha256": of its bytes}: what tells two models apart. Raises
    :class:`errors.ModelError` when there is no such model."""
    path = resolve_model_path(model).resolve()
    return {"path": str(path), "sha256": model_digest(path)}


def analysis_settings(options: AnalyzeOptions, model: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything that shapes an input's results, as summary.json records it: the model (``model``: its
    :func:`model_identity`, found from ``options`` when not given), the detector's settings, the recognizer's
    smoothing, detection schedule and TTA, ``every`` and whether the annotated video is written. A re-run whose
    settings differ redoes the input."""
    rec = options.recognizer
    return {"model": model or model_identity(rec.model), **rec.record(), "every": options.every,
            "no_video": options.no_video}


def settings_changes(before: Any, now: dict[str, Any]) -> str | None:
    """None if ``before`` (a summary.json's settings) equals ``now``; else what differs, in flags:
    '--min-size 80 → 48, --every 1 → 2', 'another model (…/emotion_cnn.h5)', or that none were recorded."""
    if before == now:
        return None
    if not isinstance(before, dict) or not all(k in before for k in now):
        return "its settings were not recorded (made by an older version)"
    changes = []
    if before["model"] != now["model"]:
        model = now["model"]
        changes.append(f"another model ({model.get('path')})" if isinstance(model, dict) else "another model")
    was = before["detector"] or {}
    for name, value in (now["detector"] or {}).items():
        old = was.get(name, "(not recorded)")
        if old == value:
            continue
        changes.append(_change(name, old, value))
    for name in now:
        if name not in ("model", "detector") and before[name] != now[name]:
            changes.append(_change(name, before[name], now[name]))
    return ", ".join(changes) or "other settings"


def _change(name: str, before: Any, now: Any) -> str:
    """One setting's change in words: '--every 1 → 2', '--no-tta added' (a switch: which way it went)."""
    flag = flag_of(AnalyzeOptions, name)
    if isinstance(now, bool):
        on = not now if flag == "--no-" + name.replace("_", "-") else now   # --no-tta switches tta off
        return f"{flag} {'added' if on else 'left out'}"
    return f"{flag} {'default' if before is None else before} → {'default' if now is None else now}"


def recognize_image(path: str | Path, recognizer: Any) -> tuple[Faces, bytes, tuple[int, int]]:
    """The work on one image: (its faces, the annotated picture as PNG bytes, (width, height))."""
    image = read_image(path)
    faces = recognizer.image(image)
    ok, png = cv2.imencode(".png", draw_faces(image, faces))
    if not ok:
        raise OutputError(f"OpenCV could not encode the annotated picture of {path} as PNG.")
    return faces, png.tobytes(), (image.shape[1], image.shape[0])


def write_image_outputs(folder: Path, faces: Faces, png: bytes, size: tuple[int, int]) -> tuple[dict, dict]:
    """annotated.png and faces.csv in ``folder``; returns (result for summary.json, {name: path})."""
    outputs = {"annotated": folder / "annotated.png", "faces_csv": folder / "faces.csv"}
    with atomic_path(outputs["annotated"]) as tmp:
        Path(tmp).write_bytes(png)
    with FaceCsv(outputs["faces_csv"]) as table:
        table.add(0, 0.0, faces)
    summary = Summary()
    summary.add(faces)
    return {"frames": 1, "face_frames": len(faces), "size": list(size), "summary": summary.result()}, outputs


def analyze_image(path: str | Path, folder: Path, recognizer: Any) -> tuple[dict, dict]:
    """An image → annotated.png and faces.csv in ``folder``; returns (result for summary.json, {name: path})."""
    return write_image_outputs(folder, *recognize_image(path, recognizer))


class VideoOutputs:
    """The one writer of a video's outputs, whoever recognizes its frames (this process, or a cluster):
    ``add(index, faces)`` per analysed frame (rows to frames.csv, running summary, timeline), ``show(frame,
    faces)`` per frame (annotated.mp4, unless ``no_video``), then ``finish(frames)``. As a context manager an
    exception deletes the CSV and the mp4."""

    def __init__(self, folder: Path, fps: float, options: AnalyzeOptions):
        self.fps, self.width = fps, None
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

    def add(self, index: int, faces: Faces) -> None:
        self.table.add(index, index / self.fps, faces)
        self.summary.add(faces)
        self.timeline.add(faces)

    def show(self, frame: np.ndarray, faces: Faces) -> None:
        self.width = frame.shape[1]
        if self.annotated is not None:
            self.annotated.write(draw_faces(frame, faces))

    def finish(self, frames: int, title: str) -> tuple[dict, dict]:
        """Commit the CSV and the mp4, plot the timeline over the video's ``frames``; returns (result for
        summary.json, {name: path})."""
        self._files.close()
        plot_timeline(self.timeline, self.outputs["timeline"], title, duration_s=frames / self.fps)
        return {"frames": frames, "analysed_frames": self.timeline.frames, "fps": self.fps,
                "face_frames": self.summary.faces, "summary": self.summary.result(), "width": self.width}, self.outputs


def analyze_video(path: str | Path, folder: Path, recognizer: Any, options: AnalyzeOptions,
                  progress: Any = None) -> tuple[dict, dict]:
    """Stream a video through the recognizer: rows to frames.csv and frames to annotated.mp4 as they come,
    running totals for the summary and the timeline; memory stays flat however long the video is."""
    video = Video(path)
    if progress is not None and video.frame_count:
        progress.total = video.frame_count
        progress.refresh()
    recognizer.reset()
    faces, index = Faces.empty(), 0
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


def analyze_one(path: str | Path, folder: str | Path, source: dict, options: AnalyzeOptions, recognizer: Any,
                progress: Any = None, settings: dict[str, Any] | None = None) -> InputRecord:
    """Analyse one input into ``folder`` with ``recognizer``; returns its record (see :func:`record_input`).
    ``settings``: :func:`analysis_settings` of ``options``, if the caller has them already."""
    def work(folder):
        if kind_of(path) == "video":
            return analyze_video(path, folder, recognizer, options, progress)
        result = analyze_image(path, folder, recognizer)
        if progress is not None:
            progress.update(1)
        return result
    return record_input(path, folder, source, settings or analysis_settings(options), work)


def record_input(path: str | Path, folder: str | Path, source: dict, settings: dict[str, Any],
                 work: Callable[[Path], tuple[dict, dict]]) -> InputRecord:
    """Run ``work(folder)`` → (result, {name: path}) as one input's analysis; returns its record, status
    done or failed (with the reason).

    Whatever goes wrong (an unreadable input, a full disk, a bug) fails this input alone and leaves nothing
    in its folder; an interruption (Ctrl-C, ``kill``) leaves nothing either, and goes on up. ``source``
    (:func:`analyze.source_identity`) and ``settings`` (:func:`analysis_settings`) go into summary.json, which
    is written last.
    """
    folder = Path(folder)
    t0 = time.perf_counter()
    try:
        clear_outputs(folder)
        folder.mkdir(parents=True, exist_ok=True)
        result, outputs = work(folder)
        seconds = time.perf_counter() - t0
        shares = result["summary"]["overall"]["label_share"]
        size = result.get("size")
        kind = kind_of(path)
        record = InputRecord(input=str(path), kind=kind, folder=str(folder), status=Status.DONE,
                             seconds=round(seconds, 3), frames=result["frames"], face_frames=result["face_frames"],
                             # a rate for a video; an image is one frame, and its time is in seconds
                             frames_per_s=round(result["frames"] / seconds, 2) if seconds and kind == "video" else None,
                             main_label=max(shares, key=shares.get) if shares else "",
                             label_share={e: v for e, v in shares.items() if v},
                             outputs={k: str(v) for k, v in outputs.items()},
                             width=result.pop("width", None) or (size[0] if size else None))
        write_json(folder / "summary.json", {**record.as_dict(), **result, "source": source, "settings": settings,
                                             "created": now_iso()})
        return record
    except Exception as e:   # one input's failure, whatever its kind, is reported and the others go on
        with contextlib.suppress(OSError):   # a folder we cannot clean is named in the reason already
            clear_outputs(folder, remove_empty=True)
        return failed_record(path, folder, error_message(e, folder, "write"))
    except BaseException:    # Ctrl-C or kill: the run stops, and this input leaves no folder behind
        with contextlib.suppress(OSError):
            clear_outputs(folder, remove_empty=True)
        raise


def failed_record(path: str | Path, folder: str | Path | None, reason: str) -> InputRecord:
    """A failed input's record; it names its result folder only where one is left (an earlier run's files)."""
    return InputRecord(input=str(path), kind=kind_of(path), folder=str(folder) if folder and Path(folder).is_dir()
                       else "", status=Status.FAILED, reason=reason)


def clear_outputs(folder: Path, remove_empty: bool = False) -> None:
    """Delete what analyze wrote in ``folder`` (summary.json first, so a half-redone folder never looks
    done) and the temporary files of a killed run; with ``remove_empty``, the folder too if nothing is left."""
    if not folder.is_dir():
        return
    for name in OUTPUT_NAMES:
        (folder / name).unlink(missing_ok=True)
    remove_partials(folder)
    if remove_empty and not any(folder.iterdir()):
        folder.rmdir()
