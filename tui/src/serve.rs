//! `patchdeck serve`: the scheduler without a screen. Runs every probe on its timer, appends
//! transitions to the history, and answers on HTTP:
//! - `GET /metrics`: OpenMetrics text (or Prometheus text when the Accept header does not ask
//!   for OpenMetrics);
//! - `GET /api/v1/state`: every probe's latest result, report and next run, as JSON;
//! - `GET /healthz`: "ok".
//!
//! No authentication: bind to loopback (the default) or put it behind a reverse proxy. Ends
//! cleanly on SIGTERM or SIGINT: the server stops, the scheduler stops, probe hosts are reaped.
//!
//! Anyone who can reach the port is untrusted: a body is rendered at most once per change (when
//! the first request or attached dashboard asks for it: a serve nobody asks renders nothing),
//! off the runtime's worker threads (probes never wait for a scrape), and shared by every
//! request;
//! a connection gets [`HEADER_TIMEOUT`] to send its headers and [`CONNECTION_LIFETIME`] in
//! all (a slow reader is cut), and at most [`MAX_CONNECTIONS`] are served at once.

use crate::headless::{Options, build_engine};
use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use patchdeck_core::openmetrics::{self, Format};
use patchdeck_core::scheduler::Scheduler;
use patchdeck_core::store::Store;
use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

/// A request's headers must arrive within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection is closed after this, whatever it is doing (keep-alive clients reconnect).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;

/// One state of the store and its bodies, each rendered the first time something asks for
/// it (a request, or the socket's attached dashboards), never when nothing does, then shared
/// until the next change.
struct Rendered {
    /// Counts changes: the change stream's event id and the viewer ETag.
    generation: u64,
    source: Source,
    /// The line attached dashboards receive ([`crate::attach`]).
    viewers: tokio::sync::OnceCell<axum::body::Bytes>,
    state: tokio::sync::OnceCell<axum::body::Bytes>,
    openmetrics: tokio::sync::OnceCell<axum::body::Bytes>,
    prometheus: tokio::sync::OnceCell<axum::body::Bytes>,
    /// The web page ([`crate::web`]).
    page: tokio::sync::OnceCell<axum::body::Bytes>,
}

/// What the bodies are rendered from.
#[derive(Clone)]
struct Source {
    store: Store,
    max_items: usize,
    site: Option<String>,
}

/// The bodies rendered on demand.
#[derive(Clone, Copy)]
enum Body {
    State,
    OpenMetrics,
    Prometheus,
    Page,
    Viewers,
}

impl Rendered {
    fn new(generation: u64, source: &Source) -> Rendered {
        Rendered {
            generation,
            source: source.clone(),
            viewers: Default::default(),
            state: Default::default(),
            openmetrics: Default::default(),
            prometheus: Default::default(),
            page: Default::default(),
        }
    }

    /// The body, rendered by the first request that asks for it on a blocking thread (never
    /// on the runtime's workers, which drive the probes); requests meanwhile wait for it.
    /// Empty if rendering failed.
    async fn body(&self, which: Body) -> axum::body::Bytes {
        let cell = match which {
            Body::State => &self.state,
            Body::OpenMetrics => &self.openmetrics,
            Body::Prometheus => &self.prometheus,
            Body::Page => &self.page,
            Body::Viewers => &self.viewers,
        };
        let source = self.source.clone();
        cell.get_or_init(|| async move {
            tokio::task::spawn_blocking(move || render(&source, which))
                .await
                .unwrap_or_default()
        })
        .await
        .clone()
    }
}

fn render(source: &Source, which: Body) -> axum::body::Bytes {
    let st = source.store.read();
    let site = source.site.as_deref();
    match which {
        Body::State => state_json(&st).into(),
        Body::OpenMetrics => {
            openmetrics::render_with(&st, Format::OpenMetrics, source.max_items, site, false).into()
        }
        Body::Prometheus => {
            openmetrics::render_with(&st, Format::Prometheus, source.max_items, site, false).into()
        }
        Body::Page => crate::web::page(&st, site, std::time::SystemTime::now()).into(),
        Body::Viewers => crate::attach::state_line(&st).into(),
    }
}

#[derive(Clone)]
struct App {
    rendered: tokio::sync::watch::Receiver<std::sync::Arc<Rendered>>,
    /// Why the last config reload was refused (shown by /healthz), if it was.
    notice: tokio::sync::watch::Receiver<Option<String>>,
    /// This serve's pid and start (seconds since the epoch), for read-only HTTP viewers.
    pid: u32,
    since: u64,
}

impl App {
    fn current(&self) -> std::sync::Arc<Rendered> {
        self.rendered.borrow().clone()
    }
}

/// After every change, a new [`Rendered`]; while dashboards are attached to the socket (the
/// channel has receivers besides the socket's own), its line rendered and sent to them.
/// Changes during a render coalesce.
async fn keep_rendered(
    source: Source,
    out: tokio::sync::watch::Sender<std::sync::Arc<Rendered>>,
    viewers: tokio::sync::watch::Sender<axum::body::Bytes>,
) {
    let mut changes = source.store.subscribe();
    // A change between the first Rendered and this subscription is not lost.
    changes.mark_changed();
    let mut generation = 1;
    loop {
        if changes.changed().await.is_err() {
            return;
        }
        generation += 1;
        let r = std::sync::Arc::new(Rendered::new(generation, &source));
        out.send_replace(r.clone());
        if viewers.receiver_count() > 1 {
            viewers.send_replace(r.body(Body::Viewers).await);
        }
    }
}

/// Starts everything and serves until SIGTERM/SIGINT.
pub async fn run(
    opts: &Options,
    listen: SocketAddr,
    allow_remote: bool,
    max_items: usize,
) -> anyhow::Result<u8> {
    if !listen.ip().is_loopback() {
        if !allow_remote {
            anyhow::bail!(
                "--listen {listen} is not a loopback address: /metrics and /api/v1/state have no \
                 authentication. Pass --allow-remote to serve it anyway (behind a reverse proxy \
                 with authentication), or listen on 127.0.0.1"
            );
        }
        tracing::warn!(%listen, "serving without authentication on a non-loopback address");
    }
    let engine = build_engine(opts).await?;
    let store = Store::new(engine.metas());
    let recorder = match patchdeck_core::history::attach_exclusive(&store, &engine.config.settings)
    {
        Ok(r) => r,
        Err(e) => {
            let _ = engine.shutdown().await;
            anyhow::bail!("{e}; stop it first, or give this config another history_dir");
        }
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr()?;
    let socket_path = engine.config.settings.socket.clone();
    let socket = match &socket_path {
        Some(p) => Some(crate::attach::bind(p)?),
        None => {
            tracing::warn!(
                "no socket for dashboards: neither HOME nor XDG_STATE_HOME is set (set socket in [settings])"
            );
            None
        }
    };
    let scheduler = Scheduler::start(&engine.probes, store.clone());
    let source = Source {
        store: store.clone(),
        max_items,
        site: engine.config.settings.site.clone(),
    };
    let first = Rendered::new(1, &source);
    // Each attached dashboard gets a line rendered when it comes, then this channel's.
    let (viewers_tx, viewers_rx) = tokio::sync::watch::channel(axum::body::Bytes::new());
    let line_now: crate::attach::LineNow = {
        let source = source.clone();
        std::sync::Arc::new(move || render(&source, Body::Viewers))
    };
    let (rendered_tx, rendered_rx) = tokio::sync::watch::channel(std::sync::Arc::new(first));
    let (notices_tx, notices_rx) = tokio::sync::watch::channel(None);
    let since = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let app = App {
        rendered: rendered_rx,
        notice: notices_rx.clone(),
        pid: std::process::id(),
        since,
    };
    let renderer = tokio::spawn(keep_rendered(source, rendered_tx, viewers_tx));
    let (actions_tx, actions_rx) = tokio::sync::mpsc::unbounded_channel();
    let viewers = socket.map(|listener| {
        tokio::spawn(crate::attach::serve_viewers(
            listener,
            crate::attach::Served {
                hello: crate::attach::Hello {
                    pid: std::process::id(),
                    since,
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    config: engine.config.path.display().to_string(),
                },
                state: viewers_rx,
                line_now,
                notices: notices_rx,
                actions: actions_tx,
            },
        ))
    });
    let probes = engine.probes.len();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let control = tokio::spawn(control(
        Control {
            opts: opts.clone(),
            engine,
            scheduler,
            store: store.clone(),
            notices: notices_tx,
        },
        actions_rx,
        stop_rx,
    ));
    let router = Router::new()
        .route("/", get(page))
        .route(
            "/app.js",
            get(|| async { static_file("text/javascript; charset=utf-8", crate::web::SCRIPT) }),
        )
        .route(
            "/app.css",
            get(|| async { static_file("text/css; charset=utf-8", crate::web::STYLE) }),
        )
        .route("/api/v1/changes", get(changes))
        .route("/metrics", get(metrics))
        .route("/api/v1/state", get(state))
        .route("/api/v1/viewer", get(viewer))
        .route("/healthz", get(healthz))
        .with_state(app);
    tracing::info!(listen = %bound, probes, "serving");
    // A line on stderr for whoever started it (systemd's journal, a test waiting for it).
    eprintln!("patchdeck serve: listening on http://{bound}");
    accept_loop(listener, router).await;
    renderer.abort();
    if let Some(v) = viewers {
        v.abort();
    }
    if let Some(p) = &socket_path {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("shutting down");
    stop_tx.send_replace(true);
    if let Ok(c) = control.await {
        let _ = tokio::time::timeout(Duration::from_secs(5), c.scheduler.shutdown()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), c.engine.shutdown()).await;
    }
    drop(store);
    if let Some(r) = recorder {
        r.abort();
    }
    Ok(0)
}

/// Serves connections until SIGTERM/SIGINT: at most [`MAX_CONNECTIONS`] at once, each with
/// a header timeout and a lifetime.
async fn accept_loop(listener: tokio::net::TcpListener, router: Router) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    let mut last_full_log: Option<std::time::Instant> = None;
    loop {
        // A free slot first: when all are taken, new connections wait in the backlog.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if last_full_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(
                        max = MAX_CONNECTIONS,
                        "connection limit reached: new connections wait until one closes"
                    );
                    last_full_log = Some(std::time::Instant::now());
                }
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and the like: wait a moment rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        connections.spawn(async move {
            let _slot = slot;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            // A connection past its lifetime (a slow reader, an idle keep-alive) is dropped.
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
        });
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

/// Headers every page and file of the web page carries.
fn page_headers(content_type: &'static str) -> [(axum::http::HeaderName, &'static str); 5] {
    [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, crate::web::CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ]
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (page_headers(content_type), body).into_response()
}

/// `GET /`: the web page of the moment (rendered at most once per change).
async fn page(AxState(app): AxState<App>) -> Response {
    (
        page_headers("text/html; charset=utf-8"),
        app.current().body(Body::Page).await,
    )
        .into_response()
}

/// `GET /api/v1/changes`: a server-sent event (id = the render's number) whenever the state
/// changed; at once when the client's Last-Event-ID is not the current one (it reconnected
/// after a change, or this is its first time).
async fn changes(AxState(app): AxState<App>, headers: HeaderMap) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let last: Option<u64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut rx = app.rendered.clone();
    let current = rx.borrow_and_update().generation;
    let first = (last.is_some() && last != Some(current)).then_some(current);
    let stream = futures_util::stream::unfold((rx, first), |(mut rx, first)| async move {
        let generation = match first {
            Some(g) => g,
            None => {
                rx.changed().await.ok()?;
                rx.borrow_and_update().generation
            }
        };
        let event = Event::default()
            .id(generation.to_string())
            .data("changed")
            .retry(Duration::from_secs(2));
        Some((Ok::<_, std::convert::Infallible>(event), (rx, None)))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// "ok", and why the last config reload was refused if it was: serve is healthy, running the
/// config it had.
async fn healthz(AxState(app): AxState<App>) -> String {
    match app.notice.borrow().as_deref() {
        Some(n) => format!("ok\n{}\n", patchdeck_core::sanitize::text(n)),
        None => "ok\n".to_owned(),
    }
}

/// What the control task owns: the engine and its scheduler, replaced by a reload.
struct Control {
    opts: Options,
    engine: patchdeck_core::engine::Engine,
    scheduler: Scheduler,
    store: Store,
    notices: tokio::sync::watch::Sender<Option<String>>,
}

/// Carries out the dashboards' actions and SIGHUP's reloads until `stop`; returns what it
/// owns for shutting down.
async fn control(
    mut c: Control,
    mut actions: tokio::sync::mpsc::UnboundedReceiver<crate::attach::Action>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Control {
    use crate::attach::Action;
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).ok();
    loop {
        tokio::select! {
            _ = stop.changed() => return c,
            a = actions.recv() => match a {
                Some(a) => {
                    tracing::info!(?a, "action from a dashboard");
                    match a {
                        Action::Run(id) => {
                            c.scheduler.run_now(&id);
                        }
                        Action::RunAll(_) => c.scheduler.run_all_now(),
                        Action::Pause(p) => c.scheduler.set_paused(p),
                    }
                }
                // No socket: only signals and the stop remain.
                None => actions = tokio::sync::mpsc::unbounded_channel().1,
            },
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => None } } => {
                c = reload(c).await;
            }
        }
    }
}

/// SIGHUP: the config is loaded and its plugins bound (as `config check` does) before anything
/// changes. A bad config keeps the running one and says why (log, /healthz, dashboards'
/// headers). A good one replaces the probes: unchanged ones keep their results and timers,
/// changed and new ones run at once, removed ones go.
async fn reload(mut c: Control) -> Control {
    tracing::info!(config = %c.engine.config.path.display(), "SIGHUP: reloading the config");
    let new = match build_engine(&c.opts).await {
        Ok(e) => e,
        Err(e) => {
            let at = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
            let why =
                format!("config reload refused at {at}, still running the previous config: {e:#}");
            tracing::error!("{why}");
            c.notices.send_replace(Some(why));
            return c;
        }
    };
    let old = &c.engine.config;
    let same = |p: &patchdeck_core::config::ProbeConfig| {
        old.probes.iter().any(|o| {
            o.id == p.id
                && o.plugin == p.plugin
                && o.interval == p.interval
                && o.timeout == p.timeout
                && o.isolation == p.isolation
                && o.config == p.config
                && o.rules == p.rules
        })
    };
    let keep: std::collections::HashSet<String> = new
        .config
        .probes
        .iter()
        .filter(|p| same(p))
        .map(|p| p.id.clone())
        .collect();
    for (what, a, b) in [
        (
            "history_dir",
            format!("{:?}", old.settings.history_dir),
            format!("{:?}", new.config.settings.history_dir),
        ),
        (
            "socket",
            format!("{:?}", old.settings.socket),
            format!("{:?}", new.config.settings.socket),
        ),
    ] {
        if a != b {
            tracing::warn!("{what} changed: it takes effect when serve restarts");
        }
    }
    let paused = c.scheduler.is_paused();
    let old_scheduler = std::mem::replace(
        &mut c.scheduler,
        Scheduler::start_keeping(&[], c.store.clone(), &keep),
    );
    old_scheduler.shutdown().await;
    c.store.set_probes(new.metas(), &keep);
    c.scheduler = Scheduler::start_keeping(&new.probes, c.store.clone(), &keep);
    if paused {
        c.scheduler.set_paused(true);
    }
    let old_engine = std::mem::replace(&mut c.engine, new);
    old_engine.shutdown().await;
    tracing::info!(
        probes = c.engine.probes.len(),
        unchanged = keep.len(),
        "config reloaded"
    );
    c.notices.send_replace(None);
    c
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers, Ctrl-C's default still ends the process.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn metrics(AxState(app): AxState<App>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let fmt = Format::negotiate(accept);
    let r = app.current();
    let body = match fmt {
        Format::OpenMetrics => r.body(Body::OpenMetrics).await,
        Format::Prometheus => r.body(Body::Prometheus).await,
    };
    // The shared body, then this process's own numbers read now (never a copy of the body).
    let mut tail = openmetrics::process_metrics(fmt);
    if fmt == Format::OpenMetrics {
        tail.push_str("# EOF\n");
    }
    let chunks = [body, axum::body::Bytes::from(tail)];
    let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::convert::Infallible>));
    (
        [(header::CONTENT_TYPE, fmt.content_type())],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

/// `GET /api/v1/viewer`: the state as attached dashboards receive it (`patchdeck --connect
/// URL`, read-only), with this serve's pid and start in headers; `If-None-Match` with the
/// current ETag (the change's number) gets 304, so polling costs nothing between changes.
async fn viewer(AxState(app): AxState<App>, headers: HeaderMap) -> Response {
    let r = app.current();
    let etag = format!("\"{}\"", r.generation);
    let hdrs = [
        (header::ETAG, etag.clone()),
        (
            header::HeaderName::from_static("x-patchdeck-pid"),
            app.pid.to_string(),
        ),
        (
            header::HeaderName::from_static("x-patchdeck-since"),
            app.since.to_string(),
        ),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return (StatusCode::NOT_MODIFIED, hdrs).into_response();
    }
    (
        hdrs,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        r.body(Body::Viewers).await,
    )
        .into_response()
}

async fn state(AxState(app): AxState<App>) -> Response {
    let body = app.current().body(Body::State).await;
    if body.is_empty() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "state not rendered\n").into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn state_json(st: &patchdeck_core::store::State) -> String {
    let secs = |t: std::time::SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let doc = {
        let probes: Vec<serde_json::Value> = st
            .probes
            .iter()
            .map(|p| {
                let latest = p.latest.as_ref().map(|r| {
                    serde_json::json!({
                        "status": r.status.as_str(),
                        "summary": r.summary,
                        "started_at": secs(r.started_at),
                        "duration_ms": r.duration.as_millis() as u64,
                        "report": r.report,
                        "error": r.error,
                        "cause": r.cause(),
                    })
                });
                serde_json::json!({
                    "id": p.meta.id,
                    "kind": p.meta.kind,
                    "plugin_version": p.meta.plugin_version,
                    "isolation": p.meta.isolation.as_str(),
                    "interval_s": p.meta.interval.as_secs_f64(),
                    "timeout_s": p.meta.timeout.as_secs_f64(),
                    "running": p.running,
                    "next_run": p.next_run.map(secs),
                    "latest": latest,
                })
            })
            .collect();
        // The latest transitions, those loaded from an earlier run's history marked.
        let transitions: Vec<serde_json::Value> = st
            .transitions
            .iter()
            .rev()
            .take(200)
            .map(|t| {
                serde_json::json!({
                    "at": secs(t.at),
                    "probe": t.probe,
                    "from": t.from.map(|s| s.as_str()),
                    "to": t.to.as_str(),
                    "summary": t.summary,
                    "cause": t.cause,
                    "before_this_start": t.earlier,
                })
            })
            .collect();
        serde_json::json!({ "paused": st.paused, "probes": probes, "transitions": transitions })
    };
    match serde_json::to_string_pretty(&doc) {
        Ok(text) => patchdeck_core::sanitize::json(text),
        Err(e) => {
            tracing::error!("cannot render the state: {e}");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchdeck_core::config::Isolation;
    use patchdeck_core::store::{CheckResult, ProbeMeta};
    use patchdeck_probe_api::{Report, Status};

    fn source() -> Source {
        let meta = ProbeMeta {
            id: "wsus-sup01".into(),
            kind: "wsus".into(),
            plugin_version: "0".into(),
            isolation: Isolation::Process,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        };
        Source {
            store: Store::new([meta]),
            max_items: 50,
            site: Some("ABC".into()),
        }
    }

    /// Nothing but the dashboards' line is rendered until a request asks; then once, shared
    /// by every later request of the same change; a change brings a fresh body.
    #[tokio::test]
    async fn bodies_are_rendered_when_asked_once_per_change() {
        let source = source();
        let r = Rendered::new(1, &source);
        for cell in [&r.state, &r.openmetrics, &r.prometheus, &r.page, &r.viewers] {
            assert!(cell.get().is_none(), "rendered before anyone asked");
        }
        let a = r.body(Body::OpenMetrics).await;
        assert!(r.state.get().is_none() && r.page.get().is_none());
        let b = r.body(Body::OpenMetrics).await;
        assert_eq!(
            a.as_ptr(),
            b.as_ptr(),
            "the same bytes, not a second render"
        );
        let text = std::str::from_utf8(&a).unwrap();
        assert!(
            text.contains("patchdeck_site_info{site=\"ABC\"} 1"),
            "{text}"
        );
        assert!(!text.contains("status=\"critical\"} 1"), "{text}");
        source.store.record(
            "wsus-sup01",
            CheckResult::from_report(
                Report::new(Status::Critical, "WsusPool stopped"),
                std::time::SystemTime::now(),
                Duration::from_millis(5),
            ),
            None,
        );
        let next = Rendered::new(2, &source);
        let c = next.body(Body::OpenMetrics).await;
        assert!(std::str::from_utf8(&c).unwrap().contains(
            "patchdeck_probe_status{probe=\"wsus-sup01\",kind=\"wsus\",status=\"critical\"} 1"
        ));
        let state = next.body(Body::State).await;
        assert!(
            std::str::from_utf8(&state)
                .unwrap()
                .contains("WsusPool stopped")
        );
    }
}
