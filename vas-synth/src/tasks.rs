//! Task lifetime for the synthetic camera.
//!
//! Owns [`AbortOnDrop`], which ties a spawned tokio task to the value that owns it, so
//! dropping a camera, a server run or a connection never leaves a task behind. It must never
//! spawn anything itself.

use tokio::task::JoinHandle;

/// Aborts the task when dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop<T>(pub(crate) JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// Waits for the task to finish.
    pub(crate) async fn join(mut self) -> Option<T> {
        (&mut self.0).await.ok()
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_aborts_and_join_returns_the_output() {
        let never = AbortOnDrop(tokio::spawn(std::future::pending::<()>()));
        let handle_probe = never.0.abort_handle();
        drop(never);
        tokio::task::yield_now().await;
        assert!(handle_probe.is_finished());
        assert_eq!(AbortOnDrop(tokio::spawn(async { 7 })).join().await, Some(7));
    }
}
