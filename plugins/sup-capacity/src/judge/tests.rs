//! Case tables for the sup-capacity judge.

use super::*;
use patchdeck_kit::soap;
use patchdeck_kit::wsus::GetConfigAnswer;

fn rules() -> Rules {
    Rules {
        remote_limit: 25_000,
        colocated_limit: 15_000,
        warn_percent: 80.0,
        crit_percent: 20.0,
        active_days: 30,
    }
}

fn sup(url: &str, colocated: bool, nodes: usize) -> Sup {
    Sup {
        url: url.into(),
        colocated,
        nlb_nodes: (0..nodes).map(|i| format!("http://node{i}:8530")).collect(),
    }
}

fn answering(status: u16, pv: Option<&str>) -> GetConfigCall {
    let prop = pv.map_or(String::new(), |v| {
        format!("<ConfigurationProperty><Name>ProtocolVersion</Name><Value>{v}</Value></ConfigurationProperty>")
    });
    let body = format!(
        "<s:Envelope xmlns:s=\"{}\"><s:Body><GetConfigResponse xmlns=\"{}\"><GetConfigResult><Properties>{prop}</Properties></GetConfigResult></GetConfigResponse></s:Body></s:Envelope>",
        soap::SOAP_ENV,
        soap::CLIENT_NS
    );
    GetConfigCall {
        url: "http://node:8530/ClientWebService/client.asmx".into(),
        answer: Ok(GetConfigAnswer {
            status,
            ms: 3.0,
            parsed: soap::parse_get_config(if status == 503 {
                "<h1>Service Unavailable</h1>"
            } else {
                &body
            }),
            ssl_required: false,
        }),
    }
}

#[test]
fn load_bands_and_the_words_for_an_overloaded_sup() {
    let r = rules();
    let cases: &[(Sup, u64, Status, &str)] = &[
        (
            sup("http://SUP01:8530", false, 0),
            19_999,
            Status::Ok,
            "19,999 / 25,000 clients (80 %) · remote · 1 node",
        ),
        (
            sup("http://SUP01:8530", false, 0),
            20_000,
            Status::Warning,
            "20,000 / 25,000 clients (80 %) · remote · 1 node",
        ),
        // Over the documented 25,000 is a capacity risk: WARNING "configure NLB".
        (
            sup("http://SUP01:8530", false, 0),
            26_000,
            Status::Warning,
            "26,000 / 25,000 clients (104 %) · remote · 1 node · over one server's 25,000 clients: configure NLB",
        ),
        // The co-located figure is undocumented ("less"): never above WARNING on it.
        (
            sup("http://SITE01:8530", true, 0),
            16_000,
            Status::Warning,
            "16,000 / 15,000 clients (107 %) · co-located · 1 node · over a co-located SUP's 15,000 clients: move the SUP to a remote site system or configure NLB",
        ),
    ];
    for (s, clients, status, summary) in cases {
        let v = sup_verdict(s, *clients, &[], &r);
        assert_eq!(
            (v.item.status, v.item.summary.as_str()),
            (*status, *summary)
        );
        assert_eq!(v.item.fix.is_some(), *status != Status::Ok);
    }
}

fn sup_verdict(s: &Sup, clients: u64, calls: &[GetConfigCall], r: &Rules) -> SupVerdict {
    super::sup(s, (clients, 0), calls, r)
}

/// CRITICAL needs evidence that the SUP fails its clients: their scans failing with
/// 0x8024401C (408) or 0x80244022 (503) at crit_percent or more.
#[test]
fn only_clients_failing_with_408_or_503_make_a_sup_critical() {
    let r = rules();
    let s = sup("http://SUP01:8530", false, 0);
    let v = super::sup(&s, (26_000, 2_000), &[], &r);
    assert_eq!(
        v.item.status,
        Status::Warning,
        "8 % failing: {}",
        v.item.summary
    );
    let v = super::sup(&s, (26_000, 6_500), &[], &r);
    assert_eq!(v.item.status, Status::Critical, "{}", v.item.summary);
    assert_eq!(v.item.rule.as_deref(), Some("sup-capacity.failing-clients"));
    assert!(
        v.item.summary.ends_with(
            "6,500 of its clients (25 %) fail scans with 408/503: the SUP is failing them"
        ),
        "{}",
        v.item.summary
    );
    let fix = v.item.fix.as_deref().unwrap();
    assert!(
        fix.contains("WsusPool") && fix.contains("configure NLB"),
        "{fix}"
    );
    // Within capacity, failing clients are still the failure.
    let v = super::sup(&s, (10_000, 5_000), &[], &r);
    assert_eq!(v.item.status, Status::Critical);
}

#[test]
fn a_node_without_protocol_version_is_not_a_wsus_3() {
    let s = sup("http://SUPNLB:8530", false, 2);
    let v = sup_verdict(
        &s,
        30_000,
        &[answering(200, Some("3.2")), answering(200, None)],
        &rules(),
    );
    assert_eq!(v.item.status, Status::Critical, "{:?}", v.item.items);
    let node = &v.item.items[1];
    assert_eq!(node.status, Status::Critical);
    assert!(
        node.summary
            .starts_with("WSUS older than 3.0 (no ProtocolVersion)"),
        "{}",
        node.summary
    );
    assert!(v.cause.unwrap().contains("WSUS older than 3.0"));
}

#[test]
fn a_503_from_a_node_names_wsuspool() {
    let s = sup("http://SUPNLB:8530", false, 2);
    let v = sup_verdict(
        &s,
        30_000,
        &[answering(200, Some("3.2")), answering(503, None)],
        &rules(),
    );
    let node = &v.item.items[1];
    assert_eq!(
        node.summary,
        "HTTP 503: the WsusPool application pool is probably stopped"
    );
    assert!(node.fix.as_deref().unwrap().contains("WsusPool"));
    assert_eq!(
        patchdeck_kit::report::unexplained(std::slice::from_ref(&v.item)),
        Vec::<String>::new()
    );
}

#[test]
fn locations_match_sups_by_host_identity() {
    let mut census = Census::default();
    for (loc, n) in [
        (
            "http://sup01.corp.example:8530/ClientWebService/client.asmx",
            10,
        ),
        ("http://SUP01:8530", 5),
        ("http://10.1.2.4:8530", 7),
        ("http://sup02", 3),
    ] {
        census
            .by_location
            .entry(crate::gather::location_key(loc))
            .or_default()
            .insert(100, n);
    }
    let sups = [
        sup("http://SUP01:8530", false, 0),
        sup("http://10.1.2.3:8530", false, 0),
        sup("http://SUP02:80/", false, 0),
    ];
    let owners = assign(&census, &sups);
    let total = |i: usize| -> u64 {
        owners
            .iter()
            .filter(|(_, o)| *o == Some(i))
            .map(|(l, _)| active(&census, l, 0))
            .sum()
    };
    assert_eq!(total(0), 15, "short name and FQDN are one server");
    assert_eq!(total(1), 0, "10.1.2.4 is not 10.1.2.3");
    assert_eq!(total(2), 3, "port 80 is implied");
    let unowned: Vec<&str> = owners
        .iter()
        .filter(|(_, o)| o.is_none())
        .map(|(l, _)| l.as_str())
        .collect();
    assert_eq!(unowned, ["http://10.1.2.4:8530"]);
}
