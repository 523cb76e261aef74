"""The WebSocket stream (emorec.server.stream)."""

import struct

import cv2

from tests.helpers import astronaut, frame_message


def test_each_stream_has_its_own_tracker_and_bad_messages_keep_it_open(client):
    with client.websocket_connect("/api/stream") as a, client.websocket_connect("/api/stream") as b:
        a.send_bytes(frame_message(1, astronaut()))
        first = a.receive_json()
        b.send_bytes(frame_message(1, astronaut(mirror=True)))     # the face elsewhere: a new track for a shared
        other = b.receive_json()                                     # tracker, id 1 again for its own
        assert first["type"] == other["type"] == "faces" and first["faces"][0]["id"] == other["faces"][0]["id"] == 1
        for seq in (2, 3):
            a.send_bytes(frame_message(seq, astronaut()))
            reply = a.receive_json()
            assert reply["seq"] == seq and reply["faces"][0]["id"] == 1
        cut = frame_message(9, astronaut())
        for bad, message in ((b"xy", "4-byte frame number"), (struct.pack("<I", 9) + b"junk", "not an image"),
                             (cut[:len(cut) // 2], "truncated")):
            a.send_bytes(bad)
            reply = a.receive_json()
            assert reply["type"] == "error" and message in reply["error"]
        a.send_text("not json")
        assert "unknown message" in a.receive_json()["error"]
        a.send_text('{"type": "reset"}')
        assert a.receive_json() == {"type": "reset"}
        a.send_bytes(frame_message(10, astronaut(mirror=True)))
        assert a.receive_json()["faces"][0]["id"] == 1             # ids start again after a reset
        a.send_bytes(struct.pack("<I", 11) + cv2.imencode(".png", astronaut(mirror=True))[1].tobytes())
        assert a.receive_json()["faces"][0]["id"] == 1             # PNG frames too
