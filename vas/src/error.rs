//! The one public error type of VAS.
//!
//! Every fallible operation in the library returns [`Error`], which carries an [`ErrorKind`]
//! (what went wrong, in terms a caller can act on) and a human-readable message (never
//! containing camera credentials). Each shell maps the kind exactly once: the server to an HTTP
//! status, the C ABI to a result code, Python to an exception class.
//!
//! This module must never format a secret into a message; callers pass already-masked text.

use std::fmt;

/// What kind of failure an [`Error`] is, stable across releases and shells.
///
/// ```
/// use vas::{Error, ErrorKind};
/// let e = Error::invalid_input("name must not be empty");
/// assert_eq!(e.kind(), ErrorKind::InvalidInput);
/// assert_eq!(ErrorKind::InvalidInput.as_str(), "invalid_input");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller supplied something malformed or out of range.
    InvalidInput,
    /// The named thing does not exist.
    NotFound,
    /// A thing with the same identity already exists.
    AlreadyExists,
    /// The operation is valid but not in the current state (e.g. starting a disabled camera).
    FailedPrecondition,
    /// A dependency (database, camera, disk) cannot be reached right now; retrying may help.
    Unavailable,
    /// The caller did not prove who it is.
    Unauthenticated,
    /// The caller is known but not allowed to do this.
    PermissionDenied,
    /// A limit was reached (viewers, disk, queue); retry later or raise the limit.
    ResourceExhausted,
    /// The input is larger than the configured limit.
    TooLarge,
    /// The input uses a feature or codec VAS does not support.
    Unsupported,
    /// A broken internal rule; a bug to report.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order (for tables in the shells and their tests).
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::FailedPrecondition,
        ErrorKind::Unavailable,
        ErrorKind::Unauthenticated,
        ErrorKind::PermissionDenied,
        ErrorKind::ResourceExhausted,
        ErrorKind::TooLarge,
        ErrorKind::Unsupported,
        ErrorKind::Internal,
    ];

    /// The stable snake_case name used in JSON bodies and bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::FailedPrecondition => "failed_precondition",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        }
    }
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
            | Io::TimedOut
            | Io::HostUnreachable
            | Io::NetworkUnreachable => ErrorKind::Unavailable,
            Io::InvalidInput | Io::InvalidData => ErrorKind::InvalidInput,
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
    fn io_errors_map_to_actionable_kinds() {
        let e: Error = std::io::Error::from(std::io::ErrorKind::StorageFull).into();
        assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
        let e: Error = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(std::error::Error::source(&e).is_some());
    }
}
