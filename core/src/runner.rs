//! What the scheduler needs from a runner, whichever process the plugin lives in.

use crate::config::Isolation;
use crate::plugin::PluginInfo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a create or check produced no report: every failure through the runners, the
/// probe-host protocol and the engine is one of these, so each has one message and one
/// place. All of them make the probe UNKNOWN with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunError {
    /// `create` returned PD_ERROR: the plugin refused its config.
    #[error("plugin rejected its config: {0}")]
    Rejected(String),
    #[error("plugin panicked in create: {0}")]
    CreatePanicked(String),
    /// `check` returned PD_ERROR.
    #[error("probe failed: {0}")]
    Failed(String),
    #[error("probe panicked: {0}")]
    Panicked(String),
    #[error("probe cancelled the check")]
    Cancelled,
    #[error("probe returned an unknown code {0} (expected 0, -1, -2 or -3)")]
    UnknownCode(i32),
    #[error("report too large: {bytes} bytes, over the {limit} limit")]
    TooLarge { bytes: usize, limit: String },
    #[error("report is not valid UTF-8 (invalid byte at offset {0})")]
    BadUtf8(usize),
    /// The engine gave up waiting (`what` is "" for check, "create " for create).
    #[error("{what}timed out after {after}")]
    TimedOut { what: String, after: String },
    /// The probe-host child died, vanished or is waiting out its restart backoff.
    #[error("{0}")]
    HostDied(String),
    /// The probe-host child could not be started or spoke out of turn.
    #[error("{0}")]
    Protocol(String),
    /// The instance cannot take the call (busy with an abandoned call, destroyed, its
    /// worker gone).
    #[error("{0}")]
    Unavailable(String),
}

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
