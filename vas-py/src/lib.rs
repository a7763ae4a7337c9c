//! `vas._vas`, the native half of the Python package `vas` (see `vas-py/README.md`).
//!
//! A thin pyo3 layer over [`vas::BlockingVas`]: it converts arguments and results, releases
//! the GIL around every call that waits or works, checks for Ctrl-C while it waits, and owns
//! no logic of its own. Its classes and the engine's methods are generated from the engine's
//! description by `vas-gen` ([`generated`]); what is written here by hand is the engine handle
//! ([`engine`]), the conversions ([`convert`]), the exceptions ([`error`]), the
//! subscriptions and frames ([`stream`]) and the synthetic camera ([`synth`]). The
//! pure-Python half (`vas-py/python/vas/`) adds the `asyncio` forms (also generated).

mod convert;
mod engine;
mod error;
mod generated;
mod stream;
mod synth;

use pyo3::prelude::*;

/// The module: classes, exceptions and the version.
#[pymodule]
fn _vas(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    error::register(m)?;
    // The engine's native class is the base of the package's `vas.Vas` (which adds the
    // coroutines): an attribute of this module, but not in its `__all__`, so that
    // `from ._vas import *` does not bind a second `Vas` in the package.
    m.setattr("Vas", m.py().get_type::<engine::Vas>())?;
    generated::register(m)?;
    stream::register(m)?;
    m.add_class::<synth::SyntheticCamera>()?;
    Ok(())
}
