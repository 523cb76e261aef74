import pytest

from emorec.core.detector import DetectorSettings
from emorec.core.face_size import no_face_message, smallest_face


@pytest.mark.parametrize("settings, width, message", [
    # the case: on a 640-wide frame shrunk to 320, --min-size 40 alone would still miss faces under 48 px
    (DetectorSettings(detector="haar", min_size=80), 640, "no face of 80 px or more found; for smaller faces: --min-size 40 --detect-width 384"),
    (DetectorSettings(detector="haar"), 640, "no face of 48 px or more found; for smaller faces: --min-size 24 --detect-width 0"),
    (DetectorSettings(detector="haar"), 320, "no face of 48 px or more found; for smaller faces: --min-size 24"),
    (DetectorSettings(detector="haar"), 4000, "no face of 300 px or more found; for smaller faces: --detect-width 640"),
    (DetectorSettings(detector="haar", min_size=24, detect_width=0), 640, "no face of 24 px or more found"),   # nothing smaller
    (DetectorSettings(), 640, "no face of 40 px or more found"),               # blazeface: as small as it finds
    (DetectorSettings(min_size=80), 640, "no face of 80 px or more found; for smaller faces: --min-size 40"),
    (DetectorSettings(), 1280, "no face of 80 px or more found"),
])
def test_no_face_names_the_smallest_face_looked_for_and_the_flags_that_find_smaller(settings, width, message):
    assert no_face_message(settings, width) == message


def test_the_hinted_flags_do_find_faces_that_small():
    for width in (320, 640, 1280, 4000):
        settings = DetectorSettings(detector="haar", min_size=80)
        target = smallest_face(settings, width) // 2
        flags = no_face_message(settings, width).split("for smaller faces: ")[1].split()
        changed = DetectorSettings(**{**settings.__dict__, **{flags[i][2:].replace("-", "_"): int(flags[i + 1])
                                                               for i in range(0, len(flags), 2)}})
        assert smallest_face(changed, width) <= max(target, 24)
