// The parity test's scenario from Kotlin (tests/parity/README.md): drives the engine through
// the generated uniffi bindings and prints the JSON document on standard output (progress and
// errors go to standard error). scripts/uniffi.sh compiles it with vas-uniffi/tests/kotlin/Main.kt
// into one jar and runs it as `python3 tests/parity/run.py shell kotlin -- java ... ParityKt`,
// which adds `--url RTSP_URL --data DIR`.
//
// The records and events are turned into JSON by reflection over the generated data classes,
// so a field the bindings gain or lose shows in the document without an edit here.
import java.lang.reflect.Modifier
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.runBlocking
import org.vas.*

/** How long the scenario waits for anything the camera or the engine must do. */
private const val DEADLINE_MS = 30_000L

private fun fail(what: String): Nothing {
    System.err.println("parity (kotlin): $what")
    kotlin.system.exitProcess(1)
}

private fun log(what: String) = System.err.println("parity (kotlin): $what")

/** `addDevice` -> `add_device`. */
private fun snake(camel: String): String =
    camel.replace(Regex("([a-z0-9])([A-Z])"), "$1_$2").lowercase()

/**
 * The description's call names the bindings offer, found by reflection on `Engine`: its
 * methods that uniffi exported (those of `EngineInterface`, not `close()` and the like that
 * every uniffi object has) and its companion's constructors. A function taking an unsigned
 * (inline class) argument has a JVM name with a hash suffix (`webrtcClose-VKZWuLQ`).
 */
private fun calls(): List<String> {
    fun name(m: java.lang.reflect.Method) = m.name.substringBefore('-')
    val exported = EngineInterface::class.java.methods.map { name(it) }.toSet()
    val methods = Engine::class.java.methods.filter {
        Modifier.isPublic(it.modifiers) && !it.isSynthetic && name(it) in exported
    }.map { snake(name(it)) }
    // Constructors are functions of the companion object (`Engine.open(...)`).
    val constructors = Engine.Companion::class.java.declaredMethods
        .filter { Modifier.isPublic(it.modifiers) && !it.isSynthetic && it.returnType != Void.TYPE }
        .map { snake(name(it)) }
    // `shutdown` is the description's `close` (uniffi's own `close()` frees the object), and
    // `subscribeEvents` its `events` (docs/api.md spells them so).
    return (methods + constructors).map {
        when {
            it == "shutdown" -> "close"
            it.startsWith("subscribe_") -> it.removePrefix("subscribe_")
            else -> it
        }
    }.distinct().sorted()
}

/** A value of the bindings in the document's normalised form. */
private fun normal(v: Any?): Any? = when (v) {
    null -> null
    is String, is Boolean -> v
    is Double, is Float -> v.toDouble()
    // Unsigned fields of the data classes are stored as their signed twins.
    is Int -> v.toLong() and 0xFFFF_FFFFL
    is Byte -> v.toInt() and 0xFF
    is Long -> v
    is UInt -> v.toLong()
    is ULong -> v.toString().toBigInteger()
    is UByte -> v.toInt()
    is ByteArray -> v.size
    is java.time.Instant -> v.epochSecond * 1_000_000L + v.nano / 1_000L
    is java.time.Duration -> v.seconds.toDouble() + v.nano / 1e9
    // Enums print their name in the description's table (the generated Display).
    is Enum<*> -> v.toString()
    is List<*> -> v.map { normal(it) }
    else -> record(v)
}

/** A generated record (data class) or event as an object: every field, snake_case. */
private fun record(v: Any): Map<String, Any?> {
    if (v.javaClass.`package`?.name != "org.vas") fail("no JSON form for ${v.javaClass.name}")
    val out = LinkedHashMap<String, Any?>()
    for (f in v.javaClass.declaredFields) {
        if (Modifier.isStatic(f.modifiers) || f.isSynthetic) continue
        f.isAccessible = true
        out[snake(f.name)] = normal(f.get(v))
    }
    return out
}

private fun event(e: Event): Map<String, Any?> =
    linkedMapOf<String, Any?>("kind" to snake(e.javaClass.simpleName)) + record(e)

private fun json(v: Any?): String = when (v) {
    null -> "null"
    is String -> buildString {
        append('"')
        for (c in v) when {
            c == '"' -> append("\\\"")
            c == '\\' -> append("\\\\")
            c < ' ' -> append("\\u%04x".format(c.code))
            else -> append(c)
        }
        append('"')
    }
    is Double -> if (v.isFinite()) v.toString() else fail("a number that JSON cannot hold: $v")
    is Number, is Boolean -> v.toString()
    is Map<*, *> -> v.entries.joinToString(",", "{", "}") { json(it.key as String) + ":" + json(it.value) }
    is List<*> -> v.joinToString(",", "[", "]") { json(it) }
    else -> fail("no JSON form for ${v.javaClass.name}")
}

/** The engine's events as they arrive; `await` waits for one after a position. */
private class Events : EventListener {
    private val lock = Object()
    val seen = ArrayList<Event>()

    override fun onEvent(event: Event) {
        synchronized(lock) {
            seen.add(event)
            lock.notifyAll()
        }
    }

    /** The position of the first event after `after` that matches, waiting up to the deadline. */
    fun await(what: String, after: Int = -1, match: (Event) -> Boolean): Int {
        val until = System.currentTimeMillis() + DEADLINE_MS
        synchronized(lock) {
            while (true) {
                for (i in (after + 1) until seen.size) if (match(seen[i])) return i
                val left = until - System.currentTimeMillis()
                if (left <= 0) fail("no $what within ${DEADLINE_MS / 1000} s; events: $seen")
                lock.wait(left)
            }
        }
    }

    fun all(): List<Event> = synchronized(lock) { ArrayList(seen) }
}

fun main(args: Array<String>) = runBlocking {
    val opts = args.toList().chunked(2).associate { pair -> pair[0] to pair.getOrElse(1) { fail("${pair[0]} needs a value") } }
    val url = opts["--url"] ?: fail("usage: ParityKt --url RTSP_URL --data DIR")
    val data = opts["--data"] ?: fail("usage: ParityKt --url RTSP_URL --data DIR")

    // 1. Open; subscribe to events.
    val engine = Engine.open(EngineOptions(dataDir = data))
    val events = Events()
    val eventSub = engine.subscribeEvents(events)

    // 2-3. A device, its main stream started and live.
    val device = engine.addDevice(NewDevice(name = "parity", rtspUrl = url))
    val stream = device.mainStreamId
    engine.startStream(stream)
    events.await("stream_state live") { it is Event.StreamState && it.streamId == stream && it.state == StreamState.LIVE }
    log("live")

    // 4. Two recordings: on, off, on.
    engine.setRecording(stream, true)
    val on = events.await("recorder recording") {
        it is Event.Recorder && it.streamId == stream && it.state == RecorderState.RECORDING && it.recordingId != null
    }
    val firstId = (events.all()[on] as Event.Recorder).recordingId
    engine.setRecording(stream, false)
    val stopped = events.await("recorder stopped", on) {
        it is Event.Recorder && it.streamId == stream && it.state == RecorderState.STOPPED
    }
    engine.setRecording(stream, true)
    events.await("a second recording", stopped) {
        it is Event.Recorder && it.streamId == stream && it.state == RecorderState.RECORDING &&
            it.recordingId != null && it.recordingId != firstId
    }
    log("two recordings")

    // 5. One decoded frame.
    val first = AtomicReference<Frame?>()
    val got = CountDownLatch(1)
    val ended = AtomicReference<VasException?>()
    val options = FrameOptions(format = PixelFormat.BGR24, maxWidth = 320u)
    val frames = engine.subscribeFrames(stream, options, object : FrameListener {
        override fun onFrame(frame: Frame) {
            if (first.compareAndSet(null, frame)) got.countDown()
        }

        override fun onEnd(error: VasException) {
            ended.set(error)
            got.countDown()
        }
    })
    if (!got.await(DEADLINE_MS, TimeUnit.MILLISECONDS)) fail("no frame within ${DEADLINE_MS / 1000} s")
    frames.cancel()
    val info = first.get()?.info ?: fail("the frame subscription ended: ${ended.get()}")
    log("a frame")

    // 6-9. Snapshot, bookmark, streams, recordings.
    val snapshot = engine.saveSnapshot(stream, SnapshotOptions(), "parity")
    val snapshots = engine.savedSnapshots(ListQuery(streamId = stream, order = Order.NEWEST))
    val bookmark = engine.addBookmark(NewBookmark(streamId = stream, label = "parity"))
    val streams = engine.streams(device.id, Order.OLDEST)
    val recordings = engine.recordings(ListQuery(streamId = stream, order = Order.NEWEST))

    // 10. Close; the event subscription ends by itself once the engine's last events are in.
    engine.shutdown()
    val until = System.currentTimeMillis() + DEADLINE_MS
    while (eventSub.isActive()) {
        if (System.currentTimeMillis() > until) fail("the event subscription did not end after close")
        Thread.sleep(10)
    }
    eventSub.cancel()
    engine.close()

    val doc = linkedMapOf<String, Any?>(
        "shell" to "kotlin",
        "calls" to calls(),
        "device" to record(device),
        "streams" to streams.map { record(it) },
        "frame" to record(info),
        "snapshot" to record(snapshot),
        "snapshots" to snapshots.map { record(it) },
        "bookmark" to record(bookmark),
        "recordings" to recordings.map { record(it) },
        "events" to events.all().map { event(it) },
    )
    println(json(doc))
}
