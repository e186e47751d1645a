//! `patchdeck serve`: the scheduler without a screen. Runs every probe on its timer, appends
//! transitions to the history, and answers on HTTP:
//! - `GET /metrics`: OpenMetrics text (or Prometheus text when the Accept header does not ask
//!   for OpenMetrics);
//! - `GET /api/v1/state`: every probe's latest result, report and next run, as JSON;
//! - `GET /healthz`: "ok".
//!
//! No authentication: bind to loopback (the default) or put it behind a reverse proxy. Ends
//! cleanly on SIGTERM or SIGINT: the server stops, the scheduler stops, probe hosts are reaped.

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

#[derive(Clone)]
struct App {
    store: Store,
    max_items: usize,
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
    let recorder = patchdeck_core::history::attach(&store, &engine.config.settings);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr()?;
    let scheduler = Scheduler::start(&engine.probes, store.clone());
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/state", get(state))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(App {
            store: store.clone(),
            max_items,
        });
    tracing::info!(listen = %bound, probes = engine.probes.len(), "serving");
    // A line on stderr for whoever started it (systemd's journal, a test waiting for it).
    eprintln!("patchdeck serve: listening on http://{bound}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down");
    let _ = tokio::time::timeout(Duration::from_secs(5), scheduler.shutdown()).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), engine.shutdown()).await;
    drop(store);
    if let Some(r) = recorder {
        r.abort();
    }
    Ok(0)
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
    let body = openmetrics::render(&app.store.read(), fmt, app.max_items);
    ([(header::CONTENT_TYPE, fmt.content_type())], body).into_response()
}

async fn state(AxState(app): AxState<App>) -> Response {
    let secs = |t: std::time::SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let doc = {
        let st = app.store.read();
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
        Ok(text) => (
            [(header::CONTENT_TYPE, "application/json")],
            patchdeck_core::sanitize::json(text),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
