//! `vas.Vas`: the engine. Its calls are generated from the engine's description
//! (`generated.rs`): each converts its arguments, runs the engine call with the GIL released
//! (through [`Vas::call`]), and converts the result. What is written here by hand is what the
//! description does not say: opening and closing, the context manager, and what a `fork()`
//! child may do. (The subscriptions' classes are in `stream.rs`.)

use pyo3::prelude::*;

use crate::error::{IntoPyResult, closed};

/// The VAS engine: cameras, streams, recording, snapshots, bookmarks, live view and
/// decoded frames. One engine may be used from many threads at once.
#[pyclass(module = "vas._vas", subclass, frozen)]
pub(crate) struct Vas {
    vas: Option<vas::BlockingVas>,
    /// The process that made it: a `fork()` child must not use (or tear down) the parent's
    /// runtime, whose threads it did not inherit.
    pid: u32,
}

impl Drop for Vas {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // A fork() child: the runtime's threads are not here; dropping it would wait on
            // them for ever. Leak it instead (the child's copy of the memory).
            std::mem::forget(self.vas.take());
        }
    }
}

/// Opens an engine (the generated constructor's body), with the GIL released.
pub(crate) fn open(py: Python<'_>, options: vas::EngineOptions) -> PyResult<Vas> {
    let vas = py.detach(|| vas::Vas::open_blocking(options)).py()?;
    Ok(Vas {
        vas: Some(vas.blocking()),
        pid: std::process::id(),
    })
}

impl Vas {
    /// The engine, unless this is a `fork()` child.
    pub(crate) fn engine(&self) -> PyResult<&vas::BlockingVas> {
        if std::process::id() != self.pid {
            return Err(closed(format!(
                "this engine belongs to process {} and cannot be used after fork(); create a \
                 new vas.Vas in the child",
                self.pid
            )));
        }
        self.vas
            .as_ref()
            .ok_or_else(|| closed("the engine is closed"))
    }

    /// Runs an engine call with the GIL released.
    pub(crate) fn call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&vas::BlockingVas) -> vas::Result<T> + Send,
    ) -> PyResult<T> {
        let v = self.engine()?;
        py.detach(|| f(v)).py()
    }
}

#[pymethods]
impl Vas {
    /// Closes the engine: streams stop, subscriptions end, recordings are finished. Bounded
    /// (a few seconds at most). Later calls raise `vas.Closed`; closing twice is harmless.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let v = self.engine()?;
        py.detach(|| v.close());
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Vas(pid={})", self.pid)
    }
}
