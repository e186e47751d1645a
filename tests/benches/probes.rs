//! `cargo build --release --workspace && cargo bench -p patchdeck-tests`
//!
//! - in-process call overhead per check (target < 20 us): the real mock library, loaded
//!   into this process, one full `run_once` (timeout, cancel flag, JSON validation).
//! - isolated round trip per check (target < 300 us): the same through a real
//!   `patchdeck-probe-host` child.
//! - scheduler + store cost of 1,000 probes at a 1 s interval (target < 5 % of one core):
//!   60 virtual seconds on tokio's paused clock with instantly-answering in-memory probes;
//!   the time per iteration divided by 60 s is the fraction of a core.

use patchdeck_core::config::Isolation;
use patchdeck_core::engine::{Engine, Probe};
use patchdeck_core::scheduler::Scheduler;
use patchdeck_core::store::{ProbeMeta, Store};
use patchdeck_tests::*;
use std::sync::Arc;
use std::time::Duration;

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn mock_engine(rt: &tokio::runtime::Runtime, isolation: &str) -> Engine {
    let dir = scratch("bench");
    let cfg = format!(
        "[[probe]]\nid = \"b\"\nplugin = \"mock\"\nisolation = \"{isolation}\"\n[probe.config]\nmetrics = [{{ label = \"latency\", value = 1.5, uom = \"ms\" }}]\n"
    );
    let engine = rt.block_on(engine(&dir, &cfg, &[]));
    // Create the instance (and the child) outside the measurement.
    assert_eq!(
        rt.block_on(engine.probes[0].run_once()).status,
        patchdeck_probe_api::Status::Ok
    );
    engine
}

#[divan::bench]
fn in_process_check(bencher: divan::Bencher) {
    let rt = runtime();
    let engine = mock_engine(&rt, "in-process");
    let probe = engine.probes[0].clone();
    bencher.bench_local(|| rt.block_on(probe.run_once()));
    rt.block_on(engine.shutdown());
}

#[divan::bench]
fn isolated_check(bencher: divan::Bencher) {
    let rt = runtime();
    let engine = mock_engine(&rt, "process");
    let probe = engine.probes[0].clone();
    bencher.bench_local(|| rt.block_on(probe.run_once()));
    rt.block_on(engine.shutdown());
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn scheduler_1000_probes_60_virtual_seconds(bencher: divan::Bencher) {
    bencher.bench_local(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let plugin = Arc::new(instant::InstantPlugin::default());
            let probes: Vec<Arc<Probe>> = (0..1000)
                .map(|i| {
                    let meta = ProbeMeta {
                        id: format!("p{i}"),
                        kind: "instant".into(),
                        plugin_version: "0".into(),
                        isolation: Isolation::InProcess,
                        interval: Duration::from_secs(1),
                        timeout: Duration::from_secs(10),
                    };
                    Arc::new(Probe::new(meta, plugin.clone(), "{}".into()))
                })
                .collect();
            let store = Store::new(probes.iter().map(|p| p.meta.clone()));
            let scheduler = Scheduler::start(&probes, store.clone());
            tokio::time::sleep(Duration::from_secs(60)).await;
            let runs: usize = store.read().probes.iter().map(|p| p.history.len()).sum();
            assert!(runs >= 1000 * 55, "only {runs} runs in 60 virtual seconds");
            scheduler.shutdown().await;
        });
    });
}

/// A 1,000,000-row scan status export summarised by the real wua plugin (in-process, so
/// the time is the plugin's). The file's mtime moves every iteration so the plugin's cache
/// cannot skip the read. Target: under 2 s (peak memory is measured separately, see README).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn wua_1m_row_export(bencher: divan::Bencher) {
    use patchdeck_sitesim::exports::{Encoding, ScanStatus, write_scan_status};
    let rt = runtime();
    let dir = scratch("bench-wua");
    let csv = dir.join("scan.csv");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let o = ScanStatus {
        clients: 1_000_000,
        seed: 1,
        site: "ABC".into(),
        sups: vec!["http://SUP01:8530".into()],
        now,
        encoding: Encoding::Utf8Comma,
        healthy: false,
    };
    write_scan_status(&csv, &o).unwrap();
    let cfg = format!(
        "[[probe]]\nid = \"w\"\nplugin = \"wua\"\nisolation = \"in-process\"\ntimeout = \"60s\"\n[probe.config]\nscan_status_csv = \"{}\"\n",
        csv.display()
    );
    let engine = rt.block_on(engine(&dir, &cfg, &[]));
    let probe = engine.probes[0].clone();
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        let f = std::fs::File::options().write(true).open(&csv).unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(n))
            .unwrap();
        let r = rt.block_on(probe.run_once());
        assert!(r.summary.starts_with("1,000,000 clients"), "{}", r.summary);
    });
    rt.block_on(engine.shutdown());
}

/// Resident set of a process in KiB (from /proc), 0 when it is gone.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// 1,000 mock probes bound and run once each (the start of a big dashboard), isolated
/// ("process": one child each) versus "shared-process" (one child for the file). The time is
/// divan's; the children's total RSS is printed once per mode.
#[divan::bench(args = ["process", "shared-process"], sample_count = 1, sample_size = 1)]
fn start_1000_probes(bencher: divan::Bencher, isolation: &str) {
    let rt = runtime();
    let dir = scratch("bench-1000");
    let mut cfg = String::new();
    for i in 0..1000 {
        cfg.push_str(&format!(
            "[[probe]]\nid = \"p{i}\"\nplugin = \"mock\"\nisolation = \"{isolation}\"\n\n"
        ));
    }
    bencher.bench_local(|| {
        rt.block_on(async {
            let e = engine(&dir, &cfg, &[]).await;
            let mut set = tokio::task::JoinSet::new();
            for p in &e.probes {
                let p = p.clone();
                set.spawn(async move { p.run_once().await.status });
            }
            while let Some(s) = set.join_next().await {
                assert_eq!(s.unwrap(), patchdeck_probe_api::Status::Ok);
            }
            let mut pids = std::collections::HashSet::new();
            for p in &e.probes {
                pids.extend(p.host_pid().await);
            }
            let total: u64 = pids.iter().map(|&pid| rss_kib(pid)).sum();
            eprintln!(
                "start_1000_probes({isolation}): {} children, {:.1} MiB RSS in children",
                pids.len(),
                total as f64 / 1024.0
            );
            e.shutdown().await;
        })
    });
}

/// `/metrics` for 1,000 probes with 50 items and 5 metrics each (target < 10 ms).
#[divan::bench(sample_count = 20)]
fn metrics_1000_probes_50_items(bencher: divan::Bencher) {
    use patchdeck_core::openmetrics::{Format, render};
    use patchdeck_core::store::CheckResult;
    use patchdeck_probe_api::{Item, Metric, Report, Status};
    let metas: Vec<ProbeMeta> = (0..1000)
        .map(|i| ProbeMeta {
            id: format!("probe-{i}"),
            kind: "bits".into(),
            plugin_version: "0.1.0".into(),
            isolation: Isolation::Process,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        })
        .collect();
    let store = Store::new(metas.clone());
    for m in &metas {
        let mut rep = Report::new(Status::Warning, "x");
        rep.items = (0..50)
            .map(|j| Item::new(format!("DP{j:02}"), "", Status::Ok, ""))
            .collect();
        rep.metrics = (0..5)
            .map(|j| Metric {
                label: format!("m{j}"),
                value: j as f64,
                uom: "ms".into(),
                warn: None,
                crit: None,
                min: None,
                max: None,
                ..Default::default()
            })
            .collect();
        store.record(
            &m.id,
            CheckResult::from_report(rep, std::time::SystemTime::now(), Duration::from_millis(5)),
            None,
        );
    }
    bencher.bench_local(|| render(&store.read(), Format::OpenMetrics, 50).len());
}
