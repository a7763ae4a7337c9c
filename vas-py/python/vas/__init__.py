"""VAS, the Video Aggregation Service, from Python.

IP cameras over RTSP as numpy frames that are never stale, live view over WebRTC, HLS
recording, snapshots and bookmarked clips, indexed in SQLite or PostgreSQL::

    import vas

    with vas.Vas(data_dir="vas-data") as v:
        cam = v.add_camera("door", "rtsp://user:pass@192.0.2.10/stream1")
        stream = v.streams(cam.id)[0]
        v.start(stream.id)
        for frame in v.frames(stream.id, format="bgr24", size=(1280, 720)):
            process(frame.array)  # numpy uint8, H x W x 3, the newest frame

Every blocking method releases the GIL while it waits, and Ctrl-C interrupts a wait for a
frame or an event. Each has a coroutine twin with an ``a`` prefix (``await v.astart(id)``),
and ``Frames`` and ``Events`` are also asynchronous iterators (``async for f in
v.frames(id)``). Errors are ``vas.Error`` subclasses, one per kind (``vas.NotFound``,
``vas.Timeout``, ...), each with its ``kind`` name.

An engine belongs to the process that created it: after ``os.fork()`` the child must
create its own (the parent's raises ``vas.Closed`` there), because the engine's threads do
not survive a fork. Prefer the ``spawn`` or ``forkserver`` start methods of
``multiprocessing``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, List, Optional, Tuple

from . import _aio, _vas
from ._vas import (
    ERROR_KINDS,
    AlreadyExists,
    Bookmark,
    BookmarkEvent,
    Camera,
    Closed,
    Corrupt,
    Error,
    Event,
    Events,
    FailedPrecondition,
    Frame,
    Frames,
    Internal,
    InvalidInput,
    MissedEvent,
    NotFound,
    PermissionDenied,
    RecorderEvent,
    Recording,
    ResourceExhausted,
    Snapshot,
    SnapshotImage,
    SnapshotSavedEvent,
    Stream,
    StreamStateEvent,
    SyntheticCamera,
    Timeout,
    TooLarge,
    Unauthenticated,
    Unavailable,
    Unsupported,
    ViewerJoinedEvent,
    ViewerLeftEvent,
    WebRtcSession,
    __version__,
)

__all__ = [
    "ERROR_KINDS",
    "AlreadyExists",
    "Bookmark",
    "BookmarkEvent",
    "Camera",
    "Closed",
    "Corrupt",
    "Error",
    "Event",
    "Events",
    "FailedPrecondition",
    "Frame",
    "Frames",
    "Internal",
    "InvalidInput",
    "MissedEvent",
    "NotFound",
    "PermissionDenied",
    "RecorderEvent",
    "Recording",
    "ResourceExhausted",
    "Snapshot",
    "SnapshotImage",
    "SnapshotSavedEvent",
    "Stream",
    "StreamStateEvent",
    "SyntheticCamera",
    "Timeout",
    "TooLarge",
    "Unauthenticated",
    "Unavailable",
    "Unsupported",
    "Vas",
    "ViewerJoinedEvent",
    "ViewerLeftEvent",
    "WebRtcSession",
    "__version__",
]


class Vas(_vas.Vas):
    """The VAS engine: cameras, streams, recording, snapshots, bookmarks, live view and
    decoded frames. ``Vas(data_dir="vas-data", database_url=None, media_dir=None)``; a
    context manager (``with`` and ``async with``) that closes the engine on exit. One engine
    may be used from many threads at once.
    """

    @classmethod
    async def aopen(
        cls,
        data_dir: Any = None,
        database_url: Optional[str] = None,
        media_dir: Any = None,
        *,
        webrtc_bind: Optional[str] = None,
        webrtc_public_ip: Optional[str] = None,
    ) -> "Vas":
        """Creates an engine without blocking the event loop."""
        return await _aio.run(
            cls,
            data_dir,
            database_url,
            media_dir,
            webrtc_bind=webrtc_bind,
            webrtc_public_ip=webrtc_public_ip,
        )

    async def __aenter__(self) -> "Vas":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def ahealth(self) -> None:
        """`health` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.health)

    async def aadd_camera(self, name: str, rtsp_url: str, username: Optional[str] = None, password: Optional[str] = None, *, sub_rtsp_url: Optional[str] = None, transport: Optional[str] = None, enabled: bool = True) -> Camera:
        """`add_camera` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.add_camera, name, rtsp_url, username, password, sub_rtsp_url=sub_rtsp_url, transport=transport, enabled=enabled)

    async def acameras(self) -> List[Camera]:
        """`cameras` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.cameras)

    async def acamera(self, camera_id: str) -> Camera:
        """`camera` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.camera, camera_id)

    async def aupdate_camera(self, camera_id: str, *, name: Optional[str] = None, rtsp_url: Optional[str] = None, username: Optional[str] = None, password: Optional[str] = None, sub_rtsp_url: Optional[str] = None, transport: Optional[str] = None, enabled: Optional[bool] = None) -> Camera:
        """`update_camera` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.update_camera, camera_id, name=name, rtsp_url=rtsp_url, username=username, password=password, sub_rtsp_url=sub_rtsp_url, transport=transport, enabled=enabled)

    async def aremove_camera(self, camera_id: str) -> None:
        """`remove_camera` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.remove_camera, camera_id)

    async def astreams(self, camera_id: Optional[str] = None) -> List[Stream]:
        """`streams` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.streams, camera_id)

    async def astream(self, stream_id: str) -> Stream:
        """`stream` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.stream, stream_id)

    async def astart(self, stream_id: str) -> Stream:
        """`start` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.start, stream_id)

    async def astop(self, stream_id: str) -> Stream:
        """`stop` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.stop, stream_id)

    async def aset_recording(self, stream_id: str, record: bool) -> Stream:
        """`set_recording` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.set_recording, stream_id, record)

    async def aframes(self, stream_id: str, format: str = "bgr24", size: Optional[Tuple[int, int]] = None, fps: Optional[float] = None, strategy: str = "latest", *, max_queue: int = 8, timeout: Optional[float] = None) -> Frames:
        """`frames` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.frames, stream_id, format, size, fps, strategy, max_queue=max_queue, timeout=timeout)

    async def asnapshot(self, stream_id: str, at: Optional[datetime] = None, width: Optional[int] = None, *, quality: Optional[int] = None) -> bytes:
        """`snapshot` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.snapshot, stream_id, at, width, quality=quality)

    async def asnapshot_image(self, stream_id: str, at: Optional[datetime] = None, width: Optional[int] = None, *, quality: Optional[int] = None) -> SnapshotImage:
        """`snapshot_image` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.snapshot_image, stream_id, at, width, quality=quality)

    async def asave_snapshot(self, stream_id: str, label: Optional[str] = None, *, at: Optional[datetime] = None, width: Optional[int] = None, quality: Optional[int] = None) -> Snapshot:
        """`save_snapshot` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.save_snapshot, stream_id, label, at=at, width=width, quality=quality)

    async def asnapshots(self, stream_id: Optional[str] = None, start: Optional[datetime] = None, end: Optional[datetime] = None, limit: Optional[int] = None) -> List[Snapshot]:
        """`snapshots` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.snapshots, stream_id, start, end, limit)

    async def asnapshot_file(self, snapshot_id: str) -> bytes:
        """`snapshot_file` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.snapshot_file, snapshot_id)

    async def adelete_snapshot(self, snapshot_id: str) -> None:
        """`delete_snapshot` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.delete_snapshot, snapshot_id)

    async def aadd_bookmark(self, stream_id: str, at: Optional[datetime] = None, label: Optional[str] = None, *, before: float = 5.0, after: float = 5.0) -> Bookmark:
        """`add_bookmark` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.add_bookmark, stream_id, at, label, before=before, after=after)

    async def abookmarks(self, stream_id: Optional[str] = None, start: Optional[datetime] = None, end: Optional[datetime] = None, limit: Optional[int] = None) -> List[Bookmark]:
        """`bookmarks` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.bookmarks, stream_id, start, end, limit)

    async def abookmark(self, bookmark_id: str) -> Bookmark:
        """`bookmark` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.bookmark, bookmark_id)

    async def abookmark_clip(self, bookmark_id: str) -> Path:
        """`bookmark_clip` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.bookmark_clip, bookmark_id)

    async def adelete_bookmark(self, bookmark_id: str) -> None:
        """`delete_bookmark` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.delete_bookmark, bookmark_id)

    async def arecordings(self, stream_id: Optional[str] = None, start: Optional[datetime] = None, end: Optional[datetime] = None, limit: Optional[int] = None) -> List[Recording]:
        """`recordings` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.recordings, stream_id, start, end, limit)

    async def arecording(self, recording_id: str) -> Recording:
        """`recording` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.recording, recording_id)

    async def awebrtc_answer(self, stream_id: str, offer_sdp: str) -> WebRtcSession:
        """`webrtc_answer` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.webrtc_answer, stream_id, offer_sdp)

    async def awebrtc_close(self, viewer: int) -> bool:
        """`webrtc_close` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.webrtc_close, viewer)

    async def aclose(self) -> None:
        """`close` as a coroutine (runs in a worker thread)."""
        return await _aio.run(self.close)

