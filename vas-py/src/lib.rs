//! `vas._vas`, the native half of the Python package `vas` (see `vas-py/README.md`).
//!
//! A thin pyo3 layer over [`vas::BlockingVas`]: it converts arguments and results, releases
//! the GIL around every call that waits or works, checks for Ctrl-C while it waits, and owns
//! no logic of its own. The pure-Python half (`vas-py/python/vas/`) adds the `asyncio`
//! forms on top of these blocking primitives.

mod convert;
mod engine;
mod error;
mod model;
mod stream;
mod synth;

use pyo3::prelude::*;

/// The module: classes, exceptions and the version.
#[pymodule]
fn _vas(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    error::register(m)?;
    m.add_class::<engine::Vas>()?;
    model::register(m)?;
    stream::register(m)?;
    m.add_class::<synth::SyntheticCamera>()?;
    Ok(())
}
