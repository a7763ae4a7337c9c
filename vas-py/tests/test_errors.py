"""One exception class per error kind, and what bad arguments raise."""

from __future__ import annotations

import pytest

import vas

KINDS = {
    "invalid_input": vas.InvalidInput,
    "not_found": vas.NotFound,
    "already_exists": vas.AlreadyExists,
    "failed_precondition": vas.FailedPrecondition,
    "unavailable": vas.Unavailable,
    "unauthenticated": vas.Unauthenticated,
    "permission_denied": vas.PermissionDenied,
    "resource_exhausted": vas.ResourceExhausted,
    "too_large": vas.TooLarge,
    "unsupported": vas.Unsupported,
    "internal": vas.Internal,
    "timeout": vas.Timeout,
    "closed": vas.Closed,
    "corrupt": vas.Corrupt,
}


def test_every_kind_has_its_own_class():
    # ERROR_KINDS comes from the engine's table: a kind added there shows up here.
    assert {kind for kind, _ in vas.ERROR_KINDS} == set(KINDS)
    for kind, name in vas.ERROR_KINDS:
        cls = getattr(vas, name)
        assert cls is KINDS[kind]
        assert issubclass(cls, vas.Error) and cls is not vas.Error
        assert cls.kind == kind
        assert cls.__doc__
    assert len({cls for cls in KINDS.values()}) == len(KINDS)
    assert issubclass(vas.Error, Exception)


def test_wrong_argument_types_name_the_argument(sqlite_engine):
    with pytest.raises(TypeError, match="camera_id"):
        sqlite_engine.camera(12)
    with pytest.raises(TypeError, match="rtsp_url"):
        sqlite_engine.add_camera("a", None)
    with pytest.raises(TypeError, match="size"):
        sqlite_engine.frames("00000000-0000-7000-8000-000000000000", size=640)
    with pytest.raises(TypeError, match="at"):
        sqlite_engine.add_bookmark("00000000-0000-7000-8000-000000000000", at="yesterday")
    with pytest.raises(TypeError):
        vas.Vas(data_dir=3.5)


def test_bad_values_raise_invalid_input(sqlite_engine, camera):
    with pytest.raises(vas.InvalidInput, match="not a UUID"):
        sqlite_engine.camera("front-door")
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.add_camera("", camera.url)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.add_camera("x", "http://example.com/")
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.add_camera("x", camera.url, transport="carrier-pigeon")
    cam = sqlite_engine.add_camera("x", camera.url)
    sid = sqlite_engine.streams(cam.id)[0].id
    with pytest.raises(vas.InvalidInput, match="pixel format"):
        sqlite_engine.frames(sid, format="yuv444p")
    with pytest.raises(vas.InvalidInput, match="strategy"):
        sqlite_engine.frames(sid, strategy="oldest")
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.frames(sid, strategy="queue", max_queue=100_000)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.frames(sid, fps=-1)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.events(timeout=-1)


def test_unknown_ids_raise_not_found(sqlite_engine):
    unknown = "00000000-0000-7000-8000-000000000000"
    for call in (sqlite_engine.camera, sqlite_engine.stream, sqlite_engine.start,
                 sqlite_engine.remove_camera, sqlite_engine.bookmark,
                 sqlite_engine.delete_snapshot, sqlite_engine.frames):
        with pytest.raises(vas.NotFound):
            call(unknown)


def test_an_unstarted_stream_has_no_frames(sqlite_engine, camera):
    cam = sqlite_engine.add_camera("x", camera.url, enabled=False)
    sid = sqlite_engine.streams(cam.id)[0].id
    with pytest.raises(vas.FailedPrecondition):
        sqlite_engine.start(sid)  # a disabled camera
