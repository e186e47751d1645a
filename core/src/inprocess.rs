//! The in-process runner: the plugin runs inside patchdeck. Fast, but a plugin that crashes
//! takes patchdeck with it: opt-in, for trusted plugins.
//!
//! Each instance has its own worker thread (a plain std thread, not tokio's blocking pool:
//! the pool's shutdown waits forever for a hung call, so one hung plugin would keep patchdeck
//! from exiting). A hung call is abandoned at the timeout; the instance stays busy (later
//! checks are UNKNOWN "still busy") until the call returns; the library is never unloaded.

use crate::config::Isolation;
use crate::plugin::{HostApi, InstancePtr, LoadedPlugin, PluginInfo, tracing_sink};
use crate::runner::{BoxFuture, CallParams, Instance, Plugin, RunError};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

pub struct InProcessPlugin {
    loaded: Arc<LoadedPlugin>,
}

impl InProcessPlugin {
    pub fn new(loaded: Arc<LoadedPlugin>) -> InProcessPlugin {
        InProcessPlugin { loaded }
    }
}

enum Job {
    /// The permit is held until the call returns: it is what makes the instance busy.
    Check {
        call: CallParams,
        reply: oneshot::Sender<Result<String, RunError>>,
        permit: OwnedSemaphorePermit,
    },
    Destroy {
        done: oneshot::Sender<()>,
    },
}

struct InProcessInstance {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// One permit: held by a running (or hung) call; closed after destroy.
    idle: Arc<Semaphore>,
}

const BUSY: &str =
    "instance still busy: an earlier check has not returned (it was abandoned after its timeout)";

impl Plugin for InProcessPlugin {
    fn info(&self) -> &PluginInfo {
        &self.loaded.info
    }

    fn isolation(&self) -> Isolation {
        Isolation::InProcess
    }

    fn create(
        &self,
        probe_id: &str,
        config_json: &str,
    ) -> BoxFuture<Result<Arc<dyn Instance>, RunError>> {
        let loaded = self.loaded.clone();
        let probe = probe_id.to_owned();
        let config = config_json.to_owned();
        let (created_tx, created_rx) = oneshot::channel::<Result<(), RunError>>();
        let (jobs, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name(format!("probe-{probe}"))
            .spawn(move || {
                let host = HostApi::new(&probe, tracing_sink());
                // SAFETY: host lives on this thread until after destroy below.
                let ptr: InstancePtr = match unsafe { loaded.create(host.as_ptr(), &config) } {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = created_tx.send(Err(e));
                        return;
                    }
                };
                let _ = created_tx.send(Ok(()));
                for job in rx {
                    match job {
                        Job::Check {
                            call,
                            reply,
                            permit,
                        } => {
                            // SAFETY: this thread is the instance's only caller, so calls never
                            // overlap; the cancel flag lives in the Arc held by `call`.
                            let result = unsafe { loaded.check(ptr, call.timeout, &call.cancel) };
                            drop(permit);
                            let _ = reply.send(result);
                        }
                        Job::Destroy { done } => {
                            // SAFETY: idle (we are its only caller) and never used again.
                            unsafe { loaded.destroy(ptr) };
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            });
        Box::pin(async move {
            spawned
                .map_err(|e| RunError::Unavailable(format!("cannot start a worker thread: {e}")))?;
            match created_rx.await {
                Ok(Ok(())) => {
                    let idle = Arc::new(Semaphore::new(1));
                    Ok(Arc::new(InProcessInstance {
                        jobs: Mutex::new(jobs),
                        idle,
                    }) as Arc<dyn Instance>)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(RunError::Unavailable(
                    "worker thread ended during create".to_owned(),
                )),
            }
        })
    }

    fn shutdown(&self) -> BoxFuture<()> {
        Box::pin(async {})
    }
}

impl InProcessInstance {
    fn send(&self, job: Job) -> bool {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .is_ok()
    }
}

impl Instance for InProcessInstance {
    fn check(&self, call: CallParams) -> BoxFuture<Result<String, RunError>> {
        let idle = self.idle.clone();
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move {
            // A cancelled call usually returns within moments; wait for it (up to half the
            // timeout) rather than refusing a check that follows right after a timeout.
            let permit = match tokio::time::timeout(call.timeout / 2, idle.acquire_owned()).await {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return Err(RunError::Unavailable("instance is destroyed".into())),
                Err(_) => return Err(RunError::Unavailable(BUSY.to_owned())),
            };
            let (reply, rx) = oneshot::channel();
            if jobs
                .send(Job::Check {
                    call,
                    reply,
                    permit,
                })
                .is_err()
            {
                return Err(RunError::Unavailable("instance is destroyed".into()));
            }
            rx.await.unwrap_or_else(|_| {
                Err(RunError::Unavailable(
                    "worker thread ended during check".to_owned(),
                ))
            })
        })
    }

    fn destroy(&self) -> BoxFuture<()> {
        let Ok(permit) = self.idle.clone().try_acquire_owned() else {
            tracing::warn!(
                "in-process instance busy (or already destroyed) at shutdown; abandoned"
            );
            return Box::pin(async {});
        };
        // Closing the semaphore makes every later check fail fast instead of reaching it.
        self.idle.close();
        let (done, rx) = oneshot::channel();
        let sent = self.send(Job::Destroy { done });
        Box::pin(async move {
            drop(permit);
            if sent {
                let _ = rx.await;
            }
        })
    }
}
