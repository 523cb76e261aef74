"""How small a face the detector can find in a frame, and what to say when it finds none.

Two settings limit it (:class:`detector.DetectorSettings`): ``min_size`` in frame pixels, and ``detect_width``:
frames wider than that are shrunk before the Haar cascade runs, and the cascade sees no face smaller than its
own 24×24 window in the shrunk frame. On a 640×480 frame shrunk to 320 wide, no face under 48 px is found
whatever ``min_size`` says.
"""

import math

from emorec.core.detector import DetectorSettings

#: The shipped cascade's window (haarcascade_frontalface_default.xml is 24×24): its smallest face, in the
#: pixels it runs on.
CASCADE_WINDOW = 24


def smallest_face(settings: DetectorSettings, frame_width: int) -> int:
    """The side, in frame pixels, of the smallest face a full scan of a ``frame_width``-wide frame can find."""
    w = settings.detect_width
    scale = w / frame_width if w and frame_width > w else 1.0
    return max(settings.smallest, math.ceil(CASCADE_WINDOW / scale))


def smaller_faces_flags(settings: DetectorSettings, frame_width: int) -> str | None:
    """The flags with which a full scan finds faces half as small as now (never below the cascade's window), e.g.
    ``--min-size 40 --detect-width 384``; None when no smaller face can be found."""
    now = smallest_face(settings, frame_width)
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
