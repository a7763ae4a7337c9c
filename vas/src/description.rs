//! What the engine offers to the outside, as data: its records, name tables, events and
//! calls, with their documentation, field types, defaults, list orders and REST routes.
//!
//! Owns the shapes of the description and the list of what is in it; the items themselves
//! are the ordinary Rust types and methods of this crate, which describe themselves through
//! `vas-macros` (`#[derive(Record)]`, `#[derive(Names)]`, `#[derive(Union)]`, `#[calls]`).
//! So a new field or call is one edit here in vas; `vas-gen` then writes the C, Python and
//! uniffi shells and `docs/api.md` from [`description`], the server's JSON comes from the same
//! types' serde forms, and the parity test checks every shell against it.
//!
//! ```
//! let d = vas::description::description();
//! let device = d.record("Device").unwrap();
//! assert!(device.fields.iter().any(|f| f.name == "has_credentials"));
//! let add = d.call("add_device").unwrap();
//! assert_eq!(add.rest, "POST /api/v1/devices");
//! assert_eq!(d.enumeration("Order").unwrap().names(), ["oldest", "newest"]);
//! ```

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A type as the description sees it: what each shell must carry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Ty {
    /// Nothing (a call that returns no value).
    Unit,
    /// `true` or `false`.
    Bool,
    /// An unsigned 8-bit number.
    U8,
    /// An unsigned 32-bit number.
    U32,
    /// An unsigned 64-bit number.
    U64,
    /// A signed 64-bit number.
    I64,
    /// A 64-bit float.
    F64,
    /// UTF-8 text.
    String,
    /// Bytes (a JPEG, say).
    Bytes,
    /// A file path on this machine.
    Path,
    /// A UTC time with microsecond precision.
    Time,
    /// A length of time.
    Duration,
    /// The id of a device, stream, recording, snapshot or bookmark (a UUID).
    Id(&'static str),
    /// A WebRTC viewer (a number).
    Viewer,
    /// A name table ([`EnumDesc`]).
    Enum(&'static str),
    /// A record ([`RecordDesc`]).
    Record(&'static str),
    /// A union of records ([`UnionDesc`]): the engine's events.
    Union(&'static str),
    /// An optional value.
    Option(Box<Ty>),
    /// A list, in the order the call documents.
    List(Box<Ty>),
    /// A change to an optional value: absent keeps it, empty removes it, a value sets it.
    Change(Box<Ty>),
    /// An HLS playlist (text).
    Playlist,
    /// A subscription that delivers items until it is closed: `frames`, `encoded_frames`,
    /// `events`.
    Subscription(&'static str),
    /// The engine itself (what `open` returns).
    Engine,
}

/// A default value of an input field, for the shells' signatures and documentation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Literal {
    /// No value.
    None,
    /// A flag.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// Text.
    Str(String),
    /// A name of a name table.
    Enum(&'static str),
    /// A duration, in seconds.
    Seconds(f64),
    /// An empty list.
    EmptyList,
}

/// A record: a value the engine hands out, or one a caller sends (`input`).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDesc {
    /// Its name (`Device`).
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// Whether callers send it (an argument) rather than receive it.
    pub input: bool,
    /// Its fields, in order.
    pub fields: Vec<FieldDesc>,
}

/// A field of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDesc {
    /// Its name, the same in every shell.
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// Its key in JSON (the name, or `<name>_s` for a duration in seconds).
    pub json: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Whether a caller must give it (input records).
    pub required: bool,
    /// Its default (input records, fields that are not required).
    pub default: Option<Literal>,
}

/// A name table: a type whose values are names.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDesc {
    /// Its name (`StreamState`).
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// What a value is, in words (in error messages: "unknown RTP transport").
    pub what: &'static str,
    /// Its values, in order.
    pub variants: Vec<VariantDesc>,
}

impl EnumDesc {
    /// The names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.variants.iter().map(|v| v.name).collect()
    }
}

/// One value of a name table.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantDesc {
    /// Its name, the same in every shell and in JSON.
    pub name: &'static str,
    /// The Rust variant.
    pub rust: &'static str,
    /// Its documentation.
    pub doc: &'static str,
}

/// A union: one of several records, told apart by the variant's name.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionDesc {
    /// Its name (`Event`).
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// The variants, each a record named in snake_case (`stream_state`).
    pub variants: Vec<RecordDesc>,
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgDesc {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
}

/// One call of the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct CallDesc {
    /// Its name, the same in every shell (`add_device`).
    pub name: &'static str,
    /// Its documentation: what it does, its errors, and for lists their order.
    pub doc: &'static str,
    /// Its arguments.
    pub args: Vec<ArgDesc>,
    /// What it returns.
    pub returns: Ty,
    /// Its REST route (`"POST /api/v1/devices"`), or `"none: why"`.
    pub rest: &'static str,
    /// Whether it waits (async in Rust; blocking twins and coroutines in the shells).
    pub waits: bool,
}

impl CallDesc {
    /// The REST method and path, when the call has a route.
    pub fn route(&self) -> Option<(&'static str, &'static str)> {
        if self.rest.starts_with("none") {
            return None;
        }
        self.rest.split_once(' ')
    }
}

/// Everything the engine offers to the outside.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The records.
    pub records: Vec<RecordDesc>,
    /// The name tables.
    pub enums: Vec<EnumDesc>,
    /// The unions.
    pub unions: Vec<UnionDesc>,
    /// The calls.
    pub calls: Vec<CallDesc>,
}

impl Description {
    /// A record by name.
    pub fn record(&self, name: &str) -> Option<&RecordDesc> {
        self.records.iter().find(|r| r.name == name)
    }

    /// A name table by name.
    pub fn enumeration(&self, name: &str) -> Option<&EnumDesc> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// A union by name.
    pub fn union(&self, name: &str) -> Option<&UnionDesc> {
        self.unions.iter().find(|u| u.name == name)
    }

    /// A call by name.
    pub fn call(&self, name: &str) -> Option<&CallDesc> {
        self.calls.iter().find(|c| c.name == name)
    }
}

/// The description of this version of the engine.
pub fn description() -> Description {
    use crate::model;
    Description {
        records: vec![
            model::Device::record(),
            model::NewDevice::record(),
            model::DevicePatch::record(),
            model::Stream::record(),
            model::RecorderStatus::record(),
            model::Recording::record(),
            model::Snapshot::record(),
            model::SnapshotImage::record(),
            model::SnapshotOptions::record(),
            model::Bookmark::record(),
            model::NewBookmark::record(),
            model::ListQuery::record(),
            model::WebRtcSession::record(),
            model::FrameOptions::record(),
            model::FrameInfo::record(),
            model::EncodedFrameInfo::record(),
            model::EngineOptions::record(),
        ],
        enums: vec![
            model::RtpTransport::enumeration(),
            model::StreamProfile::enumeration(),
            model::DesiredState::enumeration(),
            model::StreamState::enumeration(),
            model::RecorderState::enumeration(),
            model::BookmarkState::enumeration(),
            model::Order::enumeration(),
            model::PixelFormat::enumeration(),
            model::Strategy::enumeration(),
            model::TrackKind::enumeration(),
            model::Codec::enumeration(),
            error_kinds(),
        ],
        unions: vec![crate::events::Event::union()],
        calls: [
            crate::engine::engine_calls(),
            crate::engine::devices_calls(),
            crate::engine::streams_calls(),
            crate::engine::snapshots_calls(),
            crate::engine::bookmarks_calls(),
            crate::engine::viewers_calls(),
        ]
        .concat(),
    }
}

/// [`crate::ErrorKind`]'s table as a name table (its numbers are the C result codes).
fn error_kinds() -> EnumDesc {
    EnumDesc {
        name: "ErrorKind",
        doc: "What kind of failure an error is, stable across releases and shells.",
        what: "error kind",
        variants: crate::ErrorKind::ALL
            .iter()
            .map(|k| VariantDesc {
                name: k.as_str(),
                rust: k.rust_name(),
                doc: k.description(),
            })
            .collect(),
    }
}

/// A type the description can name.
pub trait Describe {
    /// Its [`Ty`].
    fn ty() -> Ty;
}

/// A record that describes itself (`#[derive(Record)]`).
pub trait Record {
    /// Its description.
    fn record() -> RecordDesc;
}

/// A name table that describes itself (`#[derive(Names)]`).
pub trait Enum {
    /// Its description.
    fn enumeration() -> EnumDesc;
}

/// A union that describes itself (`#[derive(Union)]`).
pub trait Union {
    /// Its description.
    fn union() -> UnionDesc;
}

/// A value that can be written as a default in the description.
pub trait IntoLiteral {
    /// The value as a [`Literal`].
    fn literal(&self) -> Literal;
}

macro_rules! describe {
    ($($t:ty => $ty:expr),* $(,)?) => {
        $(impl Describe for $t {
            fn ty() -> Ty {
                $ty
            }
        })*
    };
}

describe! {
    () => Ty::Unit,
    bool => Ty::Bool,
    u8 => Ty::U8,
    u32 => Ty::U32,
    u64 => Ty::U64,
    i64 => Ty::I64,
    f64 => Ty::F64,
    String => Ty::String,
    bytes::Bytes => Ty::Bytes,
    PathBuf => Ty::Path,
    DateTime<Utc> => Ty::Time,
    Duration => Ty::Duration,
    crate::DeviceId => Ty::Id("device"),
    crate::StreamId => Ty::Id("stream"),
    crate::RecordingId => Ty::Id("recording"),
    crate::SnapshotId => Ty::Id("snapshot"),
    crate::BookmarkId => Ty::Id("bookmark"),
    crate::ViewerId => Ty::Viewer,
    crate::SubStreamChange => Ty::Change(Box::new(Ty::String)),
    crate::MediaPlaylist => Ty::Playlist,
    crate::frames::FrameSubscription => Ty::Subscription("frames"),
    crate::frames::EncodedSubscription => Ty::Subscription("encoded_frames"),
    crate::events::EventSubscription => Ty::Subscription("events"),
    crate::Vas => Ty::Engine,
}

impl<T: Describe> Describe for Option<T> {
    fn ty() -> Ty {
        Ty::Option(Box::new(T::ty()))
    }
}

impl<T: Describe> Describe for Vec<T> {
    fn ty() -> Ty {
        Ty::List(Box::new(T::ty()))
    }
}

macro_rules! literal {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl IntoLiteral for $t {
            fn literal(&self) -> Literal {
                let $v = self;
                $e
            }
        })*
    };
}

literal! {
    bool => |v| Literal::Bool(*v),
    u8 => |v| Literal::Int(i64::from(*v)),
    u32 => |v| Literal::Int(i64::from(*v)),
    u64 => |v| Literal::Int(i64::try_from(*v).unwrap_or(i64::MAX)),
    f64 => |v| Literal::Float(*v),
    String => |v| Literal::Str(v.clone()),
    PathBuf => |v| Literal::Str(v.display().to_string()),
    Duration => |v| Literal::Seconds(v.as_secs_f64()),
    DateTime<Utc> => |v| Literal::Str(v.to_rfc3339()),
    crate::DeviceId => |v| Literal::Str(v.to_string()),
    crate::StreamId => |v| Literal::Str(v.to_string()),
    crate::SubStreamChange => |v| match v {
        crate::SubStreamChange::Set(url) => Literal::Str(url.clone()),
        crate::SubStreamChange::Remove => Literal::Str(String::new()),
        _ => Literal::None,
    },
}

impl<T: IntoLiteral> IntoLiteral for Option<T> {
    fn literal(&self) -> Literal {
        self.as_ref().map_or(Literal::None, IntoLiteral::literal)
    }
}

impl<T> IntoLiteral for Vec<T> {
    fn literal(&self) -> Literal {
        Literal::EmptyList
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type a field, argument or result names is in the description.
    fn check(d: &Description, ty: &Ty, at: &str) {
        match ty {
            Ty::Enum(n) => assert!(d.enumeration(n).is_some(), "{at}: enum {n} is not listed"),
            Ty::Record(n) => assert!(d.record(n).is_some(), "{at}: record {n} is not listed"),
            Ty::Union(n) => assert!(d.union(n).is_some(), "{at}: union {n} is not listed"),
            Ty::Option(t) | Ty::List(t) | Ty::Change(t) => check(d, t, at),
            _ => {}
        }
    }

    #[test]
    fn the_description_is_closed_and_every_item_documented() {
        let d = description();
        for r in d
            .records
            .iter()
            .chain(d.unions.iter().flat_map(|u| &u.variants))
        {
            assert!(
                !r.doc.is_empty() || r.fields.is_empty(),
                "{} has no doc",
                r.name
            );
            for f in &r.fields {
                check(&d, &f.ty, &format!("{}.{}", r.name, f.name));
                assert!(!f.doc.is_empty(), "{}.{} has no doc", r.name, f.name);
            }
        }
        for c in &d.calls {
            assert!(!c.doc.is_empty(), "call {} has no doc", c.name);
            for a in &c.args {
                check(&d, &a.ty, &format!("{}({})", c.name, a.name));
            }
            check(&d, &c.returns, &format!("{} -> ", c.name));
            assert!(
                c.rest == "none" || c.rest.starts_with("none: ") || c.route().is_some(),
                "call {}: rest is {:?}",
                c.name,
                c.rest
            );
        }
        for e in &d.enums {
            assert!(!e.variants.is_empty());
        }
    }

    #[test]
    fn names_are_unique() {
        let d = description();
        let mut seen = std::collections::HashSet::new();
        for n in d
            .records
            .iter()
            .map(|r| r.name)
            .chain(d.enums.iter().map(|e| e.name))
            .chain(d.unions.iter().map(|u| u.name))
        {
            assert!(seen.insert(n), "{n} is described twice");
        }
        let mut calls = std::collections::HashSet::new();
        for c in &d.calls {
            assert!(calls.insert(c.name), "call {} is described twice", c.name);
        }
    }

    #[test]
    fn every_list_call_says_its_order() {
        for c in description().calls {
            if matches!(c.returns, Ty::List(_)) {
                assert!(
                    c.doc.contains("oldest first") || c.doc.contains("newest first"),
                    "{} returns a list but its documentation does not say in which order",
                    c.name
                );
            }
        }
    }
}
