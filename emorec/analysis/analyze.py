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

import csv
import io
import itertools
import sys
from pathlib import Path

from emorec.analysis.local import analyze_locally
from emorec.analysis.outputs import RECORD_KEYS, failed_record
from emorec.analysis.ray_engine import analyze_on_ray, check_engine
from emorec.common.artifacts import AtomicFile, now_iso, read_json, remove_partials, write_json, write_text
from emorec.common.errors import output_error
from emorec.core.sources import kind_of

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


def analyze_paths(paths, out, options, workers=None, recognizer=None, engine="local", address=None, **cluster):
    """Analyse every input; returns this run's records (done, skipped or failed), bad inputs first.

    ``engine``: "local" (this process, or ``workers`` processes, one file each) or "ray" (``workers`` Ray actors,
    default one per CPU, on a local Ray or the cluster at ``address``; videos cut into segments, see
    :mod:`emorec.analysis.ray_engine`, which ``cluster`` keywords go to). Rebuilds OUT/index.json|csv. Raises
    :class:`errors.OutputError` if OUT cannot be written, and the model's or detector's error before any work
    starts.
    """
    from tqdm import tqdm
    out = Path(out)
    if engine == "ray":
        check_engine(address)
    _prepare_out(out)
    inputs, bad = collect_inputs(paths)
    finished = finished_folders(out)     # read once: to plan this run, then to list in the index
    plans = plan(inputs, out, finished, options.overwrite)
    todo = [(path, folder, source) for path, folder, source, done in plans if done is None]
    if todo and recognizer is None:
        # Built here even when worker processes do the work, so that a missing or wrong model is reported
        # the same way for any --workers, and a stale export is rebuilt once, not by every worker at once.
        from emorec.core.recognizer import Recognizer
        recognizer = Recognizer(**options.recognizer)
    overall = tqdm(total=len(todo), desc="files", unit="file", position=0, disable=not todo)   # no bar for nothing
    try:
        if engine == "ray" and todo:
            results = analyze_on_ray(todo, options, workers, address, on_done=lambda record: overall.update(1),
                                     **cluster)
        else:
            results = analyze_locally(todo, options, workers, recognizer, on_done=lambda: overall.update(1))
    finally:
        overall.close()
    records = [failed_record(p, None, r) for p, r in bad]
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
