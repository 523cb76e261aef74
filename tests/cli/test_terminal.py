"""emorec.cli.terminal: analyze's report on the terminal."""

from emorec.analysis.outputs import InputRecord, Status
from emorec.cli import terminal
from emorec.cli.terminal import report


def done(name, faces=1):
    return InputRecord(input=f"/in/{name}", kind="image", status=Status.DONE, face_frames=faces,
                       label_share={"happy": 1.0} if faces else {}, width=640)


def test_a_line_per_input_then_the_counts_and_the_failures_on_stderr(tmp_path, capsys):
    records = [done("a.png"), done("b.png", faces=0), InputRecord(input="/in/c.png", status=Status.SKIPPED),
               InputRecord(input="/in/d.png", status=Status.FAILED, reason="not an image")]
    assert report(records, tmp_path) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "  a.png: 1 face: happy" and lines[1].startswith("  b.png: no face of ")
    assert lines[2] == (f"2 done, 1 skipped (already done with these settings; --overwrite redoes them), 1 failed; "
                        f"index: {tmp_path / 'index.json'}")
    assert err == "  failed: /in/d.png: not an image\n"


def test_a_long_run_lists_the_first_results_and_points_to_the_index(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(terminal, "LISTED", 3)
    assert report([done(f"{i}.png") for i in range(5)], tmp_path) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["  0.png: 1 face: happy", "  1.png: 1 face: happy", "  2.png: 1 face: happy"]
    assert out[3] == "  … and 2 more (see index.csv)" and out[4].startswith("5 done, 0 skipped, 0 failed")
