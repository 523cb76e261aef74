"""The light install (``pip install emorec``: no TensorFlow, no Keras) recognises through LiteRT alone, and the
commands that need the ``train`` extra say what to install. Run as that install would be: in a fresh
interpreter where importing tensorflow or keras fails, as it does when they are not installed."""

import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
WITHOUT_TENSORFLOW = """
import runpy, sys
sys.modules["tensorflow"] = None    # `import tensorflow` now fails as it does where it is not installed
sys.modules["keras"] = None
sys.modules["jax"] = None           # the cluster extra's, which the light install has not either
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def light(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def test_analyze_runs_without_tensorflow(photo, tmp_path):
    run = light(ROOT / "main.py", "analyze", photo, "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert "1 face: happy" in run.stdout and (tmp_path / "out" / "index.csv").is_file()


def test_the_window_the_server_and_the_api_import_without_tensorflow(tmp_path):
    script = tmp_path / "imports.py"
    script.write_text("import emorec.desktop.window, emorec.server.app, emorec.core.recognizer\n"
                      "from emorec.core.classifier import Classifier\n"
                      "Classifier('model/default')\nprint('ok')\n")
    run = light(script)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


@pytest.mark.parametrize("command", [["train", "--data", "x.csv"], ["calibrate", "--model", "model/default", "--data", "x.csv"],
                                     ["preview", "--data", "x.csv"]])
def test_commands_that_need_the_train_extra_say_what_to_install(command):
    run = light(ROOT / "main.py", *command)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"{command[0]} needs TensorFlow and Keras" in run.stderr
    assert "-m pip install -r requirements.txt" in run.stderr      # in a checkout: the README's install


def test_a_model_without_an_export_says_that_making_one_needs_the_train_extra(tmp_path, photo):
    model = tmp_path / "mine"
    model.mkdir()
    for name in ("emotion_cnn.h5", "emotion_cnn.json"):
        (model / name).write_bytes((ROOT / "model/default" / name).read_bytes())
    run = light(ROOT / "main.py", "analyze", photo, "--out", tmp_path / "out", "--model", model)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "has no up-to-date LiteRT export" in run.stderr and "needs TensorFlow and Keras" in run.stderr


def test_outside_a_checkout_the_message_names_the_extra(monkeypatch, tmp_path):
    from emorec.common import quiet
    monkeypatch.setattr(quiet, "CHECKOUT", tmp_path)
    assert quiet.training_install_command().endswith("-m pip install 'emorec[train]'")
