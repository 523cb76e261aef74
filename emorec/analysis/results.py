"""What one input's analysis accumulates and writes: the running summary, the bounded timeline and its plot,
and the annotated video that is read back before it is kept. Memory stays flat however long the input is."""

import numpy as np

from emorec.common.artifacts import save_figure
from emorec.common.labels import COLORS_BGR, EMOTIONS
from emorec.core.faces import Faces

#: Most points a video's timeline keeps: when all are used, neighbours merge and each covers twice the time.
TIMELINE_POINTS = 512


class Summary:
    """Label shares and mean probabilities per track and overall, as running totals: for "overall" and
    each track id, a 2×7 array of label counts (row 0) and probability sums (row 1)."""

    def __init__(self):
        self._totals = {}

    def add(self, faces: Faces) -> None:
        """One frame's (or image's) classified faces; each counts overall and for its track id."""
        probs = faces.classified_probs()
        for track, label, p in zip(faces.numbers.tolist(), np.argmax(probs, axis=1).tolist(), probs.astype(np.float64)):
            for key in ("overall", track):
                totals = self._totals.setdefault(key, np.zeros((2, len(EMOTIONS))))
                totals[0, label] += 1
                totals[1] += p

    @property
    def faces(self):
        """Faces added so far (face-frames, for a video)."""
        return int(self._totals["overall"][0].sum()) if "overall" in self._totals else 0

    def result(self):
        def stats(totals):
            n = int(totals[0].sum())
            return {"face_frames": n,
                    "label_share": {e: float(totals[0, k] / n) for k, e in enumerate(EMOTIONS)} if n else {},
                    "mean_probs": {e: float(totals[1, k] / n) for k, e in enumerate(EMOTIONS)} if n else {}}
        tracks = sorted(k for k in self._totals if k != "overall")
        return {"overall": stats(self._totals.get("overall", np.zeros((2, len(EMOTIONS))))),
                "tracks": {str(t): stats(self._totals[t]) for t in tracks}}


class Timeline:
    """Mean probability of each emotion over time in at most ``points`` points, however long the video.

    ``add(faces)`` once per analysed frame, ``step_s`` seconds apart. Each point averages ``width``
    consecutive analysed frames (1 at first); when all points are used, neighbours merge and ``width`` doubles.
    ``points`` defaults to :data:`TIMELINE_POINTS`.
    """

    def __init__(self, step_s, points=None):
        points = points or TIMELINE_POINTS
        self.step_s, self.width, self.frames = step_s, 1, 0
        self._sums = np.zeros((points + points % 2, len(EMOTIONS)))   # per point: frames' mean probs, summed
        self._counts = np.zeros(len(self._sums))                      # per point: frames with a face

    def add(self, faces: Faces) -> None:
        """One analysed frame's classified faces (none: the frame counts, with no point value)."""
        point = self.frames // self.width
        if point == len(self._sums):
            half = point // 2
            self._sums[:half] = self._sums.reshape(half, 2, -1).sum(1)
            self._counts[:half] = self._counts.reshape(half, 2).sum(1)
            self._sums[half:], self._counts[half:] = 0, 0
            self.width, point = 2 * self.width, half
        if len(faces):
            self._sums[point] += np.mean(faces.classified_probs().astype(np.float64), axis=0)
            self._counts[point] += 1
        self.frames += 1

    def points(self):
        """(times (P,) in s, mean probabilities (P, 7) with NaN where no frame of the point had a face)."""
        used = -(-self.frames // self.width)
        first = np.arange(used) * self.width
        last = np.minimum(first + self.width, self.frames) - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return (first + last) / 2 * self.step_s, self._sums[:used] / self._counts[:used, None]


def timeline_figure(timeline, title, duration_s=None):
    """A :class:`Timeline` as a figure: one line per emotion against time over the video's ``duration_s``
    (default: the analysed frames' span), the legend right of the plot; "no face found" across it when no
    frame had a face."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 3.5))
    t, probs = timeline.points()
    found = bool(np.isfinite(probs).any())
    if found:
        for k, e in enumerate(EMOTIONS):
            b, g, r = COLORS_BGR[e]
            ax.plot(t, probs[:, k], label=e, color=(r / 255, g / 255, b / 255), linewidth=1.5)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no face found", transform=ax.transAxes, ha="center", va="center", fontsize=16,
                color="0.45")
    duration_s = duration_s or timeline.frames * timeline.step_s
    if duration_s > 0:
        ax.set_xlim(0, duration_s)
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability\n(mean over faces)")
    ax.set_title(title if timeline.width == 1 else f"{title} (each point: mean of {timeline.width} analysed frames)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_timeline(timeline, path, title, duration_s=None):
    import matplotlib.pyplot as plt
    fig = timeline_figure(timeline, title, duration_s)
    try:
        save_figure(fig, path, dpi=90)
    finally:
        plt.close(fig)
