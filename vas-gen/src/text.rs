//! Text helpers: documentation comments and a line writer.

use std::fmt::Write as _;

/// Accumulates generated source.
#[derive(Default)]
pub struct Src(pub String);

impl Src {
    /// Appends one line.
    pub fn line(&mut self, l: impl AsRef<str>) {
        self.0.push_str(l.as_ref());
        self.0.push('\n');
    }

    /// A documentation comment (`prefix` is `///`, `//!` or `#`), every line of `doc`
    /// prefixed at `indent`.
    pub fn doc(&mut self, indent: &str, prefix: &str, doc: &str) {
        for l in doc.lines() {
            if l.is_empty() {
                let _ = writeln!(self.0, "{indent}{prefix}");
            } else {
                let _ = writeln!(self.0, "{indent}{prefix} {l}");
            }
        }
    }
}

/// The first sentence of a documentation text, on one line.
pub fn first_sentence(doc: &str) -> String {
    let one = doc.split("\n\n").next().unwrap_or("").replace('\n', " ");
    match one.find(". ") {
        Some(i) => one[..=i].to_owned(),
        None => one,
    }
}

/// `doc` for a Python docstring: backticks kept, triple quotes escaped.
pub fn py_docstring(doc: &str) -> String {
    doc.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
}

/// The lints a generated Rust file allows: what is written the same way for every field and
/// call (a clone of a `Copy` field, a conversion to its own type, a binding returned at once).
pub const GENERATED_ALLOWS: &str = "#![allow(
    clippy::clone_on_copy,
    clippy::let_and_return,
    clippy::let_unit_value,
    clippy::map_identity,
    clippy::needless_question_mark,
    clippy::needless_update,
    clippy::redundant_closure,
    clippy::redundant_closure_call,
    clippy::redundant_field_names,
    clippy::unit_arg,
    clippy::useless_conversion,
    clippy::wrong_self_convention,
    unused_braces,
    unused_unsafe
)]";
