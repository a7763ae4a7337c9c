//! Decoded frames through the C ABI against the Rust consumer, in the same run.
//!
//! One synthetic camera (1080p30 H.264, a pre-encoded loop) on core 1. On core 0, one after
//! the other, a process with the engine and one I420 decoded-frame consumer:
//! * **Rust**: `BlockingVas::frames` read by a thread with `recv_timeout`;
//! * **C callback**: `vas_frames_listen` with an `extern "C"` callback (what a C program
//!   links), counting frames and touching the pixels.
//!
//! CPU per frame comes from `/proc/<pid>/stat` over a fixed window. I420 is the format with no
//! conversion, so decoding is all that is shared and the ABI's own cost shows the most.
//! Target: the C callback costs at most 1.05× the Rust consumer per frame.
//!
//! `cargo bench -p vas-benches --bench ffi_frames`

// A load generator reports on stdout; that is its interface.
#![allow(clippy::print_stdout)]
// The C role calls the C ABI the way a C program does.
#![allow(unsafe_code)]

use std::ffi::{CString, c_void};
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use vas::frames::{FrameOptions, PixelFormat};
use vas_benches::{cpu_seconds, finish, read_line, run_cameras_with, spawn_pinned};
use vas_ffi::vas_result;

/// Settling time before measuring.
const WARMUP: Duration = Duration::from_secs(4);
/// Measuring window.
const WINDOW: Duration = Duration::from_secs(15);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("camera") => return run_cameras_with(1, 1920, 1080, 4_000_000),
        Some("rust") => return run_rust(&args[2]),
        Some("c") => return run_c(&args[2]),
        _ => {}
    }
    let mut camera = spawn_pinned(1, &["camera".into()]);
    let url = read_line(&mut camera);
    println!(
        "\ndecoded I420 frames at 1080p30 (consumer side on core 0, camera on core 1; {}-s window)",
        WINDOW.as_secs()
    );
    println!("| consumer | fps | CPU/frame | vs Rust |");
    println!("|---|---|---|---|");
    let (rust_fps, rust_cpu) = measure("rust", &url);
    let (c_fps, c_cpu) = measure("c", &url);
    finish(camera);
    println!(
        "| Rust (`recv_timeout`) | {rust_fps:.1} | {:.2} ms | 1.00 |",
        rust_cpu * 1e3
    );
    println!(
        "| C callback (`vas_frames_listen`) | {c_fps:.1} | {:.2} ms | {:.3} |",
        c_cpu * 1e3,
        c_cpu / rust_cpu
    );
}

/// Runs a consumer child: (frames/s, CPU seconds per frame).
fn measure(role: &str, url: &str) -> (f64, f64) {
    let mut child = spawn_pinned(0, &[role.into(), url.into()]);
    assert_eq!(read_line(&mut child), "READY", "{role} consumer");
    std::thread::sleep(WARMUP);
    let f0 = mark(&mut child);
    let c0 = cpu_seconds(child.id());
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let f1 = mark(&mut child);
    let cpu = cpu_seconds(child.id()) - c0;
    let secs = t0.elapsed().as_secs_f64();
    finish(child);
    let frames = (f1.saturating_sub(f0)).max(1) as f64;
    (frames / secs, cpu / frames)
}

fn mark(child: &mut std::process::Child) -> u64 {
    let stdin = child.stdin.as_mut().expect("piped stdin");
    writeln!(stdin, "mark").expect("the child reads its stdin");
    stdin.flush().expect("flush");
    read_line(child).parse().unwrap_or(0)
}

/// Child side: READY at the first frame, then the frame count for each stdin line, until
/// stdin closes.
fn serve(count: &AtomicU64) {
    while count.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("READY");
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        println!("{}", count.load(Ordering::Relaxed));
        let _ = std::io::stdout().flush();
    }
}

/// Child role: the Rust consumer.
fn run_rust(url: &str) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .build_blocking()
        .expect("start VAS")
        .blocking();
    let device = vas
        .add_device(vas::NewDevice::new("cam", url))
        .expect("add");
    let stream = device.main_stream_id;
    vas.start_stream(stream).expect("start");
    let mut frames = vas
        .frames(stream, FrameOptions::new(PixelFormat::I420))
        .expect("subscribe");
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        while let Ok(f) = frames.recv_timeout(Duration::from_secs(10)) {
            std::hint::black_box(f.data()[f.data().len() / 2]);
            c.fetch_add(1, Ordering::Relaxed);
        }
    });
    serve(&count);
    vas.close();
}

unsafe extern "C" fn on_frame(user: *mut c_void, frame: *const vas_ffi::frames::vas_frame) {
    // SAFETY: `user` is the counter `run_c` passed, alive while the listener runs; the frame
    // is lent for the call.
    unsafe {
        let mut len = 0usize;
        let data = vas_ffi::frames::vas_frame_data(frame, &mut len);
        std::hint::black_box(*data.add(len / 2));
        (*user.cast::<AtomicU64>()).fetch_add(1, Ordering::Relaxed);
    }
}

/// Child role: the C ABI's callback consumer, called as C calls it.
fn run_c(url: &str) {
    use vas_ffi::engine::*;
    use vas_ffi::frames::*;
    use vas_ffi::generated::*;
    use vas_ffi::listener::vas_listener_free;

    let dir = tempfile::tempdir().expect("a temporary folder");
    let data_dir = CString::new(dir.path().to_str().expect("UTF-8")).expect("no NUL");
    let url = CString::new(url).expect("no NUL");
    let name = c"cam";
    let count = Box::new(AtomicU64::new(0));
    // SAFETY: the calls as the header documents them, with live pointers.
    unsafe {
        let mut o = std::mem::MaybeUninit::<vas_engine_options>::uninit();
        assert_eq!(vas_engine_options_init(o.as_mut_ptr()), vas_result::VAS_OK);
        let mut o = o.assume_init();
        o.data_dir = data_dir.as_ptr();
        let mut engine = std::ptr::null_mut();
        assert_eq!(vas_open(&o, &mut engine), vas_result::VAS_OK);
        let mut d = std::mem::MaybeUninit::<vas_new_device>::uninit();
        assert_eq!(vas_new_device_init(d.as_mut_ptr()), vas_result::VAS_OK);
        let mut d = d.assume_init();
        d.name = name.as_ptr();
        d.rtsp_url = url.as_ptr();
        let mut device = std::ptr::null_mut();
        assert_eq!(vas_add_device(engine, &d, &mut device), vas_result::VAS_OK);
        let stream = vas_device_main_stream_id(device);
        vas_device_free(device);
        let mut started = std::ptr::null_mut();
        assert_eq!(
            vas_start_stream(engine, stream, &mut started),
            vas_result::VAS_OK
        );
        vas_stream_free(started);
        let mut fo = std::mem::MaybeUninit::<vas_frame_options>::uninit();
        assert_eq!(vas_frame_options_init(fo.as_mut_ptr()), vas_result::VAS_OK);
        let fo = fo.assume_init(); // I420, newest only
        let mut listener = std::ptr::null_mut();
        let user = std::ptr::from_ref::<AtomicU64>(&count)
            .cast_mut()
            .cast::<c_void>();
        assert_eq!(
            vas_frames_listen(engine, stream, &fo, Some(on_frame), user, &mut listener),
            vas_result::VAS_OK
        );
        serve(&count);
        vas_listener_free(listener);
        vas_engine_free(engine);
    }
}
