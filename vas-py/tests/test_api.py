"""The engine's API over SQLite and PostgreSQL: cameras, streams, snapshots, bookmarks,
recordings, live view, and the errors of each."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import vas
from conftest import wait_for


def test_cameras_crud_never_returns_the_password(engine, camera):
    cam = engine.add_camera("door", camera.url, "admin", "s3cret-pw")
    assert cam.name == "door"
    assert cam.has_credentials is True
    assert "s3cret-pw" not in cam.rtsp_url and "s3cret-pw" not in repr(cam)
    assert cam.transport == "tcp"
    assert cam.created_at.tzinfo is not None
    assert [c.id for c in engine.cameras()] == [cam.id]
    assert engine.camera(cam.id).name == "door"

    renamed = engine.update_camera(cam.id, name="front door", transport="udp")
    assert (renamed.name, renamed.transport) == ("front door", "udp")
    assert renamed.has_credentials is True

    with pytest.raises(vas.AlreadyExists):
        engine.add_camera("front door", camera.url)
    engine.remove_camera(cam.id)
    with pytest.raises(vas.NotFound) as e:
        engine.camera(cam.id)
    assert e.value.kind == "not_found"
    assert engine.cameras() == []


def test_streams_start_and_stop(engine, camera):
    cam = engine.add_camera("synth", camera.url)
    streams = engine.streams(cam.id)
    assert [(s.profile, s.device_id) for s in streams] == [("main", cam.id)]
    sid = streams[0].id
    assert engine.stream(sid).state == "stopped"
    started = engine.start(sid)
    assert started.running is True
    wait_for("the stream to be live", lambda: engine.stream(sid).state == "live")
    wait_for("fps to be measured", lambda: engine.stream(sid).fps > 0)
    assert engine.stream(sid).last_error is None
    assert "Stream(id='" in repr(engine.stream(sid))
    stopped = engine.stop(sid)
    assert stopped.running is False
    wait_for("the stream to stop", lambda: engine.stream(sid).state == "stopped")
    assert engine.streams(cam.id)[0].id == sid


def test_snapshots(engine, camera):
    cam = engine.add_camera("synth", camera.url)
    sid = engine.streams(cam.id)[0].id
    with pytest.raises(vas.Unavailable):
        engine.snapshot(sid)  # not started
    engine.start(sid)
    wait_for("the stream to be live", lambda: engine.stream(sid).state == "live")
    jpeg = engine.snapshot(sid, width=320)
    assert isinstance(jpeg, bytes) and jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    image = engine.snapshot_image(sid)
    assert (image.width, image.height, image.offline) == (640, 360, False)
    assert bytes(image)[:2] == b"\xff\xd8" and len(image) == len(bytes(image))
    assert image.time.tzinfo is not None

    saved = engine.save_snapshot(sid, "doorbell")
    assert saved.label == "doorbell" and saved.stream_id == sid
    listed = engine.snapshots(stream_id=sid)
    assert [s.id for s in listed] == [saved.id]
    assert engine.snapshot_file(saved.id)[:2] == b"\xff\xd8"
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert engine.snapshots(start=future) == []
    engine.delete_snapshot(saved.id)
    assert engine.snapshots() == []
    with pytest.raises(vas.NotFound):
        engine.snapshot_file(saved.id)
    with pytest.raises(vas.InvalidInput, match="timezone-aware"):
        engine.snapshot(sid, at=datetime.now())
    with pytest.raises(vas.InvalidInput):
        engine.snapshot(sid, width=0)


def test_bookmark_becomes_a_clip(engine, camera, tmp_path):
    cam = engine.add_camera("synth", camera.url)
    sid = engine.streams(cam.id)[0].id
    engine.start(sid)
    wait_for("the stream to be live", lambda: engine.stream(sid).state == "live")
    events = engine.events(timeout=30)
    wait_for("a second of pre-roll", lambda: engine.stream(sid).frames > 40)
    b = engine.add_bookmark(sid, label="someone at the door", before=1.0, after=1.0)
    assert (b.state, b.before, b.after, b.label) == ("pending", 1.0, 1.0, "someone at the door")
    with pytest.raises(vas.FailedPrecondition):
        engine.bookmark_clip(b.id)
    for e in events:
        if isinstance(e, vas.BookmarkEvent) and e.bookmark_id == b.id and e.state != "pending":
            assert e.state == "ready", e
            break
    events.close()
    assert engine.bookmark(b.id).state == "ready"
    clip = engine.bookmark_clip(b.id)
    assert isinstance(clip, Path) and clip.exists()
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(clip)], capture_output=True, text=True, check=True)
    assert 1.5 <= float(probe.stdout) <= 3.0, probe.stdout
    assert [x.id for x in engine.bookmarks(stream_id=sid)] == [b.id]
    engine.delete_bookmark(b.id)
    assert engine.bookmarks() == []
    with pytest.raises(vas.InvalidInput):
        engine.add_bookmark(sid, before=-1)
    with pytest.raises(vas.InvalidInput):
        engine.add_bookmark(sid, after=3600)


def test_recordings(engine, camera):
    cam = engine.add_camera("synth", camera.url)
    sid = engine.streams(cam.id)[0].id
    engine.set_recording(sid, True)
    engine.start(sid)
    wait_for("a recording", lambda: len(engine.recordings(stream_id=sid)) > 0, timeout=30)
    rec = engine.recordings(stream_id=sid)[0]
    assert rec.stream_id == sid and rec.start.tzinfo is not None
    assert engine.recording(rec.id).id == rec.id
    engine.set_recording(sid, False)
    with pytest.raises(vas.NotFound):
        engine.recording("00000000-0000-7000-8000-000000000000")


def test_webrtc_needs_a_bind_address_and_a_real_offer(tmp_path, camera):
    with vas.Vas(data_dir=tmp_path / "a") as plain:
        cam = plain.add_camera("synth", camera.url)
        sid = plain.streams(cam.id)[0].id
        with pytest.raises(vas.Unsupported, match="not enabled"):
            plain.webrtc_answer(sid, "v=0\r\n")
    with vas.Vas(data_dir=tmp_path / "b", webrtc_bind="127.0.0.1:0") as v:
        cam = v.add_camera("synth", camera.url)
        sid = v.streams(cam.id)[0].id
        v.start(sid)
        with pytest.raises(vas.InvalidInput):
            v.webrtc_answer(sid, "this is not SDP")
        assert v.webrtc_close(12345) is False
    with pytest.raises(vas.InvalidInput, match="webrtc_bind"):
        vas.Vas(data_dir=tmp_path / "c", webrtc_bind="not an address")


def test_closed_engine_raises_closed(tmp_path):
    v = vas.Vas(data_dir=tmp_path)
    v.close()
    v.close()  # harmless
    with pytest.raises(vas.Closed) as e:
        v.cameras()
    assert e.value.kind == "closed"


def test_two_engines_in_one_process(tmp_path, camera):
    with vas.Vas(data_dir=tmp_path / "one") as a, vas.Vas(data_dir=tmp_path / "two") as b:
        ids = []
        for v in (a, b):
            cam = v.add_camera("synth", camera.url)
            sid = v.streams(cam.id)[0].id
            v.start(sid)
            ids.append(sid)
        fa = a.frames(ids[0], timeout=20)
        fb = b.frames(ids[1], timeout=20)
        assert fa.read().width == 640 and fb.read().width == 640
        assert a.cameras()[0].id != b.cameras()[0].id
        fa.close()
        fb.close()
