"""Command line of main.py: train, evaluate, preview, analyze. Thin: parse flags, call the package."""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from .labels import DEFAULT_MODEL, MODEL_DIR, MODEL_FILENAME

USAGE = """\
emotion recognizer — training and analysis (the live window is `python UI.py`)

  python main.py train    --data data/fer2013.csv      train a model (saved under model/)
  python main.py evaluate --model PATH --data PATH     accuracy, per-class report, confusion matrix
  python main.py preview  --data PATH                  a grid of sample faces per class
  python main.py analyze  PATH [PATH ...] --out DIR    label faces in images, folders and videos

Get the data: download fer2013.csv from Kaggle ("Challenges in Representation Learning: Facial
Expression Recognition Challenge") into data/, or use PNG class folders (ROOT/train/<class>/*.png).
`python main.py COMMAND --help` documents every flag.
"""


def _add_train(sub):
    from .models import ARCHITECTURES, DEFAULT_ARCH
    p = sub.add_parser("train", help="train a model", description="Train a CNN on FER2013 (CSV or class folders).",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", help="fer2013.csv(.gz) or a folder with train/ and test/ class folders (required "
                                  "unless --resume)")
    p.add_argument("--arch", default=DEFAULT_ARCH, choices=sorted(ARCHITECTURES),
                   help="vgg: project default (2 convs per stage); deep: the seeds' 4-conv 64/128/512/512 "
                        "network; shallow: the seeds' 2-conv network")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 60; with --resume, the saved run's)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    p.add_argument("--schedule", choices=("plateau", "cosine"), default="plateau",
                   help="plateau: halve the LR after --lr-patience epochs without a val accuracy gain; "
                        "cosine: decay to 0 over --epochs")
    p.add_argument("--lr-patience", type=int, default=3)
    p.add_argument("--patience", type=int, default=12, help="early-stopping patience in epochs (0 = off)")
    p.add_argument("--class-weight", choices=("none", "balanced"), default="none",
                   help="balanced: weight each class by n/(7·count) to help rare classes (Disgust)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--no-augment", action="store_true", help="turn off flips/rotations/shifts/zoom/erasing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of train held out for validation when the data has no validation split")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="leave out malformed CSV rows / unreadable images (and report how many) instead of stopping")
    p.add_argument("--out", help="run folder (default: a new folder model/<arch>-<date-time>)")
    p.add_argument("--resume", nargs="?", const=True, metavar="DIR",
                   help="continue an interrupted run (in DIR, or in --out) from its last finished epoch")
    p.add_argument("--replace-default", action="store_true",
                   help=f"allow --out {DEFAULT_MODEL.parent} (the shipped model); refused otherwise")
    p.set_defaults(func=_run_train)


def _run_train(args):
    from .train import TrainConfig, train
    if args.resume:
        out = args.resume if isinstance(args.resume, str) else args.out
        if not out:
            raise SystemExit("--resume needs the run folder: --resume DIR (or --resume --out DIR)")
    else:
        if not args.data:
            raise SystemExit("train needs --data PATH (fer2013.csv or a class-folder tree). Run `python main.py` "
                             "for where to get the data.")
        out = args.out or str(MODEL_DIR / f"{args.arch}-{datetime.now():%Y%m%d-%H%M%S}")
    config = TrainConfig(data=args.data or "", out=out, arch=args.arch, epochs=args.epochs or 60,
                         batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                         schedule=args.schedule, lr_patience=args.lr_patience, patience=args.patience,
                         class_weight=args.class_weight, label_smoothing=args.label_smoothing,
                         augment=not args.no_augment, seed=args.seed, skip_bad_rows=args.skip_bad_rows,
                         val_fraction=args.val_fraction)
    if args.resume and args.epochs is None:
        from .artifacts import read_json
        from .train import RESUME_STATE
        state_file = Path(out) / RESUME_STATE
        if state_file.exists():
            config.epochs = read_json(state_file)["config"]["epochs"]
    train(config, resume=bool(args.resume), replace_default=args.replace_default)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="main.py", description=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(USAGE)
        return 0
    args = build_parser().parse_args(argv)
    from .data import DataError
    from .train import TrainingError
    try:
        return args.func(args)
    except (DataError, TrainingError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
