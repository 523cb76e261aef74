"""The shared engine pool (emorec.server.pool)."""

import cv2

from tests.helpers import astronaut


def test_the_pool_is_its_recognizers_detector_full_scans_and_near_searches(client):
    pool = client.app.state.pool
    recognizer = pool.recognizer(smoothing=0)
    assert recognizer.detector is pool and recognizer.full_scan_every > 1     # near searches between full scans
    gray = cv2.cvtColor(astronaut(), cv2.COLOR_BGR2GRAY)
    boxes = pool(gray)
    assert len(boxes) == 1 and len(pool.near(gray, boxes)) == 1
    assert [len(recognizer(astronaut())) for _ in range(3)] == [1, 1, 1]
