"""The pages in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium), against
a real server on a free port, with no network but this machine. The live page gets a fake camera that plays a
video made from a test photo.

Skipped, saying why, only where Chromium or its driver is absent — and never in CI (CI=true), where a
missing browser fails the test. Screenshots go to a temporary folder, or to docs/ with
EMOREC_SCREENSHOTS=docs (how docs/live.png and docs/upload.png are made).
"""

import csv
import io
import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

if not (CHROMIUM and DRIVER):
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser test: install chromium and chromium-driver (apt)", pytrace=False)
    pytest.skip("Chromium or chromedriver not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def astronaut_640x480():
    from skimage import data
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    frame = np.full((480, 640, 3), 40, np.uint8)
    frame[:, 64:576] = image[16:496]
    return frame


def write_y4m(path, frame, count=30):
    """A YUV4MPEG2 clip of ``count`` copies of ``frame``: the format Chromium's fake camera plays."""
    h, w = frame.shape[:2]
    i420 = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(count):
            f.write(b"FRAME\n" + i420)
    return path


@pytest.fixture(scope="module")
def server(live_server):
    return live_server


#: No network but this machine: every host name fails to resolve, so a page that needed the internet (a CDN)
#: would show it here, as it would for a user offline.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service
    camera = write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m", astronaut_640x480())
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,800", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}", OFFLINE):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})     # the console, for console_errors()
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def screenshot(driver, name, tmp_path):
    folder = ROOT / "docs" if os.environ.get("EMOREC_SCREENSHOTS") == "docs" else tmp_path
    driver.save_screenshot(str(folder / name))


def test_live_page_boxes_and_labels_the_fake_cameras_face(server, browser, tmp_path):
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "1 face" in d.find_element(By.ID, "readout").text)
    readout = browser.find_element(By.ID, "readout").text
    assert "frames/s" in readout and "round trip" in readout
    face = browser.execute_script("return live.faces[0]")
    assert face["label"] in browser.execute_script("return emorec.info.classes")
    # the box is drawn on the canvas in the label's colour. The canvas shows the answer of its last redraw and
    # live.faces may already hold a newer one (a box a pixel away): read both in one script until they agree.
    def top_edge_in_its_colour(d):
        return d.execute_script(
            "const f = live.faces[0]; if (!f) return false;"
            "const [x, y, w] = f.box, c = document.getElementById('view').getContext('2d');"
            "const p = c.getImageData(640 - x - w + Math.floor(w / 2), y, 1, 1).data;"
            "const hex = '#' + Array.from(p.slice(0, 3), v => v.toString(16).padStart(2, '0')).join('');"
            "return hex === emorec.info.colors[f.label];")
    wait.until(top_edge_in_its_colour)
    bars = [b.text.split() for b in browser.find_elements(By.CSS_SELECTOR, "#bars .bar")]
    assert len(bars) == 7 and all(row[-1].endswith("%") for row in bars)
    assert not browser.find_element(By.ID, "message").is_displayed()
    assert not browser.find_element(By.ID, "snapshot").get_attribute("disabled")
    # the bars are redrawn when an answer comes, not on every animation frame
    browser.execute_script("const draw = emorec.drawBars; window.barDraws = 0; window.sentBefore = live.seq;"
                           "emorec.drawBars = (...args) => { barDraws++; return draw(...args); };")
    time.sleep(1)
    draws, sent = browser.execute_script("return [barDraws, live.seq - sentBefore]")
    assert draws <= sent + 1          # one answer may have been on its way
    screenshot(browser, "live.png", tmp_path)


def test_snapshot_and_recording_are_confirmed_and_a_recording_counts_from_its_start(server, browser):
    browser.get(server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "1 face" in d.find_element(By.ID, "readout").text)
    wait.until(lambda d: d.execute_script("return live.seq") > 5)      # frames before Record, not recorded
    browser.execute_script("window.saved = []; emorec.download = (blob, name) => "
                           "blob.text().then((text) => saved.push({name, text}));")
    status = browser.find_element(By.ID, "status")
    browser.find_element(By.ID, "snapshot").click()
    wait.until(lambda d: "snapshot saved: emotions-" in status.text)
    browser.find_element(By.ID, "record").click()
    wait.until(lambda d: d.execute_script("return live.recording && live.recording.length") >= 3)
    browser.find_element(By.ID, "record").click()
    wait.until(lambda d: "recording saved:" in status.text and ".csv" in status.text)
    seq = browser.execute_script("return live.seq")
    wait.until(lambda d: d.execute_script("return live.seq") > seq + 3)   # replies came, and the line stayed
    assert "recording saved:" in status.text
    csv_file = next(f for f in browser.execute_script("return saved") if f["name"].endswith(".csv"))
    rows = list(csv.DictReader(io.StringIO(csv_file["text"])))
    frames = [int(r["frame"]) for r in rows]
    assert frames[0] == 0 and frames == sorted(frames) and len(rows) >= 3     # frame 0 = the first recorded
    assert 0 <= float(rows[0]["time_s"]) < 5


def test_upload_page_annotates_an_image(server, browser, tmp_path):
    photo = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(photo), astronaut_640x480())
    browser.get(server + "/upload")
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return emorec.info !== null"))
    assert browser.find_element(By.ID, "model").text == "Model: default/emotion_cnn.h5"   # which one answers
    browser.find_element(By.ID, "files").send_keys(str(photo))
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card canvas"))
    card = browser.find_element(By.CSS_SELECTOR, ".card")
    assert card.find_element(By.TAG_NAME, "h3").text == "astronaut.jpg"
    assert card.find_element(By.CLASS_NAME, "summary").text.startswith("1 face: ")
    assert "download annotated PNG" in card.text
    screenshot(browser, "upload.png", tmp_path)


def test_a_denied_camera_says_what_to_do(server, tmp_path):
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--deny-permission-prompts",
                "--use-fake-device-for-media-stream"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get(server + "/")
        message = WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.ID, "message").text if "denied" in d.find_element(By.ID, "message").text
            else None)
        assert "Allow the camera" in message and "Images & videos" in message
    finally:
        driver.quit()


def test_upload_page_runs_a_video_job_and_offers_its_files(server, browser, tmp_path):
    from tests.helpers import write_video
    frames = [np.roll(astronaut_640x480(), 6 * i, axis=1) for i in range(6)]
    clip = write_video(tmp_path / "talk.avi", frames, fps=6)
    browser.get(server + "/upload")
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return emorec.info !== null"))
    # which files go to /api/jobs is the server's list of video types (labels.VIDEO_EXTENSIONS)
    assert browser.execute_script("return [isVideo({name: 'a.MKV', type: ''}), isVideo({name: 'a.mpg', type: ''}),"
                                  "isVideo({name: 'a.png', type: 'image/png'}), isVideo({name: 'mp4', type: ''})]") \
        == [True, True, False, False]
    browser.find_element(By.ID, "files").send_keys(str(clip))
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card .links a"))
    card = browser.find_element(By.CSS_SELECTOR, ".card")
    links = {a.text: a.get_attribute("href") for a in card.find_elements(By.CSS_SELECTOR, ".links a")}
    assert set(links) == {"annotated", "frames csv", "timeline", "summary"}
    assert card.find_element(By.CLASS_NAME, "summary").text.startswith("6 frames")
    assert card.find_element(By.TAG_NAME, "img").get_attribute("naturalWidth") != "0"    # the timeline shows
    # the annotated video plays in the page: the browser decodes its frames (H.264, not OpenCV's mp4v)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "const v = document.querySelector('.card video'); return v && v.readyState >= 2 && v.videoWidth === 640"))
    assert browser.execute_script("return document.querySelector('.card video').duration") == pytest.approx(1, abs=0.2)
    screenshot(browser, "upload-video.png", tmp_path)


def test_the_live_page_says_so_when_the_server_goes_away(browser, tmp_path):
    """A server of its own, stopped while the page is open: no stale boxes or readout, a message instead."""
    import socket
    import threading

    import uvicorn

    from emorec.server.app import ServeOptions, create_app
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(ServeOptions(jobs_dir=str(tmp_path))), host="127.0.0.1",
                                        port=port, log_level="critical"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    browser.get(f"http://127.0.0.1:{port}/")
    WebDriverWait(browser, 30).until(lambda d: "1 face" in d.find_element(By.ID, "readout").text)
    srv.should_exit = True
    thread.join(10)
    message = WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.ID, "message").text if d.find_element(By.ID, "message").is_displayed() else None)
    assert "connection to the emorec server was lost" in message
    assert browser.find_element(By.ID, "readout").text == "" and browser.execute_script("return live.faces.length") == 0


def console_errors(driver):
    """The console's errors since the last call (a resource that failed to load is one)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_api_docs_list_every_operation_with_no_network(server, browser, tmp_path):
    console_errors(browser)
    browser.get(server + "/api/docs")
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 6)
    operations = {(b.find_element(By.CLASS_NAME, "opblock-summary-method").text,
                   b.find_element(By.CLASS_NAME, "opblock-summary-path").text)
                  for b in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
    assert operations == {("GET", "/api/health"), ("POST", "/api/recognize"), ("POST", "/api/jobs"),
                          ("GET", "/api/jobs/{job_id}"), ("DELETE", "/api/jobs/{job_id}"),
                          ("GET", "/api/jobs/{job_id}/files/{name}")}
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(server + "/") for url in loaded), loaded
    # an operation opens with its request body's content types and its error statuses
    browser.find_element(By.CSS_SELECTOR, "#operations-images-recognize_api_recognize_post .opblock-summary").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".responses-table .response"))
    codes = {r.get_attribute("data-code") for r in browser.find_elements(By.CSS_SELECTOR, ".responses-table .response")}
    assert {"200", "400", "413", "415", "422"} <= codes
    screenshot(browser, "api-docs.png", tmp_path)
    assert console_errors(browser) == []


def test_the_pages_log_no_error_in_the_console(server, tmp_path):
    """Not even the favicon's 404 (a browser of its own, whose network log shows when the icon has come; the
    docs page's console is checked by the test above)."""
    import json

    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", OFFLINE):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)

    def icon_answered(d):
        for entry in d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.responseReceived" and \
                    message["params"]["response"]["url"].endswith("/favicon.ico"):
                return message["params"]["response"]["status"]
        return None
    try:
        driver.get(server + "/upload")
        assert WebDriverWait(driver, 20).until(icon_answered) == 200
        assert console_errors(driver) == []
    finally:
        driver.quit()


def test_the_live_readout_never_shows_more_frames_than_the_camera_gives(server, browser):
    browser.get(server + "/")
    WebDriverWait(browser, 30).until(lambda d: "1 face" in d.find_element(By.ID, "readout").text)
    time.sleep(2.5)                       # a full rate window of answers
    camera = browser.execute_script("return video.srcObject.getVideoTracks()[0].getSettings().frameRate")
    shown = float(browser.find_element(By.ID, "readout").text.split(" frames/s")[0])
    assert 0 < shown <= camera * 1.03
