"""UI.py's command line (emorec.cli.window): its flags, help and errors; the window itself is tests/desktop."""

import subprocess
import sys
from pathlib import Path

import pytest

from emorec.cli import window as ui_main
from emorec.common.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]


def test_ui_help_documents_source_camera_model_and_knobs():
    out = subprocess.run([sys.executable, str(ROOT / "UI.py"), "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--model", "--source", "--camera", "--scale-factor", "--min-neighbors", "--smoothing", "--mirror"):
        assert flag in out


def test_ui_reports_a_missing_model_cleanly(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "UI.py"), "--model", str(tmp_path / "none.h5")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "model not found" in run.stderr and "Traceback" not in run.stderr


def test_help_states_defaults_without_contradicting_itself(capsys):
    with pytest.raises(SystemExit):
        ui_main.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in out and "(default: False)" not in out
    assert "~/Pictures/emorec" in out and "(default: 0.6)" in out


@pytest.mark.parametrize("error,code,message", [
    (ModelError("model not found: x.h5"), 2, "error: model not found: x.h5\n"), (KeyboardInterrupt(), 130, "interrupted.\n")])
def test_main_reports_errors_once_and_exits_quietly_on_ctrl_c(monkeypatch, capsys, error, code, message):
    calls = []
    monkeypatch.setattr(ui_main, "quiet_libraries", lambda: calls.append("quiet"))

    def failing(**kwargs):
        calls.append("recognizer")
        raise error

    monkeypatch.setattr("emorec.core.recognizer.Recognizer", failing)
    assert ui_main.main([]) == code
    assert calls == ["quiet", "recognizer"] and capsys.readouterr().err == message
