"""The engine's API over SQLite and PostgreSQL: devices, streams, snapshots, bookmarks,
recordings, live view, the order of lists, and the errors of each."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import vas
from conftest import wait_for


def test_devices_crud_never_returns_the_password(engine, camera):
    cam = engine.add_device("door", camera.url, username="admin", password="s3cret-pw")
    assert cam.name == "door"
    assert cam.has_credentials is True
    assert "s3cret-pw" not in cam.rtsp_url and "s3cret-pw" not in repr(cam)
    assert cam.rtsp_transport == "tcp" and cam.enabled is True
    assert cam.sub_stream_id is None and cam.sub_rtsp_url is None
    assert cam.created_at.tzinfo is not None and cam.updated_at >= cam.created_at
    assert [c.id for c in engine.devices()] == [cam.id]
    assert engine.device(cam.id) == cam

    renamed = engine.update_device(cam.id, name="front door", rtsp_transport="udp")
    assert (renamed.name, renamed.rtsp_transport) == ("front door", "udp")
    assert renamed.has_credentials is True
    assert renamed.main_stream_id == cam.main_stream_id

    # A sub stream: set by a URL, removed by "".
    with_sub = engine.update_device(cam.id, sub_rtsp_url=camera.url + "?sub")
    assert with_sub.sub_stream_id is not None
    assert [s.profile for s in engine.streams(cam.id)] == ["main", "sub"]
    without = engine.update_device(cam.id, sub_rtsp_url="")
    assert without.sub_stream_id is None and without.sub_rtsp_url is None

    with pytest.raises(vas.AlreadyExists):
        engine.add_device("front door", camera.url)
    engine.remove_device(cam.id)
    with pytest.raises(vas.NotFound) as e:
        engine.device(cam.id)
    assert e.value.kind == "not_found"
    assert engine.devices() == []


def test_lists_come_oldest_first_or_newest_first(engine, camera):
    first = engine.add_device("first", camera.url)
    second = engine.add_device("second", camera.url + "?second")
    assert [d.id for d in engine.devices()] == [first.id, second.id]
    assert [d.id for d in engine.devices("oldest")] == [first.id, second.id]
    assert [d.id for d in engine.devices(order="newest")] == [second.id, first.id]
    assert [s.id for s in engine.streams()] == [first.main_stream_id, second.main_stream_id]
    assert [s.id for s in engine.streams(order="newest")] == [
        second.main_stream_id, first.main_stream_id]
    assert [s.id for s in engine.streams(second.id)] == [second.main_stream_id]
    assert [s.id for s in engine.streams(device_id=first.id, order="newest")] == [
        first.main_stream_id]
    with pytest.raises(vas.NotFound):
        engine.streams("00000000-0000-7000-8000-000000000000")


def test_streams_start_and_stop(engine, camera):
    cam = engine.add_device("synth", camera.url)
    streams = engine.streams(cam.id)
    assert [(s.profile, s.device_id) for s in streams] == [("main", cam.id)]
    sid = streams[0].id
    assert sid == cam.main_stream_id
    s = engine.stream(sid)
    assert (s.state, s.desired_state, s.record, s.recording) == ("stopped", "stopped", False, None)
    started = engine.start_stream(sid)
    assert started.desired_state == "running"
    wait_for("the stream to be live", lambda: engine.stream(sid).state == "live")
    wait_for("fps to be measured", lambda: engine.stream(sid).fps > 0)
    live = engine.stream(sid)
    assert live.last_error is None and live.frames > 0 and live.bitrate_bps > 0
    assert live.last_frame_at is not None and live.last_frame_at.tzinfo is not None
    assert "Stream(id='" in repr(live)
    stopped = engine.stop_stream(sid)
    assert stopped.desired_state == "stopped"
    wait_for("the stream to stop", lambda: engine.stream(sid).state == "stopped")
    assert engine.streams(cam.id)[0].id == sid


def test_snapshots(engine, camera):
    cam = engine.add_device("synth", camera.url)
    sid = cam.main_stream_id
    with pytest.raises(vas.Unavailable):
        engine.snapshot(sid)  # not started
    engine.start_stream(sid)
    wait_for("the stream to be live", lambda: engine.stream(sid).state == "live")
    small = engine.snapshot(sid, width=320)
    jpeg = small.jpeg
    assert isinstance(jpeg, bytes) and jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    assert (small.width, small.height) == (320, 180)
    image = engine.snapshot(sid)
    assert (image.width, image.height, image.offline) == (640, 360, False)
    assert image.time.tzinfo is not None
    assert engine.snapshot(sid, keyframe=True, quality=50).jpeg[:2] == b"\xff\xd8"

    saved = engine.save_snapshot(sid, "doorbell")
    assert saved.label == "doorbell" and saved.stream_id == sid
    assert (saved.width, saved.height) == (640, 360) and saved.bytes > 0
    again = engine.save_snapshot(sid, label="later")
    listed = engine.saved_snapshots(stream_id=sid)
    assert [s.id for s in listed] == [saved.id, again.id]
    assert [s.id for s in engine.saved_snapshots(order="newest", limit=1)] == [again.id]
    assert engine.saved_snapshot(saved.id) == saved
    assert engine.saved_snapshot_image(saved.id)[:2] == b"\xff\xd8"
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert engine.saved_snapshots(from_=future) == []
    engine.delete_snapshot(saved.id)
    engine.delete_snapshot(again.id)
    assert engine.saved_snapshots() == []
    with pytest.raises(vas.NotFound):
        engine.saved_snapshot_image(saved.id)
    with pytest.raises(vas.InvalidInput, match="timezone-aware"):
        engine.snapshot(sid, at=datetime.now())
    with pytest.raises(vas.InvalidInput):
        engine.snapshot(sid, width=0)
    with pytest.raises(vas.InvalidInput):
        engine.saved_snapshots(limit=0)


def test_bookmark_becomes_a_clip(engine, camera, tmp_path):
    cam = engine.add_device("synth", camera.url)
    sid = cam.main_stream_id
    engine.start_stream(sid)
    wait_for("the stream to be live", lambda: engine.stream(sid).state == "live")
    events = engine.events(timeout=30)
    wait_for("a second of pre-roll", lambda: engine.stream(sid).frames > 40)
    b = engine.add_bookmark(sid, label="someone at the door", before=1.0, after=1.0)
    assert (b.state, b.before, b.after, b.label) == ("pending", 1.0, 1.0, "someone at the door")
    assert b.stream_id == sid and b.detail is None and b.clip_location is None
    with pytest.raises(vas.FailedPrecondition):
        engine.bookmark_clip(b.id)
    for e in events:
        if isinstance(e, vas.BookmarkEvent) and e.bookmark_id == b.id and e.state != "pending":
            assert e.state == "ready", e
            assert e.stream_id == sid
            break
    events.close()
    ready = engine.bookmark(b.id)
    assert ready.state == "ready" and ready.clip_location is not None
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


def test_recordings_newest_first(engine, camera):
    cam = engine.add_device("synth", camera.url)
    sid = cam.main_stream_id
    assert engine.set_recording(sid, True).record is True
    engine.start_stream(sid)
    wait_for("a recording", lambda: len(engine.recordings(stream_id=sid)) == 1, timeout=30)
    first = engine.recordings(stream_id=sid)[0]
    assert first.stream_id == sid and first.start.tzinfo is not None
    status = engine.stream(sid).recording
    assert status is not None and status.state == "recording"
    assert status.recording_id == first.id
    assert engine.recording(first.id).id == first.id
    # A second recording: off, then on again.
    assert engine.set_recording(sid, False).record is False
    wait_for("the first recording to end",
             lambda: engine.recording(first.id).end is not None, timeout=30)
    engine.set_recording(sid, True)
    wait_for("a second recording", lambda: len(engine.recordings(stream_id=sid)) == 2,
             timeout=30)
    oldest = [r.id for r in engine.recordings(stream_id=sid)]
    newest = [r.id for r in engine.recordings(stream_id=sid, order="newest")]
    assert oldest[0] == first.id and newest == oldest[::-1]
    assert [r.id for r in engine.recordings(order="newest", limit=1)] == [newest[0]]
    engine.set_recording(sid, False)
    with pytest.raises(vas.NotFound):
        engine.recording("00000000-0000-7000-8000-000000000000")


def test_webrtc_needs_a_bind_address_and_a_real_offer(tmp_path, camera):
    with vas.Vas(data_dir=tmp_path / "a") as plain:
        cam = plain.add_device("synth", camera.url)
        with pytest.raises(vas.Unsupported, match="not enabled"):
            plain.webrtc_answer(cam.main_stream_id, "v=0\r\n")
    with vas.Vas(data_dir=tmp_path / "b", webrtc_bind="127.0.0.1:0") as v:
        cam = v.add_device("synth", camera.url)
        sid = cam.main_stream_id
        v.start_stream(sid)
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
        v.devices()
    assert e.value.kind == "closed"


def test_two_engines_in_one_process(tmp_path, camera):
    with vas.Vas(data_dir=tmp_path / "one") as a, vas.Vas(data_dir=tmp_path / "two") as b:
        ids = []
        for v in (a, b):
            cam = v.add_device("synth", camera.url)
            v.start_stream(cam.main_stream_id)
            ids.append(cam.main_stream_id)
        fa = a.frames(ids[0], timeout=20)
        fb = b.frames(ids[1], timeout=20)
        assert fa.read().width == 640 and fb.read().width == 640
        assert a.devices()[0].id != b.devices()[0].id
        fa.close()
        fb.close()
