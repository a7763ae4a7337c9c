//! Every fuzz target is wired up everywhere it must be: a `[[bin]]` in `Cargo.toml` and a
//! module in `src/lib.rs` (its seeds are checked, and replayed, by `seeds.rs`).
//!
//! Deliberately uses nothing but std: `scripts/fuzz.sh smoke` builds this test along with the
//! instrumented fuzz binaries only so that cargo resolves features as `cargo test` does, and a
//! test linking the instrumented library would need libFuzzer's runtime.

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn every_target_has_a_binary_and_a_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = read("Cargo.toml");
    let lib = read("src/lib.rs");
    let mut targets = 0;
    for entry in std::fs::read_dir(root.join("fuzz_targets")).expect("fuzz_targets/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(target) = name.strip_suffix(".rs") else {
            continue;
        };
        targets += 1;
        assert!(
            manifest.contains(&format!(
                "name = \"{target}\"\npath = \"fuzz_targets/{name}\""
            )),
            "Cargo.toml has no [[bin]] for {target}"
        );
        assert!(
            lib.contains(&format!("pub mod {target};")),
            "src/lib.rs has no module {target}"
        );
    }
    assert!(targets >= 8, "only {targets} fuzz targets found");
}
