import csv

import numpy as np
import pytest

from emorec.cli.main import main
from emorec.common.errors import DataError
from emorec.common.labels import EMOTIONS
from emorec.training.data import load_csv
from emorec.training.ferplus import FERPLUS_COLUMNS, load_votes, soft_targets
from tests.helpers import csv_rows, write_csv

HEADER = ["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
          "contempt", "unknown", "NF"]


def ferplus_file(path, usages, labels, votes_for=None):
    """One FER+ row per image: 7 votes for ``votes_for[i]`` (default: the image's own label), 3 for neutral."""
    votes_for = labels if votes_for is None else votes_for
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i, (usage, label) in enumerate(zip(usages, votes_for)):
            row = dict.fromkeys(HEADER[2:], 0)
            row[FERPLUS_COLUMNS[EMOTIONS[label]]] += 7
            row["neutral"] += 3
            w.writerow([usage, f"fer{i:07d}.png", *(row[c] for c in HEADER[2:])])
    return path


@pytest.fixture
def data(tmp_path):
    usages = ["Training"] * 3 + ["PublicTest", "PrivateTest"]
    rows, _ = csv_rows(usages)
    path = write_csv(tmp_path / "fer.csv", rows)
    return path, [r[2] for r in rows], [r[0] for r in rows]


def test_soft_targets_mix_one_hot_labels_with_vote_shares():
    y = np.array([3, 0, 6])
    votes = np.array([[0, 0, 0, 8, 0, 0, 2], [0] * 7, [5, 0, 0, 0, 0, 0, 5]], np.float32)
    t = soft_targets(y, votes, 0.5)
    assert np.allclose(t.sum(1), 1)
    assert np.allclose(t[0], [0, 0, 0, 0.9, 0, 0, 0.1])
    assert np.allclose(t[1], np.eye(7)[0])                 # no votes for our classes: the label alone
    assert np.allclose(t[2], [0.25, 0, 0, 0, 0, 0, 0.75])
    assert np.allclose(soft_targets(y, votes, 0.0), np.eye(7)[y])
    with pytest.raises(ValueError):
        soft_targets(y, votes, 1.5)


def test_votes_line_up_with_the_training_rows(tmp_path, data):
    path, usages, labels = data
    ds = load_csv(path, use_cache=False)
    votes = load_votes(ferplus_file(tmp_path / "new.csv", usages, labels), ds)
    y = ds.split("train")[1]
    assert votes.shape == (len(y), 7)
    assert (votes.argmax(1) == y).all()
    assert votes.sum(1).tolist() == [10.0] * len(y)


def test_misaligned_votes_are_refused(tmp_path, data):
    path, usages, labels = data
    ds = load_csv(path, use_cache=False)
    shifted = [(label + 1) % 7 for label in labels]
    with pytest.raises(DataError, match="does not line up"):
        load_votes(ferplus_file(tmp_path / "new.csv", usages, labels, votes_for=shifted), ds)
    with pytest.raises(DataError, match="Training rows"):
        load_votes(ferplus_file(tmp_path / "short.csv", usages[7:], labels[7:]), ds)


def test_missing_or_foreign_votes_file_names_the_problem(tmp_path, data):
    ds = load_csv(data[0], use_cache=False)
    with pytest.raises(DataError, match="not found"):
        load_votes(tmp_path / "nope.csv", ds)
    with pytest.raises(DataError, match="missing column"):
        load_votes(write_csv(tmp_path / "other.csv", [[1, 2, 3]], header=("a", "b", "c")), ds)


def test_ferplus_from_the_command_line_reaches_the_training_targets(tmp_path, data, capsys, monkeypatch):
    import emorec.training.train as train_module
    from emorec.training.targets import training_targets
    path, usages, labels = data
    votes = ferplus_file(tmp_path / "new.csv", usages, labels)
    seen = {}

    def prepare(config, resume, replace_default):
        seen["targets"] = training_targets(config, load_csv(path, use_cache=False))
        return "run"
    monkeypatch.setattr(train_module, "prepare", prepare)
    monkeypatch.setattr(train_module, "fit", lambda run, **kw: False)
    monkeypatch.setattr(train_module, "finish", lambda run, interrupted: None)
    assert main(["train", "--data", str(path), "--ferplus", str(votes), "--ferplus-weight", "0.3",
                 "--out", str(tmp_path / "run")]) == 0
    assert "0.30 × FER+ votes" in capsys.readouterr().out
    targets = seen["targets"]
    assert targets.shape[1] == 7 and np.allclose(targets.sum(1), 1) and (targets.max(1) < 1).any()
    with pytest.raises(SystemExit) as usage_error:
        main(["train", "--data", str(path), "--ferplus", str(votes), "--ferplus-weight", "2", "--out",
              str(tmp_path / "r2")])
    assert usage_error.value.code == 2 and "at most 1, got 2" in capsys.readouterr().err


def test_evaluate_scores_against_the_fer_plus_majority_and_reports_balanced_accuracy(data, tmp_path, capsys):
    """Hand count: a classifier that always answers 'happy', on 7 PrivateTest faces (one per class) whose FER+
    majority is each face's label, except face 0, whose majority is 'contempt' (left out), and face 1, whose
    majority is 'happy' (so 2 of the 6 kept faces are happy: accuracy 2/6; FER2013's labels: 1/7)."""
    from emorec.training.evaluate import evaluate
    path, usages, labels = data
    votes = tmp_path / "ferplus.csv"
    ferplus_file(votes, usages, labels)
    text = votes.read_text().splitlines()
    first_test = usages.index("PrivateTest") + 1                            # +1: the header
    cells = text[first_test].split(",")
    cells[HEADER.index("contempt")] = "9"                                    # face 0: contempt wins
    text[first_test] = ",".join(cells)
    cells = text[first_test + 1].split(",")
    cells[HEADER.index("happiness")] = "9"                                   # face 1: happy wins
    text[first_test + 1] = ",".join(cells)
    votes.write_text("\n".join(text) + "\n")

    class AlwaysHappy:
        input_blur = 0.0

        def predict(self, faces, tta=False):
            return np.tile(np.eye(7, dtype=np.float32)[EMOTIONS.index("happy")], (len(faces), 1))

    report = evaluate(None, load_csv(path, use_cache=False), out_dir=tmp_path / "rep", tta=True,
                      classifier=AlwaysHappy(), ferplus=votes)
    assert report["plain"]["accuracy"] == pytest.approx(1 / 7)
    assert report["plain"]["balanced_accuracy"] == pytest.approx(1 / 7)      # recall 1 for happy, 0 for the rest
    fp = report["ferplus"]
    assert fp["kept"] == 6 and fp["left_out"] == 1
    assert fp["plain"]["accuracy"] == pytest.approx(2 / 6) and fp["tta"]["accuracy"] == pytest.approx(2 / 6)
    # the kept faces hold 5 classes (angry was left out, disgust became happy): recall 1 for happy, 0 for 4
    assert fp["plain"]["balanced_accuracy"] == pytest.approx(1 / 5)
    assert "FER+ majority" in (tmp_path / "rep" / "eval_test.md").read_text()
