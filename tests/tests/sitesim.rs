//! Whole simulated sites: a scenario file, the config sitesim writes for it, and the real
//! wsus, bits and reporting-point plugins judging it.

use patchdeck_probe_api::Status;
use patchdeck_sitesim::{Scenario, Site};
use patchdeck_tests::*;

fn scenario(file: &str) -> Scenario {
    let path = repo_root().join("tests/sitesim/scenarios").join(file);
    Scenario::parse(file, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn judge(site: &Site) -> Vec<(String, Status, String)> {
    let dir = scratch("sitesim");
    let e = engine(&dir, &site.config_toml("30s"), &[]).await;
    let mut out = Vec::new();
    for p in &e.probes {
        let r = p.run_once().await;
        assert_explained(&p.meta.id, &r);
        out.push((p.meta.id.clone(), r.status, r.summary));
    }
    e.shutdown().await;
    out
}

/// Every non-OK item, at any depth, says what was seen and what to do (schema 1.1), and a
/// non-OK report has at least one item that does: the cause is never only in the summary.
fn assert_explained(id: &str, r: &patchdeck_core::store::CheckResult) {
    fn walk(items: &[patchdeck_probe_api::Item], bad: &mut Vec<String>, found: &mut usize) {
        for i in items {
            if i.status != Status::Ok {
                if i.evidence.as_deref().is_none_or(str::is_empty)
                    || i.fix.as_deref().is_none_or(str::is_empty)
                {
                    bad.push(format!("{} ({})", i.id, i.summary));
                } else {
                    *found += 1;
                }
            }
            walk(&i.items, bad, found);
        }
    }
    let Some(rep) = &r.report else { return };
    let (mut bad, mut found) = (Vec::new(), 0);
    walk(&rep.items, &mut bad, &mut found);
    assert!(
        bad.is_empty(),
        "{id}: items without evidence or fix: {bad:?}"
    );
    if rep.status != Status::Ok {
        assert!(
            found > 0,
            "{id} is {} but no item says why: {}",
            rep.status,
            rep.summary
        );
    }
}

#[tokio::test]
async fn the_default_demo_site_shows_what_it_promises() {
    assert_eq!(
        scenario("default.toml"),
        Scenario::default_site(),
        "the built-in scenario is the file"
    );
    let site = Site::start(Scenario::default_site());
    let got = judge(&site).await;
    let ids: Vec<&str> = got.iter().map(|(i, _, _)| i.as_str()).collect();
    assert_eq!(ids, ["wsus-sup01", "bits-dps", "rp-rp01"]);
    assert_eq!(got[0].1, Status::Ok, "{got:?}");
    assert!(
        got[0]
            .2
            .starts_with("WSUS 3.0 SP2 (protocol 3.2) · all 5 checks OK · "),
        "{got:?}"
    );
    assert_eq!(got[1].1, Status::Critical);
    assert!(
        got[1]
            .2
            .starts_with("7/9 DPs BITS-ready · DP04 ignores Range"),
        "{got:?}"
    );
    assert_eq!(got[2].1, Status::Ok);
    assert!(
        got[2]
            .2
            .starts_with("installed, Windows authentication (Negotiate, NTLM)"),
        "{got:?}"
    );
}

#[tokio::test]
async fn the_broken_site_is_critical_everywhere_with_reasons() {
    let site = Site::start(scenario("broken.toml"));
    let got = judge(&site).await;
    for (id, status, summary) in &got {
        assert_eq!(*status, Status::Critical, "{id}: {summary}");
    }
    let summary = |id: &str| got.iter().find(|g| g.0 == id).unwrap().2.clone();
    assert!(
        summary("wsus-sup01").contains("WsusPool application pool is probably stopped"),
        "{}",
        summary("wsus-sup01")
    );
    assert!(
        summary("wsus-sup02").starts_with("WSUS 3.0 RTM"),
        "{}",
        summary("wsus-sup02")
    );
    assert!(
        summary("wsus-sup03").starts_with("SOAP fault s:Server (ErrorCode ServerBusy)"),
        "{}",
        summary("wsus-sup03")
    );
    assert!(
        summary("bits-dps").starts_with("0/4 DPs BITS-ready"),
        "{}",
        summary("bits-dps")
    );
    assert!(
        summary("rp-rp01").starts_with("reporting point not installed at this URL"),
        "{}",
        summary("rp-rp01")
    );
}

#[tokio::test]
async fn chaos_flips_faults_that_the_probes_see() {
    let site = Site::start(Scenario::default_site());
    assert_eq!(site.chaos_step(0), "SUP01: WsusPool stopped");
    let got = judge(&site).await;
    assert_eq!(got[0].1, Status::Critical, "{got:?}");
    assert_eq!(site.chaos_step(0), "SUP01: WsusPool started");
    assert_eq!(site.chaos_step(4), "DP04: Range support on");
    assert_eq!(site.chaos_step(10), "RP01: HTTP 500");
    let got = judge(&site).await;
    assert_eq!(got[0].1, Status::Ok, "{got:?}");
    // DP04 fixed; DP06 still lacks WebDAV; DP09 is checked by logging in.
    assert!(got[1].2.starts_with("8/9 DPs BITS-ready"), "{got:?}");
    assert!(
        got[2].2.starts_with("reporting point broken: HTTP 500"),
        "{got:?}"
    );
}

#[test]
fn scenario_errors_name_the_file_and_the_key() {
    let e = Scenario::parse("mine.toml", "[[dp]]\nname = \"DP01\"\nrange = \"yes\"\n").unwrap_err();
    assert!(
        e.starts_with("mine.toml: invalid type: string \"yes\", expected a boolean"),
        "{e}"
    );
    let e =
        Scenario::parse("mine.toml", "[[wsus]]\nname = \"S\"\nprotocoll = \"3.2\"\n").unwrap_err();
    assert!(e.contains("unknown field `protocoll`"), "{e}");
}

#[tokio::test]
async fn the_default_site_with_its_client_inventory() {
    let site = Site::start(Scenario::default_site());
    let dir = scratch("sitesim-inventory");
    let e = engine(
        &dir,
        &site.config_toml_with_inventory("30s", &dir).unwrap(),
        &[],
    )
    .await;
    let wua = e
        .probes
        .iter()
        .find(|p| p.meta.id == "wua-clients")
        .expect("a wua probe");
    let r = wua.run_once().await;
    // The simulated fleet keeps 0.7 % of clients on agents below the documented minimum
    // (a warning: never an OK row) and ~9 % below WSUS 3.0 SP2's agent (an assumption, a
    // warning at most).
    assert_eq!(r.status, Status::Warning, "{}", r.summary);
    assert!(
        r.summary.starts_with("30,000 clients: ")
            && r.summary
                .contains(" below the ConfigMgr 2007 minimum 7.0.6000.363"),
        "{}",
        r.summary
    );
    let expected = r
        .report
        .as_ref()
        .unwrap()
        .items
        .iter()
        .find(|i| i.id == "below-expected")
        .unwrap();
    assert_eq!(expected.status, Status::Warning, "{}", expected.summary);
    let rep = r.report.as_ref().unwrap();
    let failures = rep.items.iter().find(|i| i.id == "scan-errors").unwrap();
    assert!(
        failures.items.iter().any(|i| i.id == "state-5")
            && failures.items.iter().any(|i| i.id == "state-6"),
        "sitesim writes failed scans without error codes too"
    );
    let ids: Vec<&str> = e.probes.iter().map(|p| p.meta.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "wsus-sup01",
            "bits-dps",
            "rp-rp01",
            "wua-clients",
            "msi-clients",
            "sup-capacity"
        ],
        "all six prerequisites"
    );
    for p in &e.probes {
        assert_explained(&p.meta.id, &p.run_once().await);
    }
    let wsus = e.probes[0].run_once().await;
    let items = wsus.report.as_ref().unwrap().items.clone();
    let sync = items.iter().find(|i| i.id == "sync").expect("a sync item");
    assert_eq!(
        sync.summary,
        "last sync succeeded (6702) 5 d 0 h ago; schedule every 7d (the ConfigMgr 2007 default)"
    );
    let console = items
        .iter()
        .find(|i| i.id == "console")
        .expect("a console item");
    assert_eq!(console.summary, "installed on SITE01 (WSUS 3.0 SP2)");
    assert_eq!(
        wsus.status,
        patchdeck_probe_api::Status::Ok,
        "{}",
        wsus.summary
    );
    let msi = e.probes[4].run_once().await;
    assert!(msi.summary.starts_with("30,000 clients · "), "{msi:?}");
    assert!(msi.summary.contains(" unknown"), "{}", msi.summary);
    let cap = e.probes[5].run_once().await;
    // Over the documented 25,000 is a capacity risk, not a failure.
    assert_eq!(cap.status, patchdeck_probe_api::Status::Warning, "{cap:?}");
    let sup = &cap.report.as_ref().unwrap().items[0];
    assert!(
        sup.summary.ends_with("configure NLB"),
        "30,000 clients on one remote SUP: {}",
        sup.summary
    );
    e.shutdown().await;
}

/// A ConfigMgr 2007 site left at its defaults (7-day sync schedule, weekly compliance scan,
/// one remote SUP under its 25,000, Windows 7 RTM agents among the clients), simulated as
/// the documentation describes it: every one of the six probes reads OK.
#[tokio::test]
async fn a_healthy_site_at_cm2007_defaults_is_all_ok() {
    let path = patchdeck_tests::repo_root().join("tests/sitesim/scenarios/healthy.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let site = Site::start(Scenario::parse("healthy.toml", &text).unwrap());
    let dir = scratch("sitesim-healthy");
    let e = engine(
        &dir,
        &site.config_toml_with_inventory("30s", &dir).unwrap(),
        &[],
    )
    .await;
    assert_eq!(e.probes.len(), 6);
    for p in &e.probes {
        let r = p.run_once().await;
        assert_eq!(r.status, Status::Ok, "{}: {}", p.meta.id, r.summary);
        if p.meta.id == "wsus-sup01" {
            // The site server <-> SUP check ran, on the SUP's own settings.
            let rep = r.report.as_ref().unwrap();
            let it = rep.items.iter().find(|i| i.id == "sup-ports").unwrap();
            assert!(
                it.summary
                    .starts_with("the SUP SUP01 is set for http port "),
                "{}",
                it.summary
            );
            // The console's own colours (the site's thresholds): green, although the child
            // site's sync manager is red in the same export.
            let it = rep.items.iter().find(|i| i.id == "components").unwrap();
            assert_eq!(
                (it.status, it.summary.as_str()),
                (Status::Ok, "3 components green in the console")
            );
            // The top site's WSUS synchronises from Microsoft Update, as ConfigMgr set it.
            let it = rep.items.iter().find(|i| i.id == "sync-source").unwrap();
            assert_eq!(
                (it.status, it.summary.as_str()),
                (
                    Status::Ok,
                    "WSUS synchronises from Microsoft Update, as ConfigMgr set it"
                )
            );
        }
    }
    e.shutdown().await;
}

/// The broken scenario's SUP02 is set for port 80 in the site database while its WSUS
/// answers on another port: the demo shows it, naming both.
#[tokio::test]
async fn the_broken_demo_shows_a_sup_set_for_the_wrong_port() {
    let site = Site::start(scenario("broken.toml"));
    let dir = scratch("sitesim-broken-sup");
    let e = engine(
        &dir,
        &site.config_toml_with_inventory("30s", &dir).unwrap(),
        &[],
    )
    .await;
    let p = e.probes.iter().find(|p| p.meta.id == "wsus-sup02").unwrap();
    let r = p.run_once().await;
    let rep = r.report.as_ref().unwrap();
    let it = rep.items.iter().find(|i| i.id == "sup-ports").unwrap();
    assert_eq!(it.status, Status::Critical, "{it:?}");
    assert!(
        it.summary
            .starts_with("the SUP SUP02 is set for http port 80 (WSUSIISPort 80"),
        "{}",
        it.summary
    );
    let base = &site.wsus[1].base;
    assert!(
        it.evidence
            .as_deref()
            .unwrap()
            .contains(&format!("WSUS answers GetConfig at {base}")),
        "{:?}",
        it.evidence
    );
    // The other SUPs' settings match their web sites: a stopped pool or a SOAP fault there is
    // WSUS's own failure (judged by the other items), never blamed on the port settings.
    for id in ["wsus-sup01", "wsus-sup03"] {
        let p = e.probes.iter().find(|p| p.meta.id == id).unwrap();
        let r = p.run_once().await;
        let it = r
            .report
            .as_ref()
            .unwrap()
            .items
            .iter()
            .find(|i| i.id == "sup-ports")
            .cloned()
            .unwrap();
        assert_eq!(
            (it.status, it.rule.as_deref()),
            (Status::Ok, None),
            "{it:?}"
        );
    }
    // SUP03's WSUS was pointed at an old upstream server in the WSUS console: the demo says
    // so, the others synchronise from Microsoft Update.
    for (id, status, summary) in [
        (
            "wsus-sup03",
            Status::Warning,
            "WSUS synchronises from the upstream server WSUS-OLD, not Microsoft Update",
        ),
        (
            "wsus-sup02",
            Status::Ok,
            "WSUS synchronises from Microsoft Update, as ConfigMgr set it",
        ),
    ] {
        let p = e.probes.iter().find(|p| p.meta.id == id).unwrap();
        let r = p.run_once().await;
        let rep = r.report.as_ref().unwrap();
        let it = rep.items.iter().find(|i| i.id == "sync-source").unwrap();
        assert_eq!((it.status, it.summary.as_str()), (status, summary), "{id}");
    }
    e.shutdown().await;
}

/// The demo's DP09 refuses anonymous access (ConfigMgr's default) and logs the bits probe in
/// with NTLM as the site's service account: every BITS check runs on it, and the password
/// from the generated config never shows.
#[tokio::test]
async fn the_demo_checks_a_dp_behind_windows_authentication_with_credentials() {
    let site = Site::start(Scenario::default_site());
    assert!(
        site.secrets.is_some(),
        "the NTLM acceptor needs gss-ntlmssp (.ci/install-test-deps installs it)"
    );
    let dir = scratch("sitesim-login");
    let cfg = site.config_toml("30s");
    assert!(
        cfg.contains("auth = { user = \"CORP\\\\svc-patchdeck\", password = { file = "),
        "{cfg}"
    );
    let e = engine(&dir, &cfg, &[]).await;
    let bits = e.probes.iter().find(|p| p.meta.id == "bits-dps").unwrap();
    let r = bits.run_once().await;
    let rep = r.report.as_ref().unwrap();
    let dp09 = rep.items.iter().find(|i| i.id == "DP09").unwrap();
    assert_eq!(dp09.status, Status::Ok, "{}", dp09.summary);
    let details: Vec<String> = dp09
        .details
        .iter()
        .map(|d| format!("{}: {}", d.label, d.value))
        .collect();
    assert!(
        details.contains(&"Login: NTLM as user CORP\\svc-patchdeck".to_owned()),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.starts_with("Range: 206")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("WebDAV: PROPFIND 207")),
        "{details:?}"
    );
    assert!(!format!("{r:?}").contains("Demo-Pass-1"));
    e.shutdown().await;
}
