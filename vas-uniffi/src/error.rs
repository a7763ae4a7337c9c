//! The public error enum: one variant per `vas::ErrorKind` (the kinds' table is the source;
//! the mapping test fails when a kind is added and not mapped), each with its message.

/// What went wrong, by kind; the message says more (never a camera password). A flat error:
/// in Kotlin `VasException.NotFound` and the like, whose `message` is the text.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum VasError {
    /// The caller supplied something malformed or out of range.
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What went wrong, in words.
        message: String,
    },
    /// The named thing does not exist.
    #[error("not found: {message}")]
    NotFound {
        /// What went wrong, in words.
        message: String,
    },
    /// A thing with the same identity already exists.
    #[error("already exists: {message}")]
    AlreadyExists {
        /// What went wrong, in words.
        message: String,
    },
    /// The operation is valid but not in the current state.
    #[error("failed precondition: {message}")]
    FailedPrecondition {
        /// What went wrong, in words.
        message: String,
    },
    /// A dependency (database, camera, disk) cannot be reached right now.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What went wrong, in words.
        message: String,
    },
    /// The caller did not prove who it is.
    #[error("unauthenticated: {message}")]
    Unauthenticated {
        /// What went wrong, in words.
        message: String,
    },
    /// The caller is known but not allowed to do this.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// What went wrong, in words.
        message: String,
    },
    /// A limit was reached.
    #[error("resource exhausted: {message}")]
    ResourceExhausted {
        /// What went wrong, in words.
        message: String,
    },
    /// The input is larger than the configured limit.
    #[error("too large: {message}")]
    TooLarge {
        /// What went wrong, in words.
        message: String,
    },
    /// The input uses a feature or codec VAS does not support.
    #[error("unsupported: {message}")]
    Unsupported {
        /// What went wrong, in words.
        message: String,
    },
    /// A broken internal rule; a bug to report.
    #[error("internal: {message}")]
    Internal {
        /// What went wrong, in words.
        message: String,
    },
    /// Nothing arrived within the time allowed.
    #[error("timeout: {message}")]
    Timeout {
        /// What went wrong, in words.
        message: String,
    },
    /// The engine or subscription was closed.
    #[error("closed: {message}")]
    Closed {
        /// What went wrong, in words.
        message: String,
    },
    /// Data VAS did not get from the caller is malformed.
    #[error("corrupt: {message}")]
    Corrupt {
        /// What went wrong, in words.
        message: String,
    },
}

impl From<vas::Error> for VasError {
    fn from(e: vas::Error) -> Self {
        use vas::ErrorKind as K;
        let message = e.to_string();
        match e.kind() {
            K::InvalidInput => VasError::InvalidInput { message },
            K::NotFound => VasError::NotFound { message },
            K::AlreadyExists => VasError::AlreadyExists { message },
            K::FailedPrecondition => VasError::FailedPrecondition { message },
            K::Unavailable => VasError::Unavailable { message },
            K::Unauthenticated => VasError::Unauthenticated { message },
            K::PermissionDenied => VasError::PermissionDenied { message },
            K::ResourceExhausted => VasError::ResourceExhausted { message },
            K::TooLarge => VasError::TooLarge { message },
            K::Unsupported => VasError::Unsupported { message },
            K::Timeout => VasError::Timeout { message },
            K::Closed => VasError::Closed { message },
            K::Corrupt => VasError::Corrupt { message },
            // Internal, and any kind newer than this binding.
            _ => VasError::Internal { message },
        }
    }
}

/// What a listener callback may fail with. An exception the callback throws (of any type)
/// is contained: it never reaches the engine, the subscription counts it and goes on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The callback failed.
    #[error("listener failed: {reason}")]
    Failed {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { reason: e.reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_variant() {
        let mut names = std::collections::BTreeSet::new();
        for &kind in vas::ErrorKind::ALL {
            let e = VasError::from(vas::Error::new(kind, "x"));
            let name = format!("{e:?}");
            let variant = name
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            // The variant's name is the kind's name in CamelCase.
            let camel: String = kind
                .as_str()
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
                })
                .collect();
            assert_eq!(variant, camel, "{kind:?}");
            names.insert(variant);
        }
        assert_eq!(names.len(), vas::ErrorKind::ALL.len());
    }
}
