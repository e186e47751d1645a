//! Case tables for the wsus judge.

use super::*;
use crate::gather;
use patchdeck_kit::http::HttpError;
use std::collections::{BTreeMap, BTreeSet};

const NOW: i64 = 1_795_182_312;
const H: i64 = 3600;

fn sync_facts(ok: Option<i64>, fail: Option<i64>, sites: &[&str], others: &[(&str, u64)]) -> Sync {
    Sync {
        taken: Some(NOW),
        last_ok: ok.map(|h| NOW - h * H),
        last_fail: fail.map(|h| NOW - h * H),
        sites: sites.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        other_sites: others
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect::<BTreeMap<_, _>>(),
    }
}

const D: i64 = 24;

/// ConfigMgr 2007's default: a simple schedule of 7 days (Sync Schedule page, 7133d061),
/// judged with the default lines (schedule + a day; critical past a second missed run).
fn default_policy() -> SyncPolicy {
    SyncPolicy {
        schedule: (7 * D * H, "7d".into()),
        default_schedule: true,
        max_age: (8 * D * H, "the schedule plus a day (192 h)".into()),
    }
}

#[test]
fn sync_verdicts_on_the_default_weekly_schedule() {
    let p = default_policy();
    let cases: &[(Sync, Option<&str>, Status, &str)] = &[
        (
            sync_facts(Some(2), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Ok,
            "last sync succeeded (6702) 2 h ago; schedule every 7d (the ConfigMgr 2007 default)",
        ),
        // Six and a half days after the weekly sync: a healthy default site (once WARNING
        // after 26 h and CRITICAL after 52 h, most of every week).
        (
            sync_facts(Some(6 * D + 12), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Ok,
            "last sync succeeded (6702) 6 d 12 h ago; schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            sync_facts(Some(7 * D + 20), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Ok,
            "last sync succeeded (6702) 7 d 20 h ago; schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            sync_facts(Some(9 * D), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Warning,
            "last successful sync (6702) was 9 d 0 h ago: over the schedule plus a day (192 h) for a schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            sync_facts(Some(16 * D), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Critical,
            "last successful sync (6702) was 16 d 0 h ago: a second scheduled sync was missed for a schedule every 7d (the ConfigMgr 2007 default)",
        ),
        (
            sync_facts(Some(20), Some(1), &["ABC"], &[]),
            Some("ABC"),
            Status::Warning,
            "last sync failed (6703) 1 h ago; last success 20 h ago",
        ),
        (
            sync_facts(None, Some(1), &["ABC"], &[("XYZ", 4)]),
            Some("ABC"),
            Status::Critical,
            "no successful sync (6702) in the status messages",
        ),
        // Two sites and no site_code: another site's success must not make this one green.
        (
            sync_facts(Some(1), None, &["ABC", "XYZ"], &[]),
            None,
            Status::Warning,
            "several sites in the export (ABC, XYZ): set site_code; across them: last sync succeeded (6702) 1 h ago; schedule every 7d (the ConfigMgr 2007 default)",
        ),
    ];
    for (facts, site, status, summary) in cases {
        let it = sync(&Ok(facts.clone()), &p, *site, NOW);
        assert_eq!(
            (it.status, it.summary.as_str()),
            (*status, *summary),
            "{facts:?}"
        );
        assert_eq!(it.fix.is_some(), *status != Status::Ok);
        assert_eq!(it.rule.is_some(), *status != Status::Ok);
    }
    // A daily schedule set by the operator: 30 h is late.
    let daily = SyncPolicy {
        schedule: (D * H, "1d".into()),
        default_schedule: false,
        max_age: (2 * D * H, "the schedule plus a day (48 h)".into()),
    };
    let it = sync(
        &Ok(sync_facts(Some(50), None, &["ABC"], &[])),
        &daily,
        Some("ABC"),
        NOW,
    );
    assert_eq!(it.status, Status::Warning, "{}", it.summary);
    assert!(
        it.summary.ends_with("every 1d (sync_schedule)"),
        "{}",
        it.summary
    );
    // The fix never tells a child site to run a manual sync without saying it cannot.
    let late = sync(
        &Ok(sync_facts(Some(9 * D), None, &["ABC"], &[])),
        &p,
        Some("ABC"),
        NOW,
    );
    let fix = late.fix.unwrap();
    assert!(fix.contains("a child site cannot sync by hand"), "{fix}");
    assert_eq!(late.rule.as_deref(), Some("wsus.sync-age"));
}

#[test]
fn sync_failure_and_export_errors_name_their_rules() {
    let p = default_policy();
    let it = sync(
        &Ok(sync_facts(None, Some(1), &["ABC"], &[("XYZ", 4)])),
        &p,
        Some("ABC"),
        NOW,
    );
    assert_eq!(it.rule.as_deref(), Some("wsus.sync-never"));
    assert!(
        it.details
            .iter()
            .any(|d| d.label == "Other sites' rows (ignored)" && d.value == "XYZ: 4")
    );
    let it = sync(&Err("x.csv:3: bad".into()), &p, None, NOW);
    assert_eq!(
        (it.status, it.rule.as_deref()),
        (Status::Unknown, Some("wsus.export"))
    );
}

fn read(found: Option<(&str, &str)>) -> gather::Console {
    gather::Console::Read {
        server: "SITE01".into(),
        found: found.map(|(n, v)| (n.to_owned(), v.to_owned())),
        inventoried: true,
    }
}

#[test]
fn console_verdicts() {
    let sp2 = "Windows Server Update Services 3.0 SP2";
    let cases: &[(gather::Console, Option<&str>, Status, &str)] = &[
        (
            read(Some((sp2, "3.2.7600.226"))),
            Some("3.2"),
            Status::Ok,
            "installed on SITE01 (WSUS 3.0 SP2)",
        ),
        // Version0 empty: the DisplayName names the level.
        (
            read(Some((sp2, ""))),
            Some("3.2"),
            Status::Ok,
            "installed on SITE01 (WSUS 3.0 SP2)",
        ),
        (
            read(Some(("Windows Server Update Services 3.0 SP1", ""))),
            Some("3.2"),
            Status::Critical,
            "console is WSUS 3.0 SP1, the server is SP2: the service-pack levels must match",
        ),
        (
            read(Some(("Windows Server Update Services 3.0", ""))),
            None,
            Status::Critical,
            "console is WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs the SP1 or SP2 console",
        ),
        // Neither tells: cannot tell is a warning, not a failure.
        (
            read(Some(("Windows Server Update Services 3.0 (x64)", ""))),
            Some("3.2"),
            Status::Warning,
            "installed on SITE01, but its service-pack level cannot be told from \"Windows Server Update Services 3.0 (x64)\"",
        ),
        (
            read(None),
            Some("3.2"),
            Status::Critical,
            "not installed on the site server SITE01: it cannot configure or synchronise the remote SUP",
        ),
        // No row at all for the site server: not inventoried is not "not installed".
        (
            gather::Console::Read {
                server: "SITE01".into(),
                found: None,
                inventoried: false,
            },
            Some("3.2"),
            Status::Unknown,
            "no inventory for SITE01: cannot tell whether the console is installed",
        ),
    ];
    for (c, pv, status, summary) in cases {
        let it = console(c, *pv);
        assert_eq!(
            (it.status, it.summary.as_str()),
            (*status, *summary),
            "{c:?}"
        );
        assert_eq!(
            it.fix.is_some() && it.evidence.is_some(),
            *status != Status::Ok,
            "{c:?}"
        );
    }
}

#[test]
fn the_console_is_needed_unless_the_sup_is_on_the_site_server() {
    let dir = std::env::temp_dir().join(format!("wsus-console-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("programs.csv");
    std::fs::write(&csv, "Name0,DisplayName0,Version0\r\n").unwrap();
    let needed = |server: &str, url: &str| {
        !matches!(
            gather::console(&csv, server, url),
            gather::Console::NotNeeded { .. }
        )
    };
    assert!(
        needed("10.1.2.3", "http://10.1.2.4:8530"),
        "IP addresses compare whole"
    );
    assert!(!needed("10.1.2.3", "http://10.1.2.3:8530"));
    assert!(
        !needed("SITE01", "http://site01.corp.example:8530"),
        "short name = its FQDN"
    );
    assert!(needed("SITE01", "http://sup01.corp.example:8530"));
}

fn item_named(id: &str, status: Status, summary: &str) -> Item {
    item(id, id.to_uppercase(), status, summary)
}

#[test]
fn the_summary_names_the_worst_cause() {
    let ok = |id: &str| item_named(id, Status::Ok, "fine");
    let version = item_named("version", Status::Ok, "WSUS 3.0 SP2");
    let items = vec![ok("client"), version.clone(), ok("simpleauth")];
    assert_eq!(
        summary(&items, Some("3.2"), Some(41.2)),
        "WSUS 3.0 SP2 (protocol 3.2) · all 3 checks OK · 41 ms"
    );
    let items = vec![
        ok("client"),
        version.clone(),
        item_named("selfupdate-80", Status::Critical, "HEAD answered HTTP 404"),
    ];
    assert_eq!(
        summary(&items, Some("3.2"), None),
        "WSUS 3.0 SP2 (protocol 3.2) · SELFUPDATE-80: HEAD answered HTTP 404"
    );
    let rtm = item_named(
        "version",
        Status::Critical,
        "WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs WSUS 3.0 SP1 or SP2",
    );
    let items = vec![item_named("client", Status::Critical, "HTTP 500"), rtm];
    assert_eq!(
        summary(&items, Some("3.0"), None),
        "WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs WSUS 3.0 SP1 or SP2",
        "the version names the server's state first"
    );
}

#[test]
fn self_update_verdicts_carry_evidence_and_fix() {
    let s = gather::SelfUpdate {
        url: "http://sup01/selfupdate/wuident.cab".into(),
        head: Ok((200, Some(8192))),
        range: Some(("bytes=0-99".into(), Ok(200))),
    };
    let it = selfupdate("selfupdate-80", "Self-update (port 80)", &s);
    assert_eq!(it.status, Status::Critical);
    assert_eq!(
        it.evidence.as_deref(),
        Some(
            "HEAD http://sup01/selfupdate/wuident.cab -> 200, Content-Length 8192; GET Range bytes=0-99 -> 200"
        )
    );
    assert!(it.fix.as_deref().unwrap().contains("port 80"));
    // The item for the WSUS site's own port names that port, not port 80.
    let on_8530 = gather::SelfUpdate {
        url: "http://sup01:8530/selfupdate/wuident.cab".into(),
        ..s.clone()
    };
    let fix = selfupdate("selfupdate", "x", &on_8530).fix.unwrap();
    assert!(fix.contains("on the WSUS web site, port 8530"), "{fix}");
    assert!(!fix.contains("port 80 "), "{fix}");
    let late = gather::SelfUpdate {
        head: Err(HttpError::OutOfTime),
        range: None,
        ..s
    };
    assert_eq!(selfupdate("selfupdate", "x", &late).status, Status::Unknown);
}
