"""One frame's faces as one record of arrays, :class:`Faces`, and one face of it as an object, :class:`Face`.

:class:`Faces` is what goes through the pipeline: the detectors produce it (boxes, scores, eyes), classification
adds the probabilities, tracking the ids and the smoothed probabilities; drawing, the CSV writers, the summaries,
the Ray results and the HTTP answers take it (``server/schema.Face`` is built from :class:`Face`'s fields). As a
sequence it holds :class:`Face` objects, so ``for face in rec(frame): face.label`` reads as it always has.

>>> faces = rec(frame_bgr)                  # Faces: faces.boxes (N, 4), faces.probs (N, 7), faces.ids (N,)
>>> faces.labels, faces[0].probs["happy"], [f.as_dict() for f in faces]
"""

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from emorec.common.errors import InputError
from emorec.common.labels import EMOTIONS, NUM_CLASSES

Box = tuple[int, int, int, int]


def _about(description: str, example: Any, **json: Any) -> dict[str, Any]:
    """A :class:`Face` field's metadata, from which ``server/schema.Face`` is built: what it is, an example, and
    ``json``: its JSON type where it is not the field's (``type=``) and pydantic ``Field`` checks (``ge=0``)."""
    return {"description": description, "example": example, "json": json}


_PROBS_EXAMPLE = {"angry": 0.01, "disgust": 0.0, "fear": 0.02, "happy": 0.91, "sad": 0.01, "surprise": 0.03,
                  "neutral": 0.02}


@dataclass
class Face:
    """One recognized face. ``box`` is (x, y, w, h) in frame pixels; ``probs`` maps every emotion to
    its (smoothed, unrounded) probability, in :data:`labels.EMOTIONS` order, summing to 1."""
    id: int = field(metadata=_about("track id: the same face keeps its id across a stream's frames", 1))
    box: Box = field(metadata=_about("[x, y, w, h] in the image's pixels", [182, 58, 139, 139], type=list[int],
                                     min_length=4, max_length=4))
    probs: dict[str, float] = field(repr=False, metadata=_about(
        "all 7 emotions' probabilities (unrounded, summing to 1)", _PROBS_EXAMPLE))
    label: str = field(default="", metadata=_about("the most probable emotion", "happy"))
    confidence: float = field(default=0.0, metadata=_about("the label's probability", 0.91, ge=0, le=1))

    def row(self) -> list:
        """The face as CSV values in :data:`FACE_COLUMNS` order (probabilities to 6 decimals)."""
        return [self.id, *self.box, self.label, f"{self.confidence:.6f}", *(f"{self.probs[e]:.6f}" for e in EMOTIONS)]

    def as_dict(self) -> dict:
        """The face as JSON-ready data, keys in :data:`JSON_FIELDS` order:
        ``{"id", "box": [x, y, w, h], "label", "confidence", "probs": {...}}``."""
        return {"id": self.id, "box": list(self.box), "label": self.label, "confidence": self.confidence,
                "probs": dict(self.probs)}

    @classmethod
    def from_probs(cls, track_id: int, box: ArrayLike, probs: np.ndarray) -> "Face":
        k = int(np.argmax(probs))
        x, y, w, h = (int(v) for v in np.asarray(box).reshape(4))
        return cls(int(track_id), (x, y, w, h), {name: float(p) for name, p in zip(EMOTIONS, probs)},
                   EMOTIONS[k], float(probs[k]))


#: CSV columns of :meth:`Face.row`, shared by the window's recordings, `main.py analyze` and the server's jobs.
FACE_COLUMNS = ["id", "x", "y", "w", "h", "label", "confidence", *EMOTIONS]
#: The keys of :meth:`Face.as_dict`, in the order written (the HTTP API's ``Face``).
JSON_FIELDS = ("id", "box", "label", "confidence", "probs")


@dataclass(frozen=True, eq=False)
class Faces:
    """A frame's N faces as arrays, in one order:

    - ``boxes`` (N, 4) int: (x, y, w, h) in frame pixels;
    - ``scores`` (N,) float32: the detector's confidence (1 where it gives none);
    - ``eyes`` (N, 2, 2) float32: the (x, y) of the subject's right eye (on the image's left) and left eye, NaN
      where the detector has no keypoints;
    - ``probs`` (N, 7) float32 or None (not classified yet): the emotions' probabilities, smoothed once tracked;
    - ``ids`` (N,) int64 or None (not tracked yet): track ids (a still's faces are numbered 1..N).

    It is also the sequence of its faces as :class:`Face` objects (which need ``probs``); :meth:`of_boxes` makes
    one from boxes alone, :meth:`of` from :class:`Face` objects. Equal to another ``Faces`` whose arrays are
    equal, and to a list of the same :class:`Face` objects (``faces == []`` when none)."""
    boxes: np.ndarray
    scores: np.ndarray
    eyes: np.ndarray
    probs: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes).reshape(-1, 4).astype(int, copy=False)
        n = len(boxes)
        arrays = {"boxes": boxes,
                  "scores": np.asarray(self.scores, np.float32).reshape(n),
                  "eyes": np.asarray(self.eyes, np.float32).reshape(n, 2, 2),
                  "probs": None if self.probs is None else np.asarray(self.probs, np.float32).reshape(n, NUM_CLASSES),
                  "ids": None if self.ids is None else np.asarray(self.ids, np.int64).reshape(n)}
        for name, value in arrays.items():
            object.__setattr__(self, name, value)

    # ---------------------------------------------------------------- making one

    @classmethod
    def of_boxes(cls, boxes: ArrayLike, scores: ArrayLike | None = None, **arrays: Any) -> "Faces":
        """Faces from (N, 4) boxes alone: scores 1 (or ``scores``), eyes unknown; ``arrays``: ``probs``, ``ids``."""
        boxes = np.asarray(boxes).reshape(-1, 4)
        n = len(boxes)
        return cls(boxes, np.ones(n, np.float32) if scores is None else np.asarray(scores, np.float32),
                   np.full((n, 2, 2), np.nan, np.float32), **arrays)

    @classmethod
    def empty(cls) -> "Faces":
        """No face."""
        return cls.of_boxes(np.zeros((0, 4), int))

    @classmethod
    def of(cls, faces: Iterable[Face]) -> "Faces":
        """:class:`Face` objects (e.g. made by hand, or read back) as a record."""
        faces = list(faces)
        return cls.of_boxes([f.box for f in faces], probs=[[f.probs[e] for e in EMOTIONS] for f in faces],
                            ids=[f.id for f in faces])

    @classmethod
    def concat(cls, parts: Iterable["Faces"]) -> "Faces":
        """One record of several, in order (probabilities and ids kept where every part has them)."""
        parts = list(parts)
        if not parts:
            return cls.empty()

        def joined(name: str) -> np.ndarray | None:
            values = [getattr(p, name) for p in parts]
            return None if any(v is None for v in values) else np.concatenate(values)
        return cls(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]),
                   np.concatenate([p.eyes for p in parts]), joined("probs"), joined("ids"))

    def replace(self, **changes: Any) -> "Faces":
        """A copy with ``changes`` to its arrays by name (``probs=…``, ``ids=…``, ``boxes=…``)."""
        return dataclasses.replace(self, **changes)

    def select(self, which: ArrayLike) -> "Faces":
        """The faces a boolean mask or an index array picks, in that order."""
        which = np.asarray(which)
        if which.dtype != bool:
            which = which.astype(np.intp).reshape(-1)
        return Faces(self.boxes[which], self.scores[which], self.eyes[which],
                     None if self.probs is None else self.probs[which], None if self.ids is None else self.ids[which])

    # ---------------------------------------------------------------- reading it

    def __len__(self) -> int:
        return len(self.boxes)

    @overload
    def __getitem__(self, index: int) -> Face: ...

    @overload
    def __getitem__(self, index: slice) -> "Faces": ...

    def __getitem__(self, index: int | slice) -> "Face | Faces":
        """Face ``index`` as a :class:`Face` (ids 1..N where the faces are not tracked); a slice: those faces as a
        record (:meth:`select`)."""
        if isinstance(index, slice):
            return self.select(np.arange(len(self))[index])
        probs = self.classified_probs()
        i = range(len(self))[index]       # negative indexes count from the end; out of range raises IndexError
        return Face.from_probs(self.numbers[i], self.boxes[i], probs[i])

    def __iter__(self) -> Iterator[Face]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Faces):
            return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))
        if isinstance(other, (list, tuple)):
            return (not self and not other) or (self.probs is not None and list(self) == list(other))
        return NotImplemented

    __hash__ = None   # type: ignore[assignment]   # arrays: not hashable

    def __repr__(self) -> str:
        return (f"Faces({len(self)} face{'s' * (len(self) != 1)}"
                f"{', classified' if self.probs is not None else ''}{', tracked' if self.ids is not None else ''})")

    @property
    def numbers(self) -> np.ndarray:
        """(N,) int: the track ids, or 1..N where the faces are not tracked (a still's numbering)."""
        return self.ids if self.ids is not None else np.arange(1, len(self) + 1)

    @property
    def labels(self) -> list[str]:
        """Each face's most probable emotion."""
        return [EMOTIONS[k] for k in np.argmax(self.classified_probs(), axis=1)]

    @property
    def confidences(self) -> np.ndarray:
        """(N,) float32: each face's label's probability."""
        return self.classified_probs().max(axis=1, initial=0.0)

    def rows(self) -> list[list]:
        """The CSV values of each face in :data:`FACE_COLUMNS` order (:meth:`Face.row`)."""
        return [face.row() for face in self]

    def as_dicts(self) -> list[dict]:
        """Each face as JSON-ready data (:meth:`Face.as_dict`), as the HTTP API answers."""
        return [face.as_dict() for face in self]

    def classified_probs(self) -> np.ndarray:
        """``probs``, which must be set where there are faces: (N, 7) float32 (no face: an empty array)."""
        if self.probs is None and not len(self):
            return np.zeros((0, NUM_CLASSES), np.float32)
        if self.probs is None:
            raise InputError("these faces have not been classified yet: they have boxes but no probabilities "
                             "(Recognizer.classify_detection adds them)")
        return self.probs


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
