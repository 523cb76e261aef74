"""Batch analysis of images, folders and videos with the same :class:`recognizer.Recognizer` as the window.

Per input file, a folder ``OUT/<name>_<ext>/`` (``photo.jpg`` → ``photo_jpg``, ``clips/a.mp4`` found in the
folder ``clips`` → ``clips__a_mp4``) gets:
- image: ``annotated.png``, ``faces.csv`` (frame 0, time 0), ``summary.json``;
- video: ``annotated.mp4`` (unless ``no_video``), ``frames.csv``, ``timeline.png``, ``summary.json``.
Both CSVs have the columns of :data:`records.CSV_COLUMNS`. Every file is written under a temporary name and
renamed into place. ``summary.json`` is written last: it marks the input as done and records its identity
(resolved path, size, mtime) and the settings that made it (model, detector, ``every``, TTA, ...), so a re-run
skips an unchanged input made with the same settings, redoes a changed one or one made with other settings
(saying why), and gives a different input whose folder name is taken the folder ``<name>_<ext>-2``. A failed or
interrupted input leaves nothing.
Videos are streamed: rows go to disk as they come, the summary is a running total and the timeline has a
fixed number of points, so memory does not grow with the video's length.
``OUT/index.json`` and ``OUT/index.csv`` list every finished folder in OUT, then this run's failures.
"""

import csv
import io
import itertools
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from emorec.analysis.local import analyze_locally
from emorec.analysis.outputs import (
    AnalyzeOptions,
    InputRecord,
    Status,
    analysis_settings,
    failed_record,
    settings_changes,
)
from emorec.analysis.progress import progress_bar
from emorec.analysis.ray_engine import analyze_on_ray, check_engine
from emorec.common.artifacts import AtomicFile, now_iso, read_json, remove_partials, write_json, write_text
from emorec.common.errors import InputError, output_error
from emorec.core.sources import kind_of

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- inputs and their folders

def collect_inputs(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Expand files and folders (recursively) into [(path, key)], plus [(path, reason)] for bad inputs.

    ``key`` is the base name of the output folder: the path relative to the folder it was found in,
    flattened. A file named twice (itself and inside a named folder) is analysed once.
    """
    found: list[tuple[Path, str]] = []
    bad: list[tuple[Path, str]] = []
    seen: set[Path] = set()
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


def source_identity(path: str | Path) -> dict[str, Any]:
    """What makes an input the same input on a re-run: resolved path, size in bytes, mtime in ns."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def finished_folders(out: Path) -> dict[str, dict[str, Any]]:
    """{folder name: its summary.json as a dict} for every finished folder in ``out`` (a damaged summary.json
    counts as unfinished: that input is redone)."""
    finished = {}
    for path in sorted(Path(out).glob("*/summary.json")):
        try:
            finished[path.parent.name] = read_json(path)
        except (OSError, ValueError):
            continue
    return finished


class Planned(NamedTuple):
    """An input's place in a run: its folder, its identity, and either the finished input's summary.json
    (``done``: to skip) or None (to do); ``why``: why a finished input is done again (None when it is new, or
    for ``--overwrite``)."""
    path: Path
    folder: Path
    source: dict[str, Any]
    done: dict[str, Any] | None
    why: str | None = None


def plan(inputs: list[tuple[Path, str]], out: Path, finished: dict[str, dict[str, Any]], settings: dict[str, Any],
         overwrite: bool = False) -> list[Planned]:
    """Give each of [(path, key)] its folder in ``out``. ``finished``: the finished folders in ``out``, as
    :func:`finished_folders` reads them; ``settings``: this run's :func:`outputs.analysis_settings`.

    An input finished before keeps its folder, and is skipped if it is unchanged and was made with the same
    settings (else redone there, saying why); a new input gets ``key``, or ``key-2``, ``key-3``, ... when
    another input's finished folder has that name. A folder without summary.json is unfinished and free to take.
    """
    folder_of = {_owner(summary): name for name, summary in finished.items()}
    taken: set[str] = set()
    plans = []
    for path, key in inputs:
        source = source_identity(path)
        name = folder_of.get(source["path"])
        if name is None:
            names = itertools.chain([key], (f"{key}-{n}" for n in itertools.count(2)))
            name = next(n for n in names if n not in taken and n not in finished)
        taken.add(name)
        summary = finished.get(name)
        why = None
        if summary and not overwrite:
            why = "it changed since it was analysed" if summary.get("source") != source else \
                settings_changes(summary.get("settings"), settings)
        done = summary if summary and not overwrite and why is None else None
        plans.append(Planned(path, out / name, source, done, why))
    return plans


def _owner(summary):
    # summaries written before inputs had an identity only name the path as it was given
    return (summary.get("source") or {}).get("path") or str(Path(summary.get("input", "")).resolve())


def analyze_paths(paths: Iterable[str | Path], out: str | Path, options: AnalyzeOptions, workers: int | None = None,
                  recognizer: Any = None, engine: str = "local", address: str | None = None,
                  **cluster: Any) -> list[InputRecord]:
    """Analyse every input; returns this run's records (done, skipped or failed), bad inputs first.

    ``engine``: "local" (this process, or ``workers`` processes, one file each) or "ray" (``workers`` Ray actors,
    default one per CPU, on a local Ray or the cluster at ``address``; videos cut into segments, see
    :mod:`emorec.analysis.ray_engine`, which ``cluster`` keywords go to). Rebuilds OUT/index.json|csv. Raises
    :class:`errors.InputError` when no path names an input (OUT is then not created), :class:`errors.OutputError`
    if OUT cannot be written, and the model's or detector's error before any work starts.
    """
    out = Path(out)
    inputs, bad = collect_inputs(paths)
    if not inputs:
        raise InputError("nothing to analyse: " + "; ".join(f"{p}: {why}" for p, why in bad) +
                         ". Name images, videos or folders that hold them.")
    if engine == "ray":
        check_engine(address)
    settings = analysis_settings(options)     # the model's identity: a missing model stops the run here
    _prepare_out(out)
    finished = finished_folders(out)     # read once: to plan this run, then to list in the index
    plans = plan(inputs, out, finished, settings, options.overwrite)
    for p in plans:
        if p.why:
            log.info(f"{p.path.name}: analysed again: {p.why}")
    todo = [(p.path, p.folder, p.source) for p in plans if p.done is None]
    if todo and recognizer is None:
        # Built here even when worker processes do the work, so that a missing or wrong model is reported
        # the same way for any --workers, and a stale export is rebuilt once, not by every worker at once.
        from emorec.core.recognizer import Recognizer
        recognizer = Recognizer(options=options.recognizer)
    overall = progress_bar(len(todo), "done", "file", position=0, disable=not todo)   # no bar for nothing
    try:
        if engine == "ray" and todo:
            results = analyze_on_ray(todo, options, workers, address, on_done=lambda record: overall.update(1),
                                     settings=settings, **cluster)
        else:
            results = analyze_locally(todo, options, workers, recognizer, lambda: overall.update(1), settings)
    finally:
        overall.close()
    records = [failed_record(p, None, r) for p, r in bad]
    records += [results[p.folder] if p.done is None else _skipped(p.path, p.folder, p.done) for p in plans]
    for folder, record in results.items():   # what this run wrote (a failed input's folder holds nothing)
        if record.status == Status.DONE:
            finished[Path(folder).name] = record.as_dict()
        else:
            finished.pop(Path(folder).name, None)
    try:
        write_index(out, finished, [r for r in records if r.status == Status.FAILED])
    except OSError as e:
        raise output_error(out / "index.json", e) from None
    return records


def _prepare_out(out: Path) -> None:
    """Create OUT, check once that files can be created there, and delete a killed run's temporary files."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        AtomicFile(out / "index.json").abort()   # a trial file: a read-only OUT fails here, once, not per input
        remove_partials(out)
    except OSError as e:
        raise output_error(out, e, "write to the output folder") from None


#: Why an input was not analysed again, as its record says.
SKIPPED = "already done with these settings (--overwrite redoes it)"


def _skipped(path: Path, folder: Path, summary: dict[str, Any]) -> InputRecord:
    return InputRecord.from_summary(summary, input=str(path), folder=str(folder), status=Status.SKIPPED,
                                    reason=SKIPPED)


def write_index(out: str | Path, finished: dict[str, dict[str, Any]],
                failures: Iterable[InputRecord] = ()) -> list[dict[str, Any]]:
    """OUT/index.json and index.csv: every finished folder in OUT, then ``failures``; returns the rows.

    ``finished``: {folder name: its summary.json, or this run's record for it as a dict} for every finished
    folder, as the caller already has them (the folders are not read again).
    """
    out = Path(out)
    records = [InputRecord.from_summary(summary, status=Status.DONE, folder=str(out / name)).as_dict()
               for name, summary in sorted(finished.items())] + [r.as_dict() for r in failures]
    write_json(out / "index.json", {"created": now_iso(), "files": records})
    cols = ["input", "kind", "status", "reason", "folder", "frames", "face_frames", "main_label", "seconds",
            "frames_per_s"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    w.writerows([r.get(c, "") for c in cols] for r in records)
    write_text(out / "index.csv", buf.getvalue())
    return records


# ---------------------------------------------------------------- the result, in words

def describe_result(record: InputRecord, no_face: str = "no face found") -> str:
    """What was found, worded so that it cannot be read as the pictures' confidences ("happy 92%"):
    an image '2 faces: happy ×1, neutral ×1'; a video '300 frames, 290 face-frames: labelled happy in 87 %,
    neutral in 13 %' (a face-frame is one face in one analysed frame; the shares are of those). ``no_face``:
    what to say when there was none (the command line names the smallest face size looked for)."""
    n = record.face_frames or 0
    shares = sorted((record.label_share or {}).items(), key=lambda kv: -kv[1])
    if record.kind == "video":
        head = f"{record.frames} frames, "
        if not n:
            return head + no_face
        return head + f"{n} face-frame{'s' * (n != 1)}: labelled " + \
            ", ".join(f"{e} in {100 * v:.0f} %" for e, v in shares)
    if not n:
        return no_face
    if n == 1:
        return f"1 face: {shares[0][0]}"
    return f"{n} faces: " + ", ".join(f"{e} ×{round(v * n)}" for e, v in shares)
