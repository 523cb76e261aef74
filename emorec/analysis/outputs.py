"""What analysing one input writes, whoever does the recognizing (this process, worker processes, Ray):
its options, the image and video writers, and :func:`record_input`, which turns one input's work into its
index record and leaves nothing behind when it fails."""

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from emorec.analysis.results import Summary, Timeline, plot_timeline
from emorec.common.artifacts import atomic_path, now_iso, remove_partials, write_json
from emorec.common.errors import OutputError, error_message
from emorec.core.drawing import draw_faces
from emorec.core.records import AnnotatedVideo, FaceCsv
from emorec.core.sources import Video, kind_of, read_image

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


def recognize_image(path, recognizer):
    """The work on one image: (its faces, the annotated picture as PNG bytes, (width, height))."""
    image = read_image(path)
    faces = recognizer.image(image)
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
        clear_outputs(folder)
        folder.mkdir(parents=True, exist_ok=True)
        result, outputs = work(folder)
        seconds = time.perf_counter() - t0
        shares = result["summary"]["overall"]["label_share"]
        record.update(status="done", seconds=round(seconds, 3), frames=result["frames"], faces=result["faces"],
                      frames_per_s=round(result["frames"] / seconds, 2) if seconds else None,
                      main_label=max(shares, key=shares.get) if shares else "",
                      label_share={e: v for e, v in shares.items() if v},
                      outputs={k: str(v) for k, v in outputs.items()})
        write_json(folder / "summary.json", {**record, **result, "source": source, "settings": settings_of(options),
                                             "created": now_iso()})
        return record
    except Exception as e:   # one input's failure, whatever its kind, is reported and the others go on
        with contextlib.suppress(OSError):   # a folder we cannot clean is named in the reason already
            clear_outputs(folder, remove_empty=True)
        return failed_record(path, folder, error_message(e, folder, "write"))


def failed_record(path, folder, reason):
    return {"input": str(path), "kind": kind_of(path), "folder": str(folder) if folder else "",
            "status": "failed", "reason": reason}


def clear_outputs(folder, remove_empty=False):
    """Delete what analyze wrote in ``folder`` (summary.json first, so a half-redone folder never looks
    done) and the temporary files of a killed run; with ``remove_empty``, the folder too if nothing is left."""
    if not folder.is_dir():
        return
    for name in OUTPUT_NAMES:
        (folder / name).unlink(missing_ok=True)
    remove_partials(folder)
    if remove_empty and not any(folder.iterdir()):
        folder.rmdir()


def settings_of(options):
    rec = dict(options.recognizer)
    if dataclasses.is_dataclass(rec.get("settings")):
        rec["settings"] = dataclasses.asdict(rec["settings"])
    return {"every": options.every, "no_video": options.no_video, "recognizer": rec}
