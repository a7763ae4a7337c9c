//! The C ABI's generated half: `vas-ffi/src/generated.rs` and `vas-ffi/src/result.rs`.
//!
//! From the description: every output record as an opaque handle with one getter per field
//! (and a list handle), every input record as a versioned struct with its `_init`, every name
//! table as a C enum with `_name`/`_parse`, the event union as a handle with one record per
//! variant, and every call as `vas_<call>(engine, …, out)` (`vas_<call>_get` where `vas_<call>`
//! is a type's name: `vas_device_get`; `out` may be NULL when the result is not wanted). The
//! calls the C shell writes by hand (opening and closing the engine, the subscriptions) are
//! left out; the getters of the frame records are made for the hand-written frame handles.
//!
//! The C forms, everywhere the same: ids are `vas_id`; times `int64_t` microseconds
//! (`<name>_us`); durations `uint64_t` milliseconds (`<name>_ms`); name tables `uint32_t`
//! values of their C enum going in (0: not set, the default) and the enum coming out; an
//! absent optional string is NULL, an absent optional number 0 (-1 for an optional flag) and
//! an absent optional id all zeros.

use std::fmt::Write as _;

use vas::description::{CallDesc, Description, EnumDesc, Literal, RecordDesc, Ty, UnionDesc};

use crate::names::{c_const, c_type, rust_type, snake};
use crate::text::{Src, first_sentence};

/// Records whose getters are made for a hand-written handle instead of a handle of their
/// own: (record, handle type, the handle's method giving the record).
const CARRIED: &[(&str, &str)] = &[
    ("FrameInfo", "vas_frame"),
    ("EncodedFrameInfo", "vas_encoded_frame"),
];

/// Calls the C shell writes by hand (engine lifetime, subscriptions).
const HAND_WRITTEN: &[&str] = &["open", "close", "frames", "encoded_frames", "events"];

/// Name tables the C ABI has in another form (`vas_result`).
const SKIPPED_ENUMS: &[&str] = &["ErrorKind"];

/// The `vas_result` codes only the ABI has (name, number, description).
const ABI_CODES: &[(&str, u32, &str)] = &[(
    "buffer_too_small",
    100,
    "The caller's output buffer is too small; the size needed was written where the function says (specific to the C ABI).",
)];

/// Documentation as a C reader sees it: the Rust examples (fenced blocks) left out, rustdoc
/// links (`` [`X`] ``, `` [`x`](path) ``) reduced to their code text, `crate::` paths to their
/// last name, and no run of blank lines.
fn c_doc(doc: &str) -> String {
    let mut kept: Vec<String> = Vec::new();
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || (line.trim().is_empty() && kept.last().is_none_or(|l| l.is_empty())) {
            continue;
        }
        kept.push(unlink(line));
    }
    while kept.last().is_some_and(|l| l.is_empty()) {
        kept.pop();
    }
    kept.join("\n")
}

/// One line with its rustdoc links reduced to their code text.
fn unlink(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("[`") {
        let Some(end) = rest[start + 2..].find("`]") else {
            break;
        };
        let code = &rest[start + 2..start + 2 + end];
        out.push_str(&rest[..start]);
        let code = match code.strip_prefix("crate::") {
            Some(path) => path.rsplit("::").next().unwrap_or(path),
            None => code,
        };
        out.push('`');
        out.push_str(code);
        out.push('`');
        rest = &rest[start + 2 + end + 2..];
        // A link target in parentheses goes with it.
        if rest.starts_with('(')
            && let Some(close) = rest.find(')')
        {
            rest = &rest[close + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// A stable tag for a handle type (FNV-1a of its name).
fn tag(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The C type names the generated file declares (a getter or call may not be spelled like
/// one).
pub(crate) fn type_names(d: &Description) -> Vec<String> {
    let mut v: Vec<String> = d
        .records
        .iter()
        .map(|r| c_type(r.name))
        .chain(d.enums.iter().map(|e| c_type(e.name)))
        .chain(d.unions.iter().map(|u| c_type(u.name)))
        .collect();
    for u in &d.unions {
        v.push(format!("{}_kind", c_type(u.name)));
    }
    v
}

/// How one field is kept in an output handle, and read back by its getter.
struct OutField {
    /// The struct field's declaration.
    decl: String,
    /// The expression filling it from `v.<field>` (named `x`).
    fill: String,
    /// The getter's return type and body over `h` (None: the getter returns a presence
    /// flag and writes `*out`).
    getter: Getter,
    /// The getter's name suffix (`_us`, `_ms` or nothing).
    suffix: &'static str,
}

enum Getter {
    /// `fn(h) -> ret`, with the value for a bad handle.
    Value {
        ret: String,
        body: String,
        fallback: String,
    },
    /// `fn(h, out) -> bool`: present or not.
    Optional { out: String, body: String },
    /// `fn(h, len) -> *const u8`.
    Bytes,
}

fn out_field(ty: &Ty, name: &str) -> OutField {
    let scalar = |rty: &str, fill: &str, suffix: &'static str| OutField {
        decl: rty.to_owned(),
        fill: fill.to_owned(),
        getter: Getter::Value {
            ret: rty.to_owned(),
            body: format!("h.{name}"),
            fallback: "Default::default()".into(),
        },
        suffix,
    };
    match ty {
        Ty::Bool => scalar("bool", "x", ""),
        Ty::U8 | Ty::U32 => scalar("u32", "u32::from(x)", ""),
        Ty::U64 => scalar("u64", "x", ""),
        Ty::I64 => scalar("i64", "x", ""),
        Ty::F64 => scalar("f64", "x", ""),
        Ty::Viewer => scalar("u64", "x.0", ""),
        Ty::Time => scalar("i64", "x.timestamp_micros()", "_us"),
        Ty::Duration => scalar(
            "u64",
            "u64::try_from(x.as_millis()).unwrap_or(u64::MAX)",
            "_ms",
        ),
        Ty::Id(_) => OutField {
            decl: "vas_id".into(),
            fill: "vas_id::of(x.0)".into(),
            getter: Getter::Value {
                ret: "vas_id".into(),
                body: format!("h.{name}"),
                fallback: "vas_id::default()".into(),
            },
            suffix: "",
        },
        Ty::String => OutField {
            decl: "CString".into(),
            fill: "keep(&x)".into(),
            getter: Getter::Value {
                ret: "*const c_char".into(),
                body: format!("h.{name}.as_ptr()"),
                fallback: "std::ptr::null()".into(),
            },
            suffix: "",
        },
        Ty::Path => OutField {
            decl: "CString".into(),
            fill: "keep(&x.display().to_string())".into(),
            getter: Getter::Value {
                ret: "*const c_char".into(),
                body: format!("h.{name}.as_ptr()"),
                fallback: "std::ptr::null()".into(),
            },
            suffix: "",
        },
        Ty::Bytes => OutField {
            decl: "bytes::Bytes".into(),
            fill: "x".into(),
            getter: Getter::Bytes,
            suffix: "",
        },
        Ty::Enum(e) => OutField {
            decl: c_type(e),
            fill: format!("{}::of(x)", c_type(e)),
            getter: Getter::Value {
                ret: c_type(e),
                body: format!("h.{name}"),
                fallback: format!("{}::{}", c_type(e), c_const(e, "unset")),
            },
            suffix: "",
        },
        Ty::Record(r) => OutField {
            decl: format!("Box<{}>", c_type(r)),
            fill: format!("Box::new({}::of(&x, false))", c_type(r)),
            getter: Getter::Value {
                ret: format!("*const {}", c_type(r)),
                body: format!("&*h.{name}"),
                fallback: "std::ptr::null()".into(),
            },
            suffix: "",
        },
        Ty::Option(inner) => match &**inner {
            Ty::String | Ty::Path => {
                let f = out_field(inner, name);
                OutField {
                    decl: "Option<CString>".into(),
                    fill: format!("x.map(|x| {})", f.fill),
                    getter: Getter::Value {
                        ret: "*const c_char".into(),
                        body: format!("kept_ptr(&h.{name})"),
                        fallback: "std::ptr::null()".into(),
                    },
                    suffix: "",
                }
            }
            Ty::Record(r) => OutField {
                decl: format!("Option<Box<{}>>", c_type(r)),
                fill: format!("x.map(|x| Box::new({}::of(&x, false)))", c_type(r)),
                getter: Getter::Value {
                    ret: format!("*const {}", c_type(r)),
                    body: format!(
                        "h.{name}.as_deref().map_or(std::ptr::null(), |r| r as *const {})",
                        c_type(r)
                    ),
                    fallback: "std::ptr::null()".into(),
                },
                suffix: "",
            },
            other => {
                let f = out_field(other, name);
                let Getter::Value { ret, .. } = &f.getter else {
                    panic!("{name}: an optional {other:?} has no C form")
                };
                OutField {
                    decl: format!("Option<{}>", f.decl),
                    fill: format!("x.map(|x| {})", f.fill),
                    getter: Getter::Optional {
                        out: ret.clone(),
                        body: format!("h.{name}"),
                    },
                    suffix: f.suffix,
                }
            }
        },
        other => panic!("{name}: a {other:?} has no C output form"),
    }
}

/// The getter of one field.
fn getter(s: &mut Src, handle: &str, fname: &str, doc: &str, f: &OutField, access: &str) {
    s.doc("", "///", &c_doc(doc));
    s.line("#[unsafe(no_mangle)]");
    match &f.getter {
        Getter::Value {
            ret,
            body,
            fallback,
        } => {
            s.line(format!(
                "pub unsafe extern \"C\" fn {fname}(h: *const {handle}) -> {ret} {{"
            ));
            s.line(format!(
                "    guard_value({fallback}, || unsafe {{ peek(h) }}.map_or({fallback}, |h| {{ {access}{body} }}))"
            ));
        }
        Getter::Optional { out, body } => {
            s.line(format!(
                "pub unsafe extern \"C\" fn {fname}(h: *const {handle}, out: *mut {out}) -> bool {{"
            ));
            s.line(format!(
                "    guard_value(false, || match unsafe {{ peek(h) }}.and_then(|h| {{ {access}{body} }}) {{"
            ));
            s.line("        Some(v) => {");
            s.line("            write_opt(out, v);");
            s.line("            true");
            s.line("        }");
            s.line("        None => false,");
            s.line("    })");
        }
        Getter::Bytes => {
            let name = fname.rsplit('_').next().unwrap_or_default();
            let _ = name;
            s.line(format!(
                "pub unsafe extern \"C\" fn {fname}(h: *const {handle}, len: *mut usize) -> *const u8 {{"
            ));
            s.line("    guard_value(std::ptr::null(), || match unsafe { peek(h) } {");
            s.line("        Some(h) => {");
            let field = fname.trim_start_matches(&format!("{handle}_")).to_owned();
            s.line(format!("            let b = {{ {access}&h.{field} }};"));
            s.line("            write_opt(len, b.len());");
            s.line("            b.as_ptr()");
            s.line("        }");
            s.line("        None => std::ptr::null(),");
            s.line("    })");
        }
    }
    s.line("}");
    s.line("");
}

/// The getter's name: `vas_<record>_<field><suffix>`, with `_of` where that would be a
/// type's name.
fn getter_name(handle: &str, field: &str, suffix: &str, types: &[String]) -> String {
    let n = format!("{handle}_{field}{suffix}");
    if types.contains(&n) {
        format!("{n}_of")
    } else {
        n
    }
}

fn getter_doc(r: &str, f: &vas::description::FieldDesc, out: &OutField) -> String {
    let mut doc = format!("`{r}.{}`: {}", f.name, f.doc);
    match (&out.getter, &f.ty) {
        (Getter::Optional { .. }, _) => {
            doc.push_str("\nReturns false (and writes nothing) when it is absent.")
        }
        (Getter::Bytes, _) => doc.push_str(
            "\n`*len` (may be NULL) receives its length; the bytes are owned by the handle.",
        ),
        (_, Ty::Time) => doc.push_str(" (Microseconds since the Unix epoch.)"),
        (_, Ty::Duration) => doc.push_str(" (Milliseconds.)"),
        (_, Ty::Option(i)) if matches!(**i, Ty::String | Ty::Path | Ty::Record(_)) => {
            doc.push_str("\nNULL when it is absent; owned by the handle.")
        }
        (_, Ty::String | Ty::Path | Ty::Record(_)) => doc.push_str("\nOwned by the handle."),
        _ => {}
    }
    doc
}

/// The records some call returns a list of.
fn listed(d: &Description) -> Vec<&'static str> {
    d.calls
        .iter()
        .filter_map(|c| match &c.returns {
            Ty::List(t) => match &**t {
                Ty::Record(r) => Some(*r),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// An output record: its handle, list (when some call returns one), free function and
/// getters.
fn output_record(s: &mut Src, r: &RecordDesc, types: &[String], list: bool) {
    let h = c_type(r.name);
    let fields: Vec<(&vas::description::FieldDesc, OutField)> = r
        .fields
        .iter()
        .map(|f| (f, out_field(&f.ty, f.name)))
        .collect();
    s.doc("", "///", &c_doc(r.doc));
    s.line(format!(
        "///\n/// A handle: from a call (free it with [`{h}_free`]) or from a list, or another \
         handle (then owned by that)."
    ));
    s.line(format!("pub struct {h} {{"));
    s.line("    tag: u64,");
    s.line(
        "    /// False for a list's items and a record inside another (their owner frees them).",
    );
    s.line("    owned: bool,");
    for (f, o) in &fields {
        s.line(format!("    {}: {},", f.name, o.decl));
    }
    s.line("}");
    s.line("");
    s.line(format!("impl Tagged for {h} {{"));
    s.line(format!("    const TAG: u64 = {:#x};", tag(&h)));
    s.line(format!(
        "    const WHAT: &'static str = \"{}\";",
        snake(r.name)
    ));
    s.line("    fn tag(&self) -> u64 {\n        self.tag\n    }\n}\n");
    s.line(format!(
        "impl Kill for {h} {{\n    fn kill(&mut self) {{\n        self.tag = DEAD_TAG;\n    }}\n}}\n"
    ));
    s.line(format!("impl {h} {{"));
    s.line(format!(
        "    /// The C view of a `vas::{}` (`owned`: freed by `{h}_free`).",
        r.name
    ));
    s.line(format!(
        "    pub(crate) fn of(v: &vas::{}, owned: bool) -> {h} {{",
        r.name
    ));
    s.line(format!("        {h} {{"));
    s.line(format!("            tag: {h}::TAG,"));
    s.line("            owned,");
    for (f, o) in &fields {
        s.line(format!(
            "            {name}: {{ let x = v.{name}.clone(); {fill} }},",
            name = f.name,
            fill = o.fill
        ));
    }
    s.line("        }");
    s.line("    }");
    s.line("}");
    s.line("");
    s.line(format!(
        "/// Frees a `{h}` from a call (NULL, and a list's or another record's item, are ignored)."
    ));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_free(h: *mut {h}) {{\n    unsafe {{ item_free(h, |h| h.owned) }}\n}}\n"
    ));
    for (f, o) in &fields {
        let name = getter_name(&h, f.name, o.suffix, types);
        getter(s, &h, &name, &getter_doc(r.name, f, o), o, "");
    }
    if list {
        output_list(s, r);
    }
}

/// The list handle of an output record.
fn output_list(s: &mut Src, r: &RecordDesc) {
    let h = c_type(r.name);
    s.line(format!(
        "/// A list of [`{h}`] handles, from a call; free it with [`{h}_list_free`]."
    ));
    s.line(format!(
        "pub struct {h}_list {{\n    tag: u64,\n    items: Vec<{h}>,\n}}\n"
    ));
    s.line(format!("impl Tagged for {h}_list {{"));
    s.line(format!(
        "    const TAG: u64 = {:#x};",
        tag(&format!("{h}_list"))
    ));
    s.line(format!(
        "    const WHAT: &'static str = \"{}_list\";",
        snake(r.name)
    ));
    s.line("    fn tag(&self) -> u64 {\n        self.tag\n    }\n}\n");
    s.line(format!(
        "impl Kill for {h}_list {{\n    fn kill(&mut self) {{\n        self.tag = DEAD_TAG;\n    }}\n}}\n"
    ));
    s.line(format!("impl HandleList for {h}_list {{"));
    s.line(format!("    type Item = {h};"));
    s.line(format!(
        "    fn items(&self) -> &[{h}] {{\n        &self.items\n    }}\n    fn items_mut(&mut self) -> &mut [{h}] {{\n        &mut self.items\n    }}\n}}\n"
    ));
    s.line(format!("impl {h}_list {{"));
    s.line(format!(
        "    pub(crate) fn of(v: &[vas::{}]) -> {h}_list {{",
        r.name
    ));
    s.line(format!(
        "        {h}_list {{\n            tag: {h}_list::TAG,\n            items: v.iter().map(|x| {h}::of(x, false)).collect(),\n        }}"
    ));
    s.line("    }\n}\n");
    s.line(format!(
        "/// The number of items of a `{h}_list` (0 for NULL)."
    ));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_list_len(list: *const {h}_list) -> usize {{\n    unsafe {{ list_len(list) }}\n}}\n"
    ));
    s.line(format!(
        "/// The item at `index` of a `{h}_list`, owned by the list; NULL when out of range."
    ));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_list_get(list: *const {h}_list, index: usize) -> *const {h} {{\n    unsafe {{ list_get(list, index) }}\n}}\n"
    ));
    s.line(format!(
        "/// Frees a `{h}_list` and its items (NULL is ignored)."
    ));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_list_free(list: *mut {h}_list) {{\n    unsafe {{ list_free(list) }}\n}}\n"
    ));
}

/// Getters of a record carried by a hand-written handle (`handle.info()`).
fn carried_record(s: &mut Src, r: &RecordDesc, handle: &str, types: &[String]) {
    s.line(format!(
        "// `{}`: getters of the hand-written `{handle}` handle.\n",
        r.name
    ));
    for f in &r.fields {
        assert!(
            !matches!(
                f.ty,
                Ty::String | Ty::Path | Ty::Bytes | Ty::Record(_) | Ty::Option(_)
            ),
            "{}.{}: a carried record's getters return values, not what a handle would keep",
            r.name,
            f.name
        );
        let o = out_field(&f.ty, f.name);
        // The getter reads the record's field, converted as a handle would keep it.
        let conv = OutField {
            decl: o.decl.clone(),
            fill: o.fill.clone(),
            getter: match &o.getter {
                Getter::Value { ret, fallback, .. } => Getter::Value {
                    ret: ret.clone(),
                    body: format!("let x = h.info().{}; {}", f.name, o.fill),
                    fallback: fallback.clone(),
                },
                Getter::Optional { out, .. } => Getter::Optional {
                    out: out.clone(),
                    body: format!("h.info().{}.map(|x| {})", f.name, o.fill),
                },
                Getter::Bytes => Getter::Bytes,
            },
            suffix: o.suffix,
        };
        let name = getter_name(handle, f.name, o.suffix, types);
        let doc = format!("`{}.{}`: {}", r.name, f.name, f.doc);
        getter(s, handle, &name, &doc, &conv, "");
    }
}

/// How one input field looks in its C struct and becomes the Rust value.
struct InField {
    /// `name: type` declarations (a list has two).
    decls: Vec<(String, String)>,
    /// The default of each declaration.
    defaults: Vec<String>,
    /// The expression giving the Rust value, over `self`.
    value: String,
    /// Documentation added for C.
    note: String,
}

fn literal_c(l: Option<&Literal>, ty: &Ty, enums: &Description) -> String {
    let enum_index = |e: &str, v: &str| -> String {
        enums
            .enumeration(e)
            .and_then(|d| d.variants.iter().position(|x| x.name == v))
            .map_or("0".into(), |i| (i + 1).to_string())
    };
    match (l, ty) {
        (Some(Literal::Bool(b)), _) => b.to_string(),
        (Some(Literal::Int(i)), _) => i.to_string(),
        (Some(Literal::Float(f)), _) => format!("{f:?}"),
        (Some(Literal::Seconds(s)), _) => ((s * 1000.0).round() as u64).to_string(),
        (Some(Literal::Enum(v)), Ty::Enum(e)) => enum_index(e, v),
        _ => "Default::default()".into(),
    }
}

fn in_field(f: &vas::description::FieldDesc, record: &str, d: &Description) -> InField {
    let n = f.name;
    let what = format!("\"{}.{n}\"", c_type(record));
    let def = literal_c(f.default.as_ref(), &f.ty, d);
    let one = |ty: &str, default: &str, value: String, note: &str| InField {
        decls: vec![(n.to_owned(), ty.to_owned())],
        defaults: vec![default.to_owned()],
        value,
        note: note.to_owned(),
    };
    match &f.ty {
        Ty::Bool => one("bool", &def, format!("self.{n}"), ""),
        Ty::U8 => one(
            "u32",
            &def,
            format!(
                "u8::try_from(self.{n}).map_err(|_| Fail::invalid(format!(\"{{}} {{}} is out of range\", {what}, self.{n})))?"
            ),
            "",
        ),
        Ty::U32 => one("u32", &def, format!("self.{n}"), ""),
        Ty::U64 => one("u64", &def, format!("self.{n}"), ""),
        Ty::F64 => one("f64", &def, format!("self.{n}"), ""),
        Ty::String => one(
            "*const c_char",
            "std::ptr::null()",
            format!("unsafe {{ arg_str(self.{n}, {what}) }}?.to_owned()"),
            " Required.",
        ),
        Ty::Path => one(
            "*const c_char",
            "std::ptr::null()",
            format!("unsafe {{ arg_str(self.{n}, {what}) }}?.into()"),
            " Required.",
        ),
        Ty::Time => InField {
            decls: vec![(format!("{n}_us"), "i64".into())],
            defaults: vec!["0".into()],
            value: format!("from_micros(self.{n}_us, {what})?"),
            note: " Microseconds since the Unix epoch.".into(),
        },
        Ty::Duration => InField {
            decls: vec![(format!("{n}_ms"), "u64".into())],
            defaults: vec![def],
            value: format!("std::time::Duration::from_millis(self.{n}_ms)"),
            note: " Milliseconds.".into(),
        },
        Ty::Id(k) => one(
            "vas_id",
            "vas_id { bytes: [0; 16] }",
            format!(
                "{}(required_id(self.{n}, {what})?)",
                crate::names::id_type(k)
            ),
            " Required.",
        ),
        Ty::Enum(e) => one(
            "u32",
            &def,
            format!("enum_in(vas::{e}::ALL, self.{n}, {what})?.unwrap_or_default()"),
            &format!(" A `{}` value (0: the default).", c_type(e)),
        ),
        Ty::Change(_) => one(
            "*const c_char",
            "std::ptr::null()",
            format!(
                "vas::SubStreamChange::from_text(unsafe {{ opt_str(self.{n}, {what}) }}?.map(str::to_owned))"
            ),
            " NULL leaves it as it is; \"\" removes it.",
        ),
        Ty::List(inner) if matches!(**inner, Ty::String) => InField {
            decls: vec![
                (n.to_owned(), "*const *const c_char".into()),
                (format!("{n}_len"), "usize".into()),
            ],
            defaults: vec!["std::ptr::null()".into(), "0".into()],
            value: format!("unsafe {{ str_list(self.{n}, self.{n}_len, {what}) }}?"),
            note: format!(" An array of `{n}_len` strings (NULL when `{n}_len` is 0)."),
        },
        Ty::Option(inner) => match &**inner {
            Ty::String => one(
                "*const c_char",
                "std::ptr::null()",
                format!("unsafe {{ opt_str(self.{n}, {what}) }}?.map(str::to_owned)"),
                " NULL: absent.",
            ),
            Ty::Path => one(
                "*const c_char",
                "std::ptr::null()",
                format!("unsafe {{ opt_str(self.{n}, {what}) }}?.map(std::path::PathBuf::from)"),
                " NULL: absent.",
            ),
            Ty::U8 => one(
                "u32",
                "0",
                format!(
                    "(self.{n} != 0).then(|| u8::try_from(self.{n}).map_err(|_| Fail::invalid(format!(\"{{}} {{}} is out of range\", {what}, self.{n})))).transpose()?"
                ),
                " 0: absent.",
            ),
            Ty::U32 => one(
                "u32",
                "0",
                format!("(self.{n} != 0).then_some(self.{n})"),
                " 0: absent.",
            ),
            Ty::F64 => one(
                "f64",
                "0.0",
                format!("(self.{n} > 0.0).then_some(self.{n})"),
                " 0: absent.",
            ),
            Ty::Bool => one(
                "i32",
                "-1",
                format!(
                    "match self.{n} {{ -1 => None, 0 => Some(false), 1 => Some(true), v => return Err(Fail::invalid(format!(\"{{}} is {{}}; -1 (unchanged), 0 or 1\", {what}, v))) }}"
                ),
                " -1: absent (unchanged), 0: false, 1: true.",
            ),
            Ty::Time => InField {
                decls: vec![(format!("{n}_us"), "i64".into())],
                defaults: vec!["0".into()],
                value: format!(
                    "(self.{n}_us != 0).then(|| from_micros(self.{n}_us, {what})).transpose()?"
                ),
                note: " Microseconds since the Unix epoch; 0: absent.".into(),
            },
            Ty::Id(k) => one(
                "vas_id",
                "vas_id { bytes: [0; 16] }",
                format!(
                    "(!self.{n}.is_nil()).then(|| {}(self.{n}.uuid()))",
                    crate::names::id_type(k)
                ),
                " All zeros: absent.",
            ),
            Ty::Enum(e) => one(
                "u32",
                "0",
                format!("enum_in(vas::{e}::ALL, self.{n}, {what})?"),
                &format!(" A `{}` value; 0: absent.", c_type(e)),
            ),
            other => panic!("{record}.{n}: an optional {other:?} has no C input form"),
        },
        other => panic!("{record}.{n}: a {other:?} has no C input form"),
    }
}

/// An input record: its struct, `_init`, and conversion.
fn input_record(s: &mut Src, r: &RecordDesc, d: &Description) {
    let h = c_type(r.name);
    let fields: Vec<_> = r
        .fields
        .iter()
        .map(|f| (f, in_field(f, r.name, d)))
        .collect();
    s.doc("", "///", &c_doc(r.doc));
    s.line(format!(
        "///\n/// Set it up with [`{h}_init`] (which sets `struct_size` and every default), then \
         change what differs."
    ));
    s.line("#[repr(C)]");
    s.line("#[derive(Debug, Clone, Copy)]");
    s.line(format!("pub struct {h} {{"));
    s.line("    /// `sizeof` the struct, set by the init function (the ABI can grow).");
    s.line("    pub struct_size: u32,");
    for (f, inf) in &fields {
        let mut doc = f.doc.to_owned();
        doc.push_str(&inf.note);
        if let Some(l) = &f.default
            && !matches!(l, Literal::None | Literal::EmptyList)
        {
            let _ = write!(doc, " Default: {}.", crate::docs::literal_text(l));
        }
        for (i, (name, ty)) in inf.decls.iter().enumerate() {
            if i == 0 {
                s.doc("    ", "///", &c_doc(&doc));
            } else {
                s.line(format!("    /// The number of `{}`.", inf.decls[0].0));
            }
            s.line(format!("    pub {name}: {ty},"));
        }
    }
    s.line("}");
    s.line("");
    s.line(format!("impl Default for {h} {{"));
    s.line("    fn default() -> Self {");
    s.line(format!("        {h} {{"));
    s.line(format!(
        "            struct_size: std::mem::size_of::<{h}>() as u32,"
    ));
    for (_, inf) in &fields {
        for ((name, _), def) in inf.decls.iter().zip(&inf.defaults) {
            s.line(format!("            {name}: {def},"));
        }
    }
    s.line("        }");
    s.line("    }");
    s.line("}");
    s.line("");
    s.line(format!("impl {h} {{"));
    s.line("    /// The Rust value; `InvalidInput` names the first bad field.");
    s.line(format!(
        "    pub(crate) unsafe fn to_vas(&self) -> FfiResult<vas::{}> {{",
        r.name
    ));
    s.line(format!("        Ok(vas::{} {{", r.name));
    for (f, inf) in &fields {
        s.line(format!("            {}: {},", f.name, inf.value));
    }
    s.line("        })");
    s.line("    }");
    s.line("}");
    s.line("");
    s.line("/// Sets `*out` to the defaults (and its `struct_size`).");
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_init(out: *mut {h}) -> vas_result {{"
    ));
    s.line(format!("    guard(\"{h}_init\", || {{"));
    s.line(format!(
        "        write_out(arg_out(out, \"out\")?, {h}::default());"
    ));
    s.line("        Ok(())");
    s.line("    })");
    s.line("}");
    s.line("");
}

/// A name table as a C enum, with `_name` and `_parse`.
fn enumeration(s: &mut Src, e: &EnumDesc) {
    let h = c_type(e.name);
    s.doc("", "///", &c_doc(e.doc));
    s.line("#[repr(C)]");
    s.line("#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    s.line(format!("pub enum {h} {{"));
    s.line("    /// Not set: in an input, the default; never returned.");
    s.line(format!("    {} = 0,", c_const(e.name, "unset")));
    for (i, v) in e.variants.iter().enumerate() {
        s.doc("    ", "///", &c_doc(&format!("`{}`: {}", v.name, v.doc)));
        s.line(format!("    {} = {},", c_const(e.name, v.name), i + 1));
    }
    s.line("}");
    s.line("");
    s.line(format!("impl {h} {{"));
    s.line(format!(
        "    pub(crate) fn of(v: vas::{}) -> {h} {{",
        e.name
    ));
    s.line(format!(
        "        match vas::{}::ALL.iter().position(|x| *x == v) {{",
        e.name
    ));
    for (i, v) in e.variants.iter().enumerate() {
        s.line(format!(
            "            Some({i}) => {h}::{},",
            c_const(e.name, v.name)
        ));
    }
    s.line(format!(
        "            _ => {h}::{},",
        c_const(e.name, "unset")
    ));
    s.line("        }");
    s.line("    }");
    s.line("}");
    s.line("");
    s.line(format!(
        "/// The name of a `{h}` value (\"{}\", …), static; NULL for a number that is not one.",
        e.variants[0].name
    ));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub extern \"C\" fn {h}_name(value: u32) -> *const c_char {{"
    ));
    s.line("    guard_value(std::ptr::null(), || match value {");
    for (i, v) in e.variants.iter().enumerate() {
        s.line(format!("        {} => c\"{}\".as_ptr(),", i + 1, v.name));
    }
    s.line("        _ => std::ptr::null(),");
    s.line("    })");
    s.line("}");
    s.line("");
    s.line(format!(
        "/// Parses a name of `{h}` into `*out`; `VAS_INVALID_INPUT` names the allowed ones."
    ));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_parse(name: *const c_char, out: *mut u32) -> vas_result {{"
    ));
    s.line(format!("    guard(\"{h}_parse\", || {{"));
    s.line("        let out = arg_out(out, \"out\")?;");
    s.line(format!(
        "        let v: vas::{} = unsafe {{ arg_str(name, \"name\") }}?.parse()?;",
        e.name
    ));
    s.line(format!("        write_out(out, {h}::of(v) as u32);"));
    s.line("        Ok(())");
    s.line("    })");
    s.line("}");
    s.line("");
}

/// The event union: a handle holding one variant record, its kind, and a getter per variant.
fn union(s: &mut Src, u: &UnionDesc, types: &[String]) {
    let h = c_type(u.name);
    let kind = format!("{h}_kind");
    s.doc("", "///", &format!("Which kind of `{h}` it is."));
    s.line("#[repr(C)]");
    s.line("#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    s.line(format!("pub enum {kind} {{"));
    s.line("    /// Not a known kind.");
    s.line(format!(
        "    {} = 0,",
        c_const(&format!("{}Kind", u.name), "unset")
    ));
    for (i, v) in u.variants.iter().enumerate() {
        s.doc(
            "    ",
            "///",
            &c_doc(&format!("`{}`: {}", v.name, first_sentence(v.doc))),
        );
        s.line(format!(
            "    {} = {},",
            c_const(&format!("{}Kind", u.name), v.name),
            i + 1
        ));
    }
    s.line("}");
    s.line("");
    // One record per variant.
    for v in &u.variants {
        let vr = crate::names::variant_record(u.name, v.name);
        let rec = RecordDesc {
            name: Box::leak(vr.clone().into_boxed_str()),
            doc: v.doc,
            input: false,
            fields: v.fields.clone(),
        };
        variant_record(s, &rec, u.name, v.name, types);
    }
    s.doc("", "///", &c_doc(u.doc));
    s.line(format!(
        "///\n/// Free it with [`{h}_free`]; [`{h}_kind_of`] says which variant it holds."
    ));
    s.line(format!(
        "pub struct {h} {{\n    tag: u64,\n    /// False when lent to a callback (the caller may not free it).\n    owned: bool,\n    kind: {kind},"
    ));
    for v in &u.variants {
        let vr = c_type(&crate::names::variant_record(u.name, v.name));
        s.line(format!("    {}: Option<Box<{vr}>>,", v.name));
    }
    s.line("}\n");
    s.line(format!("impl Tagged for {h} {{"));
    s.line(format!("    const TAG: u64 = {:#x};", tag(&h)));
    s.line(format!(
        "    const WHAT: &'static str = \"{}\";",
        snake(u.name)
    ));
    s.line("    fn tag(&self) -> u64 {\n        self.tag\n    }\n}\n");
    s.line(format!(
        "impl Kill for {h} {{\n    fn kill(&mut self) {{\n        self.tag = DEAD_TAG;\n    }}\n}}\n"
    ));
    s.line(format!("impl {h} {{"));
    s.line(format!(
        "    /// The C view of a `vas::{}` (`owned`: freed by `{h}_free`; false when lent).",
        u.name
    ));
    s.line(format!(
        "    pub(crate) fn of(v: &vas::{}, owned: bool) -> {h} {{",
        u.name
    ));
    s.line(format!(
        "        let mut h = {h} {{\n            tag: {h}::TAG,\n            owned,\n            kind: {kind}::{},",
        c_const(&format!("{}Kind", u.name), "unset")
    ));
    for v in &u.variants {
        s.line(format!("            {}: None,", v.name));
    }
    s.line("        };");
    s.line("        match v {");
    for v in &u.variants {
        let vr = c_type(&crate::names::variant_record(u.name, v.name));
        let names: Vec<&str> = v.fields.iter().map(|f| f.name).collect();
        let pattern = if names.is_empty() {
            format!("vas::{}::{}", u.name, crate::names::camel(v.name))
        } else {
            format!(
                "vas::{}::{} {{ {}, .. }}",
                u.name,
                crate::names::camel(v.name),
                names.join(", ")
            )
        };
        s.line(format!("            {pattern} => {{"));
        s.line(format!(
            "                h.kind = {kind}::{};",
            c_const(&format!("{}Kind", u.name), v.name)
        ));
        s.line(format!(
            "                h.{} = Some(Box::new({vr}::of({})));",
            v.name,
            names
                .iter()
                .map(|n| format!("{n}.clone()"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        s.line("            }");
    }
    s.line("            _ => {}");
    s.line("        }");
    s.line("        h");
    s.line("    }");
    s.line("}\n");
    s.line(format!(
        "/// Frees a `{h}` that was pulled (NULL, and one lent to a callback, are ignored)."
    ));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_free(h: *mut {h}) {{\n    unsafe {{ item_free(h, |h| h.owned) }}\n}}\n"
    ));
    s.line(format!("/// Which kind of `{h}` it is."));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {h}_kind_of(h: *const {h}) -> {kind} {{\n    guard_value({kind}::{u}, || unsafe {{ peek(h) }}.map_or({kind}::{u}, |h| h.kind))\n}}\n",
        u = c_const(&format!("{}Kind", u.name), "unset")
    ));
    for v in &u.variants {
        let vr = c_type(&crate::names::variant_record(u.name, v.name));
        s.line(format!(
            "/// The `{}` variant, owned by the event; NULL when the event is another kind.",
            v.name
        ));
        s.line("#[unsafe(no_mangle)]");
        s.line(format!(
            "pub unsafe extern \"C\" fn {h}_as_{}(h: *const {h}) -> *const {vr} {{",
            v.name
        ));
        s.line(format!(
            "    guard_value(std::ptr::null(), || unsafe {{ peek(h) }}.and_then(|h| h.{}.as_deref()).map_or(std::ptr::null(), |v| v as *const {vr}))",
            v.name
        ));
        s.line("}\n");
    }
}

/// A variant of the union: a record whose handle is always owned by its event.
fn variant_record(s: &mut Src, r: &RecordDesc, union: &str, variant: &str, types: &[String]) {
    let h = c_type(r.name);
    let fields: Vec<_> = r
        .fields
        .iter()
        .map(|f| (f, out_field(&f.ty, f.name)))
        .collect();
    s.doc("", "///", &c_doc(r.doc));
    s.line(format!(
        "///\n/// The `{variant}` variant of a `{}`, owned by it.",
        c_type(union)
    ));
    s.line(format!("pub struct {h} {{\n    tag: u64,"));
    for (f, o) in &fields {
        s.line(format!("    {}: {},", f.name, o.decl));
    }
    s.line("}\n");
    s.line(format!("impl Tagged for {h} {{"));
    s.line(format!("    const TAG: u64 = {:#x};", tag(&h)));
    s.line(format!(
        "    const WHAT: &'static str = \"{}\";",
        snake(r.name)
    ));
    s.line("    fn tag(&self) -> u64 {\n        self.tag\n    }\n}\n");
    s.line(format!("impl {h} {{"));
    let params: Vec<String> = r
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.name, rust_type(&f.ty)))
        .collect();
    s.line("    #[allow(clippy::too_many_arguments)]");
    s.line(format!("    fn of({}) -> {h} {{", params.join(", ")));
    s.line(format!("        {h} {{\n            tag: {h}::TAG,"));
    for (f, o) in &fields {
        s.line(format!(
            "            {name}: {{ let x = {name}; {fill} }},",
            name = f.name,
            fill = o.fill
        ));
    }
    s.line("        }");
    s.line("    }");
    s.line("}\n");
    for (f, o) in &fields {
        let name = getter_name(&h, f.name, o.suffix, types);
        getter(s, &h, &name, &getter_doc(r.name, f, o), o, "");
    }
}

/// The C parameters and the conversion of one call argument.
fn call_arg(a: &vas::description::ArgDesc, call: &str) -> (Vec<String>, String, String) {
    let n = a.name;
    let what = format!("\"{n}\"");
    match &a.ty {
        Ty::Id(k) => (
            vec![format!("{n}: vas_id")],
            format!("{}({n}.uuid())", crate::names::id_type(k)),
            format!("`{n}`: the id."),
        ),
        Ty::Option(i) if matches!(**i, Ty::Id(_)) => {
            let Ty::Id(k) = &**i else { unreachable!() };
            (
                vec![format!("{n}: *const vas_id")],
                format!(
                    "(!{n}.is_null()).then(|| {}(unsafe {{ *{n} }}.uuid()))",
                    crate::names::id_type(k)
                ),
                format!("`{n}` may be NULL (absent)."),
            )
        }
        Ty::String => (
            vec![format!("{n}: *const c_char")],
            format!("unsafe {{ arg_str({n}, {what}) }}?.to_owned()"),
            String::new(),
        ),
        Ty::Option(i) if matches!(**i, Ty::String) => (
            vec![format!("{n}: *const c_char")],
            format!("unsafe {{ opt_str({n}, {what}) }}?.map(str::to_owned)"),
            format!("`{n}` may be NULL (absent)."),
        ),
        Ty::Bool => (vec![format!("{n}: bool")], n.to_owned(), String::new()),
        Ty::Viewer => (
            vec![format!("{n}: u64")],
            format!("vas::ViewerId({n})"),
            String::new(),
        ),
        Ty::Time => (
            vec![format!("{n}_us: i64")],
            format!("from_micros({n}_us, \"{n}_us\")?"),
            format!("`{n}_us`: microseconds since the Unix epoch."),
        ),
        Ty::Enum(e) => (
            vec![format!("{n}: u32")],
            format!("enum_in(vas::{e}::ALL, {n}, {what})?.unwrap_or_default()"),
            format!("`{n}`: a `{}` value (0: the default).", c_type(e)),
        ),
        Ty::Record(r) => (
            vec![format!("{n}: *const {}", c_type(r))],
            format!(
                "unsafe {{ crate::error::options({n}, {}::default(), {what})?.to_vas() }}?",
                c_type(r)
            ),
            format!(
                "`{n}` may be NULL (every default); set one up with `{}_init`.",
                c_type(r)
            ),
        ),
        other => panic!("{call}({n}): a {other:?} argument has no C form"),
    }
}

/// The out-parameter of a call's result, how it is written, and its documentation.
fn call_out(ty: &Ty) -> Option<(String, String, String)> {
    Some(match ty {
        Ty::Unit => return None,
        Ty::Record(r) => (
            format!("out: *mut *mut {}", c_type(r)),
            format!("write_out(out, Box::into_raw(Box::new({}::of(&r, true))));", c_type(r)),
            format!("`*out` receives the {} (free it with `{}_free`).", snake(r).replace('_', " "), c_type(r)),
        ),
        Ty::List(i) => {
            let Ty::Record(r) = &**i else {
                panic!("a list of {i:?} has no C form")
            };
            (
                format!("out: *mut *mut {}_list", c_type(r)),
                format!("write_out(out, Box::into_raw(Box::new({}_list::of(&r))));", c_type(r)),
                format!("`*out` receives the list (free it with `{}_list_free`).", c_type(r)),
            )
        }
        Ty::Bool => (
            "out: *mut bool".into(),
            "write_out(out, r);".into(),
            "`*out` receives the answer.".into(),
        ),
        Ty::Path => (
            "out: *mut *mut c_char".into(),
            "write_out(out, string_out(&r.display().to_string()));".into(),
            "`*out` receives the path (free it with `vas_string_free`).".into(),
        ),
        Ty::Playlist => (
            "out: *mut *mut c_char".into(),
            "write_out(out, string_out(&r.render()));".into(),
            "`*out` receives the playlist's text (free it with `vas_string_free`).".into(),
        ),
        Ty::String => (
            "out: *mut *mut c_char".into(),
            "write_out(out, string_out(&r));".into(),
            "`*out` receives the text (free it with `vas_string_free`).".into(),
        ),
        Ty::Bytes => (
            "out: *mut *mut vas_bytes".into(),
            "write_out(out, vas_bytes::boxed(r));".into(),
            "`*out` receives the bytes (read them with `vas_bytes_data`, free them with `vas_bytes_free`).".into(),
        ),
        other => panic!("a call returning {other:?} has no C form"),
    })
}

/// The C function of a generated call: `vas_<call>`, or `vas_<call>_get` where that would be
/// a type's name (C has one namespace for both: `vas_device` is the device's handle type, so
/// the call `device` is `vas_device_get`, and `snapshot` is `vas_snapshot_get`).
pub(crate) fn function_name(call: &str, types: &[String]) -> String {
    let f = format!("vas_{call}");
    if types.contains(&f) {
        format!("{f}_get")
    } else {
        f
    }
}

fn call(s: &mut Src, c: &CallDesc, types: &[String]) {
    let f = function_name(c.name, types);
    let mut params = vec!["engine: *const vas_engine".to_owned()];
    let mut convs = Vec::new();
    let mut notes = Vec::new();
    for a in &c.args {
        let (p, conv, note) = call_arg(a, c.name);
        params.extend(p);
        convs.push((a.name, conv));
        if !note.is_empty() {
            notes.push(note);
        }
    }
    let out = call_out(&c.returns);
    if let Some((p, _, note)) = &out {
        params.push(p.clone());
        notes.push(format!(
            "{note} `out` may be NULL when the result is not wanted."
        ));
    }
    let mut doc = c.doc.to_owned();
    if !notes.is_empty() {
        doc.push_str("\n\n");
        doc.push_str(&notes.join(" "));
    }
    s.doc("", "///", &c_doc(&doc));
    s.line("#[unsafe(no_mangle)]");
    s.line(format!(
        "pub unsafe extern \"C\" fn {f}({}) -> vas_result {{",
        params.join(", ")
    ));
    s.line(format!("    guard(\"{f}\", || {{"));
    s.line("        let e = unsafe { handle(engine, \"engine\") }?;");
    for (name, conv) in &convs {
        if conv != name {
            s.line(format!("        let {name} = {conv};"));
        }
    }
    let args: Vec<&str> = convs.iter().map(|(n, _)| *n).collect();
    match &out {
        Some((_, write, _)) => {
            s.line(format!(
                "        let r = e.vas.{}({})?;",
                c.name,
                args.join(", ")
            ));
            s.line(format!("        if !out.is_null() {{ {write} }}"));
        }
        None => s.line(format!("        e.vas.{}({})?;", c.name, args.join(", "))),
    }
    s.line("        Ok(())");
    s.line("    })");
    s.line("}");
    s.line("");
}

/// `vas-ffi/src/generated.rs`.
pub fn render(d: &Description) -> String {
    let types = type_names(d);
    let mut s = Src::default();
    s.line("// @generated by vas-gen from vas::description; do not edit (run `make generate`).");
    s.line("//! The C ABI's records, inputs, name tables, event union and calls, generated from");
    s.line("//! the engine's description (see `vas-gen/src/c.rs` for the C forms of each type).");
    s.line("");
    s.line(crate::text::GENERATED_ALLOWS);
    s.line("");
    s.line("use std::ffi::{CString, c_char};");
    s.line("");
    s.line("use crate::engine::vas_engine;");
    s.line("use crate::error::{");
    s.line("    DEAD_TAG, Fail, FfiResult, HandleList, Kill, Tagged, arg_out, arg_str, enum_in, from_micros,");
    s.line(
        "    guard, guard_value, handle, item_free, keep, kept_ptr, list_free, list_get, list_len,",
    );
    s.line("    opt_str, peek, required_id, str_list, string_out, vas_bytes, vas_id, write_opt, write_out,");
    s.line("};");
    s.line("use crate::frames::{vas_encoded_frame, vas_frame};");
    s.line("use crate::result::vas_result;");
    s.line("");
    s.line("// ---------------------------------------------------------------- name tables\n");
    for e in &d.enums {
        if !SKIPPED_ENUMS.contains(&e.name) {
            enumeration(&mut s, e);
        }
    }
    s.line("// ---------------------------------------------------------------- records\n");
    for r in &d.records {
        if let Some((_, handle)) = CARRIED.iter().find(|(n, _)| *n == r.name) {
            carried_record(&mut s, r, handle, &types);
        } else if r.input {
            input_record(&mut s, r, d);
        } else {
            output_record(&mut s, r, &types, listed(d).contains(&r.name));
        }
    }
    s.line("// ---------------------------------------------------------------- events\n");
    for u in &d.unions {
        union(&mut s, u, &types);
    }
    s.line("// ---------------------------------------------------------------- calls\n");
    for c in &d.calls {
        if !HAND_WRITTEN.contains(&c.name) {
            call(&mut s, c, &types);
        }
    }
    s.0
}

/// Splits `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// `vas-ffi/src/result.rs`: `VAS_OK`, one code per `vas::ErrorKind` (the same numbers), and
/// the codes only the ABI has.
pub fn render_result_codes() -> String {
    use vas::ErrorKind;
    let mut s = String::new();
    s.push_str(
        "// @generated by vas-gen from vas::ErrorKind::ALL; do not edit (run `make generate`).\n\
         //! The numbered result codes of the C ABI: `VAS_OK`, one per [`vas::ErrorKind`] (same\n\
         //! numbers), then the codes only the ABI has.\n\n\
         use std::ffi::CStr;\n\n\
         use vas::ErrorKind;\n\n\
         /// What a call returned: `VAS_OK` (0) or the kind of error. The numbers are stable.\n\
         #[repr(C)]\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         #[allow(non_camel_case_types)]\n\
         pub enum vas_result {\n    /// Success.\n    VAS_OK = 0,\n",
    );
    let mut names: Vec<(String, String)> = vec![("VAS_OK".into(), "ok".into())];
    for kind in ErrorKind::ALL {
        let upper = format!("VAS_{}", kind.as_str().to_ascii_uppercase());
        for line in wrap(kind.description(), 88) {
            let _ = writeln!(s, "    /// {line}");
        }
        let _ = writeln!(s, "    {upper} = {},", kind.code());
        names.push((upper, kind.as_str().to_owned()));
    }
    for (name, code, doc) in ABI_CODES {
        let upper = format!("VAS_{}", name.to_ascii_uppercase());
        for line in wrap(doc, 88) {
            let _ = writeln!(s, "    /// {line}");
        }
        let _ = writeln!(s, "    {upper} = {code},");
        names.push((upper, (*name).to_owned()));
    }
    s.push_str("}\n\nimpl vas_result {\n");
    s.push_str(
        "    /// The code of an error kind (`VAS_INTERNAL` for a kind this ABI predates).\n",
    );
    s.push_str(
        "    pub(crate) fn from_kind(kind: ErrorKind) -> vas_result {\n        match kind {\n",
    );
    for kind in ErrorKind::ALL {
        let _ = writeln!(
            s,
            "            ErrorKind::{:?} => vas_result::VAS_{},",
            kind,
            kind.as_str().to_ascii_uppercase()
        );
    }
    s.push_str("            _ => vas_result::VAS_INTERNAL,\n        }\n    }\n\n");
    s.push_str("    /// The code's snake_case name (the error kind's name).\n");
    s.push_str("    pub(crate) fn name(self) -> &'static CStr {\n        match self {\n");
    for (upper, lower) in &names {
        let _ = writeln!(s, "            vas_result::{upper} => c\"{lower}\",");
    }
    s.push_str("        }\n    }\n\n");
    s.push_str("    /// The code for a number, if it is one.\n");
    s.push_str(
        "    pub(crate) fn from_code(code: i32) -> Option<vas_result> {\n        match code {\n",
    );
    s.push_str("            0 => Some(vas_result::VAS_OK),\n");
    for kind in ErrorKind::ALL {
        let _ = writeln!(
            s,
            "            {} => Some(vas_result::VAS_{}),",
            kind.code(),
            kind.as_str().to_ascii_uppercase()
        );
    }
    for (name, code, _) in ABI_CODES {
        let _ = writeln!(
            s,
            "            {code} => Some(vas_result::VAS_{}),",
            name.to_ascii_uppercase()
        );
    }
    s.push_str("            _ => None,\n        }\n    }\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::{c_doc, function_name};

    #[test]
    fn c_documentation_drops_rust_examples_and_links() {
        let doc = "A thing ([`Event::kind`], [`crate::events::EVENT_BUFFER`]).\n\n\
                   ```\nlet x = 1;\n```\n\nSee [`snapshot`](Self::snapshot).\n";
        assert_eq!(
            c_doc(doc),
            "A thing (`Event::kind`, `EVENT_BUFFER`).\n\nSee `snapshot`."
        );
    }

    #[test]
    fn a_call_spelled_like_a_type_ends_in_get() {
        let types = ["vas_device".to_owned(), "vas_snapshot".to_owned()];
        assert_eq!(function_name("device", &types), "vas_device_get");
        assert_eq!(function_name("snapshot", &types), "vas_snapshot_get");
        assert_eq!(function_name("devices", &types), "vas_devices");
    }
}
