"""Command line of main.py: train, evaluate, calibrate, preview, analyze. Thin: parse flags, call the package."""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from emorec.cli.entry import run_entry_point
from emorec.common.argtypes import HelpFormatter, number
from emorec.common.errors import InputError
from emorec.common.invocation import command, prog, python
from emorec.common.labels import MODEL_DIR
from emorec.common.quiet import quiet_libraries, require_training_libraries

USAGE = """\
emotion recognizer — training and analysis (the live window is `{ui}`)

  {main} train    --data data/fer2013.csv      train a model (saved under model/)
  {main} evaluate --model PATH --data PATH     accuracy, per-class report, confusion matrix
  {main} calibrate --model PATH --data PATH    choose a model's input blur on validation
  {main} ensemble MODEL MODEL ... --out DIR    one model that averages several (e.g. model/accurate)
  {main} preview  --data PATH                  a grid of sample faces per class
  {main} analyze  PATH [PATH ...] --out DIR    label faces in images, folders and videos
  {main} serve                                 the browser app and HTTP API on http://127.0.0.1:8000/

Get the data: download fer2013.csv from Kaggle ("Challenges in Representation Learning: Facial
Expression Recognition Challenge") into data/, or use PNG class folders (ROOT/train/<class>/*.png).
`{main} COMMAND --help` documents every flag.

Exit codes: 0 done; 1 analyze finished but some inputs failed; 2 nothing was done because of a problem
with the command line or the input (the message says what to change); 130 interrupted (Ctrl-C / kill).
"""


def usage() -> str:
    """:data:`USAGE` with the commands as this interpreter runs them (e.g. ``.venv/bin/python main.py``)."""
    return USAGE.format(main=command("main.py"), ui=command("UI.py"))


def _command(sub, name, run, **kwargs):
    """One subcommand: its parser (help, description, the help formatter every command uses) and the function
    that runs it."""
    p = sub.add_parser(name, formatter_class=HelpFormatter, **kwargs)
    p.set_defaults(func=run)
    return p


def _add_train(sub):
    from emorec.training.config import add_config_flags
    p = _command(sub, "train", _run_train, help="train a model",
                 description="Train a CNN on FER2013 (the Kaggle CSV or class folders). Every finished epoch "
                             "is saved; Ctrl-C or kill stops after saving, and --resume goes on.")
    add_config_flags(p)
    p.add_argument("--resume", nargs="?", const=True, metavar="DIR",
                   help="continue an interrupted run (in DIR, or in --out) from its last finished epoch; its saved "
                        "settings are kept, only --epochs and --devices may change")
    p.add_argument("--replace-default", action="store_true",
                   help="allow --out model/default or model/fast (the shipped models); refused otherwise")


def _run_train(args):
    require_training_libraries("train")
    from emorec.training.config import config_from_args, given_flags
    config = config_from_args(args)
    if args.resume:
        out = args.resume if isinstance(args.resume, str) else args.out
        if not out:
            raise InputError("--resume needs the run folder: --resume DIR (or --resume --out DIR)")
        ignored = sorted(given_flags(args) - {"epochs", "out", "devices"})
        if ignored:
            flags = ", --".join(n.replace("_", "-") for n in ignored)
            print(f"note: a resumed run keeps its saved settings; ignoring --{flags}")
        config.out = out
        config.epochs = args.epochs     # None: keep the saved run's budget
        config.devices = args.devices   # None: the saved run's device count
    else:
        if not config.data:
            raise InputError(f"train needs --data PATH (fer2013.csv or a class-folder tree). Run `{command()}` "
                             "for where to get the data.")
        config.out = config.out or str(MODEL_DIR / f"{config.arch}-{datetime.now():%Y%m%d-%H%M%S}")
    from emorec.training.train import finish, fit, prepare
    run = prepare(config, resume=bool(args.resume), replace_default=args.replace_default)
    # On a terminal, Keras's progress bars; sent to a file or a pipe, one plain line per epoch (bars there are
    # escape codes and a redrawn line per step: an 8-epoch log was 83 KB).
    interrupted = fit(run, verbose=1 if sys.stdout.isatty() else 2)
    finish(run, interrupted)
    return 130 if interrupted else 0


FIGURE_TYPES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")


def _check_not_a_file_in_the_way(folder, flag):
    """Refuse a folder argument that names a file, or lies under one, before any work is done."""
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise InputError(f"{flag}: {p} is a file, not a folder; choose another path")
            return


def _add_evaluate(sub):
    p = _command(sub, "evaluate", _run_evaluate, help="score a model on a dataset split",
                 description="Accuracy, per-class precision/recall/F1 and confusion matrices (Markdown, JSON, "
                             "PNG) of a model on one split; PrivateTest is the CSV's test split.")
    p.add_argument("--model", help="model .h5, run folder or ensemble folder (default: the shipped model; "
                                   "model/fast: the small one for slow CPUs; model/accurate: the ensemble)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or class-folder tree")
    p.add_argument("--split", choices=("test", "val", "train"), default="test",
                   help="test = PrivateTest for the Kaggle CSV; val = PublicTest")
    p.add_argument("--tta", action="store_true", help="also report horizontal-flip test-time augmentation")
    p.add_argument("--ferplus", metavar="CSV",
                   help="FER+ votes (fer2013new.csv; Kaggle CSV data): also score against the FER+ majority labels")
    p.add_argument("--out", help="folder for the reports (default: beside the model)")
    p.add_argument("--skip-bad-rows", action="store_true", help="leave out malformed rows/files instead of stopping")


def _run_evaluate(args):
    from emorec.training.data import describe, load_dataset
    from emorec.training.evaluate import calibration_text, evaluate
    if args.out:
        _check_not_a_file_in_the_way(Path(args.out), "--out")
    if args.ferplus and not Path(args.ferplus).is_file():
        raise InputError(f"FER+ votes not found: {args.ferplus}. Get fer2013new.csv from github.com/microsoft/FERPlus, "
                         "or leave out --ferplus.")
    dataset = load_dataset(args.data, skip_bad=args.skip_bad_rows)
    print(describe(dataset))
    report = evaluate(args.model, dataset, split=args.split, out_dir=args.out, tta=args.tta, ferplus=args.ferplus)
    print(f"{report['split']} accuracy: {100 * report['plain']['accuracy']:.2f} % "
          f"(macro F1 {report['plain']['macro_f1']:.3f}, balanced {100 * report['plain']['balanced_accuracy']:.2f} %, "
          f"n={report['plain']['n']})")
    if "tta" in report:
        print(f"{report['split']} accuracy with flip TTA: {100 * report['tta']['accuracy']:.2f} % "
              f"(balanced {100 * report['tta']['balanced_accuracy']:.2f} %)")
    print(calibration_text(report))
    for key, name in (("plain", ""), ("tta", " with flip TTA")):
        if key in report.get("ferplus", {}):
            fp = report["ferplus"]
            print(f"against the FER+ majority labels{name}: {100 * fp[key]['accuracy']:.2f} % "
                  f"(balanced {100 * fp[key]['balanced_accuracy']:.2f} %, n={fp['kept']})")
    print("wrote " + ", ".join(report["files"].values()))
    return 0


def _add_calibrate(sub):
    p = _command(sub, "calibrate", _run_calibrate, help="choose a model's input blur on the validation split",
                 description="Score a few Gaussian blurs of the input (which undo the mismatch between "
                             "augmented training images and sharp live crops) on the validation split "
                             "(PublicTest) and build the best into the model file (two fixed layers in "
                             "front of the network). Training does this when a run completes; use this "
                             "for a run that was stopped early.")
    p.add_argument("--model", required=True, help="model .h5 or run folder (with --temperature also an ensemble "
                                                  "folder)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or class-folder tree (its validation split is used)")
    p.add_argument("--skip-bad-rows", action="store_true", help="leave out malformed rows/files instead of stopping")
    p.add_argument("--temperature", action="store_true",
                   help="instead of the blur: choose the softmax temperature that makes the probabilities honest "
                        "(lowest negative log-likelihood on the validation split) and build it into the last "
                        "layer (an ensemble's goes into its ensemble.json, applied to the members' mean); a single "
                        "pass's labels stay, confidences change. For distilled models and ensembles, which are "
                        "under-confident")


def _run_calibrate(args):
    require_training_libraries("calibrate", tensorflow=True)    # it scores each blur through the LiteRT export
    from emorec.network.files import resolve_model_path
    from emorec.training.calibrate import calibrate, calibrate_temperature, describe, describe_temperature
    from emorec.training.data import load_dataset
    resolve_model_path(args.model)          # a missing model is named before the data is read
    dataset = load_dataset(args.data, skip_bad=args.skip_bad_rows)
    if args.temperature:
        print(describe_temperature(calibrate_temperature(args.model, dataset)))
        return 0
    record = calibrate(args.model, dataset)
    print(describe(record))
    print(f"input blur σ = {record['sigma']:g} built into {resolve_model_path(args.model)} (recorded in its "
          "metadata)")
    return 0


def _add_ensemble(sub):
    p = _command(sub, "ensemble", _run_ensemble, help="combine models into one that averages their probabilities",
                 description="Write an ensemble folder: each face goes through every member and their "
                             "probabilities are averaged (with the flip TTA on top, as for one model). "
                             "Slower per face (one pass per member) and more accurate: meant for stills, "
                             "analyze and the server's uploads. Members that are not shipped models are "
                             "copied into the folder with their LiteRT exports. Every command that takes "
                             "--model takes the folder; score it with `evaluate --model DIR`.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model files or folders (at least two)")
    p.add_argument("--out", required=True, help="the ensemble folder to write, e.g. model/accurate")


def _run_ensemble(args):
    from emorec.common.errors import output_error
    from emorec.network.ensemble import build_ensemble
    try:
        manifest = build_ensemble(args.models, args.out)
    except OSError as e:
        raise output_error(Path(args.out), e, what="write the ensemble") from None
    print(f"wrote {Path(args.out) / 'ensemble.json'}: {manifest['arch']}, members " + ", ".join(manifest["members"]))
    print(f"score it: {command('main.py')} evaluate --model {args.out} --data data/fer2013.csv --split val --tta")
    return 0


def _add_preview(sub):
    p = _command(sub, "preview", _run_preview, help="save a grid of sample faces per class",
                 description="Save a PNG grid of random sample faces, one row per emotion (with each class's "
                             "count), to eyeball a dataset or a split before training.")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or class-folder tree")
    p.add_argument("--split", choices=("train", "val", "test"), default="train", help="which split to sample")
    p.add_argument("--per-class", type=number(int, 1), default=8, help="samples per class")
    p.add_argument("--seed", type=int, default=0, help="seed for picking the samples")
    p.add_argument("--out", default="preview.png", help="PNG file to write")
    p.add_argument("--skip-bad-rows", action="store_true", help="leave out malformed rows/files instead of stopping")


def _run_preview(args):
    require_training_libraries("preview")
    from emorec.training.data import load_dataset
    from emorec.training.preview import preview_grid
    if Path(args.out).suffix.lower() not in FIGURE_TYPES:
        raise InputError(f"--out {args.out}: the grid is saved as an image; end the name in "
                         f"{', '.join(FIGURE_TYPES)} (e.g. preview.png)")
    _check_not_a_file_in_the_way(Path(args.out).parent, "--out")
    dataset = load_dataset(args.data, skip_bad=args.skip_bad_rows)
    x, y = dataset.split(args.split)
    preview_grid(x, y, args.out, per_class=args.per_class, seed=args.seed, title=f"{dataset.source} — {args.split}")
    print(f"wrote {args.out}")
    return 0


def _add_analyze(sub):
    from emorec.analysis.outputs import AnalyzeOptions
    from emorec.analysis.ray_engine import SEGMENT_FRAMES
    from emorec.common.options import add_flags
    p = _command(sub, "analyze", _run_analyze, help="label faces in images, folders and videos",
                 description="Annotated copies, per-frame CSVs, summaries and timelines for images, "
                             "folders (recursive) and videos. Re-running skips finished files.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image, video or folder")
    p.add_argument("--out", required=True, help="output folder")
    add_flags(p, AnalyzeOptions)
    p.add_argument("--workers", type=number(int, 1),
                   help="local engine: files analysed in parallel processes (default 1); ray engine: Ray workers, "
                        "each with its own model (default: one per CPU of the cluster)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this machine's processes; ray: a Ray cluster (" + python() + " -m pip install -r "
                        "requirements-cluster.txt), videos cut into segments that all workers share")
    p.add_argument("--address", metavar="HOST:PORT",
                   help="ray engine: join the cluster `ray start --head` started (default: start a local Ray for "
                        "this run); every node needs this project at the same path and the inputs on shared storage")
    p.add_argument("--segment-frames", type=number(int, 1),
                   help=f"ray engine: frames per video segment, the unit of work (default: {SEGMENT_FRAMES})")


def _run_analyze(args):
    from emorec.analysis.analyze import analyze_paths
    from emorec.analysis.outputs import AnalyzeOptions
    from emorec.cli.terminal import report
    from emorec.common.options import from_args
    options = from_args(AnalyzeOptions, args)
    if args.engine == "local" and (args.address or args.segment_frames):
        raise InputError("--address and --segment-frames belong to --engine ray; add --engine ray")
    cluster = {"segment_frames": args.segment_frames} if args.segment_frames else {}
    return report(analyze_paths(args.paths, args.out, options, workers=args.workers, engine=args.engine,
                                address=args.address, **cluster), args.out, options.recognizer.settings)


def _add_serve(sub):
    from emorec.common.options import add_flags
    from emorec.server.options import ServeOptions
    p = _command(sub, "serve", _run_serve, help="the browser app and HTTP API",
                 description="Serve the live camera page (/), the upload page (/upload) and the HTTP API "
                             "(/api/recognize, /api/stream, /api/jobs, /api/health; docs at /api/docs).")
    add_flags(p, ServeOptions)


def _run_serve(args):
    from emorec.common.options import from_args
    from emorec.server.app import serve
    from emorec.server.options import ServeOptions
    serve(from_args(ServeOptions, args))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog=prog("main.py"), description=usage(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    _add_evaluate(sub)
    _add_calibrate(sub)
    _add_ensemble(sub)
    _add_preview(sub)
    _add_analyze(sub)
    _add_serve(sub)
    return parser


def main(argv=None):
    """Run one command; returns the exit code (see :data:`USAGE`). Every error a user can fix is caught here,
    once, and printed as one message; none reaches the terminal as a traceback."""
    quiet_libraries()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(usage())
        return 0
    args = build_parser().parse_args(argv)
    return run_entry_point(lambda: args.func(args))
