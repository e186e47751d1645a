//! Case tables for the wsus judge.

use super::*;
use crate::gather;
use std::collections::{BTreeMap, BTreeSet};

const NOW: i64 = 1_795_182_312;
const H: i64 = 3600;

fn sync_facts(ok: Option<i64>, fail: Option<i64>, sites: &[&str], others: &[(&str, u64)]) -> Sync {
    Sync {
        last_ok: ok.map(|h| NOW - h * H),
        last_fail: fail.map(|h| NOW - h * H),
        sites: sites.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        other_sites: others
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn sync_verdicts() {
    let day = (26 * H, "26h");
    let cases: &[(Sync, Option<&str>, Status, &str)] = &[
        (
            sync_facts(Some(2), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Ok,
            "last sync succeeded (6702) 2 h ago",
        ),
        (
            sync_facts(Some(20), Some(1), &["ABC"], &[]),
            Some("ABC"),
            Status::Warning,
            "last sync failed (6703) 1 h ago; last success 20 h ago",
        ),
        (
            sync_facts(Some(30), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Warning,
            "last successful sync (6702) was 30 h ago, over sync_max_age 26h",
        ),
        (
            sync_facts(Some(60), None, &["ABC"], &[]),
            Some("ABC"),
            Status::Critical,
            "last successful sync (6702) was 60 h ago, over sync_max_age 26h",
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
            "several sites in the export (ABC, XYZ): set site_code; across them: last sync succeeded (6702) 1 h ago",
        ),
        (
            sync_facts(Some(1), None, &["ABC"], &[]),
            None,
            Status::Ok,
            "last sync succeeded (6702) 1 h ago",
        ),
    ];
    for (facts, site, status, summary) in cases {
        let it = sync(&Ok(facts.clone()), day, *site, NOW);
        assert_eq!(
            (it.status, it.summary.as_str()),
            (*status, *summary),
            "{facts:?}"
        );
        assert_eq!(it.fix.is_some(), *status != Status::Ok);
    }
    let it = sync(
        &Ok(sync_facts(None, Some(1), &["ABC"], &[("XYZ", 4)])),
        day,
        Some("ABC"),
        NOW,
    );
    assert!(
        it.details
            .iter()
            .any(|d| d.label == "Other sites' rows (ignored)" && d.value == "XYZ: 4")
    );
    // A huge limit never wraps into a verdict.
    let it = sync(
        &Ok(sync_facts(Some(1000), None, &["ABC"], &[])),
        (i64::MAX, "huge"),
        Some("ABC"),
        NOW,
    );
    assert_eq!(it.status, Status::Ok);
}

fn read(found: Option<(&str, &str)>) -> gather::Console {
    gather::Console::Read {
        server: "SITE01".into(),
        found: found.map(|(n, v)| (n.to_owned(), v.to_owned())),
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
    let late = gather::SelfUpdate {
        head: Err(HttpError::OutOfTime),
        range: None,
        ..s
    };
    assert_eq!(selfupdate("selfupdate", "x", &late).status, Status::Unknown);
}
