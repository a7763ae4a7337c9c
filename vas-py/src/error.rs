//! One Python exception class per [`vas::ErrorKind`], all under `vas.Error`, and the single
//! place where a `vas::Error` becomes a Python exception.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::{PyErr, create_exception};
use vas::ErrorKind;

create_exception!(
    vas,
    Error,
    PyException,
    "Base class of every error VAS raises. `kind` names the error kind (e.g. \"not_found\")."
);

macro_rules! kinds {
    ($( $class:ident => $kind:ident ),+ $(,)?) => {
        $( create_exception!(vas, $class, Error, "An error of the kind of the same name; see `kind`."); )+

        /// The Python exception for an error.
        pub(crate) fn to_py(e: vas::Error) -> PyErr {
            let message = e.to_string();
            match e.kind() {
                $( ErrorKind::$kind => $class::new_err(message), )+
                // A kind newer than this binding (the mapping test lists every kind).
                _ => Internal::new_err(message),
            }
        }

        /// Adds `Error` and every kind's class (with its `kind` name) to the module.
        pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            m.add("Error", py.get_type::<Error>())?;
            $(
                let class = py.get_type::<$class>();
                class.setattr("kind", ErrorKind::$kind.as_str())?;
                class.setattr("__doc__", ErrorKind::$kind.description())?;
                m.add(stringify!($class), class)?;
            )+
            let names: Vec<(&str, &str)> = vec![$( (ErrorKind::$kind.as_str(), stringify!($class)), )+];
            m.add("ERROR_KINDS", names)?;
            Ok(())
        }
    };
}

kinds! {
    InvalidInput => InvalidInput,
    NotFound => NotFound,
    AlreadyExists => AlreadyExists,
    FailedPrecondition => FailedPrecondition,
    Unavailable => Unavailable,
    Unauthenticated => Unauthenticated,
    PermissionDenied => PermissionDenied,
    ResourceExhausted => ResourceExhausted,
    TooLarge => TooLarge,
    Unsupported => Unsupported,
    Internal => Internal,
    Timeout => Timeout,
    Closed => Closed,
    Corrupt => Corrupt,
}

/// `vas::Result<T>` as a `PyResult<T>`.
pub(crate) trait IntoPyResult<T> {
    /// Maps the error through [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for vas::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// A `vas.InvalidInput` with a message.
pub(crate) fn invalid(message: impl Into<String>) -> PyErr {
    InvalidInput::new_err(message.into())
}

/// A `vas.Closed` with a message.
pub(crate) fn closed(message: impl Into<String>) -> PyErr {
    Closed::new_err(message.into())
}

/// A `vas.Timeout` with a message.
pub(crate) fn timeout(message: impl Into<String>) -> PyErr {
    Timeout::new_err(message.into())
}
