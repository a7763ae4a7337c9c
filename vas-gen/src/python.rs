//! The Python module's generated half: `vas-py/src/generated.rs`, the stubs
//! `vas-py/python/vas/_vas.pyi`, and the coroutine twins `vas-py/python/vas/_coroutines.py`.
//!
//! Every output record becomes a frozen class wrapping the engine's value, with one property
//! per field and a `repr`; the event union becomes `Event` and one subclass per kind; every
//! call becomes a method of `Vas` whose arguments are the call's, an input record spread into
//! its fields (the required ones positional, the others keywords with the description's
//! defaults; a keyword-named field gets a trailing underscore: `from_`), an optional argument
//! defaulting to None and a name-table one to the default the description gives that table
//! (`streams(device_id=None, order="oldest")`), and whose coroutine twin `a<name>` runs it in
//! a worker thread. The docs lose their Rust examples and rustdoc links on the way.
//!
//! The Python forms: ids and name-table values are `str` (a bad one is `vas.InvalidInput`
//! naming the allowed values), times are timezone-aware `datetime`s, durations `float`
//! seconds, bytes `bytes`, paths `pathlib.Path`.

use std::fmt::Write as _;
use std::path::Path;

use vas::description::{CallDesc, Description, FieldDesc, Literal, RecordDesc, Ty, UnionDesc};

use crate::names::{camel, id_type, py_ident, variant_record};
use crate::text::{Src, py_docstring};

/// Records the shell's hand-written classes carry (their getters read `self.info()`).
const CARRIED: &[(&str, &str)] = &[
    ("FrameInfo", "crate::stream::Frame"),
    ("EncodedFrameInfo", "crate::stream::EncodedFrame"),
];

/// Calls the Python shell writes by hand.
const HAND_WRITTEN: &[&str] = &["close"];

/// A description's documentation as Python reads it (`help(vas.Device)`): without the Rust
/// examples (fenced blocks) and with rustdoc's links as plain code (`` [`X`](Self::x) `` ->
/// `` `X` ``).
fn py_doc(doc: &str) -> String {
    let mut lines = Vec::new();
    let mut fenced = false;
    for l in doc.lines() {
        if l.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            lines.push(unlink(l));
        }
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// `` [`X`] `` and `` [`X`](target) `` as `` `X` ``.
fn unlink(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("[`") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find("`]") else {
            out.push_str(&rest[i..]);
            return out;
        };
        out.push_str(&after[..=j]);
        rest = &after[j + 2..];
        if rest.starts_with('(')
            && let Some(k) = rest.find(')')
        {
            rest = &rest[k + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// The class of each subscription (hand-written in `stream.rs`).
fn subscription_class(kind: &str) -> &'static str {
    match kind {
        "frames" => "Frames",
        "encoded_frames" => "EncodedFrames",
        "events" => "Events",
        other => panic!("no Python class for the subscription {other}"),
    }
}

/// How a value of the engine becomes a Python value: (Rust type of the getter, expression
/// over `x`, whether it needs `py` and can fail).
fn out_conv(ty: &Ty) -> (String, String, bool) {
    match ty {
        Ty::Bool => ("bool".into(), "x".into(), false),
        Ty::U8 | Ty::U32 => ("u32".into(), "u32::from(x)".into(), false),
        Ty::U64 => ("u64".into(), "x".into(), false),
        Ty::I64 => ("i64".into(), "x".into(), false),
        Ty::F64 => ("f64".into(), "x".into(), false),
        Ty::String => ("String".into(), "x".into(), false),
        Ty::Path => ("std::path::PathBuf".into(), "x".into(), false),
        Ty::Bytes => (
            "Py<PyBytes>".into(),
            "PyBytes::new(py, &x).unbind()".into(),
            true,
        ),
        Ty::Time => ("chrono::DateTime<chrono::Utc>".into(), "x".into(), false),
        Ty::Duration => ("f64".into(), "x.as_secs_f64()".into(), false),
        Ty::Id(_) => ("String".into(), "x.to_string()".into(), false),
        Ty::Viewer => ("u64".into(), "x.0".into(), false),
        Ty::Enum(_) => ("&'static str".into(), "x.as_str()".into(), false),
        Ty::Record(r) => (format!("Py<{r}>"), format!("Py::new(py, {r}(x))?"), true),
        Ty::Option(inner) => {
            let (t, e, fallible) = out_conv(inner);
            if fallible {
                (
                    format!("Option<{t}>"),
                    format!("x.map(|x| -> PyResult<{t}> {{ Ok({e}) }}).transpose()?"),
                    true,
                )
            } else {
                (format!("Option<{t}>"), format!("x.map(|x| {e})"), false)
            }
        }
        Ty::List(inner) => {
            let (t, e, fallible) = out_conv(inner);
            if fallible {
                (
                    format!("Vec<{t}>"),
                    format!(
                        "x.into_iter().map(|x| -> PyResult<{t}> {{ Ok({e}) }}).collect::<PyResult<Vec<_>>>()?"
                    ),
                    true,
                )
            } else {
                (
                    format!("Vec<{t}>"),
                    format!("x.into_iter().map(|x| {e}).collect::<Vec<_>>()"),
                    false,
                )
            }
        }
        Ty::Playlist => ("String".into(), "x.render()".into(), false),
        Ty::Unit => ("()".into(), "x".into(), false),
        Ty::Subscription(k) => (
            format!("crate::stream::{}", subscription_class(k)),
            format!("crate::stream::{}::new(x, timeout)?", subscription_class(k)),
            true,
        ),
        Ty::Engine => ("Self".into(), "x".into(), false),
        other => panic!("a {other:?} has no Python output form"),
    }
}

/// The Python type of a value going out (stubs).
fn py_type(ty: &Ty, d: &Description) -> String {
    match ty {
        Ty::Unit => "None".into(),
        Ty::Bool => "bool".into(),
        Ty::U8 | Ty::U32 | Ty::U64 | Ty::I64 | Ty::Viewer => "int".into(),
        Ty::F64 | Ty::Duration => "float".into(),
        Ty::String | Ty::Id(_) | Ty::Playlist => "str".into(),
        Ty::Bytes => "bytes".into(),
        Ty::Path => "Path".into(),
        Ty::Time => "datetime".into(),
        Ty::Enum(n) => enum_literal(n, d),
        Ty::Record(n) | Ty::Union(n) => n.to_string(),
        Ty::Option(t) => format!("Optional[{}]", py_type(t, d)),
        Ty::List(t) => format!("List[{}]", py_type(t, d)),
        Ty::Change(_) => "Optional[str]".into(),
        Ty::Subscription(k) => subscription_class(k).into(),
        Ty::Engine => "Vas".into(),
        other => panic!("a {other:?} has no Python type"),
    }
}

/// The Python type of an argument.
fn py_arg_type(ty: &Ty, d: &Description) -> String {
    match ty {
        Ty::Path => "Union[str, PathLike[str]]".into(),
        Ty::Option(t) => format!("Optional[{}]", py_arg_type(t, d)),
        Ty::List(t) => format!("List[{}]", py_arg_type(t, d)),
        other => py_type(other, d),
    }
}

fn enum_literal(name: &str, d: &Description) -> String {
    let e = d
        .enumeration(name)
        .unwrap_or_else(|| panic!("no enum {name}"));
    let names: Vec<String> = e.names().iter().map(|n| format!("\"{n}\"")).collect();
    format!("Literal[{}]", names.join(", "))
}

/// One Python argument of a call: its Python name, its Rust parameter type, the expression
/// giving the engine's value, its default (None: required) and its stub type.
struct PyArg {
    name: String,
    rust: String,
    value: String,
    default: Option<String>,
    stub_default: Option<String>,
    stub: String,
}

fn literal_rust(l: &Literal) -> String {
    match l {
        Literal::None => "None".into(),
        Literal::Bool(b) => b.to_string(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) | Literal::Seconds(f) => format!("{f:?}"),
        Literal::Str(s) => format!("{s:?}"),
        Literal::Enum(s) => format!("{s:?}"),
        Literal::EmptyList => "Vec::new()".into(),
        other => panic!("a {other:?} default has no Rust form"),
    }
}

fn literal_py(l: &Literal) -> String {
    match l {
        Literal::None => "None".into(),
        Literal::Bool(true) => "True".into(),
        Literal::Bool(false) => "False".into(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) | Literal::Seconds(f) => format!("{f:?}"),
        Literal::Str(s) => format!("{s:?}"),
        Literal::Enum(s) => format!("{s:?}"),
        Literal::EmptyList => "[]".into(),
        other => panic!("a {other:?} default has no Python form"),
    }
}

/// An argument of the type `ty`, called `name` (`what` in messages).
fn py_arg(name: &str, ty: &Ty, default: Option<&Literal>, d: &Description) -> PyArg {
    let p = py_ident(name);
    let what = format!("{name:?}");
    // An empty list by default is None in Python (a mutable default would be shared).
    let empty_list = default == Some(&Literal::EmptyList);
    let (rust, value) = match ty {
        Ty::Bool => ("bool".into(), p.clone()),
        Ty::U8 => ("u8".into(), p.clone()),
        Ty::U32 => ("u32".into(), p.clone()),
        Ty::U64 => ("u64".into(), p.clone()),
        Ty::F64 => ("f64".into(), p.clone()),
        Ty::String => ("String".into(), p.clone()),
        Ty::Path => ("std::path::PathBuf".into(), p.clone()),
        Ty::Time => (
            "&Bound<'_, PyAny>".into(),
            format!("crate::convert::time({p}, {what})?"),
        ),
        Ty::Duration => (
            "f64".into(),
            format!("crate::convert::duration({p}, {what})?"),
        ),
        Ty::Id(k) => (
            "&str".into(),
            format!("crate::convert::id::<{}>({p})?", id_type(k)),
        ),
        Ty::Viewer => ("u64".into(), format!("vas::ViewerId({p})")),
        Ty::Enum(e) => (
            "&str".into(),
            format!("crate::convert::name::<vas::{e}>({p})?"),
        ),
        Ty::Change(_) => (
            "Option<String>".into(),
            format!("vas::SubStreamChange::from_text({p})"),
        ),
        Ty::List(inner) if matches!(**inner, Ty::String) && empty_list => (
            "Option<Vec<String>>".into(),
            format!("{p}.unwrap_or_default()"),
        ),
        Ty::List(inner) if matches!(**inner, Ty::String) => ("Vec<String>".into(), p.clone()),
        Ty::Option(inner) => match &**inner {
            Ty::String => ("Option<String>".into(), p.clone()),
            Ty::Path => ("Option<std::path::PathBuf>".into(), p.clone()),
            Ty::Bool => ("Option<bool>".into(), p.clone()),
            Ty::U8 => ("Option<u8>".into(), p.clone()),
            Ty::U32 => ("Option<u32>".into(), p.clone()),
            Ty::F64 => ("Option<f64>".into(), p.clone()),
            Ty::Time => (
                "Option<&Bound<'_, PyAny>>".into(),
                format!("crate::convert::opt_time({p}, {what})?"),
            ),
            Ty::Id(k) => (
                "Option<&str>".into(),
                format!("{p}.map(crate::convert::id::<{}>).transpose()?", id_type(k)),
            ),
            Ty::Enum(e) => (
                "Option<&str>".into(),
                format!("{p}.map(crate::convert::name::<vas::{e}>).transpose()?"),
            ),
            other => panic!("{name}: an optional {other:?} has no Python form"),
        },
        other => panic!("{name}: a {other:?} has no Python argument form"),
    };
    // A time's default is None in Python whatever the engine's (absent means "now").
    let default = default.map(|l| match (ty, l) {
        (Ty::Option(_) | Ty::Change(_), _) | (Ty::List(_), Literal::EmptyList) => Literal::None,
        (_, l) => l.clone(),
    });
    PyArg {
        name: p,
        rust,
        value,
        default: default.as_ref().map(literal_rust),
        stub_default: default.as_ref().map(literal_py),
        stub: py_arg_type(
            &match ty {
                Ty::Change(_) => Ty::Option(Box::new(Ty::String)),
                Ty::List(_) if empty_list => Ty::Option(Box::new(ty.clone())),
                Ty::Duration => Ty::F64,
                Ty::Time => Ty::Time,
                t => t.clone(),
            },
            d,
        ),
    }
}

/// A call's Python arguments, and for each input record how to build it from them.
struct CallArgs {
    positional: Vec<PyArg>,
    keyword: Vec<PyArg>,
    /// `let <arg> = <expr>;` for every call argument, in order.
    builds: Vec<(String, String)>,
}

fn call_args(c: &CallDesc, d: &Description) -> CallArgs {
    let mut out = CallArgs {
        positional: Vec::new(),
        keyword: Vec::new(),
        builds: Vec::new(),
    };
    for a in &c.args {
        match &a.ty {
            Ty::Record(r) => {
                let rec = d.record(r).unwrap_or_else(|| panic!("no record {r}"));
                let mut fields = Vec::new();
                for f in &rec.fields {
                    let arg = py_arg(f.name, &f.ty, f.default.as_ref(), d);
                    fields.push(format!("{}: {}", f.name, arg.value));
                    if f.required {
                        out.positional.push(arg);
                    } else {
                        out.keyword.push(arg);
                    }
                }
                out.builds.push((
                    a.name.to_owned(),
                    format!(
                        "vas::{r} {{\n            {},\n        }}",
                        fields.join(",\n            ")
                    ),
                ));
            }
            ty => {
                let default = match ty {
                    Ty::Option(_) => Some(Literal::None),
                    Ty::Enum(e) => enum_default(e, d),
                    _ => None,
                };
                let arg = py_arg(a.name, ty, default.as_ref(), d);
                out.builds.push((a.name.to_owned(), arg.value.clone()));
                out.positional.push(arg);
            }
        }
    }
    // Python wants the positional arguments with a default after those without.
    let mut defaulted = None;
    for a in &out.positional {
        match (&a.default, &defaulted) {
            (Some(_), None) => defaulted = Some(a.name.clone()),
            (None, Some(before)) => panic!(
                "{}: the required argument {} follows {before}, which has a default",
                c.name, a.name
            ),
            _ => {}
        }
    }
    out
}

/// The default a name table has where the description gives it one (a field of an input
/// record: `ListQuery.order` says `oldest`), for a call's argument of that table
/// (`devices(order="oldest")`).
fn enum_default(name: &str, d: &Description) -> Option<Literal> {
    d.records
        .iter()
        .filter(|r| r.input)
        .flat_map(|r| &r.fields)
        .find(|f| matches!(f.ty, Ty::Enum(e) if e == name) && f.default.is_some())
        .and_then(|f| f.default.clone())
}

/// The methods of an output record's class (its getters and `repr`).
fn record_methods(s: &mut Src, class: &str, fields: &[FieldDesc], access: impl Fn(&str) -> String) {
    for f in fields {
        let (t, e, fallible) = out_conv(&f.ty);
        s.doc("    ", "///", &py_doc(f.doc));
        s.line("    #[getter]");
        let name = py_ident(f.name);
        let ret = if fallible {
            format!("PyResult<{t}>")
        } else {
            t.clone()
        };
        let py = if fallible { ", py: Python<'_>" } else { "" };
        s.line(format!("    fn {name}(&self{py}) -> {ret} {{"));
        s.line(format!("        let x = {};", access(f.name)));
        if fallible {
            s.line(format!("        Ok({e})"));
        } else {
            s.line(format!("        {e}"));
        }
        s.line("    }");
        s.line("");
    }
    let names: Vec<String> = fields
        .iter()
        .map(|f| format!("{:?}", py_ident(f.name)))
        .collect();
    s.line("    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {");
    s.line(format!(
        "        crate::convert::record_repr(slf, {class:?}, &[{}])",
        names.join(", ")
    ));
    s.line("    }");
}

fn output_record(s: &mut Src, r: &RecordDesc) {
    s.doc("", "///", &py_doc(r.doc));
    s.line(format!(
        "#[pyclass(module = \"vas._vas\", frozen, name = \"{}\")]",
        r.name
    ));
    s.line(format!(
        "pub(crate) struct {}(pub(crate) vas::{});",
        r.name, r.name
    ));
    s.line("");
    s.line("#[pymethods]");
    s.line(format!("impl {} {{", r.name));
    record_methods(s, r.name, &r.fields, |f| format!("self.0.{f}.clone()"));
    s.line("");
    s.line("    fn __eq__(&self, other: &Self) -> bool {");
    s.line("        self.0 == other.0");
    s.line("    }");
    s.line("}");
    s.line("");
}

fn carried_record(s: &mut Src, r: &RecordDesc, class: &str) {
    s.line(format!(
        "// `{}`: getters of the hand-written `{class}`.",
        r.name
    ));
    s.line("#[pymethods]");
    s.line(format!("impl {class} {{"));
    for f in &r.fields {
        let (t, e, fallible) = out_conv(&f.ty);
        assert!(!fallible, "carried fields are plain");
        s.doc("    ", "///", &py_doc(f.doc));
        s.line("    #[getter]");
        s.line(format!("    fn {}(&self) -> {t} {{", py_ident(f.name)));
        s.line(format!("        let x = self.info().{};", f.name));
        s.line(format!("        {e}"));
        s.line("    }");
        s.line("");
    }
    s.line("}");
    s.line("");
}

fn union(s: &mut Src, u: &UnionDesc) {
    s.doc("", "///", &py_doc(u.doc));
    s.line(format!(
        "#[pyclass(module = \"vas._vas\", frozen, subclass, name = \"{}\")]",
        u.name
    ));
    s.line(format!("pub(crate) struct {} {{", u.name));
    s.line("    kind: &'static str,");
    s.line("}");
    s.line("");
    s.line("#[pymethods]");
    s.line(format!("impl {} {{", u.name));
    let kinds: Vec<String> = u
        .variants
        .iter()
        .map(|v| format!("`\"{}\"`", v.name))
        .collect();
    s.line(format!(
        "    /// Which kind of event: {}.",
        kinds.join(", ")
    ));
    s.line("    #[getter]");
    s.line("    fn kind(&self) -> &'static str {\n        self.kind\n    }\n}\n");
    for v in &u.variants {
        let class = variant_record(u.name, v.name);
        s.doc("", "///", &py_doc(v.doc));
        s.line(format!(
            "#[pyclass(module = \"vas._vas\", frozen, extends = {}, name = \"{class}\")]",
            u.name
        ));
        s.line(format!("pub(crate) struct {class} {{"));
        for f in &v.fields {
            s.line(format!(
                "    {}: {},",
                f.name,
                crate::names::rust_type(&f.ty)
            ));
        }
        s.line("}");
        s.line("");
        s.line("#[pymethods]");
        s.line(format!("impl {class} {{"));
        record_methods(s, &class, &v.fields, |f| format!("self.{f}.clone()"));
        s.line("}");
        s.line("");
    }
    s.line(format!(
        "/// The Python object of a `vas::{}`: the class of its kind.",
        u.name
    ));
    s.line(format!(
        "pub(crate) fn {}_object(py: Python<'_>, e: vas::{}) -> PyResult<Option<Py<PyAny>>> {{",
        crate::names::snake(u.name),
        u.name
    ));
    s.line("    Ok(Some(match e {");
    for v in &u.variants {
        let class = variant_record(u.name, v.name);
        let names: Vec<&str> = v.fields.iter().map(|f| f.name).collect();
        let pattern = if names.is_empty() {
            format!("vas::{}::{}", u.name, camel(v.name))
        } else {
            format!(
                "vas::{}::{} {{ {}, .. }}",
                u.name,
                camel(v.name),
                names.join(", ")
            )
        };
        s.line(format!("        {pattern} => Py::new("));
        s.line("            py,");
        s.line(format!(
            "            PyClassInitializer::from({} {{ kind: {:?} }}).add_subclass({class} {{ {} }}),",
            u.name,
            v.name,
            names.join(", ")
        ));
        s.line("        )?");
        s.line("        .into_any(),");
    }
    s.line("        _ => return Ok(None),");
    s.line("    }))");
    s.line("}");
    s.line("");
}

/// The `timeout` keyword a subscription's method adds (each wait of its iteration).
fn timeout_arg() -> PyArg {
    PyArg {
        name: "timeout".into(),
        rust: "Option<f64>".into(),
        value: "timeout".into(),
        default: Some("None".into()),
        stub_default: Some("None".into()),
        stub: "Optional[float]".into(),
    }
}

fn call(s: &mut Src, c: &CallDesc, d: &Description) {
    let mut args = call_args(c, d);
    let subscription = matches!(c.returns, Ty::Subscription(_));
    if subscription {
        args.keyword.push(timeout_arg());
    }
    let (ret_t, ret_e, _) = out_conv(&c.returns);
    let mut doc = py_doc(c.doc);
    if subscription {
        doc.push_str(
            "\n\n`timeout` bounds each wait of the iteration, in seconds (None: for ever, e.g. \
             through a camera's reconnection; Ctrl-C still interrupts).",
        );
    }
    s.doc("    ", "///", &doc);
    let mut sig: Vec<String> = args
        .positional
        .iter()
        .map(|a| match &a.default {
            Some(def) => format!("{}={def}", a.name),
            None => a.name.clone(),
        })
        .collect();
    if !args.keyword.is_empty() {
        sig.push("*".into());
        for a in &args.keyword {
            sig.push(format!(
                "{}={}",
                a.name,
                a.default.clone().unwrap_or_else(|| "None".into())
            ));
        }
    }
    let is_open = matches!(c.returns, Ty::Engine);
    if is_open {
        s.line("    #[new]");
    }
    s.line(format!("    #[pyo3(signature = ({}))]", sig.join(", ")));
    s.line("    #[allow(clippy::too_many_arguments)]");
    let params: Vec<String> = args
        .positional
        .iter()
        .chain(&args.keyword)
        .map(|a| format!("{}: {}", a.name, a.rust))
        .collect();
    let (name, receiver) = if is_open {
        ("new".to_owned(), "")
    } else {
        (py_ident(c.name), "&self, ")
    };
    // `py` for releasing the GIL (a call that waits) or making Python objects.
    let uses_py = is_open || c.waits || ret_e.contains("py");
    let py = if uses_py { "py: Python<'_>, " } else { "" };
    s.line(format!(
        "    fn {name}({receiver}{py}{}) -> PyResult<{ret_t}> {{",
        params.join(", ")
    ));
    for (name, expr) in &args.builds {
        if name != expr {
            s.line(format!("        let {name} = {expr};"));
        }
    }
    let names: Vec<&str> = args.builds.iter().map(|(n, _)| n.as_str()).collect();
    if is_open {
        s.line(format!(
            "        crate::engine::open(py, {})",
            names.join(", ")
        ));
    } else {
        if c.waits {
            s.line(format!(
                "        let x = self.call(py, move |v| v.{}({}))?;",
                c.name,
                names.join(", ")
            ));
        } else {
            s.line(format!(
                "        let x = self.engine()?.{}({});",
                c.name,
                names.join(", ")
            ));
        }
        s.line(format!("        Ok({ret_e})"));
    }
    s.line("    }");
    s.line("");
}

/// `vas-py/src/generated.rs`.
pub fn render(d: &Description) -> String {
    let mut s = Src::default();
    s.line("// @generated by vas-gen from vas::description; do not edit (run `make generate`).");
    s.line("//! The Python classes of the engine's records and events and the engine's methods,");
    s.line(
        "//! generated from its description (see `vas-gen/src/python.rs` for the Python forms).",
    );
    s.line("");
    s.line(crate::text::GENERATED_ALLOWS);
    s.line("");
    s.line("use pyo3::prelude::*;");
    s.line("use pyo3::PyClassInitializer;");
    s.line("use pyo3::types::PyBytes;");
    s.line("");
    s.line("use crate::engine::Vas;");
    s.line("");
    s.line("/// Adds the generated classes to the module.");
    s.line("pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {");
    for r in &d.records {
        if !r.input && !CARRIED.iter().any(|(n, _)| *n == r.name) {
            s.line(format!("    m.add_class::<{}>()?;", r.name));
        }
    }
    for u in &d.unions {
        s.line(format!("    m.add_class::<{}>()?;", u.name));
        for v in &u.variants {
            s.line(format!(
                "    m.add_class::<{}>()?;",
                variant_record(u.name, v.name)
            ));
        }
    }
    s.line("    Ok(())");
    s.line("}");
    s.line("");
    for r in &d.records {
        if let Some((_, class)) = CARRIED.iter().find(|(n, _)| *n == r.name) {
            carried_record(&mut s, r, class);
        } else if !r.input {
            output_record(&mut s, r);
        }
    }
    for u in &d.unions {
        union(&mut s, u);
    }
    s.line("#[pymethods]");
    s.line("impl Vas {");
    for c in &d.calls {
        if !HAND_WRITTEN.contains(&c.name) {
            call(&mut s, c, d);
        }
    }
    s.line("}");
    s.0
}

/// A method's stub signature (`self` first), and the names to forward.
fn stub_signature(c: &CallDesc, d: &Description) -> (String, Vec<String>) {
    let mut args = call_args(c, d);
    if matches!(c.returns, Ty::Subscription(_)) {
        args.keyword.push(timeout_arg());
    }
    let mut params = vec!["self".to_owned()];
    let mut forward = Vec::new();
    for a in &args.positional {
        match &a.stub_default {
            Some(def) => params.push(format!("{}: {} = {def}", a.name, a.stub)),
            None => params.push(format!("{}: {}", a.name, a.stub)),
        }
        forward.push(a.name.clone());
    }
    if !args.keyword.is_empty() {
        params.push("*".into());
        for a in &args.keyword {
            params.push(format!(
                "{}: {} = {}",
                a.name,
                a.stub,
                a.stub_default.clone().unwrap_or_else(|| "None".into())
            ));
            forward.push(format!("{n}={n}", n = a.name));
        }
    }
    let ret = py_type(&c.returns, d);
    (format!("({}) -> {ret}", params.join(", ")), forward)
}

fn stub_class(
    s: &mut String,
    name: &str,
    base: Option<&str>,
    doc: &str,
    fields: &[FieldDesc],
    d: &Description,
) {
    let _ = writeln!(s, "@final");
    match base {
        Some(b) => {
            let _ = writeln!(s, "class {name}({b}):");
        }
        None => {
            let _ = writeln!(s, "class {name}:");
        }
    }
    let _ = writeln!(
        s,
        "    \"\"\"{}\"\"\"",
        py_docstring(&crate::text::first_sentence(&py_doc(doc)))
    );
    for f in fields {
        let _ = writeln!(s, "    @property");
        let _ = writeln!(
            s,
            "    def {}(self) -> {}: ...",
            py_ident(f.name),
            py_type(&f.ty, d)
        );
    }
    if base.is_none() {
        let _ = writeln!(s, "    def __eq__(self, other: object, /) -> bool: ...");
    }
    s.push('\n');
}

/// The names the module exports (generated classes).
fn generated_names(d: &Description) -> Vec<String> {
    let mut v = Vec::new();
    for r in &d.records {
        if !r.input && !CARRIED.iter().any(|(n, _)| *n == r.name) {
            v.push(r.name.to_owned());
        }
    }
    for u in &d.unions {
        v.push(u.name.to_owned());
        for var in &u.variants {
            v.push(variant_record(u.name, var.name));
        }
    }
    v
}

/// `vas-py/python/vas/_vas.pyi`: `vas-py/stubs/handwritten.pyi` with the generated parts
/// put where its markers say.
pub fn render_stubs(d: &Description, root: &Path) -> String {
    let hand = std::fs::read_to_string(root.join("vas-py/stubs/handwritten.pyi"))
        .unwrap_or_else(|e| panic!("vas-py/stubs/handwritten.pyi: {e}"));
    let mut classes = String::new();
    for r in &d.records {
        if !r.input && !CARRIED.iter().any(|(n, _)| *n == r.name) {
            stub_class(&mut classes, r.name, None, r.doc, &r.fields, d);
        }
    }
    for u in &d.unions {
        let _ = writeln!(classes, "@disjoint_base\nclass {}:", u.name);
        let _ = writeln!(
            classes,
            "    \"\"\"{}\"\"\"",
            py_docstring(&crate::text::first_sentence(&py_doc(u.doc)))
        );
        let _ = writeln!(classes, "    @property");
        let kinds: Vec<String> = u
            .variants
            .iter()
            .map(|v| format!("\"{}\"", v.name))
            .collect();
        let _ = writeln!(
            classes,
            "    def kind(self) -> Literal[{}]: ...\n",
            kinds.join(", ")
        );
        for v in &u.variants {
            stub_class(
                &mut classes,
                &variant_record(u.name, v.name),
                Some(u.name),
                v.doc,
                &v.fields,
                d,
            );
        }
    }
    let mut methods = String::new();
    for c in &d.calls {
        if HAND_WRITTEN.contains(&c.name) {
            continue;
        }
        let (sig, _) = stub_signature(c, d);
        if matches!(c.returns, Ty::Engine) {
            let sig = sig.replacen("(self", "(cls", 1);
            let _ = writeln!(methods, "    def __new__{sig}: ...");
        } else {
            let _ = writeln!(methods, "    def {}{sig}: ...", py_ident(c.name));
        }
    }
    let mut carried = std::collections::BTreeMap::new();
    for (rec, class) in CARRIED {
        let r = d.record(rec).unwrap_or_else(|| panic!("no record {rec}"));
        let mut text = String::new();
        for f in &r.fields {
            let _ = writeln!(text, "    @property");
            let _ = writeln!(
                text,
                "    def {}(self) -> {}: ...",
                py_ident(f.name),
                py_type(&f.ty, d)
            );
        }
        carried.insert(class.rsplit("::").next().unwrap_or(class).to_owned(), text);
    }
    let mut names: Vec<String> = generated_names(d);
    let mut out = String::from(
        "# @generated by vas-gen from vas::description and vas-py/stubs/handwritten.pyi; do not\n\
         # edit (run `make generate`).\n",
    );
    for line in hand.lines() {
        let t = line.trim();
        if t == "# @generated classes" {
            out.push_str(&classes);
        } else if t == "# @generated methods" {
            out.push_str(&methods);
        } else if let Some(class) = t.strip_prefix("# @generated info of ") {
            out.push_str(carried.get(class).map_or("", String::as_str));
        } else if t == "# @generated names" {
            for n in &names {
                let _ = writeln!(out, "    \"{n}\",");
            }
        } else if let Some(n) = t.strip_prefix("# @name ") {
            names.push(n.to_owned());
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `vas-py/python/vas/_coroutines.py`: the `a`-prefixed coroutine twin of every method.
pub fn render_coroutines(d: &Description) -> String {
    let mut s = String::from(
        "# @generated by vas-gen from vas::description; do not edit (run `make generate`).\n\
         \"\"\"The coroutine twins of the engine's methods: each runs the blocking method in a\n\
         worker thread (which releases the GIL while it waits).\"\"\"\n\n\
         from __future__ import annotations\n\n\
         from datetime import datetime\n\
         from os import PathLike\n\
         from pathlib import Path\n\
         from typing import List, Literal, Optional, Union\n\n\
         from . import _aio, _vas\n\
         from ._vas import *  # noqa: F403\n\n\n\
         class Coroutines(_vas.Vas):\n\
         \x20   \"\"\"The engine's native class with `a<name>`, the coroutine twin of every blocking\n\
         \x20   method `<name>`; `vas.Vas` derives from it.\"\"\"\n\n",
    );
    for c in &d.calls {
        if matches!(c.returns, Ty::Engine) {
            continue; // the constructor's twin is `Vas.aopen`, written by hand
        }
        let (sig, forward) = stub_signature(c, d);
        let name = py_ident(c.name);
        let _ = writeln!(s, "    async def a{name}{sig}:");
        let _ = writeln!(
            s,
            "        \"\"\"`{name}` as a coroutine (runs in a worker thread).\"\"\""
        );
        let mut fwd = vec![format!("self.{name}")];
        fwd.extend(forward);
        let _ = writeln!(s, "        return await _aio.run({})\n", fwd.join(", "));
    }
    s.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use super::py_doc;

    #[test]
    fn python_docs_have_no_rust_examples_or_rustdoc_links() {
        let doc = "Takes one. See [`Vas::builder`] and [`snapshot`](Self::snapshot).\n\n\
                   ```\nlet x = 1;\n```\n";
        assert_eq!(py_doc(doc), "Takes one. See `Vas::builder` and `snapshot`.");
        assert_eq!(py_doc("a [`b` c"), "a [`b` c");
    }

    #[test]
    fn list_calls_default_to_the_oldest_first() {
        let d = vas::description::description();
        let (sig, _) = super::stub_signature(d.call("streams").expect("streams"), &d);
        assert!(
            sig.contains("device_id: Optional[str] = None, order: Literal[\"oldest\", \"newest\"] = \"oldest\""),
            "{sig}"
        );
    }
}
