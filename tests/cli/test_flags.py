"""emorec.cli.flags: the recognizer's flags, shared by UI.py and main.py."""

import argparse

import pytest

from emorec.cli.flags import add_recognizer_flags, recognizer_kwargs
from emorec.core.detector import DetectorSettings


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_recognizer_flags(parser)
    return parser.parse_args(list(argv))


def test_the_defaults_build_the_default_recognizer():
    kwargs = recognizer_kwargs(parse())
    assert kwargs["settings"] == DetectorSettings() and kwargs["model"] is None and kwargs["tta"] is True


def test_every_flag_reaches_the_recognizer():
    kwargs = recognizer_kwargs(parse("--model", "m.h5", "--scale-factor", "1.2", "--min-neighbors", "3",
                                     "--min-size", "30", "--detect-width", "0", "--pad", "0.1", "--smoothing", "0.3",
                                     "--detect-every", "2", "--full-scan-every", "4", "--no-tta"))
    assert kwargs == {"model": "m.h5", "settings": DetectorSettings(scale_factor=1.2, min_neighbors=3, min_size=30,
                                                                    detect_width=0, pad=0.1),
                      "smoothing": 0.3, "detect_every": 2, "full_scan_every": 4, "tta": False}


@pytest.mark.parametrize("argv", [["--scale-factor", "1"], ["--smoothing", "1"], ["--min-size", "0"],
                                  ["--detect-every", "0"], ["--pad", "-0.1"]])
def test_values_outside_their_range_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        parse(*argv)
    assert e.value.code == 2 and argv[0] in capsys.readouterr().err
