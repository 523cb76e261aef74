import subprocess
import sys
from pathlib import Path

import pytest

from emorec.cli.main import build_parser, main
from emorec.cli.window import build_parser as ui_parser
from emorec.common.invocation import command, python

ROOT = Path(__file__).resolve().parents[2]


def test_no_arguments_prints_usage_with_how_to_get_data(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"  {command('main.py')} train " in out and "Kaggle" in out and f"`{command('UI.py')}`" in out


def test_messages_name_the_interpreter_that_is_running(tmp_path, monkeypatch, capsys):
    # a bare `python main.py` is, on many machines, a system Python without OpenCV: ModuleNotFoundError: cv2
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", str(tmp_path / ".venv" / "bin" / "python"))
    monkeypatch.setattr(sys, "argv", ["main.py"])
    assert python() == ".venv/bin/python" and command() == f".venv/bin/python {ROOT / 'main.py'}"
    monkeypatch.setenv("PATH", str(tmp_path / ".venv" / "bin"))       # an activated environment: its name is enough
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch(mode=0o755)
    assert python() == "python"
    monkeypatch.setattr(sys, "argv", [str(tmp_path / ".venv" / "bin" / "emorec")])   # the installed console script
    assert command() == "emorec" and command("UI.py") == "emorec-ui"


def test_no_message_in_the_package_says_a_bare_python_or_pip():
    """Every string that reaches a user (docstrings aside) names the running interpreter, through
    emorec.common.invocation."""
    import ast
    import re
    bare = re.compile(r"(?<![\w/.-])python3? (main|UI)\.py|(?<!-m )pip install")
    found = []
    for path in sorted((ROOT / "emorec").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                    and bare.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.strip()[:80]}")
    assert found == []


@pytest.mark.parametrize("command,flags", [
    ("train", ["--data", "--arch", "--epochs", "--batch-size", "--out", "--resume", "--seed", "--class-weight",
               "--skip-bad-rows", "--replace-default", "--schedule", "--label-smoothing", "--patience",
               "--init-from", "--ferplus", "--ferplus-weight"]),
    ("evaluate", ["--model", "--data", "--tta", "--out", "--split"]),
    ("calibrate", ["--model", "--data", "--skip-bad-rows"]),
    ("preview", ["--data", "--per-class", "--out"]),
    ("analyze", ["--out", "--every", "--no-video", "--overwrite", "--workers", "--smoothing", "--scale-factor",
                 "--min-neighbors", "--min-size", "--detect-width", "--model", "--no-tta"]),
])
def test_every_subcommand_documents_its_flags(command, flags, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    for flag in flags:
        assert flag in out, flag


def test_every_flag_has_help_text():
    parsers = [ui_parser()] + list(build_parser()._subparsers._group_actions[0].choices.values())
    for parser in parsers:
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{parser.prog} {action.option_strings} has no help"


def test_ui_help_documents_source_camera_model_and_knobs():
    out = subprocess.run([sys.executable, str(ROOT / "UI.py"), "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--model", "--source", "--camera", "--scale-factor", "--min-neighbors", "--smoothing", "--mirror"):
        assert flag in out


def test_main_py_reports_missing_data_at_once_without_loading_tensorflow(tmp_path):
    code = ("import sys; from emorec.cli.main import main; code = main(sys.argv[1:]); "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules)); sys.exit(code)")
    run = subprocess.run([sys.executable, "-c", code, "train", "--data", str(tmp_path / "nope.csv"),
                          "--out", str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout.strip() == "[]"
    assert run.stderr.startswith("error: data not found") and run.stderr.count("\n") == 1   # one line, no log noise


@pytest.mark.parametrize("argv", [["train"], ["evaluate"], ["train", "--epochs", "0", "--data", "x"],
                                  ["analyze", "x", "--out", "y", "--workers", "0"], ["calibrate", "--model", "m"]])
def test_every_command_line_mistake_exits_with_2(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:           # argparse's own usage errors
        code = e.code
    assert code == 2 and "error" in capsys.readouterr().err


def test_help_never_shows_a_meaningless_or_contradictory_default():
    parsers = [ui_parser()] + list(build_parser()._subparsers._group_actions[0].choices.values())
    for parser in parsers:
        assert parser.description, f"{parser.prog} has no description"
        text = parser.format_help()
        assert "(default: None)" not in text and "(default: False)" not in text, parser.prog
        formatter = parser.formatter_class(parser.prog)
        for action in parser._actions:
            assert formatter._get_help_string(action).count("(default:") <= 1, (parser.prog, action.option_strings)


def test_ui_reports_a_missing_model_cleanly(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "UI.py"), "--model", str(tmp_path / "none.h5")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "model not found" in run.stderr and "Traceback" not in run.stderr


def test_train_then_evaluate_and_preview_from_the_command_line(tiny_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(tiny_csv), "--arch", "shallow", "--epochs", "1", "--batch-size", "8",
                 "--out", str(out)]) == 0
    assert (out / "emotion_cnn.h5").exists()
    assert main(["evaluate", "--model", str(out), "--data", str(tiny_csv), "--tta"]) == 0
    assert main(["calibrate", "--model", str(out), "--data", str(tiny_csv)]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "flip TTA" in text and (out / "eval_test.md").exists()
    assert "input blur σ" in text and "built into" in text
    assert main(["preview", "--data", str(tiny_csv), "--out", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").stat().st_size > 1000
    assert main(["train", "--data", str(tiny_csv), "--out", str(out)]) == 2      # refuses to overwrite a run


def test_the_command_line_builds_without_importing_tensorflow():
    # analyze and --help run on LiteRT alone; a TensorFlow import would add seconds and log noise to each call.
    code = ("import sys; from emorec.cli.main import build_parser; build_parser().parse_args(['analyze', 'x', '--out', 'y']);"
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("argv, message", [
    (["preview", "--data", "{csv}", "--out", "{tmp}/grid.txt"], "end the name in .png"),
    (["evaluate", "--data", "{csv}", "--out", "{csv}"], "is a file, not a folder"),
])
def test_output_paths_that_cannot_work_are_refused_before_any_work(argv, message, tiny_csv, tmp_path, capsys):
    argv = [a.format(csv=tiny_csv, tmp=tmp_path) for a in argv]
    assert main(argv) == 2 and message in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_naming_it_a_bug(monkeypatch, tiny_csv, tmp_path, capsys):
    import emorec.training.preview

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(emorec.training.preview, "preview_grid", broken)
    assert main(["preview", "--data", str(tiny_csv), "--out", str(tmp_path / "p.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError") and "Traceback" not in err and err.count("\n") == 1


def test_every_entry_point_words_an_error_the_same_one_line_way(monkeypatch, capsys):
    import errno

    from emorec.common.errors import SourceError, error_message
    assert error_message(SourceError("no camera found at index 3.")) == "no camera found at index 3."
    full = OSError(errno.ENOSPC, "No space left on device", "/out/a.csv")
    assert error_message(full, "/out", "write") == \
        "cannot write /out/a.csv: the disk is full; free some space (or choose another folder) and run again."
    assert error_message(OSError(errno.EACCES, "Permission denied"), "/out").startswith("cannot use /out: no permission")
    bug = error_message(RuntimeError("boom\n  second line." + "x" * 400))
    assert bug.startswith("internal error: RuntimeError: boom second line.xxx") and "\n" not in bug
    assert bug.endswith("x. This is a bug in emorec: please report it (EMOREC_DEBUG=1 shows the details).")
    assert len(bug) < 450             # the text is cut to 300 characters
    assert error_message(KeyError()) == "internal error: KeyError. This is a bug in emorec: please report it (EMOREC_DEBUG=1 shows the details)."
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setenv("EMOREC_DEBUG", "1")        # a bug caught anywhere (window, analyze): its traceback too
    try:
        {}["missing"]
    except KeyError as e:
        assert error_message(e).startswith("internal error: KeyError: 'missing'")
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "{}[\"missing\"]" in err
