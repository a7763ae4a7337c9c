//! The one public error type of VAS.
//!
//! Every fallible operation in the library returns [`Error`], which carries an [`ErrorKind`]
//! (what went wrong, in terms a caller can act on) and a human-readable message (never
//! containing camera credentials). Each shell maps the kind exactly once: the server to an HTTP
//! status, the C ABI to a result code, Python to an exception class.
//!
//! This module must never format a secret into a message; callers pass already-masked text.

use std::fmt;

/// Declares [`ErrorKind`] and everything derived from it from one table, so the enum, its
/// names, its numeric codes and [`ErrorKind::ALL`] can never disagree. A kind added here is in
/// `ALL` at once, so every shell's mapping test sees it (and fails until the shell maps it).
macro_rules! error_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal, $name:literal; )+) => {
        /// What kind of failure an [`Error`] is, stable across releases and shells.
        ///
        /// Each kind has a stable snake_case [name](ErrorKind::as_str) (JSON bodies, Python
        /// exception names) and a stable [numeric code](ErrorKind::code) (the C ABI; 0 is
        /// reserved for success). Codes are never reused or renumbered.
        ///
        /// ```
        /// use vas::{Error, ErrorKind};
        /// let e = Error::invalid_input("name must not be empty");
        /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
        /// assert_eq!(ErrorKind::InvalidInput.as_str(), "invalid_input");
        /// assert_eq!(ErrorKind::from_code(ErrorKind::NotFound.code()), Some(ErrorKind::NotFound));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl ErrorKind {
            /// Every kind, in table order (for the shells' mapping tables and their tests).
            pub const ALL: &'static [ErrorKind] = &[ $( ErrorKind::$variant, )+ ];

            /// The stable snake_case name used in JSON bodies and bindings.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( ErrorKind::$variant => $name, )+
                }
            }

            /// The stable numeric code (never 0, which the C ABI keeps for success).
            pub const fn code(self) -> u16 {
                match self {
                    $( ErrorKind::$variant => $code, )+
                }
            }

            /// The kind with this numeric code, if any.
            pub const fn from_code(code: u16) -> Option<ErrorKind> {
                match code {
                    $( $code => Some(ErrorKind::$variant), )+
                    _ => None,
                }
            }

            /// The kind with this snake_case name, if any.
            pub fn from_name(name: &str) -> Option<ErrorKind> {
                match name {
                    $( $name => Some(ErrorKind::$variant), )+
                    _ => None,
                }
            }

            /// The Rust variant's name (`"InvalidInput"`).
            pub const fn rust_name(self) -> &'static str {
                match self {
                    $( ErrorKind::$variant => stringify!($variant), )+
                }
            }

            /// What the kind means, in a sentence (its documentation, on one line).
            pub const fn description(self) -> &'static str {
                match self {
                    $( ErrorKind::$variant => error_kinds!(@first $($doc)*), )+
                }
            }
        }
    };
    (@first $($doc:literal)*) => { concat!($($doc),*).trim_ascii() };
}

error_kinds! {
    /// The caller supplied something malformed or out of range.
    InvalidInput = 1, "invalid_input";
    /// The named thing does not exist.
    NotFound = 2, "not_found";
    /// A thing with the same identity already exists.
    AlreadyExists = 3, "already_exists";
    /// The operation is valid but not in the current state (e.g. starting a disabled camera).
    FailedPrecondition = 4, "failed_precondition";
    /// A dependency (database, camera, disk) cannot be reached right now; retrying may help.
    Unavailable = 5, "unavailable";
    /// The caller did not prove who it is.
    Unauthenticated = 6, "unauthenticated";
    /// The caller is known but not allowed to do this.
    PermissionDenied = 7, "permission_denied";
    /// A limit was reached (viewers, disk, queue); retry later or raise the limit.
    ResourceExhausted = 8, "resource_exhausted";
    /// The input is larger than the configured limit.
    TooLarge = 9, "too_large";
    /// The input uses a feature or codec VAS does not support.
    Unsupported = 10, "unsupported";
    /// A broken internal rule; a bug to report.
    Internal = 11, "internal";
    /// Nothing arrived within the time the caller allowed (a frame, an event); asking again
    /// may succeed.
    Timeout = 12, "timeout";
    /// The engine or subscription was closed; nothing more will come from it.
    Closed = 13, "closed";
    /// Data VAS did not get from the caller is malformed: a camera broke its protocol, or a
    /// file on VAS's own disk is damaged. Not the caller's fault; details are in the logs.
    Corrupt = 14, "corrupt";
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VAS error: a kind plus a message, optionally with the underlying cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause (kept for logs via `source()`; not shown to API clients).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Prefixes the message with what was being done, keeping kind and source.
    ///
    /// ```
    /// let e = vas::Error::not_found("no such file").context("cannot open media folder");
    /// assert_eq!(e.to_string(), "cannot open media folder: no such file");
    /// ```
    pub fn context(mut self, context: impl std::fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (safe to show to API clients).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match e.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::PermissionDenied | Io::ReadOnlyFilesystem => ErrorKind::PermissionDenied,
            Io::StorageFull | Io::QuotaExceeded => ErrorKind::ResourceExhausted,
            Io::ConnectionRefused
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::NotConnected
            | Io::HostUnreachable
            | Io::NetworkUnreachable => ErrorKind::Unavailable,
            Io::InvalidInput => ErrorKind::InvalidInput,
            // Bytes read back that do not parse: damaged data, not a bad request.
            Io::InvalidData | Io::UnexpectedEof => ErrorKind::Corrupt,
            Io::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string()).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique_snake_case() {
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        for n in &names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn codes_are_unique_nonzero_and_round_trip() {
        let mut codes: Vec<u16> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        for &kind in ErrorKind::ALL {
            assert_ne!(kind.code(), 0, "{kind}");
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(kind));
            assert!(!kind.description().is_empty(), "{kind}");
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::from_name("nope"), None);
    }

    #[test]
    fn codes_are_stable() {
        // Published in the C header: a change here breaks every compiled C caller.
        let table: Vec<(&str, u16)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.code()))
            .collect();
        assert_eq!(
            table,
            [
                ("invalid_input", 1),
                ("not_found", 2),
                ("already_exists", 3),
                ("failed_precondition", 4),
                ("unavailable", 5),
                ("unauthenticated", 6),
                ("permission_denied", 7),
                ("resource_exhausted", 8),
                ("too_large", 9),
                ("unsupported", 10),
                ("internal", 11),
                ("timeout", 12),
                ("closed", 13),
                ("corrupt", 14),
            ]
        );
    }

    #[test]
    fn io_errors_map_to_actionable_kinds() {
        let e: Error = std::io::Error::from(std::io::ErrorKind::StorageFull).into();
        assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
        let e: Error = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        // Damaged bytes on our own disk are not the caller's invalid input.
        let e: Error = std::io::Error::from(std::io::ErrorKind::InvalidData).into();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(std::error::Error::source(&e).is_some());
    }
}
