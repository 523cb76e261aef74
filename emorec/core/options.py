"""The recognizer's options: one frozen record that is also the flags of UI.py, ``main.py analyze`` and ``main.py
serve`` (:func:`common.options.add_flags`), and what crosses threads, worker processes and Ray actors.

>>> options = RecognizerOptions(model="fast", smoothing=0.3, settings=DetectorSettings(detector="haar"))
>>> rec = Recognizer(options=options)
"""

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from emorec.common.argtypes import number
from emorec.common.labels import ACCURATE_MODEL_BLURB, FAST_MODEL_BLURB
from emorec.common.options import option
from emorec.core.detector import DetectorSettings
from emorec.core.tracking import DEFAULT_SMOOTHING

#: Full scans every this many detections when the detector can search near known faces (10 frames ≈ 333 ms
#: at 30 frames/s: the longest a new face waits to be found).
FULL_SCAN_EVERY = 10


@dataclass(frozen=True)
class RecognizerOptions:
    """Everything that shapes a :class:`recognizer.Recognizer`'s faces but the detector and classifier objects
    themselves; each field's default here is the one default (the flags, the server and the analysis records
    read it from here). See :class:`recognizer.Recognizer` for what each does."""
    model: str | None = option(None, "model file (.h5), run folder or ensemble folder (default: the shipped "
                                     "model/default). On a slow CPU: --model model/fast, "
                               + f"{FAST_MODEL_BLURB}; {ACCURATE_MODEL_BLURB}".replace("%", "%%"))
    settings: DetectorSettings = option(factory=DetectorSettings)
    smoothing: float = option(DEFAULT_SMOOTHING, "probability smoothing per tracked face, 0 (off) to <1 (strong)",
                              type=number(float, 0, 1, high_open=True))
    detect_every: int = option(1, "run the detector every Nth frame and reuse tracked boxes in between",
                               type=number(int, 1))
    full_scan_every: int = option(FULL_SCAN_EVERY, "search the whole frame for faces every Nth detection, and in "
                                  "between only around the faces already found (much faster; a new face waits at "
                                  "most N frames). 1 = always the whole frame", type=number(int, 1))
    tta: bool = option(True, "average each face with its mirror image",
                       off_help="classify each face once instead of averaging it with its mirror image (half the "
                                "classification time, slightly lower accuracy)")
    #: the ``--help`` section of these flags
    FLAGS_TITLE: ClassVar[str] = "model and detector"
    #: in streams with TTA and smoothing, a continuing face gets one pass per frame, mirrored every other frame
    alternate: bool = True
    #: near searches: detections a face the search misses is carried over for before it is dropped
    carry: int = 1

    def replace(self, **changes: Any) -> "RecognizerOptions":
        """A copy with ``changes``; detector settings (``pad=0``, ``detector="haar"``) may be named directly."""
        detector = {k: changes.pop(k) for k in list(changes) if k in DetectorSettings.__dataclass_fields__}
        if detector:
            changes["settings"] = replace(changes.get("settings", self.settings), **detector)
        return replace(self, **changes)

    @property
    def resync_period(self) -> int:
        """Frames between full scans on schedule (see :attr:`recognizer.Recognizer.resync_period`)."""
        return max(1, self.detect_every) * max(1, self.full_scan_every)

    def record(self) -> dict[str, Any]:
        """What summary.json and the server record of these options, beside the model's identity: the detector's
        :meth:`detector.DetectorSettings.record`, smoothing, detection schedule and TTA."""
        return {"detector": self.settings.record(), "smoothing": self.smoothing, "detect_every": self.detect_every,
                "full_scan_every": self.full_scan_every, "tta": self.tta}
