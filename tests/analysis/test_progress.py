"""emorec.analysis.progress: progress on a terminal or a log file."""

import io

from emorec.cli.main import main


def test_progress_on_a_log_file_is_plain_rate_limited_lines(inputs, tmp_path, tiny_model, capsys):
    from emorec.analysis.progress import PlainProgress, progress_bar
    assert isinstance(progress_bar(10, "x", "frame"), PlainProgress)   # stderr is not a terminal here
    assert main(["analyze", str(inputs), "--out", str(tmp_path / "out"), "--model", str(tiny_model)]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    now = [0.0]
    lines = io.StringIO()
    bar = PlainProgress(300, "clip.mp4", "frame", every_s=10, stream=lines, clock=lambda: now[0])
    for _ in range(300):
        now[0] += 0.125        # 37.5 s for the whole video
        bar.update(1)
    bar.close()
    assert lines.getvalue() == ("  clip.mp4: 80/300 frames (27 %)\n  clip.mp4: 160/300 frames (53 %)\n"
                                "  clip.mp4: 240/300 frames (80 %)\n  clip.mp4: 300/300 frames (100 %)\n")
    quick = io.StringIO()
    with PlainProgress(5, "a.png", "frame", stream=quick) as bar:
        bar.update(5)
    assert quick.getvalue() == ""                            # a short input prints nothing
