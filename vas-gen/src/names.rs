//! How one name of the description is spelled in each shell.

/// `Device` -> `device`, `WebRtcSession` -> `webrtc_session`, `FrameInfo` -> `frame_info`.
pub fn snake(camel: &str) -> String {
    let camel = camel.replace("WebRtc", "Webrtc");
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `stream_state` -> `StreamState`.
pub fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect()
}

/// `add_device` -> `addDevice` (Kotlin, Swift).
pub fn lower_camel(snake: &str) -> String {
    let c = camel(snake);
    let mut chars = c.chars();
    match chars.next() {
        Some(f) => f.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The C type of a record: `vas_device`.
pub fn c_type(record: &str) -> String {
    format!("vas_{}", snake(record))
}

/// A C enum constant: `VAS_STREAM_STATE_LIVE`.
pub fn c_const(enumeration: &str, value: &str) -> String {
    format!("VAS_{}_{}", snake(enumeration), value).to_uppercase()
}

/// A Python identifier for a description name: a keyword gets a trailing underscore
/// (`from` -> `from_`).
pub fn py_ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
        "try", "while", "with", "yield",
    ];
    if KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// The Rust type of an id kind: `device` -> `vas::DeviceId`.
pub fn id_type(kind: &str) -> String {
    format!("vas::{}Id", camel(kind))
}

/// The name of a union variant's record: `stream_state` of `Event` -> `StreamStateEvent`.
pub fn variant_record(union: &str, variant: &str) -> String {
    format!("{}{union}", camel(variant))
}

/// The Rust type (in the shells, which name vas's items `vas::…`) of a description type.
pub fn rust_type(ty: &vas::description::Ty) -> String {
    use vas::description::Ty;
    match ty {
        Ty::Unit => "()".into(),
        Ty::Bool => "bool".into(),
        Ty::U8 => "u8".into(),
        Ty::U32 => "u32".into(),
        Ty::U64 => "u64".into(),
        Ty::I64 => "i64".into(),
        Ty::F64 => "f64".into(),
        Ty::String => "String".into(),
        Ty::Bytes => "bytes::Bytes".into(),
        Ty::Path => "std::path::PathBuf".into(),
        Ty::Time => "chrono::DateTime<chrono::Utc>".into(),
        Ty::Duration => "std::time::Duration".into(),
        Ty::Id(k) => id_type(k),
        Ty::Viewer => "vas::ViewerId".into(),
        Ty::Enum(n) | Ty::Record(n) | Ty::Union(n) => format!("vas::{n}"),
        Ty::Option(t) => format!("Option<{}>", rust_type(t)),
        Ty::List(t) => format!("Vec<{}>", rust_type(t)),
        Ty::Change(_) => "vas::SubStreamChange".into(),
        Ty::Playlist => "vas::MediaPlaylist".into(),
        Ty::Subscription(s) => format!("/* subscription {s} */"),
        Ty::Engine => "vas::Vas".into(),
        other => format!("/* {other:?} */"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(snake("WebRtcSession"), "webrtc_session");
        assert_eq!(snake("RecorderStatus"), "recorder_status");
        assert_eq!(camel("stream_state"), "StreamState");
        assert_eq!(lower_camel("add_device"), "addDevice");
        assert_eq!(c_const("StreamState", "live"), "VAS_STREAM_STATE_LIVE");
        assert_eq!(py_ident("from"), "from_");
        assert_eq!(id_type("device"), "vas::DeviceId");
        assert_eq!(variant_record("Event", "viewer_left"), "ViewerLeftEvent");
    }
}
