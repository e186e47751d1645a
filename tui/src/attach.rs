//! The Unix socket between `serve` (the one collector for a config) and the dashboards
//! attached to it.
//!
//! One JSON message per line. `serve` sends a [`Hello`], then the whole state (`{"state":
//! ...}`) at once and after every change (changes that come faster than a viewer reads
//! coalesce: it gets the newest), and `{"notice": "..."}` when something about serve itself
//! changed (a config reload refused). A viewer sends the dashboard's actions: `{"run": "id"}`,
//! `{"run_all": true}`, `{"pause": true}`. Access is the socket's file permissions (0660: the
//! owner and its group); every line is bounded, a viewer that stops reading is dropped.

use patchdeck_core::store::{State, Store};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Longest line a viewer may send (an action).
pub const MAX_ACTION_LINE: u64 = 4096;
/// Longest line a viewer accepts from serve (the whole state).
pub const MAX_STATE_LINE: u64 = 256 * 1024 * 1024;
/// Viewers attached at once; more are refused with a line saying so.
pub const MAX_VIEWERS: usize = 64;
/// A viewer that has not taken a message within this is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The first line serve sends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hello {
    pub pid: u32,
    /// When serve started, seconds since the epoch.
    pub since: u64,
    pub version: String,
    pub config: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ToViewer {
    Hello(Hello),
    State(Box<State>),
    Notice(String),
    Refused(String),
}

/// What a viewer asks serve to do: the dashboard's `r`, `R` and `p`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Run(String),
    RunAll(bool),
    Pause(bool),
}

/// The one line with the whole state, as sent to every viewer (serve renders it at most once
/// per change, and only while a viewer is attached or asks over HTTP).
pub fn state_line(st: &State) -> Vec<u8> {
    #[derive(Serialize)]
    struct Msg<'a> {
        state: &'a State,
    }
    line(&Msg { state: st })
}

fn line<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec(msg).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Reads one line of at most `max` bytes; `Ok(None)` at the end of the stream.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    max: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = r.take(max + 1).read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        let why = if n as u64 > max {
            format!("a line longer than {max} bytes")
        } else {
            "a line cut short".to_owned()
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
    }
    buf.pop();
    Ok(Some(buf))
}

/// Binds serve's socket at `path`: a socket file left by a serve that died is replaced (this
/// process holds the history lock, so no live serve owns it); anything else there is refused.
/// The socket is 0660: its owner and group may attach.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            anyhow::bail!(
                "cannot create serve's socket {}: something else is there (not a socket); remove it or set socket in [settings]",
                path.display()
            );
        }
        std::fs::remove_file(path).map_err(|e| {
            anyhow::anyhow!("cannot replace the stale socket {}: {e}", path.display())
        })?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| anyhow::anyhow!("cannot set the mode of {}: {e}", path.display()))?;
    Ok(listener)
}

/// A state line rendered from the store now.
pub type LineNow = std::sync::Arc<dyn Fn() -> axum::body::Bytes + Send + Sync>;

/// What serve gives the socket: its hello, the state line (a watch channel updated once per
/// change while a viewer is attached; serve renders nothing for nobody), the line of this
/// moment for a viewer that just came (the channel may hold an old one), notices, and where
/// to send actions.
#[derive(Clone)]
pub struct Served {
    pub hello: Hello,
    pub state: tokio::sync::watch::Receiver<axum::body::Bytes>,
    pub line_now: LineNow,
    pub notices: tokio::sync::watch::Receiver<Option<String>>,
    pub actions: tokio::sync::mpsc::UnboundedSender<Action>,
}

/// Accepts viewers until the task is aborted.
pub async fn serve_viewers(listener: UnixListener, served: Served) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_VIEWERS));
    let mut viewers = tokio::task::JoinSet::new();
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let uid = stream.peer_cred().map(|c| c.uid()).ok();
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(max = MAX_VIEWERS, "viewer refused: too many attached");
            let refusal = line(&ToViewer::Refused(format!(
                "serve has {MAX_VIEWERS} viewers attached already"
            )));
            let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&refusal)).await;
            continue;
        };
        tracing::info!(?uid, "viewer attached");
        let served = served.clone();
        viewers.spawn(async move {
            let _slot = slot;
            let why = one_viewer(stream, served).await;
            tracing::info!(?uid, "viewer detached: {why}");
        });
        while viewers.try_join_next().is_some() {}
    }
}

async fn send(w: &mut tokio::net::unix::OwnedWriteHalf, bytes: &[u8]) -> Result<(), String> {
    match tokio::time::timeout(WRITE_TIMEOUT, w.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("took nothing for {} s", WRITE_TIMEOUT.as_secs())),
    }
}

async fn one_viewer(stream: UnixStream, mut served: Served) -> String {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    if let Err(e) = send(&mut write, &line(&ToViewer::Hello(served.hello.clone()))).await {
        return e;
    }
    let notice = served.notices.borrow_and_update().clone();
    if let Some(n) = notice
        && let Err(e) = send(&mut write, &line(&ToViewer::Notice(n))).await
    {
        return e;
    }
    // The channel's line may predate this viewer (it is kept fresh only while one is
    // attached): mark it seen and send one rendered now; later changes come through it.
    served.state.borrow_and_update();
    let now = served.line_now.clone();
    let first = tokio::task::spawn_blocking(move || now())
        .await
        .unwrap_or_default();
    if let Err(e) = send(&mut write, &first).await {
        return e;
    }
    loop {
        tokio::select! {
            changed = served.state.changed() => {
                if changed.is_err() {
                    return "serve is stopping".into();
                }
                let bytes = served.state.borrow_and_update().clone();
                if let Err(e) = send(&mut write, &bytes).await {
                    return e;
                }
            }
            changed = served.notices.changed() => {
                if changed.is_err() {
                    return "serve is stopping".into();
                }
                // A notice, or none any more (a reload went through): live again.
                let msg = match served.notices.borrow_and_update().clone() {
                    Some(n) => ToViewer::Notice(n),
                    None => ToViewer::Hello(served.hello.clone()),
                };
                if let Err(e) = send(&mut write, &line(&msg)).await {
                    return e;
                }
            }
            got = read_line(&mut read, MAX_ACTION_LINE) => match got {
                Ok(None) => return "closed".into(),
                Err(e) => return format!("sent {e}"),
                Ok(Some(l)) => match serde_json::from_slice::<Action>(&l) {
                    Ok(a) => {
                        let _ = served.actions.send(a);
                    }
                    Err(e) => return format!("sent a line that is no action: {e}"),
                },
            },
        }
    }
}

/// A dashboard's connection to serve.
pub struct Attached {
    pub hello: Hello,
    pub store: Store,
    actions: tokio::sync::mpsc::UnboundedSender<Action>,
    /// Attached over HTTP (`--connect URL`): serve's TCP port takes no actions.
    pub read_only: bool,
}

impl Attached {
    /// A connection showing `state` until the next one arrives; the receiver gets the actions
    /// the dashboard sends.
    fn open(
        hello: &Hello,
        state: State,
        read_only: bool,
    ) -> (Attached, tokio::sync::mpsc::UnboundedReceiver<Action>) {
        let store = Store::new([]);
        store.replace(state);
        let (actions, pending) = tokio::sync::mpsc::unbounded_channel();
        let attached = Attached {
            hello: hello.clone(),
            store,
            actions,
            read_only,
        };
        (attached, pending)
    }
}

/// How often a read-only HTTP viewer asks for a change (a 304 when there is none).
pub const POLL: Duration = Duration::from_secs(1);

/// One poll of `GET <url>/api/v1/viewer`: `Ok(None)` when nothing changed since `etag`.
fn fetch(url: &str, etag: &str) -> anyhow::Result<Option<(Hello, State, String)>> {
    let http = patchdeck_kit::http::Http::new(
        std::time::SystemTime::now() + Duration::from_secs(30),
        false,
        None,
    );
    let headers: Vec<(&str, &str)> = if etag.is_empty() {
        vec![]
    } else {
        vec![("If-None-Match", etag)]
    };
    let r = http
        .request(
            "GET",
            &format!("{}/api/v1/viewer", url.trim_end_matches('/')),
            &headers,
            None,
            MAX_STATE_LINE as usize,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match r.status {
        304 => return Ok(None),
        200 => {}
        s => anyhow::bail!("HTTP {s} (is this a patchdeck serve?)"),
    }
    if r.truncated {
        anyhow::bail!("the state is larger than {MAX_STATE_LINE} bytes");
    }
    let num = |h: &str| r.header(h).and_then(|v| v.trim().parse::<u64>().ok());
    let hello = Hello {
        pid: num("x-patchdeck-pid").unwrap_or(0) as u32,
        since: num("x-patchdeck-since").unwrap_or(0),
        version: String::new(),
        config: url.to_owned(),
    };
    let etag = r.header("etag").unwrap_or("").to_owned();
    let ToViewer::State(mut st) = serde_json::from_slice::<ToViewer>(&r.body)? else {
        anyhow::bail!("the answer is not a state");
    };
    st.sanitize();
    Ok(Some((hello, *st, etag)))
}

/// Attaches read-only to the serve at `url` (its loopback HTTP port, or a reverse proxy in
/// front of it): the state is polled every [`POLL`] with its ETag (304 while nothing
/// changed); `r`, `R` and `p` need the socket and are refused.
pub async fn attach_url(
    url: &str,
    links: tokio::sync::mpsc::UnboundedSender<Link>,
) -> anyhow::Result<Attached> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!("--connect {url}: give a Unix socket's path or an http:// or https:// URL");
    }
    let u = url.to_owned();
    let first = tokio::task::spawn_blocking(move || fetch(&u, ""))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot attach to serve at {url}: {e:#}"))?;
    let Some((hello, state, mut etag)) = first else {
        anyhow::bail!("cannot attach to serve at {url}: it answered 304 to a first request");
    };
    let (attached, _) = Attached::open(&hello, state, true);
    let store = attached.store.clone();
    let url = url.to_owned();
    std::thread::Builder::new()
        .name("viewer-poll".into())
        .spawn(move || {
            let mut lost = false;
            let mut pid = hello.pid;
            while !links.is_closed() {
                std::thread::sleep(POLL);
                match fetch(&url, &etag) {
                    Ok(Some((h, st, tag))) => {
                        store.replace(st);
                        etag = tag;
                        if lost || h.pid != pid {
                            pid = h.pid;
                            let _ = links.send(Link::Live(h));
                        }
                        lost = false;
                    }
                    Ok(None) => {
                        if lost {
                            lost = false;
                            let _ = links.send(Link::Live(Hello {
                                pid,
                                ..hello.clone()
                            }));
                        }
                    }
                    Err(e) => {
                        if !lost {
                            let _ = links.send(Link::Lost(format!("{e:#}")));
                        }
                        lost = true;
                        etag.clear();
                    }
                }
            }
        })?;
    Ok(attached)
}

/// What a viewer learns while attached, for the dashboard's header.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// Attached (again), to this serve.
    Live(Hello),
    /// Lost serve; trying again.
    Lost(String),
    /// A notice from serve (a reload refused, with why).
    Notice(String),
}

/// Connects to serve's socket and receives the first state (bounded in time).
async fn handshake(
    path: &Path,
) -> anyhow::Result<(
    Hello,
    Option<String>,
    State,
    BufReader<tokio::net::unix::OwnedReadHalf>,
    tokio::net::unix::OwnedWriteHalf,
)> {
    let stream = UnixStream::connect(path).await?;
    let (read, write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut hello = None;
    let mut notice = None;
    loop {
        let l = tokio::time::timeout(
            Duration::from_secs(30),
            read_line(&mut read, MAX_STATE_LINE),
        )
        .await
        .map_err(|_| anyhow::anyhow!("serve sent no state within 30 s"))??
        .ok_or_else(|| anyhow::anyhow!("serve closed the connection"))?;
        match serde_json::from_slice::<ToViewer>(&l)? {
            ToViewer::Hello(h) => hello = Some(h),
            ToViewer::Notice(n) => notice = Some(n),
            ToViewer::Refused(why) => anyhow::bail!("serve refused: {why}"),
            ToViewer::State(mut st) => {
                let hello = hello.ok_or_else(|| anyhow::anyhow!("serve sent no hello"))?;
                st.sanitize();
                return Ok((hello, notice, *st, read, write));
            }
        }
    }
}

/// Attaches to the serve listening at `path`. `links` hears about reconnections, losses and
/// notices; the store follows serve's until the returned value is dropped.
pub async fn attach(
    path: &Path,
    links: tokio::sync::mpsc::UnboundedSender<Link>,
) -> anyhow::Result<Attached> {
    let (hello, notice, state, read, write) = handshake(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot attach to serve at {}: {e:#}", path.display()))?;
    if let Some(n) = notice {
        let _ = links.send(Link::Notice(n));
    }
    let (attached, mut pending) = Attached::open(&hello, state, false);
    let store = attached.store.clone();
    let path = path.to_owned();
    tokio::spawn(async move {
        let (mut read, mut write) = (read, write);
        loop {
            let why = follow(&store, &mut read, &mut write, &mut pending, &links).await;
            if links.is_closed() {
                return;
            }
            let _ = links.send(Link::Lost(why));
            // Serve restarts (a reload by restart, an upgrade): attach again when it is back.
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if links.is_closed() {
                    return;
                }
                if let Ok((hello, notice, state, r, w)) = handshake(&path).await {
                    store.replace(state);
                    let _ = links.send(Link::Live(hello));
                    if let Some(n) = notice {
                        let _ = links.send(Link::Notice(n));
                    }
                    (read, write) = (r, w);
                    break;
                }
            }
        }
    });
    Ok(attached)
}

/// Applies serve's messages to `store` and sends the dashboard's actions until the
/// connection ends; returns why it ended.
async fn follow(
    store: &Store,
    read: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    write: &mut tokio::net::unix::OwnedWriteHalf,
    pending: &mut tokio::sync::mpsc::UnboundedReceiver<Action>,
    links: &tokio::sync::mpsc::UnboundedSender<Link>,
) -> String {
    loop {
        tokio::select! {
            got = read_line(read, MAX_STATE_LINE) => match got {
                Ok(None) => return "serve closed the connection".into(),
                Err(e) => return format!("serve sent {e}"),
                Ok(Some(l)) => match serde_json::from_slice::<ToViewer>(&l) {
                    Ok(ToViewer::State(mut st)) => {
                        st.sanitize();
                        store.replace(*st);
                    }
                    Ok(ToViewer::Notice(n)) => {
                        let _ = links.send(Link::Notice(n));
                    }
                    Ok(ToViewer::Hello(h)) => {
                        let _ = links.send(Link::Live(h));
                    }
                    Ok(ToViewer::Refused(why)) => return format!("serve refused: {why}"),
                    Err(e) => return format!("serve sent a line patchdeck cannot read: {e}"),
                },
            },
            a = pending.recv() => {
                let Some(a) = a else { return "dashboard closed".into() };
                if let Err(e) = write.write_all(&line(&a)).await {
                    return format!("cannot send to serve: {e}");
                }
            }
        }
    }
}

impl Attached {
    /// Sends one of the dashboard's actions to serve.
    pub fn act(&self, a: Action) {
        let _ = self.actions.send(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Notices = tokio::sync::watch::Sender<Option<String>>;

    fn served() -> (
        Served,
        tokio::sync::watch::Sender<axum::body::Bytes>,
        tokio::sync::mpsc::UnboundedReceiver<Action>,
        Notices,
    ) {
        let store = Store::new([]);
        let (state_tx, state) =
            tokio::sync::watch::channel(axum::body::Bytes::from(state_line(&store.read())));
        let line_now: LineNow =
            std::sync::Arc::new(move || axum::body::Bytes::from(state_line(&store.read())));
        let (notices_tx, notices) = tokio::sync::watch::channel(None);
        let (actions, rx) = tokio::sync::mpsc::unbounded_channel();
        let hello = Hello {
            pid: 1,
            since: 0,
            version: "t".into(),
            config: "c".into(),
        };
        (
            Served {
                hello,
                state,
                line_now,
                notices,
                actions,
            },
            state_tx,
            rx,
            notices_tx,
        )
    }

    fn socket() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pd-attach-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(format!("s{}", rand_suffix()))
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    /// A viewer gets the hello and the state, its actions reach serve, and a change of state
    /// reaches it; a line that is no action, or an overlong one, ends that viewer only.
    #[tokio::test]
    async fn viewers_get_state_and_send_actions_and_bad_lines_end_only_them() {
        let path = socket();
        let listener = bind(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o660
        );
        let (served, state_tx, mut actions, notices) = served();
        let server = tokio::spawn(serve_viewers(listener, served));

        let (links, mut links_rx) = tokio::sync::mpsc::unbounded_channel();
        let a = attach(&path, links).await.unwrap();
        assert_eq!(a.hello.pid, 1);
        a.act(Action::Run("wsus".into()));
        assert_eq!(actions.recv().await, Some(Action::Run("wsus".into())));

        // A new state (one probe) reaches the attached store.
        let other = Store::new([patchdeck_core::store::ProbeMeta {
            id: "bits".into(),
            kind: "bits".into(),
            plugin_version: "1".into(),
            isolation: patchdeck_core::config::Isolation::Process,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }]);
        let mut changes = a.store.subscribe();
        state_tx.send_replace(state_line(&other.read()).into());
        changes.changed().await.unwrap();
        assert_eq!(a.store.read().probes[0].meta.id, "bits");

        // Garbage and an overlong line: the connection is closed, serve goes on.
        for bad in [b"{\"rm\":\"-rf\"}\n".to_vec(), vec![b'x'; 5000]] {
            let mut s = UnixStream::connect(&path).await.unwrap();
            s.write_all(&bad).await.unwrap();
            let mut all = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut all))
                .await
                .expect("serve closes a viewer that sent a bad line");
            assert!(read.is_ok() || read.is_err());
            assert!(String::from_utf8_lossy(&all).starts_with("{\"hello\""));
        }
        a.act(Action::Pause(true));
        assert_eq!(actions.recv().await, Some(Action::Pause(true)));
        // A notice (a reload refused) reaches the viewer's links.
        notices.send_replace(Some("config reload refused: x".into()));
        loop {
            match tokio::time::timeout(Duration::from_secs(10), links_rx.recv()).await {
                Ok(Some(Link::Notice(n))) => {
                    assert_eq!(n, "config reload refused: x");
                    break;
                }
                Ok(Some(_)) => continue,
                other => panic!("no notice: {other:?}"),
            }
        }
        server.abort();
        let _ = std::fs::remove_file(&path);
    }

    /// Something that is not a socket where serve's socket goes is refused, never removed.
    #[test]
    fn bind_refuses_to_replace_a_file() {
        let path = socket();
        std::fs::write(&path, "keep me").unwrap();
        let e = bind(&path).unwrap_err().to_string();
        assert!(e.contains("not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
        let _ = std::fs::remove_file(&path);
    }
}
