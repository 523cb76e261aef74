"""Command line of main.py: train, evaluate, calibrate, preview, analyze. Thin: parse flags, call the package."""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from .labels import DEFAULT_MODEL, MODEL_DIR, MODEL_FILENAME

USAGE = """\
emotion recognizer — training and analysis (the live window is `python UI.py`)

  python main.py train    --data data/fer2013.csv      train a model (saved under model/)
  python main.py evaluate --model PATH --data PATH     accuracy, per-class report, confusion matrix
  python main.py calibrate --model PATH --data PATH    choose a model's inference blur on validation
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
                   help="vgg: project default (2 convs per stage, 32-256 wide); vgg-wide: the same 48-384 wide "
                        "(the shipped model); deep: the seeds' 4-conv 64/128/512/512 network; shallow: the seeds' "
                        "2-conv network")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 60; with --resume, the saved run's)")
    p.add_argument("--batch-size", type=int, default=128, help="images per training step")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    p.add_argument("--schedule", choices=("plateau", "cosine"), default="plateau",
                   help="plateau: halve the LR after --lr-patience epochs without a val accuracy gain; "
                        "cosine: decay to 0 over --epochs")
    p.add_argument("--lr-patience", type=int, default=3,
                   help="epochs without a val accuracy gain before the plateau schedule halves the LR")
    p.add_argument("--patience", type=int, default=12, help="early-stopping patience in epochs (0 = off)")
    p.add_argument("--class-weight", choices=("none", "balanced"), default="none",
                   help="balanced: weight each class by n/(7·count) to help rare classes (Disgust)")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the cross-entropy loss")
    p.add_argument("--no-augment", action="store_true", help="turn off flips/rotations/shifts/zoom/erasing")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling, augmentation and splits")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of train held out for validation when the data has no validation split")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="leave out malformed CSV rows / unreadable images (and report how many) instead of stopping")
    p.add_argument("--ferplus", metavar="CSV",
                   help="FER+ votes (fer2013new.csv, Kaggle CSV data only): train on a mix of the FER2013 label "
                        "and the 10 annotators' vote shares; validation and test keep the FER2013 labels")
    p.add_argument("--ferplus-weight", type=float, default=0.5,
                   help="share of the FER+ votes in the training targets, 0..1")
    p.add_argument("--init-from", metavar="MODEL",
                   help="start from this model's weights (a .h5 or run folder of the same --arch), e.g. to "
                        "fine-tune the shipped model on your data or give a finished run another LR cycle")
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
    if not 0 <= args.ferplus_weight <= 1:
        raise SystemExit(f"--ferplus-weight must be between 0 and 1, got {args.ferplus_weight}")
    # Absolute, so that --resume works from any working directory.
    config = TrainConfig(data=str(Path(args.data).resolve()) if args.data else "", out=out, arch=args.arch,
                         epochs=args.epochs if args.resume else (args.epochs or 60),
                         batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                         schedule=args.schedule, lr_patience=args.lr_patience, patience=args.patience,
                         class_weight=args.class_weight, label_smoothing=args.label_smoothing,
                         augment=not args.no_augment, seed=args.seed, skip_bad_rows=args.skip_bad_rows,
                         val_fraction=args.val_fraction,
                         init_from=str(Path(args.init_from).resolve()) if args.init_from else "",
                         ferplus=str(Path(args.ferplus).resolve()) if args.ferplus else "",
                         ferplus_weight=args.ferplus_weight)
    train(config, resume=bool(args.resume), replace_default=args.replace_default)
    return 0


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="score a model on a dataset split",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Accuracy, per-class precision/recall/F1 and confusion matrices (Markdown, JSON, "
                                   "PNG) of a model on one split; PrivateTest is the CSV's test split.")
    p.add_argument("--model", help="model .h5 or run folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or class-folder tree")
    p.add_argument("--split", choices=("test", "val", "train"), default="test",
                   help="test = PrivateTest for the Kaggle CSV; val = PublicTest")
    p.add_argument("--tta", action="store_true", help="also report horizontal-flip test-time augmentation")
    p.add_argument("--out", help="folder for the reports (default: beside the model)")
    p.add_argument("--skip-bad-rows", action="store_true", help="leave out malformed rows/files instead of stopping")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args):
    from .data import describe, load_dataset
    from .evaluate import evaluate
    dataset = load_dataset(args.data, skip_bad=args.skip_bad_rows)
    print(describe(dataset))
    report = evaluate(args.model, dataset, split=args.split, out_dir=args.out, tta=args.tta)
    print(f"{report['split']} accuracy: {100 * report['plain']['accuracy']:.2f} % "
          f"(macro F1 {report['plain']['macro_f1']:.3f}, n={report['plain']['n']})")
    if "tta" in report:
        print(f"{report['split']} accuracy with flip TTA: {100 * report['tta']['accuracy']:.2f} %")
    print(f"(inference blur σ = {report['blur_sigma']:g}, from the model's metadata)")
    print("wrote " + ", ".join(report["files"].values()))
    return 0


def _add_calibrate(sub):
    p = sub.add_parser("calibrate", help="choose a model's inference blur on the validation split",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Score a few Gaussian blurs of the input (which undo the mismatch between "
                                   "augmented training images and sharp live crops) on the validation split "
                                   "(PublicTest) and store the best in the model's metadata. Training does this "
                                   "when a run completes; use this for a run that was stopped early.")
    p.add_argument("--model", required=True, help="model .h5 or run folder")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or class-folder tree (its validation split is used)")
    p.add_argument("--skip-bad-rows", action="store_true", help="leave out malformed rows/files instead of stopping")
    p.set_defaults(func=_run_calibrate)


def _run_calibrate(args):
    from .calibrate import calibrate, describe
    from .data import load_dataset
    record = calibrate(args.model, load_dataset(args.data, skip_bad=args.skip_bad_rows))
    print(describe(record))
    print(f"inference blur σ = {record['blur_sigma']:g} written to the model's metadata")
    return 0


def _add_preview(sub):
    p = sub.add_parser("preview", help="save a grid of sample faces per class",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or class-folder tree")
    p.add_argument("--split", choices=("train", "val", "test"), default="train", help="which split to sample")
    p.add_argument("--per-class", type=int, default=8, help="samples per class")
    p.add_argument("--seed", type=int, default=0, help="seed for picking the samples")
    p.add_argument("--out", default="preview.png", help="PNG file to write")
    p.add_argument("--skip-bad-rows", action="store_true", help="leave out malformed rows/files instead of stopping")
    p.set_defaults(func=_run_preview)


def _run_preview(args):
    from .data import load_dataset
    from .preview import preview_grid
    dataset = load_dataset(args.data, skip_bad=args.skip_bad_rows)
    x, y = dataset.split(args.split)
    preview_grid(x, y, args.out, per_class=args.per_class, seed=args.seed, title=f"{dataset.source} — {args.split}")
    print(f"wrote {args.out}")
    return 0


def _add_analyze(sub):
    from .options import add_recognizer_flags
    p = sub.add_parser("analyze", help="label faces in images, folders and videos",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Annotated copies, per-frame CSVs, summaries and timelines for images, "
                                   "folders (recursive) and videos. Re-running skips finished files.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image, video or folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--every", type=int, default=1, help="analyse every Nth video frame")
    p.add_argument("--no-video", action="store_true", help="videos: write the CSV, summary and timeline only")
    p.add_argument("--overwrite", action="store_true", help="redo files that are already done")
    p.add_argument("--workers", type=int, default=1, help="files analysed in parallel processes")
    add_recognizer_flags(p)
    p.set_defaults(func=_run_analyze)


def _run_analyze(args):
    from .analyze import AnalyzeOptions, analyze_paths, report
    from .options import recognizer_kwargs
    if args.every < 1 or args.workers < 1:
        raise SystemExit("--every and --workers must be at least 1")
    options = AnalyzeOptions(every=args.every, no_video=args.no_video, overwrite=args.overwrite,
                             recognizer=recognizer_kwargs(args))
    return report(analyze_paths(args.paths, args.out, options, workers=args.workers), args.out)


def build_parser():
    parser = argparse.ArgumentParser(prog="main.py", description=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    _add_evaluate(sub)
    _add_calibrate(sub)
    _add_preview(sub)
    _add_analyze(sub)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(USAGE)
        return 0
    args = build_parser().parse_args(argv)
    from .classifier import ModelError
    from .data import DataError
    from .detector import DetectorError
    from .train import TrainingError
    try:
        return args.func(args)
    except (DataError, TrainingError, ModelError, DetectorError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
