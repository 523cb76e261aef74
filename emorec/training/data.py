"""FER2013 loading: the Kaggle CSV (plain or .gz) or PNG/JPG class folders -> uint8 tensors.

Both sources end as a :class:`Dataset`: per split (``train``, ``val``, ``test``) an
``x`` array N×48×48 uint8 and a ``y`` array N int64 indexing :data:`labels.EMOTIONS`.
Folder images go through :func:`preprocess.to_face48`, the function inference uses.
Parsed tensors are cached under ``data/cache`` keyed on the source file's SHA-256.
"""

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from emorec.common.artifacts import atomic_path, file_sha256
from emorec.common.errors import DataError
from emorec.common.labels import (
    CLASS_ALIASES,
    EMOTIONS,
    IMAGE_EXTENSIONS,
    INPUT_SIZE,
    NUM_CLASSES,
    USAGE_TO_SPLIT,
    user_cache_dir,
)
from emorec.core.preprocess import to_face48
from emorec.core.sources import is_complete_image

PIXELS_PER_IMAGE = INPUT_SIZE * INPUT_SIZE
SPLITS = ("train", "val", "test")
GET_DATA_HINT = ("Download fer2013.csv from Kaggle (challenges-in-representation-learning-facial-"
                 "expression-recognition-challenge) or use PNG class folders, then pass --data PATH.")


@dataclass
class Dataset:
    splits: dict                      # split name -> (x uint8 N×48×48, y int64 N)
    source: str
    sha256: str
    skipped: list = field(default_factory=list)   # human-readable descriptions of skipped rows/files

    def split(self, name):
        if name not in self.splits or len(self.splits[name][1]) == 0:
            raise DataError(f"{self.source} has no {name!r} split "
                            f"(it has: {', '.join(k for k, v in self.splits.items() if len(v[1])) or 'none'}).")
        return self.splits[name]

    def counts(self):
        """Split -> per-class image counts (list of 7 ints)."""
        return {k: np.bincount(y, minlength=NUM_CLASSES).tolist() for k, (_, y) in self.splits.items()}


def load_dataset(path, *, skip_bad=False, val_fraction=0.1, seed=0, use_cache=True, cache_dir=None):
    """Load a CSV file or a folder tree; see the module docstring. Raises :class:`DataError`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data not found: {path}. {GET_DATA_HINT}")
    if path.is_dir():
        return load_folders(path, skip_bad=skip_bad, val_fraction=val_fraction, seed=seed)
    return load_csv(path, skip_bad=skip_bad, val_fraction=val_fraction, seed=seed,
                    use_cache=use_cache, cache_dir=cache_dir)


# ---------------------------------------------------------------- CSV

def _cache_file(path, sha256, cache_dir, skip_bad, val_fraction, seed):
    # Keyed on the file's content, not its name, size or mtime: an edit that keeps all three is still seen.
    key = f"{sha256}|{skip_bad}|{val_fraction}|{seed}|v2"
    return Path(cache_dir) / f"{path.name}.{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def load_csv(path, *, skip_bad=False, val_fraction=0.1, seed=0, use_cache=True, cache_dir=None):
    """Parse a Kaggle FER2013 CSV (``emotion,pixels[,Usage]``, optionally gzip'd); ``cache_dir``
    defaults to ``datasets/`` in the user's cache folder (:func:`labels.user_cache_dir`)."""
    path = Path(path)
    try:
        sha256 = file_sha256(path)
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or e}). {GET_DATA_HINT}") from None
    cache = None
    if use_cache:
        cache = _cache_file(path, sha256, cache_dir or user_cache_dir() / "datasets", skip_bad, val_fraction, seed)
    if cache is not None and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                splits = {s: (z[f"{s}_x"], z[f"{s}_y"]) for s in SPLITS}
                return Dataset(splits, str(path), sha256, list(z["skipped"]))
        except (OSError, ValueError, KeyError):
            pass   # a damaged cache only means: parse again

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty. {GET_DATA_HINT}") from None
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable CSV ({e}). {GET_DATA_HINT}") from None
    missing = [c for c in ("emotion", "pixels") if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found {list(df.columns)}. "
                        "Expected the Kaggle header 'emotion,pixels,Usage'.")
    if len(df) == 0:
        raise DataError(f"{path} has a header but no rows.")

    problems = {}   # row index -> reason; the CSV line is index + 2 (header is line 1)
    emotion = pd.to_numeric(df["emotion"].str.strip(), errors="coerce")
    for i in np.flatnonzero(emotion.isna().to_numpy()):
        problems[i] = f"emotion {df['emotion'].iat[i]!r} is not a number"
    for i in np.flatnonzero(((emotion < 0) | (emotion >= NUM_CLASSES) | (emotion % 1 != 0)).to_numpy()):
        problems.setdefault(i, f"emotion {df['emotion'].iat[i]} is outside 0..{NUM_CLASSES - 1}")
    if "Usage" in df.columns:
        usage = df["Usage"].str.strip()
        for i in np.flatnonzero(~usage.isin(list(USAGE_TO_SPLIT)).to_numpy()):
            problems.setdefault(i, f"unknown Usage {usage.iat[i]!r} (expected one of {', '.join(USAGE_TO_SPLIT)})")

    pixels = df["pixels"].str.strip()
    irregular = pixels.str.contains(r"\s\s|[^0-9 ]", regex=True).to_numpy()
    for i in np.flatnonzero(irregular):   # rare: normalise whitespace, then look for non-numeric tokens
        tokens = pixels.iat[i].split()
        pixels.iat[i] = " ".join(tokens)
        bad = next((t for t in tokens if not t.isdigit()), None)
        if bad is not None:
            problems.setdefault(i, f"pixel value {bad[:20]!r} is not a whole number 0..255")
    counts = (pixels.str.count(" ") + 1).where(pixels != "", 0).to_numpy()
    for i in np.flatnonzero(counts != PIXELS_PER_IMAGE):
        problems.setdefault(i, f"{counts[i]} pixel values, expected {PIXELS_PER_IMAGE} (48×48)")

    good = np.ones(len(df), bool)
    good[list(problems)] = False
    if good.any():
        values = pd.read_csv(io.StringIO("\n".join(pixels[good])), sep=" ", header=None,
                             dtype=np.int32, engine="c").to_numpy()
        over = np.flatnonzero(values.max(axis=1) > 255)
        rows = np.flatnonzero(good)
        for j in over:
            problems[rows[j]] = f"pixel value {values[j].max()} is outside 0..255"
        keep = np.ones(len(values), bool)
        keep[over] = False
        good[rows[over]] = False
        values = values[keep]
    else:
        values = np.zeros((0, PIXELS_PER_IMAGE), np.int32)

    skipped = [f"{path}, line {i + 2}: {problems[i]}" for i in sorted(problems)]
    if skipped and not skip_bad:
        shown = "\n  ".join(skipped[:5]) + (f"\n  ... and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        raise DataError(f"{path}: {len(skipped)} bad row(s):\n  {shown}\n"
                        "Fix the file, or pass --skip-bad-rows to leave these rows out.")
    if not good.any():
        raise DataError(f"{path}: no usable rows.")

    x = values.astype(np.uint8).reshape(-1, INPUT_SIZE, INPUT_SIZE)
    y = emotion.to_numpy()[good].astype(np.int64)
    if "Usage" in df.columns:
        split_of = df["Usage"].str.strip().map(USAGE_TO_SPLIT).to_numpy()[good]
        splits = {s: (x[split_of == s], y[split_of == s]) for s in SPLITS}
        if len(splits["val"][1]) == 0 and len(splits["train"][1]):
            x_train, y_train = splits["train"]
            splits["train"], splits["val"] = _stratified_split(x_train, y_train, val_fraction, seed)
    else:
        train, val = _stratified_split(x, y, val_fraction, seed)
        splits = {"train": train, "val": val, "test": (x[:0], y[:0])}
    dataset = Dataset(splits, str(path), sha256, skipped)
    if cache is not None:
        try:
            _write_cache(cache, dataset)
        except OSError:
            pass   # no cache (read-only or full disk) only costs the parse next time
    return dataset


def _write_cache(cache, dataset):
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{s}_{k}": v for s, (x, y) in dataset.splits.items() for k, v in (("x", x), ("y", y))}
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, sha256=dataset.sha256, skipped=np.array(dataset.skipped, dtype=str), **arrays)


def _stratified_split(x, y, val_fraction, seed):
    """Seeded per-class split -> ((x_train, y_train), (x_val, y_val)); at least one val image per class
    that has two or more images."""
    rng = np.random.default_rng(seed)
    val_idx: list[int] = []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n = int(round(len(idx) * val_fraction))
        if len(idx) >= 2:
            n = min(max(n, 1), len(idx) - 1)
        val_idx.extend(idx[:n])
    mask = np.zeros(len(y), bool)
    mask[val_idx] = True
    return (x[~mask], y[~mask]), (x[mask], y[mask])


# ---------------------------------------------------------------- folders

def _split_dirs(root):
    """Map split name -> folder for ROOT/train, ROOT/test, ROOT/val|validation (case-insensitive)."""
    names = {"train": "train", "training": "train", "test": "test", "testing": "test",
             "val": "val", "valid": "val", "validation": "val"}
    found: dict[str, Path] = {}
    for child in sorted(root.iterdir()):
        split = names.get(child.name.lower()) if child.is_dir() else None
        if split:
            if split in found:
                raise DataError(f"{root}: both {found[split].name}/ and {child.name}/ look like the {split} split.")
            found[split] = child
    return found


def _read_face_image(path):
    """An image file as a uint8 array (gray, BGR or BGRA), or None if it is unreadable or incomplete."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not is_complete_image(data):
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is not None and img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1, int(img.max())))
    return img


def _load_class_folders(split_dir, skip_bad, skipped):
    xs, ys = [], []
    class_dirs: dict[str, Path] = {}
    for child in sorted(split_dir.iterdir()):
        if not child.is_dir():
            continue
        name = CLASS_ALIASES.get(child.name.lower())
        if name is None:
            aliases = ", ".join(sorted(set(CLASS_ALIASES) - set(EMOTIONS)))
            raise DataError(f"{child}: unknown class folder {child.name!r}; expected one of "
                            f"{', '.join(EMOTIONS)} (or the aliases {aliases}).")
        if name in class_dirs:
            raise DataError(f"{split_dir}: {class_dirs[name].name}/ and {child.name}/ are both {name!r}.")
        class_dirs[name] = child
    if not class_dirs:
        raise DataError(f"{split_dir} has no class folders; expected {split_dir}/<class>/*.png "
                        f"with classes {', '.join(EMOTIONS)}.")
    for name, folder in class_dirs.items():
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataError(f"{folder} is empty: put {name} images in it or remove the folder.")
        label = EMOTIONS.index(name)
        for f in files:
            problem = None
            if f.suffix.lower() not in IMAGE_EXTENSIONS:
                problem = f"not an image (extension {f.suffix or 'none'})"
            else:
                img = _read_face_image(f)
                if img is None:
                    problem = "unreadable, truncated or corrupt image"
            if problem:
                if not skip_bad:
                    raise DataError(f"{f}: {problem}. Remove it, or pass --skip-bad-rows to leave such files out.")
                skipped.append(f"{f}: {problem}")
                continue
            xs.append(to_face48(img))
            ys.append(label)
    if not xs:
        raise DataError(f"{split_dir}: no readable images.")
    return np.stack(xs), np.array(ys, np.int64)


def load_folders(root, *, skip_bad=False, val_fraction=0.1, seed=0):
    """Load ROOT/train/<class>/*, ROOT/test/<class>/* and optional ROOT/val|validation/<class>/*."""
    root = Path(root)
    dirs = _split_dirs(root)
    if "train" not in dirs and "test" not in dirs:
        raise DataError(f"{root}: expected train/ and test/ folders (each with one folder per class: "
                        f"{', '.join(EMOTIONS)}). {GET_DATA_HINT}")
    skipped: list[str] = []
    splits = {s: _load_class_folders(d, skip_bad, skipped) for s, d in dirs.items()}
    empty = (np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8), np.zeros(0, np.int64))
    if "val" not in splits and "train" in splits:
        x_train, y_train = splits["train"]
        splits["train"], splits["val"] = _stratified_split(x_train, y_train, val_fraction, seed)
    for s in SPLITS:
        splits.setdefault(s, empty)
    digest = hashlib.sha256()
    for s in SPLITS:
        digest.update(splits[s][0].tobytes())
        digest.update(splits[s][1].tobytes())
    return Dataset(splits, str(root), digest.hexdigest(), skipped)


def describe(dataset):
    lines = [f"data: {dataset.source} (sha256 {dataset.sha256[:12]}…)"]
    for s, c in dataset.counts().items():
        lines.append(f"  {s:5s} {sum(c):6d} images  " + " ".join(f"{n}={k}" for n, k in zip(EMOTIONS, c)))
    if dataset.skipped:
        lines.append(f"  skipped {len(dataset.skipped)} bad row(s)/file(s), e.g. {dataset.skipped[0]}")
    return "\n".join(lines)
