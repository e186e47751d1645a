//! `patchdeck-probe-host`: hosts one plugin library in its own process so that a plugin
//! that crashes, aborts or hangs takes down only this child, never the dashboard.
//!
//! Usage (started by patchdeck, not by hand):
//!   patchdeck-probe-host PLUGIN_FILE            serve create/check/destroy frames on stdio
//!   patchdeck-probe-host --inspect FILE...      report each file's descriptor, then exit
//!
//! Frames go out on the original stdout; before any plugin code runs, stdout is moved to
//! stderr so a plugin that prints cannot corrupt the protocol.

use patchdeck_core::plugin::{self, HostApi, InstancePtr, LoadedPlugin, LogSink};
use patchdeck_core::protocol::{ToChild, ToHost, read_frame, write_frame};
use patchdeck_core::runner::RunError;
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::FromRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Out = Arc<Mutex<File>>;

fn send(out: &Out, msg: &ToHost) {
    let mut f = out.lock().unwrap_or_else(|e| e.into_inner());
    if write_frame(&mut *f, msg).is_err() {
        // The host is gone: nobody is left to serve.
        std::process::exit(0);
    }
}

fn main() {
    // SAFETY: plain syscalls on this process's own file descriptors, before any thread or
    // plugin exists. PDEATHSIG makes the kernel kill us if patchdeck dies (even by SIGKILL).
    let out = unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let fd = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            eprintln!("patchdeck-probe-host: cannot set up stdio");
            std::process::exit(70);
        }
        File::from_raw_fd(fd)
    };
    let out: Out = Arc::new(Mutex::new(out));
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, files @ ..] if flag == "--inspect" => inspect(&out, files),
        [file] if !file.starts_with('-') => serve(&out, Path::new(file)),
        _ => {
            eprintln!(
                "usage: patchdeck-probe-host PLUGIN_FILE | --inspect FILE...\n\
                 (started by patchdeck; it speaks length-prefixed JSON frames on stdio)"
            );
            std::process::exit(2);
        }
    }
}

fn inspect(out: &Out, files: &[String]) {
    for f in files {
        let outcome = plugin::load(Path::new(f))
            .map(|p| p.info.clone())
            .map_err(|e| e.to_string());
        send(
            out,
            &ToHost::Inspected {
                path: f.clone(),
                outcome,
            },
        );
    }
}

enum Job {
    Check {
        call: u64,
        timeout: Duration,
        cancel: Arc<AtomicU32>,
    },
    Destroy,
}

struct Worker {
    jobs: mpsc::Sender<Job>,
    busy: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

fn serve(out: &Out, path: &Path) {
    let plugin = match plugin::load(path) {
        Ok(p) => p,
        Err(e) => {
            send(
                out,
                &ToHost::LoadFailed {
                    message: e.to_string(),
                },
            );
            return;
        }
    };
    send(
        out,
        &ToHost::Hello {
            info: plugin.info.clone(),
            protocol: patchdeck_core::protocol::PROTOCOL_VERSION,
        },
    );
    let log_out = out.clone();
    let sink: LogSink = Arc::new(move |level, probe, message| {
        send(
            &log_out,
            &ToHost::Log {
                level,
                probe: probe.to_owned(),
                message: message.to_owned(),
            },
        );
    });
    let cancels: Arc<Mutex<HashMap<u64, Arc<AtomicU32>>>> = Arc::default();
    let mut workers: HashMap<u64, Worker> = HashMap::new();
    let mut stdin = std::io::stdin().lock();
    loop {
        let msg = match read_frame::<_, ToChild>(&mut stdin) {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => {
                eprintln!("patchdeck-probe-host: bad frame from patchdeck: {e}");
                break;
            }
        };
        match msg {
            ToChild::Create {
                instance,
                config,
                probe,
            } => {
                let worker = spawn_worker(
                    out.clone(),
                    plugin.clone(),
                    sink.clone(),
                    cancels.clone(),
                    instance,
                    config,
                    probe,
                );
                workers.insert(instance, worker);
            }
            ToChild::Check {
                instance,
                call,
                timeout_ms,
                ..
            } => {
                let Some(w) = workers.get(&instance) else {
                    send(
                        out,
                        &ToHost::Result {
                            call,
                            outcome: Err(RunError::Protocol(format!(
                                "probe host has no instance {instance}"
                            ))),
                        },
                    );
                    continue;
                };
                // Checks of one instance queue on its worker: a cancelled call usually
                // returns within moments, and one that never does gets this whole process
                // killed by patchdeck's cancel watchdog.
                w.busy.store(true, Ordering::Release);
                let cancel = Arc::new(AtomicU32::new(0));
                cancels
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(call, cancel.clone());
                let timeout = Duration::from_millis(u64::from(timeout_ms));
                if w.jobs
                    .send(Job::Check {
                        call,
                        timeout,
                        cancel,
                    })
                    .is_err()
                {
                    send(
                        out,
                        &ToHost::Result {
                            call,
                            outcome: Err(RunError::Unavailable(
                                "instance is gone (create failed)".into(),
                            )),
                        },
                    );
                }
            }
            ToChild::Cancel { call } => {
                if let Some(flag) = cancels.lock().unwrap_or_else(|e| e.into_inner()).get(&call) {
                    flag.store(1, Ordering::Relaxed);
                }
            }
            ToChild::Destroy { instance } => {
                if let Some(w) = workers.remove(&instance) {
                    retire(w);
                }
            }
            ToChild::Shutdown => break,
        }
    }
    for (_, w) in workers.drain() {
        retire(w);
    }
    // Workers stuck in a hung plugin call are abandoned: exiting the process ends them.
    std::process::exit(0);
}

/// Destroys an idle instance and waits for its thread; a busy (hung) one is abandoned.
fn retire(w: Worker) {
    if !w.busy.load(Ordering::Acquire) && w.jobs.send(Job::Destroy).is_ok() {
        let _ = w.thread.join();
    }
}

fn spawn_worker(
    out: Out,
    plugin: Arc<LoadedPlugin>,
    sink: LogSink,
    cancels: Arc<Mutex<HashMap<u64, Arc<AtomicU32>>>>,
    instance: u64,
    config: String,
    probe: String,
) -> Worker {
    let (jobs, rx) = mpsc::channel::<Job>();
    let busy = Arc::new(AtomicBool::new(false));
    let worker_busy = busy.clone();
    let thread = std::thread::Builder::new()
        .name(format!("probe-{probe}"))
        .spawn(move || {
            let host = HostApi::new(&probe, sink);
            // SAFETY: host lives on this thread's stack until after destroy below.
            let ptr: InstancePtr = match unsafe { plugin.create(host.as_ptr(), &config) } {
                Ok(p) => p,
                Err(error) => {
                    send(&out, &ToHost::CreateFailed { instance, error });
                    return;
                }
            };
            send(&out, &ToHost::Created { instance });
            for job in rx {
                match job {
                    Job::Check {
                        call,
                        timeout,
                        cancel,
                    } => {
                        // SAFETY: ptr is this worker's live instance, and this thread is its
                        // only caller, so calls on it never overlap.
                        let outcome = unsafe { plugin.check(ptr, timeout, &cancel) };
                        cancels
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&call);
                        // (busy only tells shutdown whether destroy can be waited for.)
                        worker_busy.store(false, Ordering::Release);
                        send(&out, &ToHost::Result { call, outcome });
                    }
                    Job::Destroy => break,
                }
            }
            // SAFETY: the instance is idle (we are its only caller) and never used again.
            unsafe { plugin.destroy(ptr) };
        })
        .expect("spawn worker thread");
    Worker { jobs, busy, thread }
}
