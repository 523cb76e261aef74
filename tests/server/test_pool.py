"""The shared engine pool (emorec.server.pool)."""

import cv2

from tests.helpers import astronaut


def test_the_pool_is_its_recognizers_detector_full_scans_and_near_searches(client):
    pool = client.app.state.pool
    recognizer = pool.recognizer(smoothing=0)
    assert recognizer.detector is pool and pool.color and hasattr(pool, "near")   # blazeface: near searches too
    assert recognizer.full_scan_every > 1
    image = astronaut()
    found = pool.detect(image)
    assert len(pool(image)) == 1 and len(found.boxes) == 1 and len(pool.near(image, found.boxes).boxes) == 1
    assert [len(recognizer(image)) for _ in range(3)] == [1, 1, 1]
    assert recognizer.last_scan == "near"


def test_a_haar_pool_searches_near_known_faces():
    from emorec.core.detector import DetectorSettings
    from emorec.server.pool import EnginePool
    pool = EnginePool(size=1, settings=DetectorSettings(detector="haar"))
    recognizer = pool.recognizer(smoothing=0)
    assert recognizer.full_scan_every > 1 and not pool.color     # near searches between full scans
    gray = cv2.cvtColor(astronaut(), cv2.COLOR_BGR2GRAY)
    boxes = pool(gray)
    assert len(boxes) == 1 and len(pool.near(gray, boxes)) == 1
    assert [len(recognizer(astronaut())) for _ in range(3)] == [1, 1, 1]
