//! The in-process runner: the plugin runs inside patchdeck, calls go to tokio's blocking
//! pool. Fast, but a plugin that crashes takes patchdeck with it: opt-in, for trusted
//! plugins. A hung call is abandoned at the timeout; its instance stays busy (every later
//! check is UNKNOWN) until the call returns, and its library is never unloaded.

use crate::config::Isolation;
use crate::plugin::{HostApi, InstancePtr, LoadedPlugin, PluginInfo, tracing_sink};
use crate::runner::{BoxFuture, CallParams, Instance, Plugin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct InProcessPlugin {
    loaded: Arc<LoadedPlugin>,
}

impl InProcessPlugin {
    pub fn new(loaded: Arc<LoadedPlugin>) -> InProcessPlugin {
        InProcessPlugin { loaded }
    }
}

struct Cell {
    loaded: Arc<LoadedPlugin>,
    ptr: InstancePtr,
    _host: HostApi,
    /// True while a call runs (or hangs) and after destroy: no second call may start.
    busy: AtomicBool,
}

struct InProcessInstance {
    cell: Arc<Cell>,
}

const BUSY: &str = "instance still busy: an earlier check has not returned (it was abandoned after its timeout)";

impl Plugin for InProcessPlugin {
    fn info(&self) -> &PluginInfo {
        &self.loaded.info
    }

    fn isolation(&self) -> Isolation {
        Isolation::InProcess
    }

    fn create(&self, probe_id: &str, config_json: &str) -> BoxFuture<Result<Arc<dyn Instance>, String>> {
        let loaded = self.loaded.clone();
        let probe = probe_id.to_owned();
        let config = config_json.to_owned();
        Box::pin(async move {
            let task = tokio::task::spawn_blocking(move || {
                let host = HostApi::new(&probe, tracing_sink());
                // SAFETY: host moves into the Cell that owns the instance, so it outlives it.
                let ptr = unsafe { loaded.create(host.as_ptr(), &config) }?;
                let cell = Cell { loaded, ptr, _host: host, busy: AtomicBool::new(false) };
                Ok(Arc::new(InProcessInstance { cell: Arc::new(cell) }) as Arc<dyn Instance>)
            });
            task.await.unwrap_or_else(|e| Err(format!("create thread failed: {e}")))
        })
    }

    fn shutdown(&self) -> BoxFuture<()> {
        Box::pin(async {})
    }
}

impl Instance for InProcessInstance {
    fn check(&self, call: CallParams) -> BoxFuture<Result<String, String>> {
        let cell = self.cell.clone();
        Box::pin(async move {
            if cell.busy.swap(true, Ordering::AcqRel) {
                return Err(BUSY.to_owned());
            }
            let task = tokio::task::spawn_blocking(move || {
                // SAFETY: the busy flag guarantees no other call on this instance runs, and
                // that it is not destroyed; the cancel flag lives in the Arc we hold.
                let result = unsafe { cell.loaded.check(cell.ptr, call.timeout, &call.cancel) };
                cell.busy.store(false, Ordering::Release);
                result
            });
            task.await.unwrap_or_else(|e| Err(format!("check thread failed: {e}")))
        })
    }

    fn destroy(&self) -> BoxFuture<()> {
        let cell = self.cell.clone();
        Box::pin(async move {
            // Leaving busy = true afterwards keeps any later check from touching it.
            if cell.busy.swap(true, Ordering::AcqRel) {
                tracing::warn!("in-process instance still busy at shutdown; abandoned");
                return;
            }
            let _ = tokio::task::spawn_blocking(move || {
                // SAFETY: idle (busy was false and is now held) and never used again.
                unsafe { cell.loaded.destroy(cell.ptr) };
            })
            .await;
        })
    }
}
