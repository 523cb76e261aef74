import re
import subprocess
import sys
from pathlib import Path

import pytest

from emorec.cli.main import build_parser, main
from emorec.cli.window import build_parser as ui_parser
from emorec.common.invocation import command

ROOT = Path(__file__).resolve().parents[2]


def test_no_arguments_prints_usage_with_how_to_get_data(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"  {command('main.py')} train " in out and "Kaggle" in out and f"`{command('UI.py')}`" in out


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


def test_train_then_evaluate_and_preview_from_the_command_line(tiny_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(tiny_csv), "--arch", "shallow", "--epochs", "1", "--batch-size", "8",
                 "--out", str(out)]) == 0
    assert (out / "emotion_cnn.h5").exists()
    log = capsys.readouterr().out               # not a terminal: one plain line per epoch, no bars
    assert "\x1b[" not in log and "━" not in log and "\r" not in log and "1/1" in log
    assert main(["evaluate", "--model", str(out), "--data", str(tiny_csv), "--tta"]) == 0
    assert main(["calibrate", "--model", str(out), "--data", str(tiny_csv)]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "flip TTA" in text and (out / "eval_test.md").exists()
    assert "input blur σ" in text and "built into" in text
    assert "through the LiteRT export" in text     # the table says why it differs from the float model's figure
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


def test_installed_commands_name_themselves(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/emorec"])
    assert build_parser().format_usage().startswith("usage: emorec ")
    assert "emorec train" in build_parser().description
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/emorec-ui"])
    assert ui_parser().format_usage().startswith("usage: emorec-ui ")
    monkeypatch.setattr(sys, "argv", ["main.py"])
    assert build_parser().format_usage().startswith("usage: main.py ")


def test_serve_help_shows_every_default():
    serve = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "serve")[1]
    formatter = serve.formatter_class(serve.prog)
    missing = [a.option_strings[-1] for a in serve._actions
               if a.option_strings and a.nargs != 0 and not re.search(r"\(default\b", formatter._get_help_string(a))]
    assert not missing
    switches_off = [a for a in serve._actions if a.option_strings and a.option_strings[-1].startswith("--no-")]
    assert switches_off and not [a for a in switches_off if "(default: True)" in formatter._get_help_string(a)]
