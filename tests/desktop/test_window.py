"""The window under Xvfb (conftest.display starts it), and its command line (emorec/ui_main.py)."""

import csv
import gc
import os
import re
import shutil
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

tk = pytest.importorskip("tkinter")

from emorec.common.labels import EMOTIONS  # noqa: E402
from emorec.core.detector import DetectorSettings  # noqa: E402
from emorec.core.faces import Faces  # noqa: E402
from emorec.core.recognizer import Recognizer  # noqa: E402
from emorec.core.records import CSV_COLUMNS  # noqa: E402
from emorec.desktop.readout import no_face_hint  # noqa: E402
from emorec.desktop.window import App  # noqa: E402
from tests.helpers import CountingRecognizer, FakeClassifier, FakeDetector, moving_square_frames, write_video  # noqa: E402


def pump(root, until, timeout=10.0):
    """Run the Tk event loop until ``until()`` is true; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not until():
        if time.monotonic() > end:
            pytest.fail("the window did not reach the expected state")
        root.update()
        time.sleep(0.005)


def canvas_text(app):
    """What the picture says when it has no frame (an error and the hint)."""
    return " ".join(app.canvas.itemcget(i, "text") for i in app.canvas.find_withtag("message"))


def pump_for(root, seconds):
    end = time.monotonic() + seconds
    pump(root, lambda: time.monotonic() > end)


def fake_recognizer():
    return Recognizer(detector=FakeDetector([[40, 60, 100, 100]]), classifier=FakeClassifier(),
                      settings=DetectorSettings(pad=0))


@pytest.fixture
def app_factory(display, tmp_path):
    apps = []

    def make(source, recognizer=None, **kw):
        kw.setdefault("output_dir", tmp_path)
        app = App(tk.Tk(), recognizer or fake_recognizer(), source, **kw)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()
    # Collect the closed windows here, on the Tk thread: a Tk variable freed by a garbage collection that
    # happens to run on a later test's worker thread aborts the process ("Tcl_AsyncDelete: wrong thread").
    apps.clear()
    gc.collect()


@pytest.fixture
def video(tmp_path):
    return str(write_video(tmp_path / "clip.avi", moving_square_frames(20), fps=100))


def test_shows_labelled_frames_and_closes_cleanly(app_factory, video):
    app = app_factory(video, loop=True)       # still playing when the readout is refreshed (4× a second)
    pump(app.root, lambda: app.frames_shown >= 5 and "frames/s" in app.readout.get())   # refreshed 4× a second
    faces = app.latest.faces
    assert len(faces) == 1 and faces[0].label in EMOTIONS
    assert app.photo is not None and app.canvas.find_all()
    bar_texts = [app.bars.itemcget(i, "text") for i in app.bars.find_all() if app.bars.type(i) == "text"]
    assert set(EMOTIONS) <= set(bar_texts) and any(t.endswith("%") for t in bar_texts)
    assert re.search(r"recognize [\d.]+ ms \(network [\d.]+ ms\)\ndisplay [\d.]+ ms$", app.readout.get())
    # the readout has room for a slow CPU's figures (two digits each), not only this host's
    from tkinter import font, ttk

    from emorec.desktop.readout import READOUT_WIDEST
    label = next(w for w in app.bars.master.winfo_children()
                 if isinstance(w, ttk.Label) and str(w.cget("textvariable")) == str(app.readout))
    widest = font.nametofont("TkDefaultFont").measure(READOUT_WIDEST)
    assert label.winfo_width() >= widest and int(label.master.grid_columnconfigure(0)["minsize"]) >= widest
    worker = app.worker
    app.close()
    assert not worker.is_alive()


def test_no_camera_shows_a_message_offers_files_and_cannot_be_paused(app_factory, video):
    app = app_factory(57)
    pump(app.root, lambda: "no camera" in canvas_text(app))
    texts = canvas_text(app)
    assert "no camera found at index 57" in texts and "Open video" in texts
    assert app.status.get() == ""                       # said once, on the picture, not again below it
    assert {"Open video…", "Open image…", "Camera"} <= set(app.button)
    app.toggle_pause()                                  # nothing to pause: no flip to "Resume"
    assert app.button["Pause"].cget("text") == "Pause" and app.button["Pause"].instate(["disabled"])
    app.start(video)                                   # still usable: pick a file instead
    pump(app.root, lambda: app.frames_shown >= 2)
    assert app.button["Pause"].instate(["!disabled"])


def test_unreadable_file_keeps_the_app_usable(app_factory, tmp_path, video):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"garbage")
    app = app_factory(str(bad))
    pump(app.root, lambda: "cannot read video" in canvas_text(app))
    app.start(video)
    pump(app.root, lambda: app.frames_shown >= 2)


def test_an_exception_in_the_recognizer_reaches_the_window(app_factory, video):
    rec = CountingRecognizer(RuntimeError("boom\nsecond line"))
    app = app_factory(video, rec)
    pump(app.root, lambda: "RuntimeError" in canvas_text(app))
    message = "internal error: RuntimeError: boom second line. This is a bug in emorec: please report it (EMOREC_DEBUG=1 shows the details)."
    assert canvas_text(app).startswith(message) and "Traceback" not in canvas_text(app)
    assert app.status.get() == ""
    rec.error = None
    app.start(video)                                   # the app stays usable
    pump(app.root, lambda: app.frames_shown >= 2)


def test_a_failed_recording_is_reported_and_frames_keep_coming(app_factory, video, tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    app = app_factory(video, loop=True, output_dir=tmp_path / "file" / "out")
    pump(app.root, lambda: app.frames_shown >= 2)
    app.toggle_record()
    assert app.button["Record"].cget("text") == "Stop recording"
    pump(app.root, lambda: "recording not started" in app.status.get())
    assert "part of that path is a file" in app.status.get()
    assert app.button["Record"].cget("text") == "Record" and not app.recording
    shown = app.frames_shown
    pump(app.root, lambda: app.frames_shown >= shown + 3)
    assert app.snapshot() is None and "cannot create the folder" in app.status.get()


def test_switching_sources_stops_the_old_worker_before_starting_the_new_one(app_factory, video, image):
    gate, lock, state = threading.Event(), threading.Lock(), {"inside": 0, "overlap": False, "calls": 0}
    inner = fake_recognizer()

    class Blocking:
        settings = network_ms = None     # no hint, no network time

        def reset(self):
            inner.reset()

        def __call__(self, frame):
            with lock:
                state["inside"] += 1
                state["calls"] += 1
                state["overlap"] |= state["inside"] > 1
            gate.wait()
            with lock:
                state["inside"] -= 1
            return inner(frame)

        image = __call__     # a still goes through the same gate

    app = app_factory(video, Blocking())
    app.stop_timeout_s = 0.2
    pump(app.root, lambda: state["calls"] >= 1)        # the worker is stuck in the recognizer
    old = app.worker
    app.start(image)
    pump(app.root, lambda: "has not stopped" in app.status.get())
    assert app.worker is old and old.is_alive()          # no second worker on the same recognizer
    gate.set()
    pump(app.root, lambda: app.worker is not old and app.latest is not None and app.latest.still)
    assert not old.is_alive() and not state["overlap"]


def test_end_of_video_keeps_the_last_frame_or_loops(app_factory, video):
    app = app_factory(video)
    pump(app.root, lambda: app.status.get().startswith("end of"))
    assert app.latest.frame == 19 and "frames/s" not in app.readout.get()
    assert app.button["Pause"].instate(["disabled"])
    assert app.button["Record"].instate(["disabled"])         # no frames left: it would write a one-row CSV
    app.toggle_record()                                        # the key or a stale click: nothing starts
    assert not app.recording and "the video has ended" in app.status.get()
    looping = app_factory(video, loop=True)
    pump(looping.root, lambda: looping.frames_shown >= 30)
    assert not looping.status.get().startswith("end of")


def test_a_still_image_is_recognized_once_and_again_when_mirrored(app_factory, image):
    rec = CountingRecognizer()
    app = app_factory(image, rec, loop=True)
    pump(app.root, lambda: app.frames_shown == 1 and "a.png" in app.status.get())
    assert len(app.latest.faces) == 1
    pump_for(app.root, 0.3)
    assert rec.calls == 1 and app.frames_shown == 1
    assert app.readout.get().startswith("still image") and "frames/s" not in app.readout.get()
    app.checks[0].invoke()                              # Mirror
    pump(app.root, lambda: app.frames_shown == 2)
    assert rec.calls == 2 and app.latest.bgr[110, 320 - 1 - 60].sum() > 500   # the square, mirrored


def test_pause_snapshot_and_record(app_factory, video, tmp_path):
    app = app_factory(video, loop=True, record_video=True)
    pump(app.root, lambda: app.frames_shown >= 2)
    shot = app.snapshot()
    assert shot.is_absolute() and app.status.get() == f"saved {shot}"
    assert cv2.imread(str(shot)).shape == (240, 320, 3)
    app.toggle_record()
    pump(app.root, lambda: "recording to" in app.status.get())
    shown = app.frames_shown
    pump(app.root, lambda: app.frames_shown >= shown + 10)
    app.toggle_record()
    pump(app.root, lambda: app.status.get().startswith("saved"))
    csv_path = next(tmp_path.glob("emotions-*.csv"))
    assert str(csv_path) in app.status.get()
    rows = list(csv.DictReader(open(csv_path)))
    assert len(rows) >= 10 and list(rows[0]) == CSV_COLUMNS
    assert all(abs(float(r["time_s"]) - int(r["frame"]) / 100) < 1e-3 for r in rows)   # video time
    assert next(tmp_path.glob("emotions-*.mp4")).stat().st_size > 0
    app.toggle_pause()
    assert app.readout.get().startswith("paused") and "frames/s" not in app.readout.get()
    pump(app.root, lambda: app.results.empty())
    paused_at = app.frames_shown
    pump_for(app.root, 0.3)
    assert app.frames_shown <= paused_at + 1 and app.button["Pause"].cget("text") == "Resume"


def test_output_folder_defaults_outside_the_current_directory(app_factory, image, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    app = app_factory(image, output_dir=None)
    assert app.output_dir == tmp_path / "home" / "emorec"
    pump(app.root, lambda: app.frames_shown == 1)
    assert app.snapshot().parent == tmp_path / "home" / "emorec"
    monkeypatch.chdir(tmp_path)
    relative = app_factory(image, output_dir="shots")
    pump(relative.root, lambda: relative.frames_shown == 1)
    assert relative.snapshot().parent == tmp_path / "shots"


def test_mirror_flips_the_frame(app_factory, tmp_path):
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, :100] = 255
    cv2.imwrite(str(tmp_path / "left.png"), frame)
    app = app_factory(str(tmp_path / "left.png"), mirror=True)
    pump(app.root, lambda: app.frames_shown == 1)
    assert app.latest.bgr[120, 310].sum() > 600 and app.latest.bgr[120, 5].sum() < 200


def test_texts_that_change_do_not_move_the_layout(app_factory, video):
    app = app_factory(video, loop=True)
    app.root.update()
    before = (app.root.winfo_width(), app.bars.winfo_rootx(), app.button["Record"].winfo_width())
    pump(app.root, lambda: "frames/s" in app.readout.get())
    app.toggle_record()
    app.root.update()
    assert app.button["Record"].cget("text") == "Stop recording"
    assert (app.root.winfo_width(), app.bars.winfo_rootx(), app.button["Record"].winfo_width()) == before


def test_a_status_that_wraps_to_two_lines_does_not_shrink_the_picture(app_factory, image):
    app = app_factory(image)
    pump(app.root, lambda: app.frames_shown == 1)
    app.status.set("one line")
    app.root.update()
    picture, one_line = app.canvas.winfo_height(), app.status_label.winfo_reqheight()
    words = 1
    while app.status_label.winfo_reqheight() < 1.5 * one_line:     # the shortest status that wraps
        words += 1
        app.status.set("no face found: " + "move closer " * words)
        app.root.update()
    assert app.status_label.winfo_reqheight() < 2.5 * one_line     # two lines, not three
    assert app.canvas.winfo_height() == picture


def test_small_window_keeps_every_control_reachable(app_factory, image):
    app = app_factory(image)
    root = app.root
    pump(root, lambda: app.frames_shown == 1)
    root.geometry("700x420")
    pump(root, lambda: root.winfo_width() <= 700)
    assert root.minsize()[0] > 320 and root.minsize()[1] > 240
    width, height = root.winfo_width(), root.winfo_height()
    assert height <= 450            # the minimum: the controls (with a three-line readout) and a small picture
    for w in [*app.button.values(), *app.checks]:
        x, y = w.winfo_rootx() - root.winfo_rootx(), w.winfo_rooty() - root.winfo_rooty()
        assert x >= 0 and x + w.winfo_width() <= width and y >= 0 and y + w.winfo_height() <= height, w.cget("text")
    assert app.canvas.winfo_width() < 640 and app.photo.width() <= app.canvas.winfo_width()


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed (apt-get install xdotool)")
def test_keys_do_only_what_the_help_says_whatever_has_focus(app_factory, video, tmp_path):
    app = app_factory(video, loop=True)
    root = app.root
    pump(root, lambda: app.frames_shown >= 2)

    def xdotool(*args):
        subprocess.run(["xdotool", *args], check=True, env=os.environ, timeout=10)

    def click(widget):
        root.update()
        x = widget.winfo_rootx() + widget.winfo_width() // 2
        y = widget.winfo_rooty() + widget.winfo_height() // 2
        xdotool("mousemove", "--sync", str(x), str(y), "click", "1")

    def space_pauses():
        paused = app.paused
        xdotool("key", "space")
        pump(root, lambda: app.paused != paused)
        pump_for(root, 0.15)                          # room for a second effect, if there were one

    click(app.button["Snapshot"])
    pump(root, lambda: len(list(tmp_path.glob("snapshot-*.png"))) == 1)
    space_pauses()
    assert len(list(tmp_path.glob("snapshot-*.png"))) == 1 and app.paused

    click(app.button["Pause"])                          # "Resume"
    pump(root, lambda: not app.paused)
    space_pauses()
    assert app.paused and app.button["Pause"].cget("text") == "Resume"

    click(app.button["Record"])
    pump(root, lambda: "recording to" in app.status.get())
    space_pauses()
    assert app.recording and app.button["Record"].cget("text") == "Stop recording" and not app.paused

    click(app.checks[0])                                # Mirror
    pump(root, lambda: app.mirror.get())
    space_pauses()
    assert app.mirror.get() and app.paused

    xdotool("key", "q")
    pump(root, lambda: app._poll_id is None)             # closed


def test_record_is_not_offered_for_a_still(app_factory, image):
    app = app_factory(image)
    pump(app.root, lambda: app.frames_shown == 1 and app.state == "still")
    assert app.button["Record"].instate(["disabled"]) and app.button["Snapshot"].instate(["!disabled"])
    app.toggle_record()                                  # the key or a stale click: nothing starts
    assert not app.recording and app.status.get() == "a still image has nothing to record: “Snapshot” saves it"
    assert app.snapshot() is not None and app.status.get().startswith("saved ")
    app.mirror.set(True)
    app.toggle_mirror()                                  # the picture changes: the "saved" line was about the old one
    assert app.status.get() == ""


def nobody(detector="haar"):
    return Recognizer(detector=FakeDetector([]), classifier=FakeClassifier(),
                      settings=DetectorSettings(detector=detector))


def test_no_face_for_a_while_names_the_smallest_face_and_the_flags(app_factory, image, video, monkeypatch):
    import emorec.desktop.readout as readout_module
    app = app_factory(image, nobody())                   # a still: said at once
    pump(app.root, lambda: app.frames_shown == 1)
    assert app.status.get() == ("no face of 48 px or more found: open another picture (Open image…), or for "
                                "smaller faces start UI.py with --min-size 24")
    learned = app_factory(image, nobody("blazeface"))    # BlazeFace: its own smallest face, no Haar flags
    pump(learned.root, lambda: learned.frames_shown == 1)
    assert re.fullmatch(r"no face of \d+ px or more found: open another picture \(Open image…\)", learned.status.get())
    monkeypatch.setattr(readout_module, "NO_FACE_S", 0.0)   # a moving source: after NO_FACE_S seconds
    rec = nobody()
    moving = app_factory(video, rec, loop=True)
    pump(moving.root, lambda: moving.status.get().startswith("no face of 48 px or more found: open another video"))
    rec.detector.sequence = ([[40, 60, 100, 100]],)      # a face comes: the status line is put back
    pump(moving.root, lambda: moving.status.get() == f"showing {video}")


def test_the_no_face_hint_says_first_what_can_be_done_in_the_window():
    haar = DetectorSettings(detector="haar")
    assert no_face_hint(haar, 640, camera=True, still=False) == (
        "no face of 48 px or more found: move closer to the camera and face it, or for smaller faces start UI.py "
        "with --min-size 24 --detect-width 0")
    assert no_face_hint(DetectorSettings(detector="blazeface", min_size=1), 640, camera=False, still=False) == \
        "no face of 40 px or more found: open another video (Open video…)"


def test_a_recording_saved_as_the_window_closes_is_logged(app_factory, video, tmp_path, caplog):
    app = app_factory(video, loop=True)
    pump(app.root, lambda: app.frames_shown >= 2)
    app.toggle_record()
    pump(app.root, lambda: "recording to" in app.status.get())
    with caplog.at_level("INFO", logger="emorec"):
        app.close()
    [line] = caplog.messages
    assert line.startswith(f"saved {tmp_path}/emotions-") and line.endswith(".csv")


def test_the_camera_button_opens_the_camera_given_and_dialogs_start_beside_the_file(app_factory, video,
                                                                                  monkeypatch):
    app = app_factory(video, camera=57)
    pump(app.root, lambda: app.frames_shown >= 1)
    from tkinter import filedialog
    asked = {}
    monkeypatch.setattr(filedialog, "askopenfilename", lambda **kw: asked.update(kw) or "")
    app.choose_image()
    assert asked["initialdir"] == os.path.dirname(os.path.abspath(video))
    app.choose_camera()                                 # --camera 57: no such camera here
    pump(app.root, lambda: "no camera found at index 57" in canvas_text(app))


def test_frames_per_second_is_frames_over_wall_time():
    from emorec.desktop.readout import shown_rate
    times, t = [], 0.0
    for i in range(61):                       # a 30 frames/s source whose frames come unevenly: 20 and 46.7 ms
        times.append(t)
        t += 0.020 if i % 2 else 0.0467
    assert shown_rate(times) == pytest.approx(30.0, abs=0.1)
    assert shown_rate(times[:1]) is None and shown_rate([]) is None


def test_the_readout_never_shows_more_frames_per_second_than_the_file_has(app_factory, tmp_path):
    clip = str(write_video(tmp_path / "thirty.avi", moving_square_frames(90), fps=30))
    app = app_factory(clip, loop=True)
    pump(app.root, lambda: app.frames_shown >= 45, timeout=20)
    shown = float(re.match(r"(\d+) frames/s", app.readout.get()).group(1))
    assert 10 <= shown <= 31


def test_a_moving_sources_times_are_medians_and_the_networks_share_is_shown():
    from emorec.desktop.readout import Readout
    from emorec.desktop.worker import Result
    readout, frame = Readout(), np.zeros((4, 4, 3), np.uint8)
    for i, (ms, network) in enumerate([(5.0, 1.0), (5.2, 1.1), (34.0, 1.0), (4.8, 0.9), (5.1, 1.2)]):
        latest = Result(rgba=frame, bgr=frame, faces=Faces.empty(), frame=i, ms=ms, still=False, network_ms=network)
        readout.new_frame(i / 30, latest)
    # the slow frame (a full scan) neither shows nor moves the line; the last frame alone would say 5.1 / 1.2
    assert readout.text(latest, paused=False, state="moving").splitlines()[1] == "recognize 5.1 ms (network 1.0 ms)"
    assert readout.text(latest, paused=True, state="moving").splitlines()[1] == "recognize 5.1 ms (network 1.2 ms)"


def test_a_stills_readout_gives_the_time_it_took_to_show_it(app_factory, image):
    from emorec.desktop.readout import Readout
    app = app_factory(image)
    pump(app.root, lambda: app.frames_shown == 1)
    assert app._readout.display_ms > 0 and f"display {app._readout.display_ms:.1f} ms" in app.readout.get()
    readout = Readout()
    readout.displayed(30.0)
    readout.displayed(5.0, alone=True)                 # a still (again, e.g. after Mirror): its own time
    assert readout.display_ms == 5.0
