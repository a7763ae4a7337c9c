//! Identifiers: UUIDs (v7, time-ordered) for what is stored, a number for WebRTC viewers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Result};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Uuid::try_parse(s).map($name).map_err(|_| {
                    // The value as given, cut short: it may be anything a client sent.
                    let shown: String = s.chars().take(64).collect();
                    let more = if shown.len() < s.len() { "…" } else { "" };
                    Error::invalid_input(format!(
                        concat!($what, " id {:?}{} is not a UUID"),
                        shown, more
                    ))
                })
            }
        }
    };
}

id_type!(
    /// Identifies a camera.
    DeviceId,
    "device"
);
id_type!(
    /// Identifies one stream (profile) of a camera.
    StreamId,
    "stream"
);
id_type!(
    /// Identifies one recording (a run of HLS segments).
    RecordingId,
    "recording"
);
id_type!(
    /// Identifies a bookmark.
    BookmarkId,
    "bookmark"
);
id_type!(
    /// Identifies a snapshot.
    SnapshotId,
    "snapshot"
);

/// Identifies a WebRTC viewer of the engine (unique while the engine runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ViewerId(pub u64);

impl fmt::Display for ViewerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "viewer-{}", self.0)
    }
}

impl From<u64> for ViewerId {
    fn from(v: u64) -> Self {
        ViewerId(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_or_say_which_id() {
        let id = DeviceId::new();
        assert_eq!(id.to_string().parse::<DeviceId>().unwrap(), id);
        let e = "nope".parse::<StreamId>().unwrap_err();
        assert_eq!(e.message(), "stream id \"nope\" is not a UUID");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        // A long value is cut short in the message.
        let e = "x".repeat(1000).parse::<StreamId>().unwrap_err();
        assert!(e.message().len() < 120, "{}", e.message());
        assert!(e.message().contains("…"), "{}", e.message());
    }
}
