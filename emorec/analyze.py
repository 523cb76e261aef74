"""Batch analysis of images, folders and videos with the same :class:`recognizer.Recognizer` as the window.

Per input file, a folder ``OUT/<name>/`` gets:
- image: ``annotated.png``, ``faces.csv``, ``summary.json``;
- video: ``annotated.mp4`` (unless ``no_video``), ``frames.csv``, ``timeline.png``, ``summary.json``.
Every file is written under a temporary name and renamed into place; ``summary.json`` is written last
and marks the input as done, so a killed run never leaves output that looks complete and a re-run
skips finished inputs. ``OUT/index.json`` and ``OUT/index.csv`` list everything.
"""

import contextlib
import csv
import dataclasses
import io
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .artifacts import atomic_path, now_iso, save_figure, write_json, write_text
from .drawing import draw_faces
from .labels import COLORS_BGR, EMOTIONS
from .recognizer import FACE_COLUMNS
from .sources import SourceError, Video, kind_of, read_image

FRAME_COLUMNS = ["frame", "time_s", *FACE_COLUMNS]


@dataclass
class AnalyzeOptions:
    every: int = 1
    no_video: bool = False
    overwrite: bool = False
    recognizer: dict = field(default_factory=dict)   # keyword arguments for Recognizer


def collect_inputs(paths):
    """Expand files and folders (recursively) into [(path, key)], plus [(path, reason)] for bad inputs.

    ``key`` names the output folder: the path relative to the folder it was found in, flattened.
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
            key = "__".join(rel.parts).replace(".", "_")
            while key in seen:
                key += "_"
            seen.add(key)
            found.append((f, key))
    return found, bad


def _summary(face_rows):
    """Label shares and mean probabilities per track and overall, from [(track_id, Face)]."""
    def stats(faces):
        labels = [f.label for f in faces]
        return {"face_frames": len(faces),
                "label_share": {e: labels.count(e) / len(faces) for e in EMOTIONS} if faces else {},
                "mean_probs": {e: float(np.mean([f.probs[e] for f in faces])) for e in EMOTIONS} if faces else {}}
    tracks = {}
    for f in face_rows:
        tracks.setdefault(f.id, []).append(f)
    return {"overall": stats(face_rows), "tracks": {str(t): stats(v) for t, v in sorted(tracks.items())}}


def analyze_image(path, folder, recognizer):
    image = read_image(path)
    recognizer.reset()
    faces = recognizer(image)
    outputs = {"annotated": folder / "annotated.png", "faces_csv": folder / "faces.csv"}
    with atomic_path(outputs["annotated"]) as tmp:
        if not cv2.imwrite(str(tmp), draw_faces(image, faces)):
            raise OSError(f"could not write {outputs['annotated']}")
    write_text(outputs["faces_csv"], _csv_text(FACE_COLUMNS, [f.row() for f in faces]))
    return {"frames": 1, "faces": len(faces), "size": [image.shape[1], image.shape[0]],
            "summary": _summary(faces)}, outputs


def analyze_video(path, folder, recognizer, options, progress=None):
    video = Video(path)
    if progress is not None and video.frame_count:
        progress.total = video.frame_count
        progress.refresh()
    recognizer.reset()
    outputs = {"frames_csv": folder / "frames.csv", "timeline": folder / "timeline.png"}
    if not options.no_video:
        outputs["annotated"] = folder / "annotated.mp4"
    rows, all_faces, timeline = [], [], []
    faces, index, writer = [], 0, None
    try:
        target = contextlib.nullcontext() if options.no_video else atomic_path(outputs["annotated"])
        with target as video_tmp:
            while (frame := video.read()) is not None:
                if index % options.every == 0:
                    faces = recognizer(frame)
                    t = index / video.fps
                    rows += [[index, f"{t:.3f}", *f.row()] for f in faces]
                    all_faces += faces
                    timeline.append((t, np.mean([[f.probs[e] for e in EMOTIONS] for f in faces], axis=0)
                                     if faces else np.full(len(EMOTIONS), np.nan)))
                if not options.no_video:
                    if writer is None:
                        h, w = frame.shape[:2]
                        writer = cv2.VideoWriter(str(video_tmp), cv2.VideoWriter_fourcc(*"mp4v"), video.fps, (w, h))
                    writer.write(draw_faces(frame, faces))
                index += 1
                if progress is not None:
                    progress.update(1)
            if writer is not None:
                writer.release()
                writer = None
    finally:
        if writer is not None:
            writer.release()
        video.close()
    write_text(outputs["frames_csv"], _csv_text(FRAME_COLUMNS, rows))
    plot_timeline(timeline, outputs["timeline"], Path(path).name)
    return {"frames": index, "analysed_frames": len(timeline), "fps": video.fps, "faces": len(all_faces),
            "summary": _summary(all_faces)}, outputs


def _csv_text(header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def plot_timeline(timeline, path, title):
    """Mean probability of each emotion over the faces of each analysed frame, against time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 3.5))
    if timeline:
        t = np.array([p[0] for p in timeline])
        probs = np.stack([p[1] for p in timeline])
        for k, e in enumerate(EMOTIONS):
            b, g, r = COLORS_BGR[e]
            ax.plot(t, probs[:, k], label=e, color=(r / 255, g / 255, b / 255), linewidth=1.5)
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability (mean over faces)")
    ax.set_title(title)
    ax.legend(loc="upper right", ncol=7, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)


def analyze_one(path, key, out, options, recognizer, progress=None):
    """Analyse one input into ``out/key``; returns its index record (status done, skipped or failed)."""
    folder = Path(out) / key
    summary_path = folder / "summary.json"
    record = {"input": str(path), "kind": kind_of(path), "folder": str(folder)}
    if summary_path.exists() and not options.overwrite:
        return {**record, "status": "skipped", "reason": "already done (pass --overwrite to redo)"}
    t0 = time.perf_counter()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if record["kind"] == "image":
            result, outputs = analyze_image(path, folder, recognizer)
            if progress is not None:
                progress.update(1)
        else:
            result, outputs = analyze_video(path, folder, recognizer, options, progress)
    except (SourceError, OSError, cv2.error) as e:
        return {**record, "status": "failed", "reason": str(e)}
    seconds = time.perf_counter() - t0
    shares = result["summary"]["overall"]["label_share"]
    record.update(status="done", seconds=round(seconds, 3), frames=result["frames"], faces=result["faces"],
                  frames_per_s=round(result["frames"] / seconds, 2) if seconds else None,
                  main_label=max(shares, key=shares.get) if shares else "",
                  label_share={e: v for e, v in shares.items() if v},
                  outputs={k: str(v) for k, v in outputs.items()})
    write_json(summary_path, {**record, **result, "settings": _settings(options), "created": now_iso()})
    return record


def _settings(options):
    rec = dict(options.recognizer)
    if dataclasses.is_dataclass(rec.get("settings")):
        rec["settings"] = dataclasses.asdict(rec["settings"])
    return {"every": options.every, "no_video": options.no_video, "recognizer": rec}


# ---------------------------------------------------------------- running many files

_WORKER = {}


def _init_worker(options, lock, slots):
    from tqdm import tqdm
    from .classifier import Classifier
    from .recognizer import Recognizer
    # Parallelism comes from the processes: OpenCV's own threads would oversubscribe the cores.
    cv2.setNumThreads(1)
    tqdm.set_lock(lock)
    with slots.get_lock():
        slots.value += 1
        _WORKER["slot"] = slots.value
    # one runtime thread per process: the processes already use every core
    _WORKER["recognizer"] = Recognizer(**options.recognizer,
                                       classifier=Classifier(options.recognizer.get("model"), num_threads=1))
    _WORKER["options"] = options


def _work(path, key, out):
    from tqdm import tqdm
    with tqdm(total=1, desc=Path(path).name[:30], unit="frame", position=_WORKER["slot"], leave=False) as bar:
        return analyze_one(path, key, out, _WORKER["options"], _WORKER["recognizer"], bar)


def analyze_paths(paths, out, options, workers=1, recognizer=None):
    """Analyse every input; returns the list of index records (also written to OUT/index.json|csv)."""
    from tqdm import tqdm
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    inputs, bad = collect_inputs(paths)
    records = [{"input": str(p), "kind": kind_of(p), "status": "failed", "reason": r} for p, r in bad]
    overall = tqdm(total=len(inputs), desc="files", unit="file", position=0)
    try:
        if workers <= 1:
            if recognizer is None and inputs:
                from .recognizer import Recognizer
                recognizer = Recognizer(**options.recognizer)
            for path, key in inputs:
                with tqdm(total=1, desc=path.name[:30], unit="frame", position=1, leave=False) as bar:
                    records.append(analyze_one(path, key, out, options, recognizer, bar))
                overall.update(1)
        else:
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                     initargs=(options, ctx.RLock(), ctx.Value("i", 0))) as pool:
                futures = [pool.submit(_work, p, k, out) for p, k in inputs]
                for fut in as_completed(futures):
                    records.append(fut.result())
                    overall.update(1)
    finally:
        overall.close()
    write_index(out, records)
    return records


def write_index(out, records):
    write_json(Path(out) / "index.json", {"created": now_iso(), "files": records})
    cols = ["input", "kind", "status", "reason", "folder", "frames", "faces", "main_label", "seconds", "frames_per_s"]
    write_text(Path(out) / "index.csv", _csv_text(cols, [[r.get(c, "") for c in cols] for r in records]))


# ---------------------------------------------------------------- the terminal report

LISTED = 20     # results printed to the terminal; index.csv lists them all


def describe_result(record):
    """'2 faces: happy 50 %, neutral 50 %' (face-frames and label shares over the whole input)."""
    frames = f"{record['frames']} frames, " if record["kind"] == "video" else ""
    noun = "face-frame" if record["kind"] == "video" else "face"
    n = record["faces"]
    if not n:
        return f"{frames}no face found"
    shares = sorted(record["label_share"].items(), key=lambda kv: -kv[1])
    return f"{frames}{n} {noun}{'s' * (n != 1)}: " + ", ".join(f"{e} {100 * v:.0f} %" for e, v in shares)


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
