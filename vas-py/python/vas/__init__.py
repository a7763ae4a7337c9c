"""VAS, the Video Aggregation Service, from Python.

IP cameras over RTSP as numpy frames that are never stale, live view over WebRTC, HLS
recording, snapshots and bookmarked clips, indexed in SQLite or PostgreSQL::

    import vas

    with vas.Vas(data_dir="vas-data") as v:
        cam = v.add_device("door", "rtsp://user:pass@192.0.2.10/stream1")
        v.start_stream(cam.main_stream_id)
        for frame in v.frames(cam.main_stream_id, format="bgr24", max_width=1280):
            process(frame.array)  # numpy uint8, H x W x 3, the newest frame

Every blocking method releases the GIL while it waits, and Ctrl-C interrupts a wait for a
frame or an event. Each has a coroutine twin with an ``a`` prefix
(``await v.astart_stream(id)``), and ``Frames``, ``EncodedFrames`` and ``Events`` are also
asynchronous iterators (``async for f in v.frames(id)``). Errors are ``vas.Error``
subclasses, one per kind (``vas.NotFound``, ``vas.Timeout``, ...), each with its ``kind``
name; a name-table argument (``format="gray"``, ``order="newest"``) with a value outside its
table is ``vas.InvalidInput`` naming the allowed values.

An engine belongs to the process that created it: after ``os.fork()`` the child must
create its own (the parent's raises ``vas.Closed`` there), because the engine's threads do
not survive a fork. Prefer the ``spawn`` or ``forkserver`` start methods of
``multiprocessing``.
"""

from os import PathLike as _PathLike
from typing import List as _List
from typing import Optional as _Optional
from typing import Union as _Union

from . import _aio
from ._coroutines import Coroutines as _Coroutines
from ._vas import *  # noqa: F403 (the classes and errors `_vas.__all__` lists)

# No `__all__` here: it would have to repeat the generated names (mypy reads only a literal
# one). `from vas import *` takes the names without an underscore: `Vas` and what `_vas`
# exports.


class Vas(_Coroutines):
    """The VAS engine: cameras (devices), streams, recording, snapshots, bookmarks, live view
    and decoded frames. ``Vas(*, data_dir="vas-data", database_url=None, media_dir=None,
    webrtc_bind=None, webrtc_public_ips=None)``; a context manager (``with`` and
    ``async with``) that closes the engine on exit. One engine may be used from many threads
    at once. Every method has a coroutine twin with an ``a`` prefix.
    """

    @classmethod
    async def aopen(
        cls,
        *,
        data_dir: _Optional[_Union[str, _PathLike[str]]] = None,
        database_url: _Optional[str] = None,
        media_dir: _Optional[_Union[str, _PathLike[str]]] = None,
        webrtc_bind: _Optional[str] = None,
        webrtc_public_ips: _Optional[_List[str]] = None,
    ) -> "Vas":
        """Opens an engine without blocking the event loop."""
        return await _aio.run(
            cls,
            data_dir=data_dir,
            database_url=database_url,
            media_dir=media_dir,
            webrtc_bind=webrtc_bind,
            webrtc_public_ips=webrtc_public_ips,
        )

    async def __aenter__(self) -> "Vas":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
