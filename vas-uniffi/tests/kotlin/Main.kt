// Exercises the generated Kotlin bindings on the JVM (JNA) against libvas_uniffi (built with
// the demo feature): the engine, devices and streams, frames and events through callbacks (a
// throwing callback, a cancel from inside a callback, closing the engine under live
// subscriptions), snapshots, bookmarks, recordings, lists newest first, enums' names, errors.
// Run by scripts/uniffi.sh; prints "kotlin: ok".
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.runBlocking
import org.vas.*

/** How long the program waits for anything the camera or the engine must do. */
private const val DEADLINE_MS = 20_000L

private fun check(ok: Boolean, what: String) {
    if (!ok) {
        System.err.println("kotlin: FAILED: $what")
        kotlin.system.exitProcess(1)
    }
}

/** Waits until `ok` holds, failing with `what` after the deadline. */
private fun waitFor(what: String, ok: () -> Boolean) {
    val until = System.currentTimeMillis() + DEADLINE_MS
    while (!ok()) {
        check(System.currentTimeMillis() < until, "timed out waiting for $what")
        Thread.sleep(10)
    }
}

/** A listener that counts frames (and keeps the last one). */
private open class Counter : FrameListener {
    val count = AtomicInteger()
    val last = AtomicReference<Frame?>()
    val ended = AtomicReference<VasException?>()

    override fun onFrame(frame: Frame) {
        last.set(frame)
        count.incrementAndGet()
    }

    override fun onEnd(error: VasException) = ended.set(error)
}

/** Runs `call` (inlined, so it may suspend), which must throw an `E`. */
private inline fun <reified E : VasException> expect(what: String, call: () -> Any?): E {
    try {
        call()
    } catch (e: VasException) {
        check(e is E, "$what: ${E::class.simpleName} expected, got $e")
        return e as E
    }
    check(false, "$what: ${E::class.simpleName} expected, nothing thrown")
    throw IllegalStateException("unreachable")
}

fun main() = runBlocking {
    val dir = Files.createTempDirectory("vas-kotlin").toString()
    val camera = SyntheticCamera(640u, 360u, 30u)
    val engine = Engine.open(EngineOptions(dataDir = dir))

    // Devices: the password is never returned; lists in either order.
    val dev = engine.addDevice(NewDevice(name = "kotlin", rtspUrl = camera.url(), username = "user", password = "secret"))
    check(dev.hasCredentials && !dev.rtspUrl.contains("secret"), "the password is masked: ${dev.rtspUrl}")
    check(dev.rtspTransport == RtpTransport.TCP && dev.enabled, "NewDevice's defaults: $dev")
    val other = engine.addDevice(NewDevice(name = "other", rtspUrl = "rtsp://127.0.0.1:9/other", enabled = false))
    check(engine.devices(Order.OLDEST).map { it.id } == listOf(dev.id, other.id), "devices oldest first")
    check(engine.devices(Order.NEWEST).map { it.id } == listOf(other.id, dev.id), "devices newest first")
    val renamed = engine.updateDevice(other.id, DevicePatch(name = "renamed"))
    check(renamed.name == "renamed" && renamed.rtspUrl == other.rtspUrl, "updateDevice: $renamed")
    engine.removeDevice(other.id)
    check(engine.devices(Order.OLDEST).map { it.id } == listOf(dev.id), "removeDevice")
    val stream = engine.streams(dev.id, Order.OLDEST).single()
    check(stream.id == dev.mainStreamId && stream.profile == StreamProfile.MAIN, "the main stream: $stream")

    // Enums print their name in the engine's table, the same in every shell.
    check(StreamState.LIVE.toString() == "live" && PixelFormat.GRAY8.toString() == "gray", "enum names")

    // Events through a callback: wait for the stream to go live.
    val live = CountDownLatch(1)
    val events = engine.subscribeEvents(object : EventListener {
        override fun onEvent(event: Event) {
            if (event is Event.StreamState && event.streamId == stream.id && event.state == StreamState.LIVE) live.countDown()
        }
    })
    engine.startStream(stream.id)
    check(live.await(DEADLINE_MS, TimeUnit.MILLISECONDS), "a stream_state live event")

    // Frames (the default options: bgr24, full size) through a callback that throws on every
    // third frame: contained, it goes on.
    val throwing = object : Counter() {
        override fun onFrame(frame: Frame) {
            super.onFrame(frame)
            if (count.get() % 3 == 0) throw IllegalStateException("a bug in the app")
        }
    }
    val sub = engine.subscribeFrames(stream.id, FrameOptions(), throwing)
    waitFor("15 frames by callback (got ${throwing.count.get()})") { throwing.count.get() >= 15 }
    val f = throwing.last.get()!!
    check(
        f.info.width == 640u && f.info.height == 360u && f.data.size == 640 * 360 * 3 && f.info.format == PixelFormat.BGR24,
        "frame ${f.info}/${f.data.size}",
    )
    check(sub.failures() >= 4UL && sub.isActive(), "throwing callbacks are contained (${sub.failures()})")
    check(sub.lastFailure()?.contains("a bug in the app") == true, "the last failure: ${sub.lastFailure()}")
    sub.cancel()
    check(!sub.isActive(), "cancelled")

    // Cancelling from inside the callback: no callback after it, while a witness subscription
    // on the same stream goes on receiving frames.
    val selfRef = AtomicReference<Subscription?>()
    val calls = AtomicInteger()
    val cancelled = CountDownLatch(1)
    val gray = FrameOptions(format = PixelFormat.GRAY8, maxWidth = 320u, maxHeight = 320u)
    val self = engine.subscribeFrames(stream.id, gray, object : FrameListener {
        override fun onFrame(frame: Frame) {
            check(frame.info.width == 320u && frame.info.height == 180u && frame.data.size == 320 * 180, "scaled gray frame")
            calls.incrementAndGet()
            while (selfRef.get() == null) Thread.sleep(1)
            selfRef.get()!!.cancel()
            cancelled.countDown()
        }

        override fun onEnd(error: VasException) {}
    })
    selfRef.set(self)
    check(cancelled.await(DEADLINE_MS, TimeUnit.MILLISECONDS), "the callback ran")
    val witness = Counter()
    val witnessSub = engine.subscribeFrames(stream.id, gray, witness)
    waitFor("10 frames to the witness") { witness.count.get() >= 10 }
    witnessSub.cancel()
    check(calls.get() == 1 && !self.isActive(), "no callback after cancel from inside (${calls.get()})")

    // Snapshots: one not stored, two saved, listed in either order.
    val jpeg = engine.snapshot(stream.id, SnapshotOptions(width = 320u))
    check(jpeg.width == 320u && jpeg.jpeg[0] == 0xFF.toByte() && jpeg.jpeg[1] == 0xD8.toByte(), "a JPEG")
    val s1 = engine.saveSnapshot(stream.id, SnapshotOptions(), "one")
    val s2 = engine.saveSnapshot(stream.id, SnapshotOptions(), "two")
    check(s1.label == "one" && s1.width == 640u && s1.streamId == stream.id, "saved snapshot $s1")
    val byStream = ListQuery(streamId = stream.id)
    check(engine.savedSnapshots(byStream).map { it.id } == listOf(s1.id, s2.id), "snapshots oldest first")
    check(engine.savedSnapshots(byStream.copy(order = Order.NEWEST)).map { it.id } == listOf(s2.id, s1.id), "snapshots newest first")
    check(engine.savedSnapshots(byStream.copy(order = Order.NEWEST, limit = 1u)).map { it.id } == listOf(s2.id), "the newest snapshot")
    val image = engine.savedSnapshotImage(s1.id)
    check(image.size.toULong() == s1.bytes && image[0] == 0xFF.toByte(), "the saved JPEG")

    // Bookmarks, listed in either order; no recordings (recording is off).
    val b1 = engine.addBookmark(NewBookmark(streamId = stream.id, label = "from kotlin"))
    check(b1.state == BookmarkState.PENDING && b1.label == "from kotlin", "bookmark ${b1.state}")
    check(b1.before.seconds > 0 && b1.after.seconds > 0, "the default pre- and post-roll: $b1")
    val b2 = engine.addBookmark(NewBookmark(streamId = stream.id, label = "second"))
    check(engine.bookmarks(byStream).map { it.id } == listOf(b1.id, b2.id), "bookmarks oldest first")
    check(engine.bookmarks(byStream.copy(order = Order.NEWEST)).map { it.id } == listOf(b2.id, b1.id), "bookmarks newest first")
    check(engine.bookmarks(byStream.copy(order = Order.NEWEST, limit = 1u)).map { it.id } == listOf(b2.id), "the newest bookmark")
    check(engine.recordings(ListQuery()).isEmpty(), "no recordings")

    // Errors, one class per kind; bad input says what is malformed.
    expect<VasException.NotFound>("an unknown device") { engine.device("00000000-0000-7000-8000-000000000000") }
    val bad = expect<VasException.InvalidInput>("a malformed id") { engine.device("nope") }
    check(bad.message?.contains("device id") == true, "the message says what is malformed: ${bad.message}")
    expect<VasException.InvalidInput>("a zero max width") {
        engine.subscribeFrames(stream.id, FrameOptions(maxWidth = 0u), Counter())
    }
    expect<VasException.Unsupported>("WebRTC without a bind address") { engine.webrtcAnswer(stream.id, "v=0") }

    // Closing the engine with a live subscription ends it with Closed.
    val last = Counter()
    val lastSub = engine.subscribeFrames(stream.id, FrameOptions(format = PixelFormat.I420), last)
    engine.shutdown()
    waitFor("on_end after close") { last.ended.get() != null }
    check(last.ended.get() is VasException.Closed, "on_end(Closed) after close: ${last.ended.get()}")
    check(!lastSub.isActive(), "the subscription ended")
    expect<VasException.Closed>("a call after close") { engine.devices(Order.OLDEST) }
    events.cancel()
    engine.close()
    camera.stop()
    println("kotlin: ok (${throwing.count.get()} frames by callback, ${sub.failures()} contained exceptions)")
}
