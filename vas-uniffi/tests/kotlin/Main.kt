// Exercises the generated Kotlin bindings on the JVM (JNA) against libvas_uniffi:
// engine, cameras, streams, frames and events through callbacks (a throwing callback, a
// cancel from inside a callback, closing the engine under live subscriptions), snapshots,
// bookmarks, recordings, errors. Run by vas-ffi/uniffi/tests/run.sh; prints "kotlin: ok".
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.runBlocking
import org.vas.*

fun check(ok: Boolean, what: String) {
    if (!ok) {
        System.err.println("kotlin: FAILED: $what")
        kotlin.system.exitProcess(1)
    }
}

fun main() = runBlocking {
    val dir = Files.createTempDirectory("vas-kotlin").toString()
    val camera = SyntheticCamera(640u, 360u, 30u)
    val engine = openEngine(EngineConfig(dataDir = dir))

    val cam = engine.addCamera(NewCamera(name = "kotlin", rtspUrl = camera.url(), username = "user", password = "secret"))
    check(cam.hasCredentials && !cam.rtspUrl.contains("secret"), "the password is masked: ${cam.rtspUrl}")
    check(engine.cameras().map { it.id } == listOf(cam.id), "cameras()")
    val stream = engine.streams().single { it.cameraId == cam.id }

    // Events through a callback: wait for the stream to go live.
    val live = CountDownLatch(1)
    val events = engine.subscribeEvents(object : EventListener {
        override fun onEvent(event: Event) {
            if (event.kind == EventKind.STREAM_STATE && event.state == "live") live.countDown()
        }
    })
    engine.startStream(stream.id)
    check(live.await(20, TimeUnit.SECONDS), "a stream_state live event")

    // Frames through a callback that throws on every third frame: contained, it goes on.
    val frames = AtomicInteger()
    val size = AtomicReference("")
    val sub = engine.subscribeFrames(stream.id, PixelFormat.BGR24, null, null, object : FrameListener {
        override fun onFrame(frame: Frame) {
            size.set("${frame.width}x${frame.height}/${frame.data.size}")
            if (frames.incrementAndGet() % 3 == 0) throw IllegalStateException("a bug in the app")
        }
        override fun onEnd(error: VasException) {}
    })
    val deadline = System.currentTimeMillis() + 20_000
    while (frames.get() < 15 && System.currentTimeMillis() < deadline) Thread.sleep(20)
    check(frames.get() >= 15, "15 frames by callback, got ${frames.get()}")
    check(size.get() == "640x360/691200", "frame size ${size.get()}")
    check(sub.failures() >= 4UL && sub.isActive(), "throwing callbacks are contained (${sub.failures()})")
    sub.cancel()
    check(!sub.isActive(), "cancelled")

    // Cancelling from inside the callback.
    val selfRef = AtomicReference<Subscription?>()
    val calls = AtomicInteger()
    val cancelled = CountDownLatch(1)
    val self = engine.subscribeFrames(stream.id, PixelFormat.GRAY8, 320u, 320u, object : FrameListener {
        override fun onFrame(frame: Frame) {
            check(frame.width == 320u && frame.height == 180u, "scaled gray frame")
            calls.incrementAndGet()
            while (selfRef.get() == null) Thread.sleep(1)
            selfRef.get()!!.cancel()
            cancelled.countDown()
        }
        override fun onEnd(error: VasException) {}
    })
    selfRef.set(self)
    check(cancelled.await(20, TimeUnit.SECONDS), "the callback ran")
    Thread.sleep(300)
    check(calls.get() == 1 && !self.isActive(), "no callback after cancel from inside (${calls.get()})")

    // Snapshots, bookmarks, recordings.
    val jpeg = engine.snapshot(stream.id, 320u)
    check(jpeg.width == 320u && jpeg.jpeg[0] == 0xFF.toByte() && jpeg.jpeg[1] == 0xD8.toByte(), "a JPEG")
    val b = engine.addBookmark(stream.id, "from kotlin")
    check(b.state == "pending" && b.label == "from kotlin", "bookmark ${b.state}")
    check(engine.bookmarks(stream.id).map { it.id } == listOf(b.id), "bookmarks()")
    check(engine.recordings(null).isEmpty(), "no recordings")

    // Errors, one class per kind.
    try { engine.camera("00000000-0000-7000-8000-000000000000"); check(false, "NotFound") }
    catch (e: VasException.NotFound) {}
    try { engine.camera("nope"); check(false, "InvalidInput") }
    catch (e: VasException.InvalidInput) {}
    try { engine.webrtcAnswer(stream.id, "v=0"); check(false, "Unsupported") }
    catch (e: VasException.Unsupported) {}

    // Closing the engine with a live subscription ends it with Closed.
    val ended = CountDownLatch(1)
    val endedWith = AtomicReference<VasException?>()
    val last = engine.subscribeFrames(stream.id, PixelFormat.I420, null, null, object : FrameListener {
        override fun onFrame(frame: Frame) {}
        override fun onEnd(error: VasException) { endedWith.set(error); ended.countDown() }
    })
    engine.shutdown()
    check(ended.await(10, TimeUnit.SECONDS) && endedWith.get() is VasException.Closed, "on_end(Closed) after close: ${endedWith.get()}")
    check(!last.isActive(), "the subscription ended")
    try { engine.cameras(); check(false, "Closed") } catch (e: VasException.Closed) {}
    events.cancel()
    camera.stop()
    println("kotlin: ok (${frames.get()} frames by callback, ${sub.failures()} contained exceptions)")
}
