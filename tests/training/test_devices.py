"""Training on several devices (``--devices``) without accelerators: JAX's CPU split into 2 devices.

The backend and the device count are fixed when JAX and Keras are imported, and this process already runs
Keras on TensorFlow, so the runs are separate processes (`main.py train` through :func:`emorec.cli.main.main`).
They are the expensive part, so one test makes three runs and checks all it can on them (one test, so
that pytest-xdist cannot split its checks over two workers that would each need the runs):

- ``one``: 2 epochs on 1 device (JAX, as the user's KERAS_BACKEND says),
- ``two``: 1 epoch on 2 devices (the backend chosen by --devices), then ``--resume --epochs 2 --devices all``.

Like a GPU machine with JAX alone, they cannot import TensorFlow.

Augmentation is off in these runs: its random transforms take most of XLA's compile time (~20 s more per
process here); dropout still draws random numbers on the split batch.
"""

import csv
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from emorec.cli.main import main
from emorec.common.artifacts import read_json
from emorec.common.errors import TrainingError
from emorec.training.batches import epoch_batches
from emorec.training.checkpoint import RECORD
from emorec.training.config import TrainConfig
from emorec.training.devices import choose, device_count, plan, usable, validation_data
from emorec.training.train import prepare
from tests.helpers import csv_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]

# main(), with the parsed-CSV cache moved out of the project (argv[1]) as conftest does for this process, and
# without TensorFlow, as on a GPU machine that has JAX only (which also saves each run TensorFlow's import)
MAIN = """
import sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTensorFlow())
from emorec.cli.main import main
sys.exit(main())
"""

# 2 CPU devices. XLA's CPU all-reduce aborts the process when one device's thread is 40 s late into it; on a
# loaded 2-core machine a step can be, so it is given longer (a real hang still ends at the subprocess timeout).
# Optimization level 0 halves XLA's compile time, most of these tiny runs' time.
XLA_FLAGS = ("--xla_force_host_platform_device_count=2 --xla_cpu_collective_call_terminate_timeout_seconds=300 "
             "--xla_backend_optimization_level=0")

#: |loss(2 devices) - loss(1 device)| allowed per epoch, see check_the_same_course
LOSS_TOLERANCE = 1e-4


def jax_env(backend=None, compile_cache=None):
    env = dict(os.environ, XLA_FLAGS=XLA_FLAGS, JAX_PLATFORMS="cpu")
    if compile_cache:        # the resumed run reuses the first run's compiled steps (they are the same programs)
        env.update(JAX_COMPILATION_CACHE_DIR=str(compile_cache), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                   JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    env.pop("KERAS_BACKEND", None)         # conftest sets tensorflow for this process
    if backend:
        env["KERAS_BACKEND"] = backend
    return env


def start(folder, *args, backend=None):
    """`main.py train ARGS` in a new process on JAX with 2 CPU devices; caches go under ``folder``."""
    return subprocess.Popen([sys.executable, "-c", MAIN, "train", *map(str, args)], cwd=ROOT,
                            env=dict(jax_env(backend, compile_cache=folder / "xla"), XDG_CACHE_HOME=str(folder)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def succeeded(*procs, timeout=240):
    """The processes' outputs once they have ended, each with exit code 0 (after a timeout none is left running)."""
    try:
        outputs = [proc.communicate(timeout=timeout) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, f"{proc.args[5:]}: exit code {proc.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    return [out for out, _ in outputs]


def history(run):
    with open(run / "history.csv") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_two_devices_train_like_one_resume_and_save_a_model_tensorflow_loads(tmp_path):
    """8×7 training images (7 batches of 8 on both counts), 7 validation images (padded to 8 for 2 devices)."""
    rows, _ = csv_rows(["Training"] * 8 + ["PublicTest", "PrivateTest"])
    data = write_csv(tmp_path / "d.csv", rows)
    # float32 on every host: bf16 (auto on CPUs with bf16 units) rounds differently with the batch split in two
    flags = ["--data", data, "--arch", "shallow", "--batch-size", 8, "--no-augment", "--patience", 0,
             "--precision", "float32"]
    logs = dict(zip(["one", "two"], succeeded(
        start(tmp_path, *flags, "--out", tmp_path / "one", "--epochs", 2, "--devices", 1, backend="jax"),
        start(tmp_path, *flags, "--out", tmp_path / "two", "--epochs", 1, "--devices", 2))))
    logs["resumed"], = succeeded(start(tmp_path, "--resume", tmp_path / "two", "--epochs", 2, "--devices", "all"))
    assert "training on 2 devices (cpu:0, cpu:1)" in logs["two"] and "training on 2 devices" in logs["resumed"]
    assert "training on" not in logs["one"]                     # --devices 1 is the plain run, as before
    # epoch 2 of "two" is the resumed one: it must follow the straight run too
    check_the_same_course(history(tmp_path / "one"), history(tmp_path / "two"))

    # the 2-device run went on from its checkpoint, on the devices given at resume
    assert "resuming" in logs["resumed"] and "after epoch 1" in logs["resumed"]
    record = read_json(tmp_path / "two" / RECORD)
    assert record["epochs_done"] == 2 and record["config"]["devices"] == "all"
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == \
        sorted(os.path.basename(record[k]) for k in ("checkpoint", "best_model"))

    # choosing the input blur needs a TensorFlow export: a JAX run names the command instead of failing
    meta = read_json(tmp_path / "two" / "emotion_cnn.json")
    assert meta["backend"] == "jax" and meta["epochs_run"] == 2 and "input_blur" not in meta
    assert f"python main.py calibrate --model {tmp_path / 'two'} --data {data}" in logs["two"]

    # its best model (.h5), loaded here on TensorFlow, scores the validation images as the run measured
    import keras

    from emorec.core.preprocess import to_model_input
    from emorec.training.data import load_csv
    assert keras.backend.backend() == "tensorflow"
    model = keras.models.load_model(tmp_path / "two" / "emotion_cnn.h5", compile=False)
    x, y = load_csv(data, use_cache=False).split("val")
    p = np.asarray(model(to_model_input(x)))
    best = record["history"][record["best_epoch"] - 1]
    assert np.mean(p.argmax(1) == y) == pytest.approx(best["val_accuracy"])
    assert -np.mean(np.log(p[np.arange(len(y)), y])) == pytest.approx(best["val_loss"], abs=1e-5)


def check_the_same_course(one, two):
    """Same seed, data, global batch and learning rate: the same updates, so the same curves. What differs is
    the order of float sums (each device sums its slice, then the all-reduce adds the two): measured, at most
    4e-7 in the losses. The tolerance, 1e-4, is far above that and far below a real difference: one epoch
    with other dropout masks (a reseeding that missed) moves the second epoch's loss by 3.5e-3."""
    assert [r["epoch"] for r in one] == [r["epoch"] for r in two] == [1, 2]
    for a, b in zip(one, two):
        for key in ("loss", "val_loss"):
            assert abs(a[key] - b[key]) <= LOSS_TOLERANCE, (key, a, b)
        assert a["accuracy"] == pytest.approx(b["accuracy"]) and a["val_accuracy"] == pytest.approx(b["val_accuracy"])
    assert one[1]["loss"] < one[0]["loss"] - 0.05      # it did learn, so the curves say something


def test_more_devices_than_the_machine_has_is_one_line_before_any_data_loads(tmp_path):
    proc = subprocess.run([sys.executable, "-c", MAIN, "train", "--data", str(tmp_path / "none.csv"),
                           "--devices", "3"], cwd=ROOT, env=jax_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: --devices 3: this machine has 2 JAX devices (cpu:0, cpu:1); pass "
                                  "--devices 2 or --devices all")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("value", ["0", "-2", "x", "1.5", ""])
def test_devices_is_a_count_or_all(value, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--data", "x.csv", "--devices", value])
    assert e.value.code == 2 and "argument --devices:" in capsys.readouterr().err


def test_device_counts_and_batches_that_do_not_fit_are_refused_with_the_fix():
    assert device_count(" ALL ") == "all" and device_count("04") == "4"
    gpus = ["gpu:0", "gpu:1", "gpu:2", "gpu:3"]
    assert choose("all", gpus, 64) == gpus and choose("2", gpus, 64) == gpus[:2] and choose("1", gpus, 7) == gpus[:1]
    with pytest.raises(TrainingError, match=r"has 4 JAX devices \(gpu:0, .*pass --devices 4 or --devices all\.$"):
        choose("8", gpus, 64)
    with pytest.raises(TrainingError, match=r"has 1 JAX device \(cpu:0\).*pip install \"jax\[cuda12\]\""):
        choose("2", ["cpu:0"], 64)
    with pytest.raises(TrainingError, match="--batch-size 100 does not split evenly over 3 devices; use a multiple "
                                            "of 3, e.g. 102 or 99"):
        choose("3", gpus, 100)


def test_several_devices_need_jax_and_say_how_to_get_it(tmp_path, monkeypatch):
    import keras  # here Keras runs on TensorFlow (conftest), and --devices 2 cannot switch it
    assert keras.backend.backend() == "tensorflow"
    with pytest.raises(TrainingError, match="already loaded with the tensorflow backend.*in a new process"):
        prepare(TrainConfig(data="x.csv", out=str(tmp_path / "run"), devices="2"))
    assert plan("1", 7) is None                                   # one device: whatever backend runs, as before
    monkeypatch.delitem(sys.modules, "keras")                     # as if Keras were not imported yet ...
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(TrainingError, match="KERAS_BACKEND=torch is set; unset it"):
        plan("2", 8)
    monkeypatch.delenv("KERAS_BACKEND")

    def no_driver():
        raise RuntimeError("Unable to initialize backend 'cuda': no supported devices found")
    monkeypatch.setitem(sys.modules, "jax", types.SimpleNamespace(devices=no_driver))   # ... JAX without a driver
    with pytest.raises(TrainingError, match="JAX could not start its devices \\(Unable to initialize backend 'cuda'"):
        plan("2", 8)
    monkeypatch.setitem(sys.modules, "jax", None)                 # ... and JAX not installed
    with pytest.raises(TrainingError, match=r"JAX is not installed: \S+ -m pip install -r requirements-cluster.txt "
                                            r"\(on NVIDIA GPUs then: \S+ -m pip install \"jax\[cuda12\]\""):
        plan("all", 8)
    assert "KERAS_BACKEND" not in os.environ


def test_every_batch_and_the_validation_split_divide_evenly_and_validation_counts_every_image():
    x = np.zeros((21, 48, 48), np.uint8)
    x[:, 0, 0] = np.arange(21)                                  # each image's number in its first pixel
    targets, config = np.eye(7, dtype=np.float32)[np.arange(21) % 7], TrainConfig(batch_size=8, seed=3)
    assert usable(21, 2) == 20 and usable(21, 1) == 21 and usable(20, 4) == 20
    batches = epoch_batches(x, targets, None, config, 0, devices=2)
    left_out = []
    for _ in range(3):
        sizes = [len(batches[i][0]) for i in range(len(batches))]
        assert sizes == [8, 8, 4]
        seen = np.concatenate([batches[i][0][:, 0, 0, 0] for i in range(len(batches))])
        left_out.append(set(range(21)) - set(seen.astype(int)))
        batches.on_epoch_end()
    assert all(len(s) == 1 for s in left_out) and len(set(map(min, left_out))) > 1    # a different one each epoch

    xv, yv = np.arange(7, dtype=np.float32).reshape(7, 1), np.eye(7, dtype=np.float32)
    assert validation_data(xv, yv, 1)[0] is xv
    xp, yp, w = validation_data(xv, yv, 4)
    assert len(xp) == len(yp) == len(w) == 8 and w[7] == 0
    per_image = np.linspace(0.1, 0.7, 7)                        # e.g. each image's loss
    padded = np.concatenate([per_image, per_image[:1]])
    assert np.sum(w * padded) / len(w) == pytest.approx(per_image.mean())        # Keras's loss: over all rows
    assert np.sum(w * padded) / np.sum(w) == pytest.approx(per_image.mean())     # its metrics: weighted mean
