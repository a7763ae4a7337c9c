//! The uniffi surface's generated half: `vas-uniffi/src/generated.rs`.
//!
//! Every name table becomes a uniffi enum (whose text form, `Display`, is the value's name in
//! the table), every record a uniffi record (output records from the engine's values; input
//! records, with the description's defaults, into them), the event union a uniffi enum with
//! fields, and every call an async method of `Engine`.
//!
//! The Kotlin/Swift forms: ids are strings, times `Instant`/`Date`, durations `Duration`,
//! bytes `ByteArray`/`Data`, paths strings. An input field whose default is not a plain value
//! (a name-table value, a duration) is optional, absent meaning that default.

use vas::description::{
    CallDesc, Description, EnumDesc, FieldDesc, Literal, RecordDesc, Ty, UnionDesc,
};

use crate::names::{camel, id_type, variant_record};
use crate::text::Src;

/// Calls the uniffi shell writes by hand.
const HAND_WRITTEN: &[&str] = &["open", "close", "frames", "encoded_frames", "events"];

/// Name tables uniffi has in another form (`VasError`).
const SKIPPED_ENUMS: &[&str] = &["ErrorKind"];

/// A description text as the Kotlin and Swift documentation: without its examples (fenced
/// code blocks), which are the `vas` crate's Rust doctests, meaningless in Kotlin or Swift and
/// not compilable in this crate.
fn shell_doc(doc: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut in_example = false;
    for l in doc.lines() {
        if l.trim_start().starts_with("```") {
            in_example = !in_example;
            continue;
        }
        let blank_again = l.trim().is_empty() && lines.last().is_none_or(|p| p.trim().is_empty());
        if !in_example && !blank_again {
            lines.push(l);
        }
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// The uniffi type of a description type.
fn ffi_type(ty: &Ty) -> String {
    match ty {
        Ty::Unit => "()".into(),
        Ty::Bool => "bool".into(),
        Ty::U8 => "u8".into(),
        Ty::U32 => "u32".into(),
        Ty::U64 | Ty::Viewer => "u64".into(),
        Ty::I64 => "i64".into(),
        Ty::F64 => "f64".into(),
        Ty::String | Ty::Path | Ty::Id(_) | Ty::Playlist => "String".into(),
        Ty::Bytes => "Vec<u8>".into(),
        Ty::Time => "std::time::SystemTime".into(),
        Ty::Duration => "std::time::Duration".into(),
        Ty::Enum(n) | Ty::Record(n) | Ty::Union(n) => n.to_string(),
        Ty::Option(t) => format!("Option<{}>", ffi_type(t)),
        Ty::List(t) => format!("Vec<{}>", ffi_type(t)),
        Ty::Change(_) => "Option<String>".into(),
        other => panic!("a {other:?} has no uniffi form"),
    }
}

/// The engine's value as uniffi's, over `x`.
fn out_conv(ty: &Ty) -> String {
    match ty {
        Ty::Unit
        | Ty::Bool
        | Ty::U8
        | Ty::U32
        | Ty::U64
        | Ty::I64
        | Ty::F64
        | Ty::String
        | Ty::Duration => "x".into(),
        Ty::Path => "x.display().to_string()".into(),
        Ty::Bytes => "x.to_vec()".into(),
        Ty::Time => "std::time::SystemTime::from(x)".into(),
        Ty::Id(_) => "x.to_string()".into(),
        Ty::Viewer => "x.0".into(),
        Ty::Playlist => "x.render()".into(),
        Ty::Enum(_) | Ty::Record(_) => "x.into()".into(),
        Ty::Option(t) => format!("x.map(|x| {})", out_conv(t)),
        Ty::List(t) => format!("x.into_iter().map(|x| {}).collect()", out_conv(t)),
        other => panic!("a {other:?} has no uniffi output form"),
    }
}

/// uniffi's value as the engine's, over `x` (may use `?`).
fn in_conv(ty: &Ty) -> String {
    match ty {
        Ty::Bool | Ty::U8 | Ty::U32 | Ty::U64 | Ty::I64 | Ty::F64 | Ty::String | Ty::Duration => {
            "x".into()
        }
        Ty::Path => "std::path::PathBuf::from(x)".into(),
        Ty::Time => "chrono::DateTime::<chrono::Utc>::from(x)".into(),
        Ty::Id(k) => format!("x.parse::<{}>()?", id_type(k)),
        Ty::Viewer => "vas::ViewerId(x)".into(),
        Ty::Enum(_) => "x.into()".into(),
        Ty::Record(r) => format!("vas::{r}::try_from(x)?"),
        Ty::Change(_) => "vas::SubStreamChange::from_text(x)".into(),
        Ty::Option(t) => {
            let inner = in_conv(t);
            if inner.contains('?') {
                format!("x.map(|x| -> Result<_, VasError> {{ Ok({inner}) }}).transpose()?")
            } else {
                format!("x.map(|x| {inner})")
            }
        }
        Ty::List(t) => {
            let inner = in_conv(t);
            if inner.contains('?') {
                format!(
                    "x.into_iter().map(|x| -> Result<_, VasError> {{ Ok({inner}) }}).collect::<Result<Vec<_>, _>>()?"
                )
            } else {
                format!("x.into_iter().map(|x| {inner}).collect()")
            }
        }
        other => panic!("a {other:?} has no uniffi input form"),
    }
}

fn enumeration(s: &mut Src, e: &EnumDesc) {
    s.doc("", "///", &shell_doc(e.doc));
    s.line("///");
    s.line("/// Its text form (`toString()` in Kotlin, `description` in Swift) is the value's");
    s.line("/// name in the table, the same in every shell.");
    s.line("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]");
    s.line("#[uniffi::export(Display)]");
    s.line(format!("pub enum {} {{", e.name));
    for v in &e.variants {
        s.doc(
            "    ",
            "///",
            &shell_doc(&format!("`{}`: {}", v.name, v.doc)),
        );
        s.line(format!("    {},", v.rust));
    }
    s.line("}");
    s.line("");
    s.line(format!("impl {} {{", e.name));
    let all: Vec<String> = e
        .variants
        .iter()
        .map(|v| format!("{}::{}", e.name, v.rust))
        .collect();
    s.line(format!(
        "    const ALL: [{}; {}] = [{}];",
        e.name,
        all.len(),
        all.join(", ")
    ));
    s.line("}");
    s.line("");
    s.line(format!("impl std::fmt::Display for {} {{", e.name));
    s.line("    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {");
    s.line(format!(
        "        f.write_str(vas::{}::from(*self).as_str())",
        e.name
    ));
    s.line("    }");
    s.line("}");
    s.line("");
    s.line(format!("impl From<vas::{n}> for {n} {{", n = e.name));
    s.line(format!("    fn from(v: vas::{}) -> Self {{", e.name));
    s.line(format!(
        "        let i = vas::{}::ALL.iter().position(|x| *x == v).unwrap_or(0);",
        e.name
    ));
    s.line("        Self::ALL[i]");
    s.line("    }");
    s.line("}");
    s.line("");
    s.line(format!("impl From<{n}> for vas::{n} {{", n = e.name));
    s.line(format!("    fn from(v: {}) -> Self {{", e.name));
    s.line(format!("        vas::{}::ALL[v as usize]", e.name));
    s.line("    }");
    s.line("}");
    s.line("");
}

/// An input field: its uniffi type, its `#[uniffi(default …)]`, and the conversion of `x`.
fn input_field(f: &FieldDesc) -> (String, Option<String>, String) {
    let plain = |l: &Literal| -> Option<String> {
        match l {
            Literal::None => Some("None".into()),
            Literal::Bool(b) => Some(b.to_string()),
            Literal::Int(i) => Some(i.to_string()),
            Literal::Float(v) => Some(format!("{v:?}")),
            Literal::Str(s) => Some(format!("{s:?}")),
            _ => None,
        }
    };
    match (&f.default, &f.ty) {
        (None, ty) => (ffi_type(ty), None, in_conv(ty)),
        (Some(Literal::EmptyList), ty) => (ffi_type(ty), Some("default".into()), in_conv(ty)),
        (Some(Literal::None), ty @ (Ty::Option(_) | Ty::Change(_))) => {
            (ffi_type(ty), Some("default = None".into()), in_conv(ty))
        }
        (Some(l), ty) => match plain(l) {
            Some(p) => (ffi_type(ty), Some(format!("default = {p}")), in_conv(ty)),
            None => {
                // A default uniffi cannot write: optional, absent meaning the default.
                let fallback = match l {
                    Literal::Seconds(secs) => {
                        format!("std::time::Duration::from_secs_f64({secs:?})")
                    }
                    _ => "Default::default()".into(),
                };
                let inner = in_conv(ty);
                (
                    format!("Option<{}>", ffi_type(ty)),
                    Some("default = None".into()),
                    format!("match x {{ Some(x) => {inner}, None => {fallback} }}"),
                )
            }
        },
    }
}

fn record(s: &mut Src, r: &RecordDesc) {
    s.doc("", "///", &shell_doc(r.doc));
    s.line("#[derive(Debug, Clone, PartialEq, uniffi::Record)]");
    s.line(format!("pub struct {} {{", r.name));
    let mut convs = Vec::new();
    for f in &r.fields {
        s.doc("    ", "///", &shell_doc(f.doc));
        if r.input {
            let (t, default, conv) = input_field(f);
            if let Some(d) = default {
                s.line(format!("    #[uniffi({d})]"));
            }
            s.line(format!("    pub {}: {t},", f.name));
            convs.push((f.name, conv));
        } else {
            s.line(format!("    pub {}: {},", f.name, ffi_type(&f.ty)));
            convs.push((f.name, out_conv(&f.ty)));
        }
    }
    s.line("}");
    s.line("");
    if r.input {
        s.line(format!("impl TryFrom<{n}> for vas::{n} {{", n = r.name));
        s.line("    type Error = VasError;");
        s.line(format!(
            "    fn try_from(v: {}) -> Result<Self, VasError> {{",
            r.name
        ));
        s.line(format!("        Ok(vas::{} {{", r.name));
        for (name, conv) in &convs {
            s.line(format!(
                "            {name}: {{ let x = v.{name}; {conv} }},"
            ));
        }
        s.line("        })");
        s.line("    }");
        s.line("}");
    } else {
        s.line(format!("impl From<vas::{n}> for {n} {{", n = r.name));
        s.line(format!("    fn from(v: vas::{}) -> Self {{", r.name));
        s.line(format!("        {} {{", r.name));
        for (name, conv) in &convs {
            s.line(format!(
                "            {name}: {{ let x = v.{name}; {conv} }},"
            ));
        }
        s.line("        }");
        s.line("    }");
        s.line("}");
    }
    s.line("");
}

fn union(s: &mut Src, u: &UnionDesc) {
    s.doc("", "///", &shell_doc(u.doc));
    s.line("#[derive(Debug, Clone, PartialEq, uniffi::Enum)]");
    s.line(format!("pub enum {} {{", u.name));
    for v in &u.variants {
        s.doc("    ", "///", &shell_doc(v.doc));
        if v.fields.is_empty() {
            s.line(format!("    {},", camel(v.name)));
            continue;
        }
        s.line(format!("    {} {{", camel(v.name)));
        for f in &v.fields {
            s.doc("        ", "///", &shell_doc(f.doc));
            s.line(format!("        {}: {},", f.name, ffi_type(&f.ty)));
        }
        s.line("    },");
    }
    s.line("}");
    s.line("");
    s.line(format!("impl {} {{", u.name));
    s.line(format!(
        "    /// The uniffi form of a `vas::{}`; None for a kind newer than this surface.",
        u.name
    ));
    s.line(format!(
        "    pub(crate) fn of(e: vas::{}) -> Option<Self> {{",
        u.name
    ));
    s.line("        Some(match e {");
    for v in &u.variants {
        let names: Vec<&str> = v.fields.iter().map(|f| f.name).collect();
        if names.is_empty() {
            s.line(format!(
                "            vas::{}::{} => {}::{},",
                u.name,
                camel(v.name),
                u.name,
                camel(v.name)
            ));
            continue;
        }
        s.line(format!(
            "            vas::{}::{} {{ {}, .. }} => {}::{} {{",
            u.name,
            camel(v.name),
            names.join(", "),
            u.name,
            camel(v.name)
        ));
        for f in &v.fields {
            s.line(format!(
                "                {n}: {{ let x = {n}; {} }},",
                out_conv(&f.ty),
                n = f.name
            ));
        }
        s.line("            },");
    }
    s.line("            _ => return None,");
    s.line("        })");
    s.line("    }");
    s.line("}");
    s.line("");
}

fn call(s: &mut Src, c: &CallDesc) {
    s.doc("    ", "///", &shell_doc(c.doc));
    let params: Vec<String> = c
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, ffi_type(&a.ty)))
        .collect();
    let ret = ffi_type(&c.returns);
    let asyncness = if c.waits { "async " } else { "" };
    s.line(format!(
        "    pub {asyncness}fn {}(&self, {}) -> Result<{ret}, VasError> {{",
        c.name,
        params.join(", ")
    ));
    for a in &c.args {
        s.line(format!(
            "        let {n} = {{ let x = {n}; {} }};",
            in_conv(&a.ty),
            n = a.name
        ));
    }
    let names: Vec<&str> = c.args.iter().map(|a| a.name).collect();
    let wait = if c.waits { ".await" } else { "" };
    s.line(format!(
        "        let x = self.vas.{}({}){wait}?;",
        c.name,
        names.join(", ")
    ));
    s.line(format!("        Ok({})", out_conv(&c.returns)));
    s.line("    }");
    s.line("");
}

/// `vas-uniffi/src/generated.rs`.
pub fn render(d: &Description) -> String {
    let mut s = Src::default();
    s.line("// @generated by vas-gen from vas::description; do not edit (run `make generate`).");
    s.line("//! The Kotlin/Swift records, enums, events and the engine's methods, generated from");
    s.line(
        "//! the engine's description (see `vas-gen/src/uniffi.rs` for the forms of each type).",
    );
    s.line("");
    s.line(crate::text::GENERATED_ALLOWS);
    s.line("");
    s.line("use crate::engine::Engine;");
    s.line("use crate::error::VasError;");
    s.line("");
    for e in &d.enums {
        if !SKIPPED_ENUMS.contains(&e.name) {
            enumeration(&mut s, e);
        }
    }
    for r in &d.records {
        record(&mut s, r);
    }
    for u in &d.unions {
        union(&mut s, u);
    }
    s.line("#[uniffi::export]");
    s.line("impl Engine {");
    for c in &d.calls {
        if !HAND_WRITTEN.contains(&c.name) {
            call(&mut s, c);
        }
    }
    s.line("}");
    let _ = variant_record;
    s.0
}
