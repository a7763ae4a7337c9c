//! Every committed seed of every fuzz target goes through that target's invariants in the
//! ordinary test run, so a regression input found once (kept in `fuzz/corpus/<target>/`)
//! fails `cargo test` for good, and every target in `fuzz_targets/` must be listed here and
//! have seeds.

use std::path::Path;

type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("camera_url", vas_fuzz::camera_url::check),
    ("frame_budget", vas_fuzz::frame_budget::check),
    ("mp4_clip", vas_fuzz::mp4_clip::check),
    ("nal_units", vas_fuzz::nal_units::check),
    ("playlist", vas_fuzz::playlist::check),
    ("rtsp_guard", vas_fuzz::rtsp_guard::check),
    ("sdp_offer", vas_fuzz::sdp_offer::check),
    ("signaling_message", vas_fuzz::signaling_message::check),
    ("ts_read", vas_fuzz::ts_read::check),
    ("ts_scan", vas_fuzz::ts_scan::check),
];

fn dir(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn every_target_is_replayed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir("fuzz_targets"))
        .expect("fuzz_targets/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        on_disk, listed,
        "fuzz_targets/ and this test's table differ"
    );
}

#[test]
fn committed_seeds_hold_every_invariant() {
    for (name, check) in TARGETS {
        let mut seeds: Vec<_> = std::fs::read_dir(dir(&format!("corpus/{name}")))
            .unwrap_or_else(|e| panic!("corpus/{name}: {e}"))
            .map(|e| e.expect("entry").path())
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty(), "{name} has no committed seeds");
        for seed in seeds {
            let data = std::fs::read(&seed).expect("seed");
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("{name}: seed {} breaks an invariant", seed.display());
            }
        }
    }
}
