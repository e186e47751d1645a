//! Case tables for the wua judge, on exports written the way the site database says
//! (LastScanState values of topic type 501), not the way the probe reads them.

use super::*;
use crate::gather::census;
use std::time::Duration;

const HEADER: &str = "ResourceID,Name0,LastScanTime,LastScanState,LastErrorCode,LastWUAVersion,LastScanPackageLocation\r\n";

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_182_312) // 2026-11-20 13:45:12
}

fn rules(expected: Option<&str>) -> Rules {
    Rules {
        min: "7.0.6000.363".parse().unwrap(),
        expected: expected.map(|v| (v.parse().unwrap(), format!("expected_version {v}"))),
        stale_days: 7,
        warn_percent: 5.0,
        crit_percent: 20.0,
        export: "scan.csv".into(),
    }
}

/// `rows`: (state, error code, version, days since the last scan) per client.
fn report(rows: &[(&str, &str, &str, i64)], expected: Option<&str>) -> Report {
    let mut text = HEADER.to_owned();
    let now_s = time::unix(now());
    for (i, (state, code, version, days)) in rows.iter().enumerate() {
        text.push_str(&format!(
            "{i},PC{i:03},{},{state},{code},{version},http://sup01:8530\r\n",
            time::format_timestamp(now_s - days * 86_400 - 60)
        ));
    }
    let dir = std::env::temp_dir().join(format!(
        "wua-judge-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scan.csv");
    std::fs::write(&path, text).unwrap();
    let r = rules(expected);
    let c = census(&path, &r).unwrap();
    judge(&c, &r, now(), None, &Overrides::NONE)
}

fn healthy(n: usize) -> Vec<(&'static str, &'static str, &'static str, i64)> {
    vec![("3", "0", "7.4.7600.226", 0); n]
}

fn get<'a>(r: &'a Report, id: &str) -> &'a Item {
    r.items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn a_failed_scan_state_is_a_failure_even_without_an_error_code() {
    // 90 completed (3), 6 failed (5) and 4 completed with errors (6), all with code 0.
    let mut rows = healthy(90);
    rows.extend(vec![("5", "0", "7.4.7600.226", 0); 6]);
    rows.extend(vec![("6", "0", "7.4.7600.226", 0); 4]);
    let r = report(&rows, None);
    let f = get(&r, "scan-errors");
    assert_eq!(f.status, Status::Warning, "{}", f.summary);
    assert_eq!(
        f.summary,
        "10 clients (10.0 %) failed their last scan: at or over the 5 % warning line"
    );
    let ids: Vec<&str> = f.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["state-5", "state-6"]);
    assert_eq!(
        f.items[0].title,
        "LastScanState 5 (failed) without an error code"
    );
    assert_eq!(r.status, Status::Warning);
    assert!(
        r.summary
            .starts_with("100 clients: 10 clients (10.0 %) failed"),
        "{}",
        r.summary
    );
}

#[test]
fn healthy_is_state_3_and_running_or_waiting_are_not_failures() {
    let mut rows = healthy(97);
    rows.push(("2", "0", "7.4.7600.226", 0));
    rows.push(("1", "0", "7.4.7600.226", 1));
    rows.push(("4", "0", "7.4.7600.226", 2));
    let r = report(&rows, None);
    assert_eq!(r.status, Status::Ok, "{}", r.summary);
    assert_eq!(
        get(&r, "scan-errors").summary,
        "no client failed their last scan"
    );
    assert!(get(&r, "pending").summary.starts_with(
        "1 client waiting for a catalog location (state 1), 1 client pending retry (state 4)"
    ));
}

#[test]
fn waiting_or_retrying_longer_than_stale_days_is_stale() {
    let mut rows = healthy(80);
    rows.extend(vec![("1", "0", "7.4.7600.226", 9); 10]);
    rows.extend(vec![("4", "0", "7.4.7600.226", 30); 10]);
    let r = report(&rows, None);
    let s = get(&r, "stale");
    assert_eq!(s.status, Status::Critical, "{}", s.summary);
    assert!(
        s.evidence
            .as_deref()
            .unwrap()
            .contains("waiting for a catalog location (1): 10, pending retry (4): 10")
    );
}

#[test]
fn an_error_code_counts_whatever_the_state() {
    let mut rows = healthy(99);
    rows.push(("3", "-2145107934", "7.4.7600.226", 0));
    let r = report(&rows, None);
    let f = get(&r, "scan-errors");
    assert_eq!(
        f.summary,
        "1 client (1.0 %) failed their last scan: under the 5 % warning line"
    );
    assert_eq!(
        f.items[0].title,
        "0x80244022 WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL"
    );
    assert_eq!(
        f.items[0].status,
        Status::Ok,
        "a row never disagrees with its group"
    );
}

#[test]
fn clients_below_the_expected_agent_are_judged_like_the_minimum() {
    // 90 on SP2's agent, 10 on 7.2.6001.788 (above the minimum, below the expected agent).
    let mut rows = healthy(90);
    rows.extend(vec![("3", "0", "7.2.6001.788", 0); 10]);
    let r = report(&rows, Some("7.4.7600.226"));
    let e = get(&r, "below-expected");
    assert_eq!(e.status, Status::Warning);
    assert_eq!(
        e.summary,
        "10 clients (10.0 %) below 7.4.7600.226, expected_version 7.4.7600.226: at or over the 5 % warning line"
    );
    assert_eq!(get(&r, "below-minimum").status, Status::Ok);
    let row = get(&r, "versions")
        .items
        .iter()
        .find(|i| i.id == "7.2.6001.788")
        .unwrap();
    assert_eq!(row.status, Status::Warning);
    assert_eq!(r.status, Status::Warning);
    // Without an expected version the same fleet is fine.
    assert_eq!(report(&rows, None).status, Status::Ok);
}

#[test]
fn the_minimum_stays_the_harder_line() {
    let mut rows = healthy(75);
    rows.extend(vec![("3", "0", "7.0.6000.100", 0); 25]);
    let r = report(&rows, Some("7.4.7600.226"));
    assert_eq!(get(&r, "below-minimum").status, Status::Critical);
    let e = get(&r, "below-expected");
    assert!(
        e.evidence
            .as_deref()
            .unwrap()
            .contains("25 of them also below the minimum"),
        "{:?}",
        e.evidence
    );
    assert!(
        r.summary.contains("below the minimum 7.0.6000.363"),
        "{}",
        r.summary
    );
}

#[test]
fn every_non_ok_item_says_what_was_seen_and_what_to_do() {
    let mut rows = healthy(50);
    rows.extend(vec![("5", "0", "7.0.6000.100", 30); 20]);
    rows.extend(vec![("3", "0x8024401C", "7.2.6001.788", 0); 20]);
    rows.extend(vec![("3", "0", "seven", 0); 10]);
    let r = report(&rows, Some("7.4.7600.226"));
    assert_eq!(r.status, Status::Critical);
    assert_eq!(
        patchdeck_kit::report::unexplained(&r.items),
        Vec::<String>::new()
    );
    for i in &r.items {
        if i.status != Status::Ok {
            assert!(
                i.summary.contains("line") || i.id == "versions" || i.id == "unparsable",
                "{}: {}",
                i.id,
                i.summary
            );
        }
    }
}

#[test]
fn an_empty_export_is_unknown_with_a_fix() {
    let r = report(&[], None);
    assert_eq!(r.status, Status::Unknown);
    assert_eq!(
        patchdeck_kit::report::unexplained(&r.items),
        Vec::<String>::new()
    );
}

/// The compliance scan runs once a week by default (1727d91e): a healthy fleet's last scans
/// spread over the past 7 days, and a client that was off for a week is 8-13 days old. With
/// the default line (14 days, twice the schedule) that fleet is OK; at 7 days it read
/// "~14 % not scanned".
#[test]
fn a_fleet_on_the_default_weekly_scan_is_not_stale() {
    use patchdeck_probe_api::sdk::Probe;
    let w = <crate::Wua as Probe>::create(
        serde_json::json!({"scan_status_csv": "x.csv"}),
        &patchdeck_probe_api::sdk::Host::detached(),
    )
    .ok()
    .unwrap();
    assert_eq!(w.rules.stale_days, 14);
    let mut rows = Vec::new();
    for i in 0..100 {
        // Scans spread over the week; every seventh client missed one (off for a week).
        let days = if i % 7 == 0 { 7 + i % 6 } else { i % 7 };
        rows.push(("3", "0", "7.4.7600.226", days));
    }
    let mut r = rules(None);
    r.stale_days = w.rules.stale_days;
    let text = write_rows(&rows);
    let c = census(&text, &r).unwrap();
    let rep = judge(&c, &r, now(), None, &Overrides::NONE);
    assert_eq!(rep.status, Status::Ok, "{}", rep.summary);
    assert_eq!(get(&rep, "stale").status, Status::Ok);
    assert!(
        rep.summary.contains("0 not scanned in 14 days"),
        "{}",
        rep.summary
    );
}

/// Windows 7 RTM's own agent 7.3.7600.16385 scans fine against WSUS 3.0 SP2; the SP2 <->
/// 7.4.7600.226 pairing has no source (KB949104 lists builds only): at most a warning.
#[test]
fn an_agent_below_the_wsus_levels_pairing_is_a_warning_at_most() {
    let rows = vec![("3", "0", "7.3.7600.16385", 0); 100];
    let r = report(&rows, Some("7.4.7600.226"));
    let e = get(&r, "below-expected");
    assert_eq!(e.status, Status::Warning, "{}", e.summary);
    assert_eq!(e.rule.as_deref(), Some("wua.version-below-wsus"));
    assert_eq!(r.status, Status::Warning);
    let fix = e.fix.as_deref().unwrap();
    assert!(
        fix.contains("Windows 7 gets its agent from Windows Update"),
        "{fix}"
    );
    assert!(fix.contains("KB949104"), "{fix}");
}

/// A client below the documented minimum is never shown on a ✔ OK row.
#[test]
fn one_client_below_the_minimum_is_a_warning_not_an_ok_row() {
    let mut rows = healthy(199);
    rows.push(("3", "0", "7.0.6000.100", 0));
    let r = report(&rows, None);
    let b = get(&r, "below-minimum");
    assert_eq!(b.status, Status::Warning, "{}", b.summary);
    assert_eq!(
        b.summary,
        "1 client below the ConfigMgr 2007 minimum 7.0.6000.363 (under the 20 % critical line)"
    );
    assert_eq!(r.status, Status::Warning);
    assert!(
        r.summary.contains("below the ConfigMgr 2007 minimum"),
        "{}",
        r.summary
    );
    // The version row carries the group's verdict and its fix, and the tree's fix is the
    // group's own (not an umbrella "see the rows").
    let versions = get(&r, "versions");
    assert_eq!(versions.fix, b.fix);
    assert_eq!(r.items[0].id, "below-minimum", "specific groups come first");
}

/// Unreadable versions alone: the WARNING's summary names them, never "all under the line".
#[test]
fn the_summary_names_unreadable_versions_when_they_are_the_cause() {
    let mut rows = healthy(90);
    rows.extend(vec![("3", "0", "seven", 0); 10]);
    let r = report(&rows, None);
    assert_eq!(r.status, Status::Warning);
    assert!(r.summary.contains("not a.b.c.d"), "{}", r.summary);
    assert!(!r.summary.contains("under the"), "{}", r.summary);
}

/// The documented export starts from v_R_System (Client0 = 1) with a LEFT JOIN: a client
/// that never scanned has NULL in every v_UpdateScanStatus column, and is counted.
#[test]
fn clients_that_never_scanned_are_counted_from_the_left_join() {
    let mut text = HEADER.to_owned();
    let now_s = time::unix(now());
    for i in 0..90 {
        text.push_str(&format!(
            "{i},PC{i:03},{},3,0,7.4.7600.226,http://sup01:8530\r\n",
            time::format_timestamp(now_s - 3600)
        ));
    }
    for i in 90..100 {
        text.push_str(&format!("{i},PC{i:03},NULL,NULL,NULL,NULL,NULL\r\n"));
    }
    let path = write_text(&text);
    let r = rules(None);
    let c = census(&path, &r).unwrap();
    let rep = judge(&c, &r, now(), None, &Overrides::NONE);
    let stale = get(&rep, "stale");
    assert_eq!(c.clients, 100);
    assert!(
        stale.summary.contains("10 never scanned"),
        "{}",
        stale.summary
    );
    assert_eq!(stale.status, Status::Warning);
}

/// Overrides: the operator turns the pairing rule off; the summary follows the new status.
#[test]
fn a_rule_turned_off_leaves_an_ok_report_that_says_so() {
    let rows = vec![("3", "0", "7.3.7600.16385", 0); 100];
    let r = rules(Some("7.4.7600.226"));
    let c = census(&write_rows(&rows), &r).unwrap();
    let off = Overrides::NONE.with(
        "wua.version-below-wsus",
        patchdeck_probe_api::rules::Level::Off,
    );
    let rep = judge(&c, &r, now(), None, &off);
    assert_eq!(rep.status, Status::Ok, "{}", rep.summary);
    let e = get(&rep, "below-expected");
    assert!(
        e.summary.starts_with("turned off by config"),
        "{}",
        e.summary
    );
    assert!(e.evidence.as_deref().unwrap().contains("[probe.rules]"));
}

fn write_text(text: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wua-judge-x-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scan.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn write_rows(rows: &[(&str, &str, &str, i64)]) -> std::path::PathBuf {
    let mut text = HEADER.to_owned();
    let now_s = time::unix(now());
    for (i, (state, code, version, days)) in rows.iter().enumerate() {
        text.push_str(&format!(
            "{i},PC{i:03},{},{state},{code},{version},http://sup01:8530\r\n",
            time::format_timestamp(now_s - days * 86_400 - 60)
        ));
    }
    write_text(&text)
}
