"""Constants defined once for the whole project: class names, colours, input size, paths."""

import os
from pathlib import Path

#: FER2013 label order (the ``emotion`` column of the Kaggle CSV is an index into this).
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)

#: Side of the square grayscale face crop every model sees, in pixels.
INPUT_SIZE = 48

#: Box and bar colour per emotion, BGR (OpenCV order), chosen to be told apart at a glance.
COLORS_BGR = {
    "angry": (40, 40, 220),      # red
    "disgust": (40, 140, 40),    # dark green
    "fear": (170, 60, 150),      # purple
    "happy": (40, 200, 250),     # yellow
    "sad": (200, 120, 40),       # blue
    "surprise": (30, 140, 255),  # orange
    "neutral": (170, 170, 170),  # grey
}
#: The same colours as "#rrggbb" (Tk, the web pages).
COLORS_HEX = {name: "#%02x%02x%02x" % (b[2], b[1], b[0]) for name, b in COLORS_BGR.items()}

#: Folder-name aliases accepted for PNG/JPG class folders (lower-cased).
CLASS_ALIASES = {
    "angry": "angry", "anger": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear", "afraid": "fear",
    "happy": "happy", "happiness": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral",
}

#: File types read as images (the window, ``analyze``, class-folder datasets) and as videos, lower-case.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})

#: Kaggle ``Usage`` value -> split name used throughout the project.
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_TO_USAGE = {split: usage for usage, split in USAGE_TO_SPLIT.items()}

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: An installed wheel carries the shipped model and the cascade in the package (pyproject.toml maps them
#: there); a source checkout keeps them at its top level, as the project promises.
_ASSETS = PACKAGE_DIR / "assets"
PROJECT_DIR = PACKAGE_DIR.parent
_INSTALLED = (_ASSETS / "model").is_dir()
#: Where new training runs go by default: model/ in the checkout, or in the current folder when installed.
MODEL_DIR = Path("model") if _INSTALLED else PROJECT_DIR / "model"
DEFAULT_MODEL_DIR = _ASSETS / "model" if _INSTALLED else PROJECT_DIR / "model" / "default"
#: The small network for slow CPUs (issue 21), chosen with ``--model model/fast``.
FAST_MODEL_DIR = _ASSETS / "fast" if _INSTALLED else PROJECT_DIR / "model" / "fast"
#: The ensemble for stills, analyze and the server's uploads (issue 29), chosen with ``--model model/accurate``.
ACCURATE_MODEL_DIR = _ASSETS / "accurate" if _INSTALLED else PROJECT_DIR / "model" / "accurate"
#: The shipped models by the names a user may give ``--model`` (``model/NAME`` or ``NAME``), found wherever
#: the package lives when no such path exists in the current folder.
SHIPPED_MODELS = {"default": DEFAULT_MODEL_DIR, "fast": FAST_MODEL_DIR, "accurate": ACCURATE_MODEL_DIR}
#: The shipped models that are one network (the others are ensembles of them and of their own members).
SINGLE_MODELS = ("default", "fast")


def shipped_model_name(folder: Path) -> str | None:
    """The name (``default``, ``fast``, ``accurate``) of the shipped model that lives in ``folder``; None for any other
    folder."""
    return next((name for name, d in SHIPPED_MODELS.items() if Path(folder).resolve() == d.resolve()), None)


#: What ``--help`` says of model/fast (figures from model/README.md, "Model v4": "model/fast, third stage").
FAST_MODEL_BLURB = ("the small network: 75 M multiply-adds per face instead of 264 M (2.8× faster per pass), "
                    "3.2 points less accurate live (PrivateTest 69.43 % instead of 72.61 %) and weaker on fear and sad "
                    "(balanced accuracy 67.8 % instead of 71.4 %)")
#: What ``--help`` says of model/accurate (figures from model/README.md, "Model v4").
ACCURATE_MODEL_BLURB = ("for stills, analyze and uploads, the ensemble model/accurate: two networks, 4 passes per face "
                        "instead of 2, PrivateTest 73.14 % instead of 72.61 %")
MODEL_FILENAME = "emotion_cnn.h5"
#: An ensemble folder's manifest: its members, averaged (:func:`emorec.network.files.ensemble_members`).
ENSEMBLE_FILENAME = "ensemble.json"
DEFAULT_MODEL = DEFAULT_MODEL_DIR / MODEL_FILENAME
CASCADE_PATH = (_ASSETS if _INSTALLED else PROJECT_DIR) / "haarcascade_frontalface_default.xml"
#: MediaPipe's BlazeFace face detectors (Apache-2.0, see NOTICE), beside the cascade: the full-range model
#: (192×192 input, faces from ~1/20 of the frame side up) and the short-range one (128×128, close faces).
BLAZEFACE_FULL_PATH = (_ASSETS if _INSTALLED else PROJECT_DIR) / "face_detection_full_range_sparse.tflite"
BLAZEFACE_SHORT_PATH = (_ASSETS if _INSTALLED else PROJECT_DIR) / "face_detection_short_range.tflite"


def user_cache_dir():
    """The user's cache folder for emorec ($XDG_CACHE_HOME/emorec, else ~/.cache/emorec): parsed datasets and
    model exports that cannot go beside their model. Never the source tree."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "emorec"
