//! The real `wua` plugin (.so, isolated) on v_UpdateScanStatus exports: hand-written ones
//! with exact expectations, and sitesim-generated fleets.

use patchdeck_probe_api::{Item, Status};
use patchdeck_sitesim::exports::{Encoding, ScanStatus, write_scan_status};
use patchdeck_tests::*;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn ts(unix: i64) -> String {
    patchdeck_sitesim::exports::timestamp(unix)
}

async fn run(csv: &Path, extra: &str) -> patchdeck_core::store::CheckResult {
    let dir = scratch("wua");
    let cfg = format!(
        "[[probe]]\nid = \"wua\"\nplugin = \"wua\"\ntimeout = \"30s\"\n[probe.config]\nscan_status_csv = \"{}\"\n{extra}\n",
        csv.display()
    );
    check_once(&dir, &cfg).await
}

fn item<'a>(items: &'a [Item], id: &str) -> &'a Item {
    items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no item {id}: {items:?}"))
}

const HEADER: &str = "ResourceID,Name0,LastScanTime,LastScanState,LastErrorCode,LastWUAVersion,LastScanPackageLocation\r\n";

#[tokio::test]
async fn an_exact_fleet_is_counted_exactly() {
    let fresh = ts(now() - 3600);
    let old = ts(now() - 20 * 86_400);
    let sup = "http://SUP01:8530/ClientWebService/client.asmx";
    // LastScanState as the site database stores it (topic type 501): 3 completed, 5 failed,
    // 6 completed with errors, 1 waiting for catalog location.
    let rows = [
        format!("1,PC01,{fresh},3,0,7.4.7600.226,{sup}"),
        format!("2,PC02,{fresh},3,0,7.4.7600.226,{sup}"),
        format!("3,PC03,{fresh},3,0,7.4.7600.226,{sup}"),
        format!("4,PC04,{fresh},5,-2145107934,7.4.7600.226,{sup}"),
        format!("5,PC05,{fresh},5,-2145107934,7.4.7600.226,{sup}"),
        format!("6,PC06,{fresh},6,0x8024FFFF,7.4.7600.226,{sup}"),
        format!("7,PC07,{fresh},3,0,7.10.0.1,{sup}"),
        format!("8,PC08,{old},3,0,7.0.6000.363,{sup}"),
        format!("9,PC09,NULL,1,0,7.0.6000.362,{sup}"),
        format!("10,PC10,{fresh},3,0,seven,{sup}"),
        format!("10,PC10,{fresh},3,0,seven,{sup}"),
        // Failed with no error code stored: still a failed scan.
        format!("11,PC11,{fresh},5,0,7.4.7600.226,{sup}"),
    ];
    let dir = scratch("wua-exact");
    let csv = dir.join("scan.csv");
    std::fs::write(
        &csv,
        format!(
            "{HEADER}{}\r\n\r\n(11 rows affected)\r\n",
            rows.join("\r\n")
        ),
    )
    .unwrap();
    let r = run(&csv, "expected_version = \"7.4.7600.226\"").await;
    assert_eq!(
        r.summary,
        "11 clients: 4 clients (36.4 %) failed their last scan: at or over the 20 % critical line",
        "{r:?}"
    );
    assert_eq!(r.status, Status::Critical);
    let rep = r.report.unwrap();
    assert_eq!(
        patchdeck_kit_unexplained(&rep.items),
        Vec::<String>::new(),
        "every non-OK item has evidence and a fix"
    );
    let versions = item(&rep.items, "versions");
    let order: Vec<&str> = versions.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        order,
        [
            "7.10.0.1",
            "7.4.7600.226",
            "7.0.6000.363",
            "7.0.6000.362",
            "unparsable"
        ],
        "numeric order, newest first"
    );
    assert_eq!(
        item(&versions.items, "7.4.7600.226").summary,
        "7 clients (63.6 %)"
    );
    let at_min = item(&versions.items, "7.0.6000.363");
    assert_eq!(
        (at_min.status, at_min.summary.as_str()),
        (
            Status::Warning,
            "1 client (9.1 %) · counted in \"Below 7.4.7600.226\""
        ),
        "the minimum itself meets the minimum, but not the expected agent"
    );
    assert_eq!(
        item(&versions.items, "7.0.6000.362").status,
        Status::Warning,
        "the row carries its group's verdict"
    );
    let unparsable = item(&versions.items, "unparsable");
    assert_eq!(
        (
            unparsable.details[0].label.as_str(),
            unparsable.details[0].value.as_str()
        ),
        ("PC10", "seven")
    );

    let below = item(&rep.items, "below-minimum");
    assert_eq!(
        (below.status, below.summary.as_str()),
        (
            Status::Warning,
            "1 client (9.1 %) below the minimum 7.0.6000.363: at or over the 5 % warning line"
        )
    );
    assert_eq!(below.details[0].label, "PC09");
    let expected = item(&rep.items, "below-expected");
    assert_eq!(expected.status, Status::Warning, "{}", expected.summary);

    let errors = item(&rep.items, "scan-errors");
    assert_eq!(
        (errors.status, errors.summary.as_str()),
        (
            Status::Critical,
            "4 clients (36.4 %) failed their last scan: at or over the 20 % critical line"
        )
    );
    let e503 = item(&errors.items, "0x80244022");
    assert_eq!(e503.title, "0x80244022 WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL");
    assert_eq!(e503.summary, "2 clients · HTTP 503: WsusPool stopped?");
    assert!(e503.fix.as_deref().unwrap().contains("WsusPool"));
    assert_eq!(
        item(&errors.items, "0x8024FFFF").summary,
        "1 client · unknown code",
        "unknown codes kept, in hex"
    );
    assert_eq!(
        item(&errors.items, "state-5").title,
        "LastScanState 5 (failed) without an error code"
    );

    let stale = item(&rep.items, "stale");
    assert_eq!(
        stale.summary,
        "2 clients (18.2 %) not scanned for 14 days (1 never scanned): at or over the 5 % warning line"
    );
    let names: Vec<&str> = stale.details.iter().map(|d| d.label.as_str()).collect();
    assert!(
        names.contains(&"PC08") && names.contains(&"PC09"),
        "{names:?}"
    );
    assert!(
        rep.details
            .iter()
            .any(|d| d.label == "Duplicate rows" && d.value == "1 ignored")
    );
}

/// Non-OK items without evidence or fix, at any depth.
fn patchdeck_kit_unexplained(items: &[Item]) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        if i.status != Status::Ok && (i.evidence.is_none() || i.fix.is_none()) {
            out.push(i.id.clone());
        }
        out.extend(patchdeck_kit_unexplained(&i.items));
    }
    out
}

#[tokio::test]
async fn wsus_level_sp2_expects_the_sp2_agent() {
    let dir = scratch("wua-level");
    let fresh = ts(now() - 60);
    let mut text = HEADER.to_owned();
    for i in 0..10 {
        let v = if i < 2 {
            "7.2.6001.788"
        } else {
            "7.4.7600.226"
        };
        text.push_str(&format!("{i},PC{i},{fresh},3,0,{v},http://sup01:8530\r\n"));
    }
    let csv = dir.join("scan.csv");
    std::fs::write(&csv, text).unwrap();
    let r = run(&csv, "wsus_level = \"SP2\"").await;
    // No page pairs an agent build with a WSUS level: at or over the critical line this is
    // still a warning.
    assert_eq!(r.status, Status::Warning, "{}", r.summary);
    assert_eq!(
        r.summary,
        "10 clients: 2 clients (20.0 %) below 7.4.7600.226, the agent of WSUS 3.0 SP2: at or over the 20 % critical line"
    );
}

fn fleet(dir: &Path, total: usize, below: usize) -> std::path::PathBuf {
    let fresh = ts(now() - 60);
    let mut text = HEADER.to_owned();
    for i in 0..total {
        let v = if i < below {
            "7.0.6000.100"
        } else {
            "7.4.7600.226"
        };
        text.push_str(&format!("{i},PC{i},{fresh},3,0,{v},http://sup01:8530\r\n"));
    }
    let p = dir.join(format!("fleet-{below}.csv"));
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn below_minimum_thresholds_at_their_edges() {
    let dir = scratch("wua-edges");
    // Any client below the documented minimum is a warning (never an OK row); the
    // critical line is crit_percent.
    for (below, status) in [
        (0, Status::Ok),
        (1, Status::Warning),
        (4, Status::Warning),
        (5, Status::Warning),
        (19, Status::Warning),
        (20, Status::Critical),
    ] {
        let r = run(&fleet(&dir, 100, below), "").await;
        assert_eq!(r.status, status, "{below} of 100 below: {}", r.summary);
    }
    let r = run(
        &fleet(&dir, 100, 25),
        "warn_percent = 10\ncrit_percent = 50",
    )
    .await;
    assert_eq!(r.status, Status::Warning);
}

#[tokio::test]
async fn a_generated_30000_client_fleet_in_utf16_with_tabs() {
    let dir = scratch("wua-fleet");
    let csv = dir.join("scan.tsv");
    let o = ScanStatus {
        clients: 30_000,
        seed: 2010,
        site: "ABC".into(),
        sups: vec!["http://SUP01:8530".into()],
        now: now(),
        encoding: Encoding::Utf16LeTab,
        healthy: false,
    };
    write_scan_status(&csv, &o).unwrap();
    let r = run(&csv, "expected_version = \"7.4.7600.226\"").await;
    assert!(r.summary.starts_with("30,000 clients"), "{}", r.summary);
    let rep = r.report.unwrap();
    let below = item(&rep.items, "below-minimum");
    assert!(
        below
            .summary
            .contains(" below the ConfigMgr 2007 minimum 7.0.6000.363"),
        "{}",
        below.summary
    );
    assert_eq!(below.status, Status::Warning);
    let errors = item(&rep.items, "scan-errors");
    assert!(
        errors.items.len() >= 5,
        "error codes grouped: {:?}",
        errors.items.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    assert!(
        rep.details.iter().any(|d| d.label == "Duplicate rows"),
        "sitesim writes a few duplicate rows"
    );
    // The same export in UTF-8 with a BOM and commas gives the same verdict.
    let csv8 = dir.join("scan.csv");
    write_scan_status(
        &csv8,
        &ScanStatus {
            encoding: Encoding::Utf8BomComma,
            healthy: false,
            ..o
        },
    )
    .unwrap();
    let r8 = run(&csv8, "expected_version = \"7.4.7600.226\"").await;
    assert_eq!(r8.summary, r.summary);
}

#[tokio::test]
async fn bad_exports_are_unknown_with_path_line_and_column() {
    let dir = scratch("wua-bad");
    let missing = dir.join("nope.csv");
    let r = run(&missing, "").await;
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.summary.starts_with(&format!(
            "probe failed: {}: No such file or directory",
            missing.display()
        )),
        "{}",
        r.summary
    );

    let csv = dir.join("cols.csv");
    std::fs::write(&csv, "ResourceID,Name0\r\n1,PC1\r\n").unwrap();
    let r = run(&csv, "").await;
    assert!(
        r.summary.contains(&format!(
            "{}:1: missing column `LastScanTime`",
            csv.display()
        )),
        "{}",
        r.summary
    );

    let csv = dir.join("time.csv");
    std::fs::write(
        &csv,
        format!("{HEADER}1,PC1,last tuesday,2,0,7.4.7600.226,x\r\n"),
    )
    .unwrap();
    let r = run(&csv, "").await;
    assert!(
        r.summary.contains(&format!("{}:2: column `LastScanTime`: expected a time like 2026-11-20 13:45:12.000, got \"last tuesday\"", csv.display())),
        "{}",
        r.summary
    );

    let r = run(&fleet(&dir, 3, 0), "min_version = \"seven\"").await;
    assert!(
        r.summary.starts_with(
            "plugin rejected its config: field `min_version`: \"seven\" is not a version"
        ),
        "{}",
        r.summary
    );
}

#[tokio::test]
async fn an_export_too_old_to_judge_is_unknown_naming_it() {
    let dir = scratch("wua-old");
    let csv = fleet(&dir, 10, 0);
    let f = std::fs::File::options().write(true).open(&csv).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3 * 86_400))
        .unwrap();
    let r = run(&csv, "").await;
    // Never "clients not scanned": the export cannot say.
    assert_eq!(r.status, Status::Unknown, "{}", r.summary);
    assert_eq!(
        r.summary,
        format!(
            "export too old to judge: {} written 72 h ago (max_export_age_hours 26)",
            csv.display()
        )
    );
    assert_eq!(
        r.report.unwrap().items[0].rule.as_deref(),
        Some("wua.export")
    );
}

/// Ages are judged at the time the export was taken: clients that scanned 13.5 days before
/// an export written 3 days ago are within the 14-day line (judged at the time of reading
/// they would be 16.5 days old: stale).
#[tokio::test]
async fn client_ages_are_judged_at_the_exports_time() {
    let dir = scratch("wua-taken");
    let taken = SystemTime::now() - Duration::from_secs(3 * 86_400);
    let taken_s = taken
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let scanned = ts(taken_s - 13 * 86_400 - 12 * 3600);
    let mut text = HEADER.to_owned();
    for i in 0..10 {
        text.push_str(&format!(
            "{i},PC{i},{scanned},3,0,7.4.7600.226,http://sup01:8530\r\n"
        ));
    }
    let csv = dir.join("scan.csv");
    std::fs::write(&csv, text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&csv)
        .unwrap()
        .set_modified(taken)
        .unwrap();
    let r = run(&csv, "max_export_age_hours = 100").await;
    assert_eq!(r.status, Status::Ok, "{}", r.summary);
}

/// Ages are judged at the manifest's TakenUtc: a file copied yesterday (fresh mtime) whose
/// manifest says the data was taken 3 days ago is too old to judge, never "not scanned".
#[tokio::test]
async fn the_manifest_time_is_when_the_data_was_taken() {
    let dir = scratch("wua-manifest");
    let csv = fleet(&dir, 10, 0);
    let name = csv.file_name().unwrap().to_str().unwrap().to_owned();
    let taken = patchdeck_sitesim::exports::timestamp(now() - 3 * 86_400);
    std::fs::write(
        dir.join("exports.csv"),
        format!("File,Rows,TakenUtc,SiteCode,KitVersion\r\n{name},10,{taken},ABC,1\r\n"),
    )
    .unwrap();
    let r = run(&csv, "").await;
    assert_eq!(r.status, Status::Unknown, "{}", r.summary);
    assert!(
        r.summary.starts_with("export too old to judge: "),
        "{}",
        r.summary
    );
    // The manifest says 11 rows: the file is incomplete, not judged.
    let taken = patchdeck_sitesim::exports::timestamp(now() - 3600);
    std::fs::write(
        dir.join("exports.csv"),
        format!("File,Rows,TakenUtc,SiteCode,KitVersion\r\n{name},11,{taken},ABC,1\r\n"),
    )
    .unwrap();
    let r = run(&csv, "").await;
    assert_eq!(r.status, Status::Unknown, "{}", r.summary);
    assert!(r.summary.contains("export incomplete: "), "{}", r.summary);
}
