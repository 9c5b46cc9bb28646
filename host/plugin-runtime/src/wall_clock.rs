//! A wall-clock bound around every call into a plugin. Epoch interruption stops a guest that
//! computes past its deadline, but not one blocked outside WebAssembly, e.g. sleeping in
//! `wasi:io/poll`: this bound stops those.

use std::future::Future;
use std::time::Duration;

use wasmtime::Trap;

/// How much longer than its call deadline a call may take in wall-clock time: a busy guest is
/// interrupted by its epoch deadline first; only a guest blocked outside WebAssembly reaches this.
const WALL_CLOCK_FACTOR: u32 = 2;

/// Runs `call`, a call into a guest with deadline `call_timeout`; a call still running after
/// twice that is dropped and fails as a deadline overrun ([`Trap::Interrupt`]). The instance it
/// ran in must not be called again.
pub(crate) async fn bounded<T>(
    call_timeout: Duration,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    match tokio::time::timeout(call_timeout * WALL_CLOCK_FACTOR, call).await {
        Ok(result) => result,
        Err(_) => Err(wasmtime::Error::new(Trap::Interrupt)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_blocked_past_twice_its_deadline_fails_as_an_interrupt() {
        let started = std::time::Instant::now();
        let result: wasmtime::Result<()> = bounded(Duration::from_millis(20), async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        })
        .await;
        let error = result.expect_err("bounded");
        assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
        assert!(started.elapsed() < Duration::from_secs(5));
        let fine = bounded(Duration::from_millis(20), async { Ok(7) }).await;
        assert_eq!(fine.ok(), Some(7));
    }
}
