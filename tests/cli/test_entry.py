"""emorec.cli.entry: what every entry point does around its work."""

from emorec.cli.main import main


def test_an_unexpected_error_is_one_line_naming_it_a_bug(monkeypatch, tiny_csv, tmp_path, capsys):
    import emorec.training.preview

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(emorec.training.preview, "preview_grid", broken)
    assert main(["preview", "--data", str(tiny_csv), "--out", str(tmp_path / "p.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError") and "Traceback" not in err and err.count("\n") == 1
