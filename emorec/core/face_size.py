"""How small a face the detector can find in a frame, and what to say when it finds none.

BlazeFace (full-range) sees the frame shrunk to its 192-px input and finds faces from about
:data:`BLAZEFACE_SMALLEST` px there (bench/bench_detectors.py); ``min_size`` may only raise that.

For Haar, two settings limit it (:class:`detector.DetectorSettings`): ``min_size`` in frame pixels, and
``detect_width``:
frames wider than that are shrunk before the Haar cascade runs, and the cascade sees no face smaller than its
own 24×24 window in the shrunk frame. On a 640×480 frame shrunk to 320 wide, no face under 48 px is found
whatever ``min_size`` says.
"""

import math

from emorec.core.detector import DetectorSettings

#: The shipped cascade's window (haarcascade_frontalface_default.xml is 24×24): its smallest face, in the
#: pixels it runs on.
CASCADE_WINDOW = 24
#: BlazeFace full-range's smallest face in its 192×192 input, pixels (a 40 px face in a 640-wide frame is 12 px
#: there; bench/bench_detectors.py finds 40 px faces and not 30 px ones, model card "Detectors").
BLAZEFACE_SMALLEST = 12
BLAZEFACE_INPUT = {"blazeface": 192, "blazeface-short": 128}


def smallest_face(settings: DetectorSettings, frame_width: int) -> int:
    """The side, in frame pixels, of the smallest face a full scan of a ``frame_width``-wide frame can find."""
    if settings.detector in BLAZEFACE_INPUT:
        return max(settings.smallest, math.ceil(BLAZEFACE_SMALLEST * frame_width / BLAZEFACE_INPUT[settings.detector]))
    w = settings.detect_width
    scale = w / frame_width if w and frame_width > w else 1.0
    return max(settings.smallest, math.ceil(CASCADE_WINDOW / scale))


def smaller_faces_flags(settings: DetectorSettings, frame_width: int) -> str | None:
    """The flags with which a full scan finds faces half as small as now (never below the cascade's window), e.g.
    ``--min-size 40 --detect-width 384`` (Haar), ``--min-size 24`` (a detector that finds smaller faces than
    ``--min-size`` lets it); None when no smaller face can be found."""
    now = smallest_face(settings, frame_width)
    if settings.detector != "haar":
        floor = smallest_face(DetectorSettings(detector=settings.detector, min_size=1), frame_width)
        return f"--min-size {floor}" if now > floor else None
    target = max(CASCADE_WINDOW, now // 2)
    if target >= now:
        return None
    flags = [f"--min-size {target}"] if settings.smallest > target else []
    w = settings.detect_width
    needed = math.ceil(frame_width * CASCADE_WINDOW / target)     # the detection width that shows it 24 px wide
    if w and frame_width > w and needed > w:
        flags.append(f"--detect-width {0 if needed >= frame_width else needed}")
    return " ".join(flags)


def no_face_message(settings: DetectorSettings, frame_width: int) -> str:
    """'no face of 48 px or more found; for smaller faces: --min-size 24 --detect-width 0' for a frame of that
    width with those settings."""
    text = f"no face of {smallest_face(settings, frame_width)} px or more found"
    flags = smaller_faces_flags(settings, frame_width)
    return f"{text}; for smaller faces: {flags}" if flags else text
