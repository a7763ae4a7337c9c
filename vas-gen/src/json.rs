//! The description as JSON, for tools outside Rust (the parity test).

use serde_json::{Value, json};
use vas::description::{Description, FieldDesc, Literal, RecordDesc, Ty};

/// A type as JSON: `{"kind": "option", "of": {"kind": "string"}}`.
pub fn ty(t: &Ty) -> Value {
    match t {
        Ty::Id(k) => json!({"kind": "id", "of": k}),
        Ty::Enum(n) => json!({"kind": "enum", "name": n}),
        Ty::Record(n) => json!({"kind": "record", "name": n}),
        Ty::Union(n) => json!({"kind": "union", "name": n}),
        Ty::Option(t) => json!({"kind": "option", "of": ty(t)}),
        Ty::List(t) => json!({"kind": "list", "of": ty(t)}),
        Ty::Change(t) => json!({"kind": "change", "of": ty(t)}),
        Ty::Subscription(s) => json!({"kind": "subscription", "of": s}),
        other => json!({"kind": format!("{other:?}").to_lowercase()}),
    }
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::None => Value::Null,
        Literal::Bool(b) => json!(b),
        Literal::Int(i) => json!(i),
        Literal::Float(f) => json!(f),
        Literal::Str(s) => json!(s),
        Literal::Enum(e) => json!(e),
        Literal::Seconds(s) => json!(s),
        Literal::EmptyList => json!([]),
        other => json!(format!("{other:?}")),
    }
}

fn field(f: &FieldDesc) -> Value {
    json!({
        "name": f.name,
        "json": f.json,
        "doc": f.doc,
        "type": ty(&f.ty),
        "required": f.required,
        "default": f.default.as_ref().map(literal),
    })
}

fn record(r: &RecordDesc) -> Value {
    json!({
        "name": r.name,
        "doc": r.doc,
        "input": r.input,
        "fields": r.fields.iter().map(field).collect::<Vec<_>>(),
    })
}

/// The whole description.
pub fn describe(d: &Description) -> String {
    let v = json!({
        "records": d.records.iter().map(record).collect::<Vec<_>>(),
        "enums": d.enums.iter().map(|e| json!({
            "name": e.name,
            "doc": e.doc,
            "values": e.names(),
        })).collect::<Vec<_>>(),
        "unions": d.unions.iter().map(|u| json!({
            "name": u.name,
            "doc": u.doc,
            "variants": u.variants.iter().map(record).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "calls": d.calls.iter().map(|c| json!({
            "name": c.name,
            "doc": c.doc,
            "args": c.args.iter().map(|a| json!({"name": a.name, "type": ty(&a.ty)})).collect::<Vec<_>>(),
            "returns": ty(&c.returns),
            "rest": c.rest,
            "waits": c.waits,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}
