"""emorec.common.errors: every error is worded as one line."""



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
