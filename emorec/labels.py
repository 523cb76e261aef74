"""Constants defined once for the whole project: class names, colours, input size, paths."""

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

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
MODEL_DIR = PROJECT_DIR / "model"
DEFAULT_MODEL_DIR = MODEL_DIR / "default"
MODEL_FILENAME = "emotion_cnn.h5"
DEFAULT_MODEL = DEFAULT_MODEL_DIR / MODEL_FILENAME
CASCADE_PATH = PROJECT_DIR / "haarcascade_frontalface_default.xml"
CACHE_DIR = PROJECT_DIR / "data" / "cache"
