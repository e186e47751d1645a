//! The isolated runner (default): a `patchdeck-probe-host` child per [`IsolatedPlugin`]
//! (the engine makes one per probe, so a crash only ever hits the probe that caused it).
//!
//! A crash (SIGSEGV, abort) or a check that ignores cancellation kills only the child: the
//! checks in flight become UNKNOWN with the reason ("probe host died: SIGSEGV"), and the next
//! check starts a new child after a backoff (1 s, doubling per consecutive death, at most
//! 60 s; reset by a good result). Instances are re-created on the new child.

use crate::config::Isolation;
use crate::duration;
use crate::plugin::PluginInfo;
use crate::protocol::{ToChild, ToHost, encode, read_frame_async};
use crate::runner::{BoxFuture, CallParams, Instance, Plugin, RunError};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// After a timed-out check is cancelled, the child gets this long to return before it is
/// killed as hung.
pub const CANCEL_GRACE: Duration = Duration::from_secs(2);
/// Longest wait for a new child's hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Backoff before restarting after `deaths` consecutive deaths (1 -> 1 s, 2 -> 2 s, ...).
pub fn restart_backoff(deaths: u32) -> Duration {
    let exp = deaths.saturating_sub(1).min(6);
    (Duration::from_secs(1) * (1u32 << exp)).min(MAX_BACKOFF)
}

/// Describes how a child ended, the way an operator wants to read it.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.signal(), status.code()) {
        (Some(sig), _) => format!("probe host died: {}", signal_name(sig)),
        (None, Some(code)) => format!("probe host exited unexpectedly with status {code}"),
        _ => "probe host ended".to_owned(),
    }
}

fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS",
        other => return format!("signal {other}"),
    };
    name.to_owned()
}

enum Reply {
    Created,
    CreateFailed(RunError),
    Result(Result<String, RunError>),
}

/// One running child.
struct Conn {
    pid: u32,
    writer: mpsc::UnboundedSender<Vec<u8>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    created: Mutex<HashSet<u64>>,
    /// Set when the child is gone: (reason, when).
    death: watch::Sender<Option<(String, Instant)>>,
    /// Why we killed it, if we did (replaces "died: SIGKILL" in the reason).
    kill_reason: Mutex<Option<String>>,
    /// We asked it to shut down: its exit is not news.
    stopping: std::sync::atomic::AtomicBool,
}

impl Conn {
    fn death(&self) -> Option<(String, Instant)> {
        self.death.borrow().clone()
    }

    fn send(&self, msg: &ToChild) -> bool {
        self.writer.send(encode(msg)).is_ok()
    }

    fn register(&self, id: u64) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        rx
    }

    fn kill(&self, reason: String) {
        if self.death().is_some() {
            return;
        }
        tracing::warn!(pid = self.pid, "{reason}");
        *lock(&self.kill_reason) = Some(reason);
        kill_group(self.pid);
    }

    fn reason(&self) -> RunError {
        RunError::HostDied(
            self.death()
                .map(|d| d.0)
                .unwrap_or_else(|| "probe host connection lost".to_owned()),
        )
    }
}

enum State {
    /// No child yet, or it was shut down.
    Idle,
    Up(Arc<Conn>),
    /// Starting a child failed; retry after the backoff.
    Failed {
        reason: String,
        at: Instant,
    },
}

struct Shared {
    /// One child for every probe of the file (`isolation = "shared-process"`).
    shared_child: bool,
    plugin_path: PathBuf,
    host_exe: PathBuf,
    info: PluginInfo,
    state: tokio::sync::Mutex<State>,
    next_id: AtomicU64,
    /// Consecutive deaths or failed starts; reset by a good check result.
    deaths: AtomicU32,
    /// Total deaths so far, for whoever wants to wait for one (tests, the UI).
    death_count: watch::Sender<u64>,
}

/// A plugin file served by a `patchdeck-probe-host` child.
#[derive(Clone)]
pub struct IsolatedPlugin {
    shared: Arc<Shared>,
}

impl IsolatedPlugin {
    /// `shared_child`: one child serves every probe bound to this value (shared-process).
    pub fn with_sharing(
        plugin_path: &Path,
        host_exe: &Path,
        info: PluginInfo,
        shared_child: bool,
    ) -> IsolatedPlugin {
        IsolatedPlugin {
            shared: Arc::new(Shared {
                shared_child,
                plugin_path: plugin_path.to_owned(),
                host_exe: host_exe.to_owned(),
                info,
                state: tokio::sync::Mutex::new(State::Idle),
                next_id: AtomicU64::new(1),
                deaths: AtomicU32::new(0),
                death_count: watch::channel(0).0,
            }),
        }
    }
}

impl Shared {
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The live child, starting one if allowed by the backoff.
    async fn connect(self: &Arc<Self>) -> Result<Arc<Conn>, RunError> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let last_failure = match &*state {
            State::Up(c) => match c.death() {
                None => return Ok(c.clone()),
                Some(d) => Some(d),
            },
            State::Failed { reason, at } => Some((reason.clone(), *at)),
            State::Idle => None,
        };
        if let Some((reason, at)) = last_failure {
            let retry_at = at + restart_backoff(self.deaths.load(Ordering::Relaxed).max(1));
            if now < retry_at {
                return Err(RunError::HostDied(format!(
                    "{reason}; restarting the probe host in {}",
                    duration::format(retry_at - now)
                )));
            }
        }
        match self.spawn().await {
            Ok(conn) => {
                *state = State::Up(conn.clone());
                Ok(conn)
            }
            Err(reason) => {
                self.deaths.fetch_add(1, Ordering::Relaxed);
                *state = State::Failed {
                    reason: reason.clone(),
                    at: Instant::now(),
                };
                Err(RunError::Protocol(reason))
            }
        }
    }

    async fn spawn(self: &Arc<Self>) -> Result<Arc<Conn>, String> {
        // Its own process group: whatever a plugin forks is killed with it, and a grandchild
        // holding the pipes cannot hide the host's death.
        let mut child = tokio::process::Command::new(&self.host_exe)
            .arg(&self.plugin_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.host_exe.display()))?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stderr = child.stderr.take().expect("piped stderr");
        let plugin = self.plugin_path.display().to_string();

        // The child's stderr (and the plugin's stdout, moved there) goes to the log file,
        // never to the terminal the TUI owns.
        let log_plugin = plugin.clone();
        tokio::spawn(async move {
            pump_stderr(stderr, |line| {
                tracing::info!(target: "plugin", plugin = %log_plugin, "{line}");
            })
            .await;
        });

        let hello =
            tokio::time::timeout(HELLO_TIMEOUT, read_frame_async::<_, ToHost>(&mut stdout)).await;
        match hello {
            Ok(Ok(Some(ToHost::Hello { protocol, .. }))) => {
                crate::protocol::check_protocol(protocol)?;
            }
            Ok(Ok(Some(ToHost::LoadFailed { message }))) => {
                return Err(format!("probe host cannot load {plugin}: {message}"));
            }
            Ok(Ok(Some(other))) => return Err(format!("probe host spoke out of turn: {other:?}")),
            Err(_) => {
                return Err(format!(
                    "probe host did not answer within {}",
                    duration::format(HELLO_TIMEOUT)
                ));
            }
            Ok(Err(_)) | Ok(Ok(None)) => {
                let status = child.wait().await.map_err(|e| e.to_string())?;
                return Err(format!("{} while loading {plugin}", describe_exit(status)));
            }
        }

        let (writer, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(buf) = rx.recv().await {
                if stdin.write_all(&buf).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let conn = Arc::new(Conn {
            pid: child.id().unwrap_or(0),
            writer,
            pending: Mutex::default(),
            created: Mutex::default(),
            death: watch::channel(None).0,
            kill_reason: Mutex::default(),
            stopping: Default::default(),
        });
        tokio::spawn(read_loop(self.clone(), conn.clone(), stdout, child));
        Ok(conn)
    }
}

/// Kills a probe host's whole process group (the host and anything its plugin forked).
fn kill_group(pid: u32) {
    if pid == 0 {
        return;
    }
    // SAFETY: kill(2) on the process group our child leads (process_group(0) at spawn); the
    // group exists while any member lives, and its id is our child's pid.
    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
}

async fn read_loop(
    shared: Arc<Shared>,
    conn: Arc<Conn>,
    mut stdout: tokio::process::ChildStdout,
    mut child: tokio::process::Child,
) {
    // The child's exit is noticed by waitpid, not by the end of its stdout: a grandchild that
    // inherited the pipe would keep it open long after the host died.
    let pid = child.id().unwrap_or(0);
    let (exit_tx, mut exit_rx) = oneshot::channel();
    tokio::spawn(async move {
        let status = child.wait().await.ok();
        // Take down whatever the plugin forked: the group outlives its leader.
        kill_group(pid);
        let _ = exit_tx.send(status);
    });
    let mut exited: Option<Option<std::process::ExitStatus>> = None;
    let complete = |id: u64, reply: Reply| {
        if let Some(tx) = lock(&conn.pending).remove(&id) {
            let _ = tx.send(reply);
        }
    };
    loop {
        let frame = tokio::select! {
            f = read_frame_async::<_, ToHost>(&mut stdout) => f,
            status = &mut exit_rx, if exited.is_none() => {
                exited = Some(status.ok().flatten());
                // Whatever the host wrote before it died is still in the pipe: read it until
                // the (now killed) group's pipe closes.
                continue;
            }
        };
        match frame {
            Ok(Some(ToHost::Created { instance })) => {
                lock(&conn.created).insert(instance);
                complete(instance, Reply::Created);
            }
            Ok(Some(ToHost::CreateFailed { instance, error })) => {
                complete(instance, Reply::CreateFailed(error))
            }
            Ok(Some(ToHost::Result { call, outcome })) => {
                if outcome.is_ok() {
                    shared.deaths.store(0, Ordering::Relaxed);
                }
                complete(call, Reply::Result(outcome));
            }
            Ok(Some(ToHost::Log {
                level,
                probe,
                message,
            })) => crate::plugin::tracing_sink()(level, &probe, &message),
            Ok(Some(other)) => tracing::warn!("probe host sent an unexpected frame: {other:?}"),
            Ok(None) => break,
            Err(e) => {
                conn.kill(format!("probe host broke the protocol: {e}"));
                break;
            }
        }
    }
    // Stdout closed: the child exited or is about to. Its exit status (the waiter reaps it).
    let status = match exited {
        Some(s) => s,
        None => match tokio::time::timeout(Duration::from_secs(5), &mut exit_rx).await {
            Ok(Ok(s)) => s,
            _ => {
                kill_group(pid);
                None
            }
        },
    };
    let mut reason = lock(&conn.kill_reason).take().unwrap_or_else(|| {
        status
            .map(describe_exit)
            .unwrap_or_else(|| "probe host vanished".to_owned())
    });
    if shared.shared_child {
        // Say why a healthy probe is UNKNOWN: another probe of the file took the host down.
        reason.push_str(&format!(
            " (the probe host was shared by every probe of {}: isolation = \"shared-process\")",
            shared.plugin_path.display()
        ));
    }
    let in_flight: Vec<_> = lock(&conn.pending).drain().collect();
    if conn.stopping.load(Ordering::Relaxed) {
        tracing::debug!(plugin = %shared.plugin_path.display(), "probe host stopped: {reason}");
    } else {
        tracing::warn!(plugin = %shared.plugin_path.display(), in_flight = in_flight.len(), "{reason}");
    }
    shared.deaths.fetch_add(1, Ordering::Relaxed);
    conn.death
        .send_replace(Some((reason.clone(), Instant::now())));
    for (_, tx) in in_flight {
        let _ = tx.send(Reply::Result(Err(RunError::HostDied(reason.clone()))));
    }
    shared.death_count.send_modify(|n| *n += 1);
}

struct IsolatedInstance {
    shared: Arc<Shared>,
    id: u64,
    probe: String,
    config: String,
}

impl IsolatedInstance {
    /// Makes sure this instance exists in the given child (after a restart it does not).
    async fn ensure_created(&self, conn: &Arc<Conn>) -> Result<(), RunError> {
        if lock(&conn.created).contains(&self.id) {
            return Ok(());
        }
        let rx = conn.register(self.id);
        if !conn.send(&ToChild::Create {
            instance: self.id,
            config: self.config.clone(),
            probe: self.probe.clone(),
        }) {
            return Err(conn.reason());
        }
        match rx.await {
            Ok(Reply::Created) => Ok(()),
            Ok(Reply::CreateFailed(m)) => Err(m),
            Ok(Reply::Result(Err(reason))) => Err(reason),
            Ok(Reply::Result(Ok(_))) => Err(RunError::Protocol(
                "probe host answered create with a result".to_owned(),
            )),
            Err(_) => Err(conn.reason()),
        }
    }
}

/// Tells the child to cancel a call that was abandoned, and kills the child if the call
/// still has not returned after [`CANCEL_GRACE`].
struct AbandonGuard {
    conn: Arc<Conn>,
    call: u64,
    probe: String,
    armed: bool,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.conn.send(&ToChild::Cancel { call: self.call });
        let conn = self.conn.clone();
        let call = self.call;
        let probe = self.probe.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                tokio::time::sleep(CANCEL_GRACE).await;
                if lock(&conn.pending).contains_key(&call) {
                    conn.kill(format!(
                        "probe host killed: probe \"{probe}\" ignored cancellation for {} after its timeout",
                        duration::format(CANCEL_GRACE)
                    ));
                }
            });
        }
    }
}

impl Instance for IsolatedInstance {
    fn check(&self, call: CallParams) -> BoxFuture<Result<String, RunError>> {
        let this = IsolatedInstance {
            shared: self.shared.clone(),
            id: self.id,
            probe: self.probe.clone(),
            config: self.config.clone(),
        };
        Box::pin(async move {
            let conn = this.shared.connect().await?;
            this.ensure_created(&conn).await?;
            let call_id = this.shared.next_id();
            let rx = conn.register(call_id);
            let deadline = SystemTime::now() + call.timeout;
            let msg = ToChild::Check {
                instance: this.id,
                call: call_id,
                timeout_ms: call.timeout.as_millis().min(u128::from(u32::MAX)) as u32,
                deadline_unix_ms: deadline
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
            };
            if !conn.send(&msg) {
                lock(&conn.pending).remove(&call_id);
                return Err(conn.reason());
            }
            let mut guard = AbandonGuard {
                conn: conn.clone(),
                call: call_id,
                probe: this.probe.clone(),
                armed: true,
            };
            let reply = rx.await;
            guard.armed = false;
            match reply {
                Ok(Reply::Result(r)) => r,
                Ok(_) => Err(RunError::Protocol(
                    "probe host answered check with a create reply".to_owned(),
                )),
                Err(_) => Err(conn.reason()),
            }
        })
    }

    fn destroy(&self) -> BoxFuture<()> {
        let shared = self.shared.clone();
        let id = self.id;
        Box::pin(async move {
            if let State::Up(conn) = &*shared.state.lock().await {
                conn.send(&ToChild::Destroy { instance: id });
                lock(&conn.created).remove(&id);
            }
        })
    }
}

impl Plugin for IsolatedPlugin {
    fn info(&self) -> &PluginInfo {
        &self.shared.info
    }

    fn isolation(&self) -> Isolation {
        if self.shared.shared_child {
            Isolation::SharedProcess
        } else {
            Isolation::Process
        }
    }

    fn create(
        &self,
        probe_id: &str,
        config_json: &str,
    ) -> BoxFuture<Result<Arc<dyn Instance>, RunError>> {
        let instance = IsolatedInstance {
            shared: self.shared.clone(),
            id: self.shared.next_id(),
            probe: probe_id.to_owned(),
            config: config_json.to_owned(),
        };
        Box::pin(async move {
            // Create now so that config errors show at start-up, not at the first check.
            let conn = instance.shared.connect().await?;
            instance.ensure_created(&conn).await?;
            Ok(Arc::new(instance) as Arc<dyn Instance>)
        })
    }

    fn deaths(&self) -> Option<watch::Receiver<u64>> {
        Some(self.shared.death_count.subscribe())
    }

    fn host_pid(&self) -> BoxFuture<Option<u32>> {
        let shared = self.shared.clone();
        Box::pin(async move {
            match &*shared.state.lock().await {
                State::Up(c) if c.death().is_none() => Some(c.pid),
                _ => None,
            }
        })
    }

    fn shutdown(&self) -> BoxFuture<()> {
        let shared = self.shared.clone();
        Box::pin(async move {
            let mut state = shared.state.lock().await;
            if let State::Up(conn) = &*state {
                let mut death = conn.death.subscribe();
                conn.stopping.store(true, Ordering::Relaxed);
                if conn.send(&ToChild::Shutdown) {
                    let exited = tokio::time::timeout(
                        Duration::from_secs(2),
                        death.wait_for(Option::is_some),
                    )
                    .await;
                    if exited.is_err() {
                        conn.kill(
                            "probe host killed: it did not exit within 2s of shutdown".to_owned(),
                        );
                    }
                }
            }
            *state = State::Idle;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let got: Vec<u64> = (1..=9).map(|n| restart_backoff(n).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}

/// The longest line of a probe host's stderr kept for the log; the rest of a longer line is
/// dropped (and counted).
pub const MAX_LOG_LINE: usize = 8 * 1024;
/// Lines logged per second at most; the rest are dropped (and counted) until the next second.
pub const MAX_LOG_LINES_PER_SEC: u32 = 200;

/// Reads a child's stderr and hands each line (at most [`MAX_LOG_LINE`] bytes, lossy UTF-8)
/// to `log`, at most [`MAX_LOG_LINES_PER_SEC`] a second: memory and log size never follow a
/// plugin that writes gigabytes without a newline or floods its output.
pub async fn pump_stderr<R: tokio::io::AsyncRead + Unpin>(r: R, mut log: impl FnMut(&str)) {
    use tokio::io::AsyncBufReadExt;
    let mut r = tokio::io::BufReader::with_capacity(64 * 1024, r);
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut dropped_bytes: u64 = 0;
    let mut window = std::time::Instant::now();
    let (mut in_window, mut dropped_lines) = (0u32, 0u64);
    loop {
        let buf = match r.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(b) => b,
        };
        let (chunk, ends_line) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        let room = MAX_LOG_LINE.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        dropped_bytes += chunk.len().saturating_sub(room) as u64;
        let used = chunk.len() + usize::from(ends_line);
        r.consume(used);
        if !ends_line {
            continue;
        }
        if window.elapsed() >= std::time::Duration::from_secs(1) {
            if dropped_lines > 0 {
                log(&format!(
                    "({dropped_lines} lines dropped: over {MAX_LOG_LINES_PER_SEC} a second)"
                ));
            }
            window = std::time::Instant::now();
            (in_window, dropped_lines) = (0, 0);
        }
        if in_window < MAX_LOG_LINES_PER_SEC {
            in_window += 1;
            let mut text = String::from_utf8_lossy(&line).into_owned();
            if dropped_bytes > 0 {
                text.push_str(&format!(
                    " … ({dropped_bytes} more bytes of this line dropped)"
                ));
            }
            log(&text);
        } else {
            dropped_lines += 1;
        }
        line.clear();
        dropped_bytes = 0;
    }
    if !line.is_empty() || dropped_bytes > 0 {
        let mut text = String::from_utf8_lossy(&line).into_owned();
        if dropped_bytes > 0 {
            text.push_str(&format!(
                " … ({dropped_bytes} more bytes of this line dropped)"
            ));
        }
        log(&text);
    }
    if dropped_lines > 0 {
        log(&format!(
            "({dropped_lines} lines dropped: over {MAX_LOG_LINES_PER_SEC} a second)"
        ));
    }
}

#[cfg(test)]
mod pump_tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_floods_are_counted() {
        // 50 MB without a newline, then a short line, then 1,000 lines at once.
        let mut input = vec![b'x'; 50 * 1024 * 1024];
        input.extend_from_slice(b"\nshort\n");
        for i in 0..1000 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let mut got: Vec<String> = Vec::new();
        pump_stderr(&input[..], |l| got.push(l.to_owned())).await;
        assert_eq!(
            got[0].len(),
            MAX_LOG_LINE + " … (52420608 more bytes of this line dropped)".len()
        );
        assert!(
            got[0].ends_with("(52420608 more bytes of this line dropped)"),
            "{}",
            &got[0][MAX_LOG_LINE..]
        );
        assert_eq!(got[1], "short");
        // 200 lines in the first second (the long one, "short", 198 more), then the count.
        assert_eq!(
            got.len(),
            MAX_LOG_LINES_PER_SEC as usize + 1,
            "{:?}",
            got.last()
        );
        assert_eq!(
            got.last().unwrap(),
            "(802 lines dropped: over 200 a second)"
        );
    }
}
