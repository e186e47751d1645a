//! Facts in, items out: software update point capacity, pure and table-tested.
//!
//! "Each software update point can support up to 25,000 client computers when it is installed
//! on a remote site system server and less when it is co-located with the site server. When
//! you expect that more client computers will connect to the active software update point,
//! WSUS and the active software update point must be configured for Network Load Balancing
//! (NLB)." (Prerequisites for Software Updates, [`SU_PREREQS`]). No figure is documented for a
//! co-located SUP: `colocated_limit` is an assumption and the report says so. "The maximum
//! number of WSUS servers that can be configured as part of a network load balancing cluster
//! is four" ([`NLB_DOC`]; WSUS: "The maximum number of front-end WSUS servers per database
//! instance is four", http://technet.microsoft.com/en-us/library/cc708533(v=ws.10).aspx).

use crate::Sup;
use crate::gather::{Census, location_key};
use patchdeck_kit::host::Endpoint;
use patchdeck_kit::report::{detail, explain, item, metric};
use patchdeck_kit::threshold::thousands;
use patchdeck_kit::wsus::{self, GetConfigCall, SiteNeeds};
use patchdeck_probe_api::{Item, Metric, Rule, Status};

/// Windows Update Agent networking error codes: 0x8024401C = HTTP 408, 0x80244022 = HTTP 503.
pub const WU_NETWORK_ERRORS: &str =
    "https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-networking-error-codes-";

pub const CAPACITY: Rule = Rule {
    id: "sup-capacity.capacity",
    severity: Status::Warning,
    title: "Active clients stay under the SUP's capacity (25,000 per remote SUP x NLB nodes): a risk, a warning",
    source: "Prerequisites for Software Updates (ConfigMgr 2007)",
    url: SU_PREREQS,
    fix: "Configure WSUS and the active software update point for NLB.",
    assumption: false,
};
pub const COLOCATED: Rule = Rule {
    id: "sup-capacity.colocated-limit",
    severity: Status::Warning,
    title: "A SUP co-located with the site server stays under colocated_limit (no documented figure: \"less\" than 25,000)",
    source: "Prerequisites for Software Updates (ConfigMgr 2007): \"less when it is co-located with the site server\"",
    url: SU_PREREQS,
    fix: "Set colocated_limit to your own figure, or move the SUP to a remote site system.",
    assumption: true,
};
pub const FAILING: Rule = Rule {
    id: "sup-capacity.failing-clients",
    severity: Status::Critical,
    title: "The SUP's clients do not fail scans with 408/503 (0x8024401C, 0x80244022) above crit_percent",
    source: "Windows Update Agent networking error codes",
    url: WU_NETWORK_ERRORS,
    fix: "Start WsusPool on the SUP and relieve it (NLB, IIS queue and memory limits).",
    assumption: false,
};
pub const NLB: Rule = Rule {
    id: "sup-capacity.nlb",
    severity: Status::Warning,
    title: "At most four WSUS servers per NLB cluster, all at the same WSUS version",
    source: "How to Configure the Active Software Update Point Component to Use an NLB Cluster",
    url: NLB_DOC,
    fix: "Keep at most four nodes, all on the same WSUS service pack and updates.",
    assumption: false,
};
pub const UNLISTED: Rule = Rule {
    id: "sup-capacity.unlisted",
    severity: Status::Warning,
    title: "Clients scan only against the SUPs listed in `sups`",
    source: "Prerequisites for Software Updates (ConfigMgr 2007)",
    url: SU_PREREQS,
    fix: "Add the SUP to `sups`, or find why clients scan against it.",
    assumption: false,
};
pub const EXPORT: Rule = Rule {
    id: "sup-capacity.export",
    severity: Status::Unknown,
    title: "The scan-status export is younger than max_export_age_hours",
    source: "patchdeck: an old export says nothing about today's load",
    url: "",
    fix: "Check the job that writes the export (README, Site-database exports).",
    assumption: false,
};

/// The sup-capacity probe's rule index (the NLB nodes are judged by the wsus rules).
pub const RULES: &[Rule] = &[
    CAPACITY,
    COLOCATED,
    FAILING,
    NLB,
    UNLISTED,
    EXPORT,
    wsus::RULE_REACHABLE,
    wsus::RULE_NOT_CHECKED,
    wsus::RULE_WEB_SERVICES,
    wsus::RULE_SSL_REQUIRED,
    wsus::RULE_GET_CONFIG,
    wsus::RULE_VERSION,
    wsus::RULE_VERSION_WINDOWS7,
];

pub const SU_PREREQS: &str =
    "http://systemscenter.ru/smsv4.en/html/76638fa0-cbc7-4b42-9378-0a92a3be1201.htm";
/// How to Configure the Active Software Update Point Component to Use an NLB Cluster.
pub const NLB_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/eecafbad-a79f-433c-8eff-4e491d11b48c.htm";
/// "All nodes in the NLB cluster should be running the same version of WSUS."
pub const SAME_VERSION_DOC: &str = "https://learn.microsoft.com/en-us/archive/blogs/wsus/configuring-wsus-6-x-for-network-load-balancing-nlb";
/// NLB supports at most this many WSUS front ends per database.
pub const MAX_NODES: usize = 4;

#[derive(Debug, Clone)]
pub struct Rules {
    pub remote_limit: u64,
    pub colocated_limit: u64,
    pub warn_percent: f64,
    /// Share of a SUP's active clients failing with 408/503 that makes it CRITICAL.
    pub crit_percent: f64,
    pub active_days: u64,
}

/// The verdict on one SUP: its item and, when not OK, the short cause for the summary.
pub struct SupVerdict {
    pub item: Item,
    pub cause: Option<String>,
    pub load: f64,
}

/// Which configured SUP each scan location belongs to (the first that is the same endpoint),
/// or `None` for a location no SUP matches.
pub fn assign(census: &Census, sups: &[Sup]) -> Vec<(String, Option<usize>)> {
    let eps: Vec<Option<Endpoint>> = sups.iter().map(|s| Endpoint::parse(&s.url)).collect();
    census
        .by_location
        .keys()
        .map(|loc| {
            let e = Endpoint::parse(loc);
            let owner = e.and_then(|e| {
                eps.iter()
                    .position(|s| s.as_ref().is_some_and(|s| s.same(&e)))
            });
            (loc.clone(), owner)
        })
        .collect()
}

/// Clients of `loc` failing with 408/503 whose last scan is on or after day `since`.
pub fn failing(census: &Census, loc: &str, since: i64) -> u64 {
    census
        .failing_by_location
        .get(loc)
        .map_or(0, |days| days.range(since..).map(|(_, n)| n).sum())
}

/// Clients of `loc` whose last scan is on or after day `since`.
pub fn active(census: &Census, loc: &str, since: i64) -> u64 {
    census
        .by_location
        .get(loc)
        .map_or(0, |days| days.range(since..).map(|(_, n)| n).sum())
}

fn node_items(calls: &[GetConfigCall]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut versions: Vec<String> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let (v, pv) = wsus::judge_get_config(call, SiteNeeds::default());
        let base = call.url.trim_end_matches("/ClientWebService/client.asmx");
        let summary = match (&pv, v.status) {
            (Some(pv), Status::Ok) => format!("answers GetConfig (protocol {pv})"),
            _ => v.summary.clone(),
        };
        let mut it = item(&format!("node{}", i + 1), base, v.status, summary);
        if v.status != Status::Ok {
            it = explain(it, v.rule, &v.evidence, &v.fix);
        }
        if let Some(pv) = pv
            && !versions.contains(&pv)
        {
            versions.push(pv);
        }
        items.push(it);
    }
    if versions.len() > 1 {
        items.push(explain(
            item(
                "agreement",
                "Nodes agree",
                Status::Warning,
                format!(
                    "NLB nodes report different protocol versions: {}",
                    versions.join(", ")
                ),
            ),
            &NLB,
            format!("ProtocolVersion per node: {}", versions.join(", ")),
            format!(
                "Bring every NLB node to the same WSUS 3.0 service pack and updates (all nodes must run the same WSUS version, {SAME_VERSION_DOC})."
            ),
        ));
    }
    items
}

/// One SUP: load against capacity (a risk: WARNING), clients failing with 408/503 (the
/// evidence of a failing SUP: CRITICAL), NLB size, and its nodes. `failing`: active clients
/// whose last scan failed with 0x8024401C or 0x80244022.
pub fn sup(
    sup: &Sup,
    (clients, failing): (u64, u64),
    calls: &[GetConfigCall],
    r: &Rules,
) -> SupVerdict {
    let limit = if sup.colocated {
        r.colocated_limit
    } else {
        r.remote_limit
    };
    let nodes = sup.nlb_nodes.len().max(1);
    let capacity = limit.saturating_mul(nodes.min(MAX_NODES) as u64);
    let load = clients as f64 * 100.0 / capacity.max(1) as f64;
    let placement = if sup.colocated {
        "co-located"
    } else {
        "remote"
    };
    // Over capacity is a risk, not a failure: the seed gives the number as a planning limit.
    let mut status = if load >= r.warn_percent {
        Status::Warning
    } else {
        Status::Ok
    };
    let mut rule: &'static Rule = if sup.colocated { &COLOCATED } else { &CAPACITY };
    let mut summary = format!(
        "{} / {} clients ({load:.0} %) · {placement} · {nodes} node{}",
        thousands(clients),
        thousands(capacity),
        if nodes == 1 { "" } else { "s" }
    );
    let seen = format!(
        "{} clients scanned against {} in the last {} days; capacity {} ({} x {})",
        thousands(clients),
        sup.url,
        r.active_days,
        thousands(capacity),
        nodes.min(MAX_NODES),
        thousands(limit)
    );
    let mut cause = None;
    let mut fix = format!(
        "Plan NLB for this SUP (up to {MAX_NODES} WSUS servers) before it passes its capacity: {NLB_DOC}"
    );
    if let Some((reason, what)) = overload(sup, clients, limit) {
        status = Status::Warning;
        summary.push_str(&format!(" · {reason}"));
        cause = Some(reason);
        fix = what;
    } else if status != Status::Ok {
        cause = Some(format!("{load:.0} % of capacity"));
    }
    let failing_pct = failing as f64 * 100.0 / clients.max(1) as f64;
    let mut seen = seen;
    if failing > 0 {
        seen.push_str(&format!(
            "; {} of them ({failing_pct:.1} %) failed their last scan with 0x8024401C (408) or 0x80244022 (503)",
            thousands(failing)
        ));
    }
    if failing > 0 && failing_pct >= r.crit_percent {
        // The evidence that the SUP is failing its clients, not just busy.
        status = Status::Critical;
        rule = &FAILING;
        let reason = format!(
            "{} of its clients ({failing_pct:.0} %) fail scans with 408/503: the SUP is failing them",
            thousands(failing)
        );
        summary.push_str(&format!(" · {reason}"));
        cause = Some(reason);
        fix = format!(
            "Start WsusPool on the SUP (IIS Manager > Application Pools; raise its private memory limit if it stops again) and check the wsus probe; {} {WU_NETWORK_ERRORS}",
            if load > 100.0 {
                format!("the SUP is over its capacity: configure NLB ({NLB_DOC}).")
            } else {
                "the load is within capacity, so look at the server itself.".to_owned()
            }
        );
    }
    if sup.nlb_nodes.len() > MAX_NODES {
        if status == Status::Ok {
            rule = &NLB;
        }
        status = status.worst(Status::Warning);
        let reason = format!(
            "{} NLB nodes is unsupported (at most {MAX_NODES} per WSUS database)",
            sup.nlb_nodes.len()
        );
        summary.push_str(&format!(" · {reason}"));
        cause.get_or_insert(reason);
        fix = format!("Keep at most {MAX_NODES} WSUS servers in the NLB cluster: {NLB_DOC}");
    }
    let mut it = item(&location_key(&sup.url), sup.url.clone(), status, summary);
    it.details = sup_details(sup, clients, limit, r);
    it.items = node_items(calls);
    let nodes_status = it.items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
    let mut rule_id = rule.id.to_owned();
    if nodes_status.severity() > status.severity() {
        let bad = it.items.iter().find(|i| i.status == nodes_status);
        cause = bad.map(|b| format!("{}: {}", b.title, b.summary));
        if let Some(b) = bad {
            fix = b.fix.clone().unwrap_or(fix);
            rule_id = b.rule.clone().unwrap_or(rule_id);
        }
    }
    it.status = status.worst(nodes_status);
    if it.status != Status::Ok {
        it = explain(it, rule, seen, fix);
        it.rule = Some(rule_id);
    }
    SupVerdict {
        item: it,
        cause,
        load,
    }
}

/// A single server (no NLB) over its limit: the reason and the fix.
fn overload(sup: &Sup, clients: u64, limit: u64) -> Option<(String, String)> {
    if sup.nlb_nodes.len() > 1 || clients <= limit {
        return None;
    }
    Some(if sup.colocated {
        (
            format!(
                "over a co-located SUP's {} clients: move the SUP to a remote site system or configure NLB",
                thousands(limit)
            ),
            format!(
                "Move the active software update point to a remote site system server (25,000 clients each) or configure WSUS and the SUP for NLB; no page gives a co-located figure (\"less\"), so set colocated_limit to yours. A risk, not a failure: CRITICAL only when its clients fail scans with 408/503. {SU_PREREQS}"
            ),
        )
    } else {
        (
            format!(
                "over one server's {} clients: configure NLB",
                thousands(limit)
            ),
            format!(
                "Configure WSUS and the active software update point as an NLB cluster (up to {MAX_NODES} WSUS servers): {NLB_DOC}. A capacity risk: CRITICAL only when its clients fail scans with 408/503."
            ),
        )
    })
}

fn sup_details(sup: &Sup, clients: u64, limit: u64, r: &Rules) -> Vec<patchdeck_probe_api::Detail> {
    vec![
        detail(
            "Active clients",
            format!(
                "{} (scanned in the last {} days)",
                thousands(clients),
                r.active_days
            ),
            None,
        ),
        detail(
            "Limit per server",
            if sup.colocated {
                format!(
                    "{} (colocated_limit: no documented figure exists; this default is an assumption)",
                    thousands(limit)
                )
            } else {
                format!(
                    "{} (remote SUP, ConfigMgr 2007 documentation)",
                    thousands(limit)
                )
            },
            None,
        ),
    ]
}

/// Clients scanning against a SUP nobody configured: a warning naming it.
pub fn unlisted(loc: &str, clients: u64) -> Item {
    explain(
        item(
            &format!("unlisted:{loc}"),
            format!("Unlisted SUP {loc}"),
            Status::Warning,
            format!(
                "{} clients scan against a SUP URL not in `sups`",
                thousands(clients)
            ),
        ),
        &UNLISTED,
        format!(
            "LastScanPackageLocation {loc} on {} clients in the last days",
            thousands(clients)
        ),
        "Add this SUP to `sups` (its URL as clients write it: the NLB virtual name when load-balanced), or find why clients scan against it (an old SUP still in their policy?).",
    )
}

/// Host part of a URL for the pane ("SUP01").
pub fn short(url: &str) -> String {
    Endpoint::parse(url).map_or_else(
        || url.to_owned(),
        |e| e.host.to_string().to_ascii_uppercase(),
    )
}

/// The load metric of one SUP: `load`, labelled with the SUP (Nagios perfdata still names it
/// `load_sup01_corp_example_8530`).
pub fn load_metric(sup: &Sup, load: f64, warn: f64) -> Metric {
    let key = location_key(&sup.url);
    metric("load", load, "%")
        .of("sup", key.split("//").nth(1).unwrap_or(&key))
        .warn(warn)
        .crit(100)
        .done()
}

#[cfg(test)]
mod tests;
