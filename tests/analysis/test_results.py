"""emorec.analysis.results: the summary and the timeline."""

import numpy as np
import pytest

from emorec.analysis.results import Timeline, timeline_figure
from emorec.core.faces import Face, Faces


def face(probs, track=1):
    return Face.from_probs(track, (0, 0, 10, 10), np.asarray(probs, float))


def test_timeline_legend_is_outside_the_plot():
    timeline = Timeline(0.1)
    for k in range(20):
        timeline.add(Faces.of([face(np.eye(7)[k % 7] * 0.4 + 0.6 / 7)]))
    fig = timeline_figure(timeline, "clip.avi")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert not ax.get_legend().get_window_extent().overlaps(ax.get_window_extent())
    assert fig.get_window_extent().contains(*ax.get_legend().get_window_extent().max)


def test_timeline_keeps_a_bounded_number_of_points():
    timeline = Timeline(0.5, points=8)
    for k in range(100):
        timeline.add(Faces.of([face(np.eye(7)[3] * 0.5 + 0.5 / 7)] if k < 50 else []))
    t, probs = timeline.points()
    assert len(t) <= 8 and timeline.width == 16 and timeline.frames == 100
    assert t[0] == pytest.approx(7.5 * 0.5) and t[-1] == pytest.approx((96 + 99) / 2 * 0.5)
    assert probs[0, 3] == pytest.approx(0.5 + 0.5 / 7) and np.isnan(probs[-1]).all()


def test_the_timeline_of_a_video_without_a_face_says_so_over_its_length():
    timeline = Timeline(0.1)
    for _ in range(120):
        timeline.add(Faces.empty())
    fig = timeline_figure(timeline, "clip.avi", duration_s=12.0)
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 12.0) and [t.get_text() for t in ax.texts] == ["no face found"]
    assert ax.get_legend() is None
