"""Command line of UI.py: parse flags, build the recognizer, open the window."""

import argparse
import sys

from emorec.cli.entry import run_entry_point
from emorec.cli.flags import add_recognizer_flags, recognizer_options
from emorec.common.argtypes import HelpFormatter
from emorec.common.invocation import prog
from emorec.common.quiet import quiet_libraries


def build_parser():
    p = argparse.ArgumentParser(prog=prog("UI.py"), formatter_class=HelpFormatter,
                                description="Live facial emotion recognition in a window: every face is boxed "
                                            "in its emotion's colour, with the probabilities of the largest (or "
                                            "clicked) face as bars. Keys: space = pause, q/Esc = quit.",
                                epilog="Exit codes: 0 closed normally; 2 could not start (the message says why and "
                                       "what to change); 130 interrupted (Ctrl-C).")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--source", help="a video or image file to show instead of the camera")
    src.add_argument("--camera", type=int, default=0, help="camera index")
    p.add_argument("--mirror", action="store_true", help="mirror the picture (selfie view)")
    p.add_argument("--loop", action="store_true", help="loop video files instead of stopping on the last frame")
    p.add_argument("--output-dir", help="where snapshots and recordings are saved (default: ~/Pictures/emorec if "
                                        "there is a ~/Pictures folder, else ~/emorec; created when first needed)")
    p.add_argument("--record-video", action="store_true", help="recordings also save an annotated .mp4")
    add_recognizer_flags(p)
    return p


def main(argv=None):
    """Returns the exit code: 0, 2 for a problem the message explains, 130 after Ctrl-C."""
    quiet_libraries()
    args = build_parser().parse_args(argv)
    return run_entry_point(lambda: _run(args))


def _run(args):
    from emorec.core.recognizer import Recognizer
    recognizer = Recognizer(options=recognizer_options(args))
    try:
        import tkinter as tk
    except ImportError as e:
        print(f"error: Tkinter is not installed ({e}); install your system's python3-tk package.", file=sys.stderr)
        return 2
    try:
        root = tk.Tk()
    except tk.TclError as e:
        print(f"error: cannot open a window ({e}). Tkinter needs a display; on Linux install python3-tk "
              "and run inside a desktop session (or Xvfb).", file=sys.stderr)
        return 2
    from emorec.desktop.window import App
    app = App(root, recognizer, args.source if args.source else args.camera, camera=args.camera,
              output_dir=args.output_dir,
              loop=args.loop, mirror=args.mirror, record_video=args.record_video)
    try:
        root.mainloop()
    except KeyboardInterrupt:
        app.close()   # stop the worker: the camera is released and a recording in progress is saved
        return 130
    return 0
