//! One current-thread tokio runtime per fuzzing thread, for the targets that drive a real
//! protocol client over an in-memory stream.

use std::future::Future;

thread_local! {
    static RUNTIME: Option<tokio::runtime::Runtime> =
        tokio::runtime::Builder::new_current_thread().enable_time().build().ok();
}

/// Runs `f` to completion on this thread's runtime; `None` if no runtime could be made.
pub fn block_on<F: Future>(f: F) -> Option<F::Output> {
    RUNTIME.with(|rt| rt.as_ref().map(|rt| rt.block_on(f)))
}
