"""The recognizer's flags, shared by UI.py and main.py."""

from emorec.common.argtypes import number
from emorec.common.labels import FAST_MODEL_BLURB
from emorec.core.detector import DETECTORS, DetectorSettings
from emorec.core.recognizer import FULL_SCAN_EVERY
from emorec.core.tracking import DEFAULT_SMOOTHING

_D = DetectorSettings()


def add_recognizer_flags(parser):
    g = parser.add_argument_group("model and detector")
    g.add_argument("--model", help="model file (.h5), run folder or ensemble folder (default: the shipped "
                                   "model/default). "
                                   "On a slow CPU: --model model/fast, " + FAST_MODEL_BLURB.replace("%", "%%"))
    g.add_argument("--detector", choices=list(DETECTORS), default=_D.detector,
                   help="face detector: blazeface (MediaPipe's BlazeFace full-range: finds rolled faces and faces "
                        "down to ~40 px in a 640×480 frame, and gives the eyes, so crops are levelled), haar "
                        "(OpenCV's frontal-face cascade: upright faces of 48 px or more at the defaults), "
                        "blazeface-short (BlazeFace short-range: only faces close to the camera)")
    g.add_argument("--scale-factor", type=number(float, 1, low_open=True), default=_D.scale_factor,
                   help="Haar only: pyramid step (>1; larger is faster, finds fewer faces)")
    g.add_argument("--min-neighbors", type=number(int, 0), default=_D.min_neighbors,
                   help="Haar only: detections needed to accept a face (larger is stricter)")
    g.add_argument("--min-size", type=number(int, 1), default=None,
                   help="smallest face side in pixels; smaller faces are ignored (default: haar 48, blazeface "
                        "none: as small as it finds)")
    g.add_argument("--detect-width", type=number(int, 0), default=_D.detect_width,
                   help="Haar only: downscale frames wider than this for detection (0 = full size)")
    g.add_argument("--pad", type=number(float, 0), default=_D.pad,
                   help="grow each face crop by this fraction of its side")
    g.add_argument("--no-align", action="store_true",
                   help="do not rotate crops to level the eyes (with a detector that finds eyes: blazeface)")
    g.add_argument("--smoothing", type=number(float, 0, 1, high_open=True), default=DEFAULT_SMOOTHING,
                   help="probability smoothing per tracked face, 0 (off) to <1 (strong)")
    g.add_argument("--detect-every", type=number(int, 1), default=1,
                   help="run the detector every Nth frame and reuse tracked boxes in between")
    g.add_argument("--full-scan-every", type=number(int, 1), default=FULL_SCAN_EVERY,
                   help="search the whole frame for faces every Nth detection, and in between only around the "
                        "faces already found (much faster; a new face waits at most N frames). 1 = always the "
                        "whole frame")
    g.add_argument("--no-tta", action="store_true",
                   help="classify each face once instead of averaging it with its mirror image "
                        "(half the classification time, slightly lower accuracy)")
    return g


def recognizer_kwargs(args):
    """Keyword arguments for :class:`recognizer.Recognizer` from parsed flags."""
    settings = DetectorSettings(detector=args.detector, scale_factor=args.scale_factor,
                                min_neighbors=args.min_neighbors, min_size=args.min_size,
                                detect_width=args.detect_width, pad=args.pad, align=not args.no_align)
    return {"model": args.model, "settings": settings, "smoothing": args.smoothing,
            "detect_every": args.detect_every, "full_scan_every": args.full_scan_every, "tta": not args.no_tta}
