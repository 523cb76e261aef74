"""Command-line flags shared by UI.py and `main.py analyze`: model, detector knobs, smoothing."""

from .detector import DetectorSettings

_D = DetectorSettings()


def add_recognizer_flags(parser):
    g = parser.add_argument_group("model and detector")
    g.add_argument("--model", help="model file (.h5) or run folder; default: the shipped model/default/emotion_cnn.h5")
    g.add_argument("--scale-factor", type=float, default=_D.scale_factor,
                   help="Haar pyramid step (>1; larger is faster, finds fewer faces)")
    g.add_argument("--min-neighbors", type=int, default=_D.min_neighbors,
                   help="detections needed to accept a face (larger is stricter)")
    g.add_argument("--min-size", type=int, default=_D.min_size, help="smallest face side in pixels")
    g.add_argument("--detect-width", type=int, default=_D.detect_width,
                   help="downscale frames wider than this for detection (0 = full size)")
    g.add_argument("--pad", type=float, default=_D.pad, help="grow each face crop by this fraction of its side")
    g.add_argument("--smoothing", type=float, default=0.6,
                   help="probability smoothing per tracked face, 0 (off) to <1 (strong)")
    g.add_argument("--detect-every", type=int, default=1,
                   help="run the detector every Nth frame and reuse tracked boxes in between")
    g.add_argument("--no-tta", action="store_true",
                   help="classify each face once instead of averaging it with its mirror image "
                        "(half the classification time, slightly lower accuracy)")
    return g


def settings_from_args(args):
    if not args.scale_factor > 1:
        raise SystemExit(f"--scale-factor must be above 1, got {args.scale_factor}")
    if not 0 <= args.smoothing < 1:
        raise SystemExit(f"--smoothing must be in [0, 1), got {args.smoothing}")
    return DetectorSettings(scale_factor=args.scale_factor, min_neighbors=args.min_neighbors,
                            min_size=args.min_size, detect_width=args.detect_width, pad=args.pad)


def recognizer_kwargs(args):
    """Keyword arguments for :class:`recognizer.Recognizer` from parsed flags."""
    return {"model": args.model, "settings": settings_from_args(args), "smoothing": args.smoothing,
            "detect_every": args.detect_every, "tta": not args.no_tta}
