//! Shared helpers for the VAS benchmarks and load generators in this folder.
//!
//! Each benchmark is a `[[bench]]` target of this crate; run them with
//! `cargo bench -p vas-benches --bench <name>`. They quote results as ratios against a peer
//! measured in the same run.
