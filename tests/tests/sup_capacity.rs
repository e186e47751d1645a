//! The real `sup-capacity` plugin (.so, isolated) on scan-status exports, with NLB nodes
//! served by sitesim WSUS servers on loopback.

use patchdeck_probe_api::{Item, Status};
use patchdeck_sitesim::scenario::WsusSpec;
use patchdeck_sitesim::site::wsus_answer;
use patchdeck_tests::*;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

fn stamp(days_ago: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    patchdeck_sitesim::exports::timestamp(now - days_ago * 86_400)
}

/// An export with `n` clients per (location, days since last scan).
fn export(dir: &Path, groups: &[(&str, usize, i64)]) -> PathBuf {
    let mut text = "ResourceID,Name0,LastScanTime,LastScanState,LastErrorCode,LastWUAVersion,LastScanPackageLocation\r\n".to_owned();
    let mut id = 0;
    for (loc, n, age) in groups {
        let t = stamp(*age);
        for _ in 0..*n {
            id += 1;
            text.push_str(&format!("{id},PC{id},{t},3,0,7.4.7600.226,{loc}\r\n"));
        }
    }
    let p = dir.join("scan.csv");
    std::fs::write(&p, text).unwrap();
    p
}

async fn run(csv: &Path, sups: &str, extra: &str) -> patchdeck_core::store::CheckResult {
    let dir = scratch("supcap");
    let cfg = format!(
        "[[probe]]\nid = \"cap\"\nplugin = \"sup-capacity\"\n[probe.config]\nscan_status_csv = \"{}\"\nsups = [{sups}]\n{extra}\n",
        csv.display()
    );
    check_once(&dir, &cfg).await
}

fn wsus_node(protocol: &str) -> String {
    let w = WsusSpec {
        protocol: protocol.into(),
        prefix: "s".into(),
        ..WsusSpec::named("N")
    };
    stub_server(move |req| wsus_answer(&w, req))
}

fn sup_item(r: &patchdeck_core::store::CheckResult) -> Item {
    r.report.as_ref().unwrap().items[0].clone()
}

const SUP: &str = "http://SUP01:8530";

#[tokio::test]
async fn load_bands_and_a_single_server_over_its_limit_needs_nlb() {
    let dir = scratch("supcap-load");
    let sups = format!("{{ url = \"{SUP}\" }}");
    // 19,999 active (79.996 %): ok; clients older than active_days do not count.
    let csv = export(
        &dir,
        &[
            (&format!("{SUP}/ClientWebService/client.asmx"), 19_999, 1),
            (SUP, 3000, 45),
        ],
    );
    let r = run(&csv, &sups, "").await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(
        sup_item(&r).summary,
        "19,999 / 25,000 clients (80 %) · remote · 1 node"
    );
    let csv = export(&dir, &[(SUP, 20_000, 1)]);
    let r = run(&csv, &sups, "").await;
    assert_eq!(r.status, Status::Warning, "80 % is the warning threshold");
    let csv = export(&dir, &[(SUP, 26_000, 1)]);
    let r = run(&csv, &sups, "").await;
    // Over the documented 25,000 is a capacity risk: WARNING "configure NLB".
    assert_eq!(r.status, Status::Warning);
    assert!(
        sup_item(&r)
            .summary
            .ends_with("over one server's 25,000 clients: configure NLB"),
        "{}",
        sup_item(&r).summary
    );
    assert_eq!(
        r.summary,
        "SUP load: SUP01 104 % · SUP01: over one server's 25,000 clients: configure NLB"
    );
    let it = sup_item(&r);
    assert!(it.fix.as_deref().unwrap().contains("NLB"), "{it:?}");
    assert!(
        it.evidence
            .as_deref()
            .unwrap()
            .starts_with("26,000 clients scanned against http://SUP01:8530")
    );
}

#[tokio::test]
async fn nlb_nodes_share_the_load_and_must_all_answer_and_agree() {
    let dir = scratch("supcap-nlb");
    let csv = export(&dir, &[(SUP, 30_000, 2)]);
    let (a, b) = (wsus_node("3.2"), wsus_node("3.2"));
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\", nlb_nodes = [\"{a}\", \"{b}\"] }}"),
        "",
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let it = sup_item(&r);
    assert_eq!(
        it.summary,
        "30,000 / 50,000 clients (60 %) · remote · 2 nodes"
    );
    assert!(
        it.items
            .iter()
            .all(|n| n.summary == "answers GetConfig (protocol 3.2)"),
        "{:?}",
        it.items
    );

    let down = format!("http://127.0.0.1:{}", closed_port());
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\", nlb_nodes = [\"{a}\", \"{down}\"] }}"),
        "",
    )
    .await;
    assert_eq!(r.status, Status::Critical);
    assert!(
        sup_item(&r).items[1]
            .summary
            .starts_with("unreachable: connection refused by 127.0.0.1:"),
        "{:?}",
        sup_item(&r).items
    );

    let old = wsus_node("3.1");
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\", nlb_nodes = [\"{a}\", \"{old}\"] }}"),
        "",
    )
    .await;
    assert_eq!(r.status, Status::Warning);
    let agreement = sup_item(&r)
        .items
        .into_iter()
        .find(|i| i.id == "agreement")
        .unwrap();
    assert_eq!(
        agreement.summary,
        "NLB nodes report different protocol versions: 3.2, 3.1"
    );

    // A node that answers GetConfig without ProtocolVersion is WSUS 2.x (or not WSUS):
    // the wsus probe calls that CRITICAL, and so does this one.
    let legacy = wsus_node("none");
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\", nlb_nodes = [\"{a}\", \"{legacy}\"] }}"),
        "",
    )
    .await;
    assert_eq!(r.status, Status::Critical, "{}", r.summary);
    assert!(
        sup_item(&r).items[1]
            .summary
            .starts_with("WSUS older than 3.0 (no ProtocolVersion)"),
        "{:?}",
        sup_item(&r).items
    );

    let five: Vec<String> = (0..5).map(|_| format!("\"{a}\"")).collect();
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\", nlb_nodes = [{}] }}", five.join(", ")),
        "",
    )
    .await;
    assert_eq!(r.status, Status::Warning);
    assert!(
        sup_item(&r)
            .summary
            .contains("5 NLB nodes is unsupported (at most 4 per WSUS database)"),
        "{}",
        sup_item(&r).summary
    );
    assert!(
        sup_item(&r).summary.starts_with("30,000 / 100,000 clients"),
        "capacity counts at most 4 nodes"
    );
}

#[tokio::test]
async fn colocated_limit_is_an_assumption_and_unlisted_sups_are_flagged() {
    let dir = scratch("supcap-coloc");
    let csv = export(&dir, &[(SUP, 14_000, 1), ("http://SUP99:80", 12, 1)]);
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\", colocated = true }}"),
        "",
    )
    .await;
    assert_eq!(r.status, Status::Warning, "{r:?}");
    let rep = r.report.unwrap();
    let sup = &rep.items[0];
    assert_eq!(
        sup.summary,
        "14,000 / 15,000 clients (93 %) · co-located · 1 node"
    );
    assert!(sup.details.iter().any(|d| {
        d.value
            .contains("no documented figure exists; this default is an assumption")
    }));
    let unlisted = rep
        .items
        .iter()
        .find(|i| i.id.starts_with("unlisted:"))
        .unwrap();
    assert_eq!(
        unlisted.summary,
        "12 clients scan against a SUP URL not in `sups`"
    );
    assert_eq!(unlisted.title, "Unlisted SUP http://sup99:80");
}

#[tokio::test]
async fn clients_count_for_their_sup_however_they_spell_it() {
    let dir = scratch("supcap-names");
    // Clients write the FQDN; the config has the short name. An IP that differs in the last
    // octet is another server.
    let csv = export(
        &dir,
        &[
            (
                "http://sup01.corp.example:8530/ClientWebService/client.asmx",
                21_000,
                1,
            ),
            ("http://10.1.2.4:8530", 12, 1),
        ],
    );
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\" }}, {{ url = \"http://10.1.2.3:8530\" }}"),
        "",
    )
    .await;
    assert_eq!(r.status, Status::Warning, "{}", r.summary);
    assert_eq!(
        sup_item(&r).summary,
        "21,000 / 25,000 clients (84 %) · remote · 1 node"
    );
    assert_eq!(
        r.summary,
        "SUP load: SUP01 84 % · 10.1.2.3 0 % · SUP01: 84 % of capacity"
    );
    let rep = r.report.unwrap();
    assert!(
        rep.items
            .iter()
            .any(|i| i.id == "unlisted:http://10.1.2.4:8530"),
        "{:?}",
        rep.items.iter().map(|i| &i.id).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_unlisted_sup_is_named_in_the_summary() {
    let dir = scratch("supcap-unlisted");
    let csv = export(&dir, &[(SUP, 100, 1), ("http://SUP99:80", 12, 1)]);
    let r = run(&csv, &format!("{{ url = \"{SUP}\" }}"), "").await;
    assert_eq!(r.status, Status::Warning);
    assert_eq!(
        r.summary,
        "SUP load: SUP01 0 % · Unlisted SUP http://sup99:80: 12 clients scan against a SUP URL not in `sups`"
    );
}

#[tokio::test]
async fn bad_config_names_the_field() {
    let dir = scratch("supcap-config");
    let csv = export(&dir, &[(SUP, 1, 1)]);
    let r = run(&csv, "{ url = \"SUP01:8530\" }", "").await;
    assert_eq!(
        r.summary,
        "plugin rejected its config: field `sups[0]`: \"SUP01:8530\" must be an http:// or https:// URL with a host"
    );
}

/// CRITICAL needs the SUP failing its clients: their last scans failing with 0x80244022
/// (503, WsusPool stopped) or 0x8024401C (408), as the site database stores them (signed
/// HRESULTs), at crit_percent (20 %) or more of its active clients.
#[tokio::test]
async fn clients_failing_with_503_or_408_make_an_overloaded_sup_critical() {
    let dir = scratch("supcap-failing");
    let t = stamp(1);
    let mut text = "ResourceID,Name0,LastScanTime,LastScanState,LastErrorCode,LastWUAVersion,LastScanPackageLocation\r\n".to_owned();
    for id in 0..26_000 {
        let (state, code) = match id % 10 {
            0 => (5, "-2145107934"),                 // 0x80244022
            1 => (5, "-2145107940"),                 // 0x8024401C
            2 if id % 20 == 2 => (5, "-2147012894"), // 0x80072EE2: not overload evidence
            _ => (3, "0"),
        };
        text.push_str(&format!(
            "{id},PC{id},{t},{state},{code},7.4.7600.226,{SUP}\r\n"
        ));
    }
    let csv = dir.join("scan.csv");
    std::fs::write(&csv, text).unwrap();
    let r = run(&csv, &format!("{{ url = \"{SUP}\" }}"), "").await;
    assert_eq!(r.status, Status::Critical, "{}", r.summary);
    let it = sup_item(&r);
    assert_eq!(it.rule.as_deref(), Some("sup-capacity.failing-clients"));
    assert!(
        it.summary.ends_with(
            "5,200 of its clients (20 %) fail scans with 408/503: the SUP is failing them"
        ),
        "{}",
        it.summary
    );
    // The same fleet with only 10 % failing: a capacity warning, not a failure.
    let r = run(
        &csv,
        &format!("{{ url = \"{SUP}\" }}"),
        "crit_percent = 25.0",
    )
    .await;
    assert_eq!(r.status, Status::Warning, "{}", r.summary);
}
