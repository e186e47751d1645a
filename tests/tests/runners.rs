//! Every behaviour of the mock probe through both runners, over the real ABI: the real
//! `libpatchdeck_mock.so`, in a real `patchdeck-probe-host` child or loaded into this test
//! process. This process is the dashboard: it must survive every misbehaviour of an isolated
//! plugin, and get the exact status and reason.

use patchdeck_core::engine::Engine;
use patchdeck_core::store::CheckResult;
use patchdeck_core::{CANCEL_GRACE, restart_backoff};
use patchdeck_probe_api::Status;
use patchdeck_tests::*;

const RUNNERS: [&str; 2] = ["process", "in-process"];

/// One probe named `p` with the given isolation, timeout and mock config lines.
async fn one(isolation: &str, timeout: &str, config: &str) -> Engine {
    let dir = scratch("runners");
    let text = format!(
        "[[probe]]\nid = \"p\"\nplugin = \"mock\"\nisolation = \"{isolation}\"\ntimeout = \"{timeout}\"\n[probe.config]\n{config}\n"
    );
    engine(&dir, &text, &[]).await
}

async fn run(isolation: &str, config: &str) -> CheckResult {
    let e = one(isolation, "5s", config).await;
    let r = e.probes[0].run_once().await;
    e.shutdown().await;
    r
}

fn reason(r: &CheckResult) -> &str {
    assert_eq!(r.status, Status::Unknown, "{r:?}");
    assert_eq!(r.error.as_deref(), Some(r.summary.as_str()));
    r.error.as_deref().unwrap()
}

#[tokio::test]
async fn ok_report_with_items_metrics_and_details_round_trips() {
    let cfg = r#"
status = "warning"
summary = "2 of 3 fine"
details = [{ label = "Version", value = "3.2", status = "ok" }]
metrics = [{ label = "latency", value = 41.5, uom = "ms", warn = "500", crit = "2000", min = 0 }]
items = [{ id = "dp01", title = "DP01", status = "critical", summary = "no Range", items = [{ id = "f", status = "ok" }] }]
"#;
    for runner in RUNNERS {
        let r = run(runner, cfg).await;
        assert_eq!(
            (r.status, r.summary.as_str(), r.error.as_deref()),
            (Status::Warning, "2 of 3 fine", None),
            "{runner}"
        );
        let rep = r.report.unwrap();
        assert_eq!(rep.details[0].status, Some(Status::Ok));
        assert_eq!(rep.metrics[0].value, 41.5);
        assert_eq!(rep.metrics[0].crit.as_deref(), Some("2000"));
        assert_eq!(rep.items[0].status, Status::Critical);
        assert_eq!(rep.items[0].items[0].id, "f");
    }
}

#[tokio::test]
async fn sequence_cycles_statuses_across_runs_in_one_instance() {
    for runner in RUNNERS {
        let e = one(
            runner,
            "5s",
            "sequence = [\"ok\", \"critical\", \"warning\"]",
        )
        .await;
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(e.probes[0].run_once().await.status);
        }
        assert_eq!(
            got,
            [Status::Ok, Status::Critical, Status::Warning, Status::Ok],
            "{runner}"
        );
        e.shutdown().await;
    }
}

#[tokio::test]
async fn panic_becomes_unknown_with_the_panic_message_and_location() {
    for runner in RUNNERS {
        let r = run(runner, "behavior = \"panic\"").await;
        let why = reason(&r);
        assert!(
            why.starts_with("probe panicked: panicked at plugins/mock/src/lib.rs:"),
            "{runner}: {why}"
        );
        assert!(
            why.ends_with(": mock told to panic (behavior = \"panic\")"),
            "{runner}: {why}"
        );
    }
}

#[tokio::test]
async fn garbage_bytes_become_unknown_invalid_utf8() {
    for runner in RUNNERS {
        let r = run(runner, "behavior = \"garbage\"").await;
        assert_eq!(
            reason(&r),
            "report is not valid UTF-8 (invalid byte at offset 0)",
            "{runner}"
        );
    }
}

#[tokio::test]
async fn huge_report_becomes_unknown_over_the_cap() {
    let size = 2 * 1024 * 1024 + r#"{"status":"ok","summary":""}"#.len();
    for runner in RUNNERS {
        let r = run(runner, "behavior = \"huge\"").await;
        assert_eq!(
            reason(&r),
            format!("report too large: {size} bytes, over the 1 MiB limit"),
            "{runner}"
        );
    }
}

#[tokio::test]
async fn invalid_json_and_unknown_status_become_unknown() {
    for runner in RUNNERS {
        let r = run(runner, "raw = '{\"status\": \"ok\", '").await;
        assert!(
            reason(&r).starts_with(
                "report is not valid JSON: EOF while parsing a value at line 1 column 17"
            ),
            "{runner}: {r:?}"
        );
        let r = run(runner, "raw = '{\"status\": \"fine\", \"summary\": \"x\"}'").await;
        assert!(
            reason(&r).starts_with(
                "report has an invalid status: unknown variant `fine`, expected one of"
            ),
            "{runner}: {r:?}"
        );
        // Unknown fields are ignored (forward compatibility).
        let r = run(
            runner,
            "raw = '{\"status\": \"ok\", \"summary\": \"x\", \"v2_field\": [1]}'",
        )
        .await;
        assert_eq!(
            (r.status, r.summary.as_str()),
            (Status::Ok, "x"),
            "{runner}"
        );
    }
}

#[tokio::test]
async fn create_error_and_bad_config_become_unknown_with_the_plugins_message() {
    for runner in RUNNERS {
        let r = run(runner, "behavior = \"create-error\"").await;
        assert_eq!(
            reason(&r),
            "plugin rejected its config: mock told to fail in create (behavior = \"create-error\")"
        );
        let r = run(runner, "stauts = \"ok\"").await;
        assert!(
            reason(&r)
                .starts_with("plugin rejected its config: mock config: unknown field `stauts`"),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn slow_check_is_cut_at_the_timeout_and_honours_the_cancel_flag() {
    for runner in RUNNERS {
        let e = one(runner, "300ms", "delay_ms = 60000").await;
        let r = e.probes[0].run_once().await;
        assert_eq!(reason(&r), "timed out after 300ms", "{runner}");
        // The mock polls the cancel flag, so the instance is free again for the next run,
        // which is cut at its timeout too (not refused as busy).
        let r = e.probes[0].run_once().await;
        assert_eq!(reason(&r), "timed out after 300ms", "{runner}");
        e.shutdown().await;
    }
}

#[tokio::test]
async fn in_process_hang_is_abandoned_and_the_instance_stays_busy() {
    let e = one("in-process", "200ms", "behavior = \"hang\"").await;
    assert_eq!(
        reason(&e.probes[0].run_once().await),
        "timed out after 200ms"
    );
    // The next check waits half its timeout for the instance, then gives up.
    assert_eq!(
        reason(&e.probes[0].run_once().await),
        "instance still busy: an earlier check has not returned (it was abandoned after its timeout)"
    );
    // Shutdown abandons the hung instance instead of waiting for it.
    e.shutdown().await;
}

#[tokio::test]
async fn isolated_segfault_and_abort_kill_only_the_child() {
    for (behavior, signal) in [("segfault", "SIGSEGV"), ("abort", "SIGABRT")] {
        let r = run("process", &format!("behavior = \"{behavior}\"")).await;
        assert_eq!(reason(&r), format!("probe host died: {signal}"));
    }
    // And this process is still here to tell.
}

/// A plugin that forks a helper holding the host's stdout, then dies: the core must report
/// the death (not wait for the pipe to close and call it a timeout) and kill the helper.
#[tokio::test]
async fn a_dead_host_takes_what_its_plugin_forked_with_it() {
    let dir = scratch("runners-fork");
    let pid_file = dir.join("child.pid");
    let r = run(
        "process",
        &format!(
            "behavior = \"fork-abort\"\nchild_pid_file = \"{}\"",
            pid_file.display()
        ),
    )
    .await;
    assert_eq!(reason(&r), "probe host died: SIGABRT", "{r:?}");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("the mock wrote its child's pid")
        .trim()
        .parse()
        .unwrap();
    // The group was killed before the result was delivered; death after SIGKILL is
    // asynchronous, so wait for it on a pidfd (readable once the process has exited).
    // SAFETY: plain syscalls on a pid and the fd they return; the fd is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd >= 0 {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, 10_000) };
        // SAFETY: closes the pidfd opened above, once.
        unsafe { libc::close(fd) };
        assert_eq!(ready, 1, "the forked sleep {pid} outlived its host");
    } else {
        // ESRCH: already gone.
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ESRCH)
        );
    }
}

#[tokio::test]
async fn a_crashing_probe_never_takes_a_healthy_one_with_it() {
    let dir = scratch("runners-blame");
    let cfg = r#"
[[probe]]
id = "crashy"
plugin = "mock"
[probe.config]
behavior = "segfault"
delay_ms = 50

[[probe]]
id = "steady"
plugin = "mock"
[probe.config]
delay_ms = 200
"#;
    let e = engine(&dir, cfg, &[]).await;
    // Both in flight at once: the crash must only hit the probe that crashed.
    let (crashed, steady) = tokio::join!(e.probes[0].run_once(), e.probes[1].run_once());
    assert_eq!(reason(&crashed), "probe host died: SIGSEGV");
    assert_eq!(
        (steady.status, steady.summary.as_str()),
        (Status::Ok, "mock ok (run 1)"),
        "{steady:?}"
    );
    e.shutdown().await;
}

#[tokio::test]
async fn shared_process_probes_share_one_child_and_say_so_when_it_dies() {
    let dir = scratch("runners-shared");
    let cfg = r#"
[[probe]]
id = "crashy"
plugin = "mock"
isolation = "shared-process"
[probe.config]
behavior = "segfault"
delay_ms = 50

[[probe]]
id = "steady"
plugin = "mock"
isolation = "shared-process"
[probe.config]
delay_ms = 400

[[probe]]
id = "alone"
plugin = "mock"
[probe.config]
delay_ms = 400
"#;
    let e = engine(&dir, cfg, &[]).await;
    assert_eq!(e.probes[0].meta.isolation.as_str(), "shared-process");
    // One child for the two shared probes, another for the isolated one.
    assert_eq!(e.probes[1].run_once().await.summary, "mock ok (run 1)");
    assert_eq!(e.probes[2].run_once().await.summary, "mock ok (run 1)");
    let (a, b) = (e.probes[1].host_pid().await, e.probes[2].host_pid().await);
    assert!(a.is_some() && a != b, "{a:?} {b:?}");
    let (crashed, steady, alone) = tokio::join!(
        e.probes[0].run_once(),
        e.probes[1].run_once(),
        e.probes[2].run_once()
    );
    assert_eq!(e.probes[0].host_pid().await, None, "the shared child died");
    let shared = format!(
        "probe host died: SIGSEGV (the probe host was shared by every probe of {}: isolation = \"shared-process\")",
        mock_lib().display()
    );
    assert_eq!(reason(&crashed), shared);
    assert_eq!(
        reason(&steady),
        shared,
        "the report says why a healthy probe is UNKNOWN"
    );
    assert_eq!(
        (alone.status, alone.summary.as_str()),
        (Status::Ok, "mock ok (run 2)"),
        "an isolated probe of the same file is not touched"
    );
    e.shutdown().await;
}

#[tokio::test]
async fn a_dead_child_is_restarted_after_a_doubling_backoff() {
    let dir = scratch("runners-restart");
    let cfg = r#"
[[probe]]
id = "crashy"
plugin = "mock"
[probe.config]
behavior = "segfault"

[[probe]]
id = "steady"
plugin = "mock"
"#;
    let e = engine(&dir, cfg, &[]).await;
    let (crashy, steady) = (&e.probes[0], &e.probes[1]);
    assert_eq!(steady.run_once().await.summary, "mock ok (run 1)");
    assert_eq!(reason(&crashy.run_once().await), "probe host died: SIGSEGV");
    // Right after a death the child is not restarted at once.
    let r = crashy.run_once().await;
    assert!(
        reason(&r).starts_with("probe host died: SIGSEGV; restarting the probe host in "),
        "{r:?}"
    );
    // After the backoff it is restarted (and crashes again); the next backoff is doubled.
    tokio::time::sleep(restart_backoff(1)).await;
    assert_eq!(reason(&crashy.run_once().await), "probe host died: SIGSEGV");
    let r = crashy.run_once().await;
    assert!(
        reason(&r).contains("restarting the probe host in 2s")
            || reason(&r).contains("restarting the probe host in 1.9s"),
        "{r:?}"
    );
    // The healthy probe was never touched: same child, same instance, next run number.
    assert_eq!(steady.run_once().await.summary, "mock ok (run 2)");

    // A child killed from outside (the OOM killer, an operator) is replaced too, with a
    // fresh instance.
    let pid = steady.host_pid().await.unwrap();
    let mut deaths = steady.plugin_deaths().unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        deaths.wait_for(|n| *n >= 1),
    )
    .await
    .unwrap()
    .unwrap();
    let r = steady.run_once().await;
    assert!(
        reason(&r).starts_with("probe host died: SIGKILL; restarting the probe host in "),
        "{r:?}"
    );
    tokio::time::sleep(restart_backoff(1)).await;
    assert_eq!(steady.run_once().await.summary, "mock ok (run 1)");
    e.shutdown().await;
}

#[tokio::test]
async fn isolated_hang_times_out_then_its_child_is_killed_and_replaced() {
    let dir = scratch("runners-hang");
    let cfg = r#"
[[probe]]
id = "stuck"
plugin = "mock"
timeout = "300ms"
[probe.config]
behavior = "hang"

[[probe]]
id = "steady"
plugin = "mock"
"#;
    let e = engine(&dir, cfg, &[]).await;
    let (stuck, steady) = (&e.probes[0], &e.probes[1]);
    assert_eq!(reason(&stuck.run_once().await), "timed out after 300ms");
    // The hang ignores cancellation: after the grace period its child is killed. Await
    // that death as an event.
    let mut deaths = stuck.plugin_deaths().expect("isolated runner");
    tokio::time::timeout(CANCEL_GRACE * 5, deaths.wait_for(|n| *n >= 1))
        .await
        .expect("hung child killed")
        .unwrap();
    let r = stuck.run_once().await;
    assert!(
        reason(&r).starts_with(
            "probe host killed: probe \"stuck\" ignored cancellation for 2s after its timeout; restarting the probe host in "
        ),
        "{r:?}"
    );
    assert_eq!(
        steady.run_once().await.status,
        Status::Ok,
        "other probes keep reporting"
    );
    tokio::time::sleep(restart_backoff(1)).await;
    assert_eq!(
        reason(&stuck.run_once().await),
        "timed out after 300ms",
        "a new child runs the check again"
    );
    e.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_the_probe_host_children() {
    let e = one("process", "5s", "status = \"ok\"").await;
    assert_eq!(e.probes[0].run_once().await.status, Status::Ok);
    let pid = e.probes[0]
        .host_pid()
        .await
        .expect("a child serves the probe");
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists());
    e.shutdown().await;
    // Shutdown returns after the child exited and was reaped.
    assert!(
        !proc_dir.exists(),
        "probe host {pid} still exists after shutdown"
    );
    assert_eq!(e.probes[0].host_pid().await, None);
}
