//! `vas-gen`: the shells of VAS, written from the engine's description.
//!
//! The engine describes what it offers to the outside once (`vas::description`: records, name
//! tables, the event union, calls, with their documentation). This program turns that
//! description into what each shell would otherwise restate by hand:
//!
//! * `vas-ffi/src/generated.rs` (the C ABI's records, inputs, name tables and calls) and
//!   `vas-ffi/src/result.rs` (the result codes), then `include/vas.h` by cbindgen over the
//!   crate;
//! * `vas-py/src/generated.rs` (the Python classes and the engine's methods), the stubs
//!   `vas-py/python/vas/_vas.pyi` (the generated part and `vas-py/stubs/handwritten.pyi`)
//!   and the coroutine twins `vas-py/python/vas/_coroutines.py`;
//! * `vas-uniffi/src/generated.rs` (the Kotlin/Swift records, enums and methods);
//! * `docs/api.md`, every call and record with its name in each shell.
//!
//! The outputs are committed, so a change of the face shows in review, and checked: `vas-gen
//! check` (part of `make test`) fails while a committed copy differs from what this program
//! writes; `vas-gen write` (`make generate`) rewrites them. `vas-gen describe` prints the
//! description as JSON (the parity test reads it).
//!
//! Hand-written rather than taken from a binding generator (Diplomat, uniffi for all): the
//! shells keep their own conventions (rustls-ffi's opaque handles with versioned input
//! structs for C, keyword arguments and numpy frames for Python, async functions for uniffi),
//! which no generator offers together; what they share is this one description.

mod c;
mod docs;
mod json;
mod names;
mod python;
mod text;
mod uniffi;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One file this program owns.
struct Output {
    path: &'static str,
    text: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("vas-gen is a workspace member")
        .to_path_buf()
}

/// Rust source as `cargo fmt` leaves it (so that formatting the workspace changes nothing).
fn rustfmt(src: String) -> String {
    use std::io::Write as _;
    let child = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn();
    let Ok(mut child) = child else {
        panic!("rustfmt is needed to write Rust (rustup component add rustfmt)")
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(src.as_bytes())
            .expect("rustfmt reads the source");
    }
    let out = child.wait_with_output().expect("rustfmt runs");
    assert!(out.status.success(), "rustfmt failed on generated source");
    String::from_utf8(out.stdout).expect("rustfmt writes UTF-8")
}

/// Every generated file but the header (which cbindgen renders from the C crate as written).
fn outputs(d: &vas::description::Description) -> Vec<Output> {
    vec![
        Output {
            path: "vas-ffi/src/generated.rs",
            text: rustfmt(c::render(d)),
        },
        Output {
            path: "vas-ffi/src/result.rs",
            text: rustfmt(c::render_result_codes()),
        },
        Output {
            path: "vas-py/src/generated.rs",
            text: rustfmt(python::render(d)),
        },
        Output {
            path: "vas-py/python/vas/_vas.pyi",
            text: python::render_stubs(d, &root()),
        },
        Output {
            path: "vas-py/python/vas/_coroutines.py",
            text: python::render_coroutines(d),
        },
        Output {
            path: "vas-uniffi/src/generated.rs",
            text: rustfmt(uniffi::render(d)),
        },
        Output {
            path: "docs/api.md",
            text: docs::render(d),
        },
    ]
}

/// The C header, by cbindgen over `vas-ffi/` as it is on disk.
fn header() -> Result<String, String> {
    let crate_dir = root().join("vas-ffi");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("vas-ffi/cbindgen.toml: {e}"))?;
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_crate(&crate_dir)
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| format!("the header is not UTF-8: {e}"))
}

const HEADER: &str = "include/vas.h";

/// The first line where `a` and `b` differ (1-based).
fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}

fn write(d: &vas::description::Description) -> Result<(), String> {
    let root = root();
    for o in outputs(d) {
        let path = root.join(o.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(o.text.as_str()) {
            std::fs::write(&path, &o.text).map_err(|e| format!("writing {}: {e}", o.path))?;
            eprintln!("vas-gen: wrote {}", o.path);
        }
    }
    // The header from the sources just written.
    let h = header()?;
    let path = root.join(HEADER);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(h.as_str()) {
        std::fs::write(&path, h).map_err(|e| format!("writing {HEADER}: {e}"))?;
        eprintln!("vas-gen: wrote {HEADER}");
    }
    Ok(())
}

fn check(d: &vas::description::Description) -> Result<(), String> {
    let root = root();
    let mut stale = Vec::new();
    let mut all = outputs(d);
    all.push(Output {
        path: HEADER,
        text: header()?,
    });
    for o in &all {
        let committed = std::fs::read_to_string(root.join(o.path)).unwrap_or_default();
        if committed != o.text {
            stale.push(format!(
                "{} (first difference at line {})",
                o.path,
                first_difference(&committed, &o.text)
            ));
        }
    }
    if stale.is_empty() {
        eprintln!("vas-gen: {} generated files are current", all.len());
        Ok(())
    } else {
        Err(format!(
            "stale: {}; run `make generate` and commit the result",
            stale.join(", ")
        ))
    }
}

fn main() -> ExitCode {
    let d = vas::description::description();
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "write" => write(&d),
        "check" => check(&d),
        "describe" => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", json::describe(&d)).map_err(|e| format!("stdout: {e}"))
        }
        _ => Err("usage: vas-gen write | check | describe".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vas-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
