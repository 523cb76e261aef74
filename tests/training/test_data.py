import gzip
import os
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from emorec.common.errors import DataError
from emorec.common.labels import EMOTIONS
from emorec.core.preprocess import to_face48
from emorec.training.data import load_csv, load_dataset, load_folders
from tests.helpers import csv_rows, synthetic_faces, write_csv


def load(path, **kw):
    return load_csv(path, use_cache=False, **kw)


def test_csv_splits_follow_usage(tiny_csv):
    ds = load(tiny_csv)
    _, x = csv_rows()
    for k, split in enumerate(("train", "val", "test")):
        xs, ys = ds.splits[split]
        assert xs.shape == (7, 48, 48) and xs.dtype == np.uint8
        assert ys.tolist() == list(range(7))
        assert np.array_equal(xs, x[7 * k:7 * k + 7])
    assert len(ds.sha256) == 64 and ds.skipped == []


def test_gzip_csv_gives_the_same_tensors(tiny_csv, tmp_path):
    gz = tmp_path / "fer.csv.gz"
    with open(tiny_csv, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a, b = load(tiny_csv), load(gz)
    for s in a.splits:
        assert np.array_equal(a.splits[s][0], b.splits[s][0])


def test_second_load_comes_from_the_cache(tiny_csv, tmp_path, monkeypatch):
    first = load_csv(tiny_csv, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("*.npz"))
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: pytest.fail("cache was not used"))
    second = load_csv(tiny_csv, cache_dir=tmp_path / "cache")
    assert second.sha256 == first.sha256
    assert np.array_equal(second.splits["train"][0], first.splits["train"][0])


def test_changed_file_invalidates_the_cache(tiny_csv, tmp_path):
    load_csv(tiny_csv, cache_dir=tmp_path / "cache")
    rows, _ = csv_rows(["Training"] * 3)
    write_csv(tiny_csv, rows)
    assert len(load_csv(tiny_csv, cache_dir=tmp_path / "cache").splits["train"][1]) > 7


def test_an_in_place_edit_that_keeps_size_and_mtime_is_still_seen(tiny_csv, tmp_path):
    """The cache is keyed on the content: a new bad label that keeps the file's size and mtime is found."""
    load_csv(tiny_csv, cache_dir=tmp_path / "cache")
    stat = tiny_csv.stat()
    data = tiny_csv.read_bytes()
    first_label = data.index(b"\n") + 1                   # the first row's emotion digit
    tiny_csv.write_bytes(data[:first_label] + b"9" + data[first_label + 1:])
    os.utime(tiny_csv, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert tiny_csv.stat().st_size == stat.st_size and tiny_csv.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(DataError, match="line 2: emotion 9 is outside 0..6"):
        load_csv(tiny_csv, cache_dir=tmp_path / "cache")


def _corrupt(tiny_csv, row, column, value):
    df = pd.read_csv(tiny_csv, dtype=str)
    df.loc[row, column] = value
    df.to_csv(tiny_csv, index=False)


@pytest.mark.parametrize("column,value,message", [
    ("pixels", "1 2 3", "3 pixel values, expected 2304"),
    ("pixels", "x " * 2304, "not a whole number"),
    ("pixels", " ".join(["300"] * 2304), "outside 0..255"),
    ("emotion", "9", "outside 0..6"),
    ("emotion", "happy", "not a number"),
    ("Usage", "Secret", "unknown Usage"),
])
def test_bad_rows_name_file_and_line(tiny_csv, column, value, message):
    _corrupt(tiny_csv, 4, column, value)
    with pytest.raises(DataError) as err:
        load(tiny_csv)
    text = str(err.value)
    assert message in text and "line 6" in text and str(tiny_csv) in text and "--skip-bad-rows" in text


def test_skip_bad_rows_drops_and_reports(tiny_csv):
    _corrupt(tiny_csv, 4, "pixels", "1 2 3")
    _corrupt(tiny_csv, 5, "emotion", "11")
    ds = load(tiny_csv, skip_bad=True)
    assert len(ds.skipped) == 2
    assert sum(len(y) for _, y in ds.splits.values()) == 19


def test_missing_column(tmp_path):
    path = write_csv(tmp_path / "f.csv", [["0", "1 2"]], header=("label", "pixels"))
    with pytest.raises(DataError, match="missing column.*emotion"):
        load(path)


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("emotion,pixels,Usage\n")
    with pytest.raises(DataError, match="no rows"):
        load(tmp_path / "header.csv")


def test_missing_path_says_how_to_get_data(tmp_path):
    with pytest.raises(DataError, match="not found.*Kaggle"):
        load_dataset(tmp_path / "nope.csv")


def _write_folders(root, x, y, split_names=("train", "test"), class_names=EMOTIONS):
    for split, idx in zip(split_names, np.array_split(np.arange(len(y)), len(split_names))):
        for i in idx:
            d = root / split / class_names[y[i]]
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{i:04d}.png"), x[i])
    return root


def test_csv_and_folders_give_identical_tensors(tmp_path):
    rows, x = csv_rows(["Training", "Training", "PrivateTest"])
    csv_ds = load(write_csv(tmp_path / "f.csv", rows))
    root = tmp_path / "imgs"
    for split, usage in (("train", "Training"), ("test", "PrivateTest")):
        for i, (label, _, u) in enumerate(rows):
            if u == usage:
                d = root / split / EMOTIONS[label]
                d.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(d / f"{i:04d}.png"), x[i])
    folder_ds = load_folders(root)
    for split in ("test",):
        fx, fy = folder_ds.splits[split]
        cx, cy = csv_ds.splits[split]
        order_f, order_c = np.lexsort((fx.reshape(len(fx), -1).sum(1), fy)), np.lexsort((cx.reshape(len(cx), -1).sum(1), cy))
        assert np.array_equal(fx[order_f], cx[order_c]) and np.array_equal(fy[order_f], cy[order_c])
    all_f = np.concatenate([folder_ds.splits["train"][0], folder_ds.splits["val"][0]])
    key = lambda a: sorted(v.tobytes() for v in a)
    assert key(all_f) == key(np.concatenate([csv_ds.splits["train"][0], csv_ds.splits["val"][0]]))


def test_folders_with_aliases_and_stratified_val(tmp_path):
    x = synthetic_faces(70)
    y = np.arange(70) % 7
    names = ["Anger", "DISGUSTED", "fearful", "Happiness", "sadness", "Surprised", "neutral"]
    root = _write_folders(tmp_path / "d", x, y, class_names=names)
    ds = load_folders(root, val_fraction=0.2, seed=1)
    assert sorted(set(ds.splits["val"][1].tolist())) == list(range(7))      # every class in validation
    assert len(ds.splits["train"][1]) + len(ds.splits["val"][1]) == 35
    again = load_folders(root, val_fraction=0.2, seed=1)
    assert np.array_equal(again.splits["val"][0], ds.splits["val"][0])      # seeded


def test_colour_and_large_folder_images_use_the_inference_preprocessing(tmp_path):
    img = np.random.default_rng(3).integers(0, 256, (120, 100, 3), dtype=np.uint8)
    for split in ("train", "test"):
        (tmp_path / split / "happy").mkdir(parents=True)
        cv2.imwrite(str(tmp_path / split / "happy" / "a.png"), img)
    ds = load_folders(tmp_path)
    assert np.array_equal(ds.splits["test"][0][0], to_face48(img))


def _truncated_jpeg(path):
    """A JPEG cut off halfway: OpenCV decodes it without a word (the rest grey), Pillow refuses it."""
    face = np.random.default_rng(0).integers(0, 256, (96, 96), dtype=np.uint8)
    data = cv2.imencode(".jpg", face)[1].tobytes()
    path.write_bytes(data[:len(data) // 2])
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is not None     # the trap this guards against


@pytest.mark.parametrize("make_bad,message", [
    (lambda d: (d / "notes.txt").write_text("hello"), "not an image"),
    (lambda d: (d / "broken.png").write_bytes(b"\x89PNG not really"), "unreadable"),
    (lambda d: _truncated_jpeg(d / "cut.jpg"), "truncated"),
])
def test_bad_files_in_folders(tmp_path, make_bad, message):
    root = _write_folders(tmp_path / "d", synthetic_faces(14), np.arange(14) % 7)
    make_bad(root / "train" / "happy")
    with pytest.raises(DataError, match=message):
        load_folders(root)
    ds = load_folders(root, skip_bad=True)
    assert len(ds.skipped) == 1


def test_empty_and_unknown_class_folders(tmp_path):
    root = _write_folders(tmp_path / "d", synthetic_faces(14), np.arange(14) % 7)
    for f in (root / "train" / "sad").iterdir():
        f.unlink()
    with pytest.raises(DataError, match="sad.* is empty"):
        load_folders(root)
    shutil.rmtree(root / "train" / "sad")
    (root / "train" / "bored").mkdir()
    with pytest.raises(DataError, match="unknown class folder 'bored'"):
        load_folders(root)


def test_folder_without_splits(tmp_path):
    (tmp_path / "happy").mkdir()
    with pytest.raises(DataError, match="expected train/ and test/"):
        load_dataset(tmp_path)
