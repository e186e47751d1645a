//! What the scheduler needs from a runner, whichever process the plugin lives in.

use crate::config::Isolation;
use crate::types::PluginInfo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub use crate::types::RunError;

/// One call of `check`.
#[derive(Debug, Clone)]
pub struct CallParams {
    pub timeout: Duration,
    /// Set to 1 by the caller when it gives up; the plugin sees it through `PdCallCtx.cancel`.
    pub cancel: Arc<AtomicU32>,
}

/// A plugin library behind one runner (a probe-host child, or this process).
pub trait Plugin: Send + Sync {
    fn info(&self) -> &PluginInfo;
    fn isolation(&self) -> Isolation;
    /// Creates an instance from the probe's config JSON. `Err` is the UNKNOWN reason.
    fn create(
        &self,
        probe_id: &str,
        config_json: &str,
    ) -> BoxFuture<Result<Arc<dyn Instance>, RunError>>;
    /// Stops whatever the runner keeps (a child process); idempotent.
    fn shutdown(&self) -> BoxFuture<()>;
    /// For runners with a child process: a counter of its deaths, to await the next one.
    fn deaths(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
    /// For runners with a child process: its pid while it runs.
    fn host_pid(&self) -> BoxFuture<Option<u32>> {
        Box::pin(async { None })
    }
}

/// One created probe instance.
pub trait Instance: Send + Sync {
    /// Runs one check. `Ok` is report text (valid UTF-8, under the size cap); `Err` is the
    /// UNKNOWN reason. Dropping the future abandons the call (the cancel flag is set by the
    /// caller; an isolated runner also tells the child).
    fn check(&self, call: CallParams) -> BoxFuture<Result<String, RunError>>;
    /// Destroys the instance if it is idle; a busy (hung) one is abandoned.
    fn destroy(&self) -> BoxFuture<()>;
}
