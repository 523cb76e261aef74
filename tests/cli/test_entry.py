"""emorec.cli.entry: what every entry point does around its work."""

import errno

import pytest

from emorec.cli.entry import run_entry_point
from emorec.cli.main import main
from emorec.common.errors import DataError


def test_an_unexpected_error_is_one_line_naming_it_a_bug(monkeypatch, tiny_csv, tmp_path, capsys):
    import emorec.training.preview

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(emorec.training.preview, "preview_grid", broken)
    assert main(["preview", "--data", str(tiny_csv), "--out", str(tmp_path / "p.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError") and "Traceback" not in err and err.count("\n") == 1


def fails_with(error):
    def work():
        raise error
    return work


@pytest.mark.parametrize("error, code, err", [
    (DataError("data not found: x.csv; download it first."), 2, "error: data not found: x.csv; download it first.\n"),
    (KeyboardInterrupt(), 130, "interrupted.\n"),
])
def test_a_problem_the_user_can_fix_is_one_line_and_exit_code(error, code, err, capsys):
    assert run_entry_point(fails_with(error)) == code
    assert capsys.readouterr().err == err


def test_an_os_error_no_layer_worded_names_its_file(capsys):
    full = OSError(errno.ENOSPC, "No space left on device", "/out/a.csv")
    assert run_entry_point(fails_with(full)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot ") and "/out/a.csv" in err and "disk is full" in err and err.count("\n") == 1


def test_the_work_s_exit_code_is_the_entry_point_s(capsys):
    assert run_entry_point(lambda: 0) == 0 and run_entry_point(lambda: 3) == 3
    assert capsys.readouterr().err == ""
