//! Facts in, items out: the wua verdicts, pure and table-tested.

use crate::gather::{Census, Failure};
use crate::rules as rule;
use patchdeck_kit::hresult;
use patchdeck_kit::report::{Names, detail, explain, item, metric};
use patchdeck_kit::threshold::{judged_share, percent, thousands};
use patchdeck_kit::time;
use patchdeck_kit::version::WinVersion;
use patchdeck_probe_api::{Detail, Item, Overrides, Report, Status};
use std::time::SystemTime;

/// ConfigMgr 2007 client prerequisites: Windows Update Agent 7.0.6000.363, Windows
/// Installer 3.1.4000.2435, BITS 2.5.
pub const CLIENT_PREREQS: &str = "http://technet.microsoft.com/en-us/library/bb680537.aspx";
/// Prerequisites for Software Updates (the seed): "Client computers connected to a
/// Configuration Manager 2007 SP1 site require the version of the WUA client associated with
/// the installed version of WSUS 3.0."
pub const SU_PREREQS: &str =
    "http://systemscenter.ru/smsv4.en/html/76638fa0-cbc7-4b42-9378-0a92a3be1201.htm";
/// Software Updates Client Agent Properties, General tab: "By default, the compliance scan is
/// initiated once a week".
pub const SCAN_SCHEDULE_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/1727d91e-0f3c-4822-b152-1b1066786462.htm";
/// Windows Update Agent networking error codes (WU_E_PT_HTTP_STATUS_*: the HTTP status the
/// agent got; 407/408/502/504 usually from a proxy between client and SUP).
pub const WU_NETWORK_ERRORS: &str =
    "https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-networking-error-codes-";
/// `LastScanState` holds a state of topic type 501 (SUM_UPDATE_SOURCE_SCAN) from
/// v_StateNames: 0 unknown, 1 waiting for catalog location, 2 running, 3 completed,
/// 4 pending retry, 5 failed, 6 completed with errors. The topic type is listed at
/// http://blogs.technet.com/b/sudheesn/overall-compliance-reports-for-updates-shows-unknown-status-in-system-center-configuration-manager;
/// the state values themselves we could not find on a stored page (they are v_StateNames
/// rows of the site database).
pub const SCAN_STATES: [&str; 7] = [
    "unknown",
    "waiting for catalog location",
    "running",
    "completed",
    "pending retry",
    "failed",
    "completed with errors",
];

/// The judging rules, from the config.
#[derive(Debug, Clone)]
pub struct Rules {
    pub min: WinVersion,
    /// The expected agent and how it was chosen ("the agent of WSUS 3.0 SP2").
    pub expected: Option<(WinVersion, String)>,
    pub stale_days: u64,
    pub warn_percent: f64,
    pub crit_percent: f64,
    /// The export's path, for evidence.
    pub export: String,
}

impl Rules {
    fn share(&self, what: &str, n: u64, total: u64) -> (Status, String) {
        judged_share(what, n, total, self.warn_percent, self.crit_percent)
    }
}

/// The whole report from a census, judged as of `now` (the time the export was taken: a
/// client's scan cannot be newer than its export); `age` is the export's age detail.
pub fn judge(
    c: &Census,
    r: &Rules,
    now: SystemTime,
    age: Option<Detail>,
    overrides: &Overrides,
) -> Report {
    let mut details = vec![detail("Export", &r.export, None)];
    details.extend(age);
    if c.clients == 0 {
        let it = explain(
            item(
                "export",
                "Export",
                Status::Unknown,
                "the export lists no clients",
            ),
            &rule::EXPORT,
            format!("{}: a header and no client rows", r.export),
            "Check the export query and that the site database has clients (see README, Site-database exports).",
        );
        let mut rep = Report::new(Status::Unknown, "the export lists no clients");
        rep.details = details;
        rep.items = vec![it];
        return rep;
    }
    let below = below_min(c, r);
    let expected = below_expected(c, r);
    let failures = failures(c, r);
    let stale = stale(c, r, time::day(time::unix(now)));
    let mut judged = vec![below];
    judged.extend(expected);
    judged.extend([failures, stale]);
    judged.extend(unparsable(c, r));
    overrides.apply(&mut judged);
    let versions = versions(c, r, &judged);
    let status = judged.iter().fold(Status::Ok, |w, i| w.worst(i.status));
    let stale_n = stale_total(c, r, time::day(time::unix(now)));
    let summary = summary(c, r, &judged, status, stale_n);
    if c.duplicates > 0 {
        details.push(detail(
            "Duplicate rows",
            format!("{} ignored", thousands(c.duplicates)),
            None,
        ));
    }
    details.push(detail("Minimum", r.min.to_string(), None));
    if let Some((v, why)) = &r.expected {
        details.push(detail("Expected", format!("{v} ({why})"), None));
    }
    details.push(detail("Scan states", states_text(&c.states), None));
    let pct = |n: u64| n as f64 * 100.0 / c.clients as f64;
    let mut metrics = vec![
        metric("clients", c.clients as f64, "").done(),
        metric("below_minimum_percent", pct(c.below_min.total), "%")
            .warn(r.warn_percent)
            .crit(r.crit_percent)
            .max(100.0)
            .done(),
    ];
    if r.expected.is_some() {
        metrics.push(
            metric("below_expected_percent", pct(c.below_expected.total), "%")
                .warn(r.warn_percent)
                .crit(r.crit_percent)
                .max(100.0)
                .done(),
        );
    }
    let failed: u64 = c.failures.values().map(|n| n.total).sum();
    metrics.push(metric("scan_failures", failed as f64, "").done());
    metrics.push(
        metric(
            "stale",
            stale_total(c, r, time::day(time::unix(now))) as f64,
            "",
        )
        .done(),
    );
    // The judged groups first: their fixes are the specific ones (Nagios shows the first).
    let mut items = judged;
    items.push(versions);
    items.extend(pending(c, r));
    Report {
        status,
        summary,
        details,
        metrics,
        items,
    }
}

/// "3: 29,107 · 5: 120 · ..." (states with clients, NULL/other as "other").
fn states_text(states: &[u64; 8]) -> String {
    let mut parts = Vec::new();
    for (i, n) in states.iter().enumerate().filter(|(_, n)| **n > 0) {
        let name = SCAN_STATES.get(i).copied().unwrap_or("NULL or other");
        parts.push(format!("{i} {name}: {}", thousands(*n)));
    }
    parts.join(" · ")
}

/// The pane line: the worst judged item's words, or the healthy figures.
fn summary(c: &Census, r: &Rules, judged: &[Item], status: Status, stale_n: u64) -> String {
    let clients = format!("{} clients", thousands(c.clients));
    if status != Status::Ok
        && let Some(worst) = judged.iter().find(|i| i.status == status)
    {
        return format!("{clients}: {}", worst.summary);
    }
    let mut s = clients;
    if let Some((v, _)) = &r.expected {
        let at = c.clients - c.below_expected.total - c.unparsable_count - c.no_version;
        s.push_str(&format!(
            " · {:.1} % at >= {v}",
            at as f64 * 100.0 / c.clients as f64
        ));
    }
    let failed: u64 = c.failures.values().map(|n| n.total).sum();
    s.push_str(&format!(
        " · {} failed scans (under the {} % warning line) · {} not scanned in {} days",
        thousands(failed),
        r.warn_percent,
        thousands(stale_n),
        r.stale_days
    ));
    s
}

fn below_min(c: &Census, r: &Rules) -> Item {
    let (mut status, mut words) = r.share(
        &format!("below the minimum {}", r.min),
        c.below_min.total,
        c.clients,
    );
    if c.below_min.total > 0 && status == Status::Ok {
        // The minimum is a documented prerequisite: a client below it is never "OK".
        status = Status::Warning;
        words = format!(
            "{} below the ConfigMgr 2007 minimum {} (under the {} % critical line)",
            clients(c.below_min.total),
            r.min,
            r.crit_percent
        );
    }
    let mut it = item("below-minimum", format!("Below {}", r.min), status, words);
    it.details = c.below_min.details();
    if status == Status::Ok {
        return it;
    }
    explain(
        it,
        &rule::BELOW_MINIMUM,
        format!(
            "LastWUAVersion below {} on {} of {} clients ({})",
            r.min,
            thousands(c.below_min.total),
            thousands(c.clients),
            c.below_min.sentence(3)
        ),
        format!(
            "Upgrade the Windows Update Agent on these clients: ConfigMgr 2007 client setup installs it, so repair the client or deploy the WUA 3.0 redistributable as a package. Minimum {}: {CLIENT_PREREQS}",
            r.min
        ),
    )
}

fn below_expected(c: &Census, r: &Rules) -> Option<Item> {
    let (v, why) = r.expected.as_ref()?;
    let (status, words) = r.share(
        &format!("below {v}, {why}"),
        c.below_expected.total,
        c.clients,
    );
    // No page pairs an agent build with a WSUS level (Windows 7 RTM's 7.3.7600.16385 scans
    // fine against WSUS 3.0 SP2): an assumption, so a warning at most.
    let status = if status == Status::Critical {
        Status::Warning
    } else {
        status
    };
    let mut it = item("below-expected", format!("Below {v}"), status, words);
    it.details = c.below_expected.details();
    if status == Status::Ok {
        return Some(it);
    }
    Some(explain(
        it,
        &rule::BELOW_WSUS,
        format!(
            "LastWUAVersion below {v} on {} of {} clients ({} of them also below the minimum {}): {}",
            thousands(c.below_expected.total),
            thousands(c.clients),
            thousands(c.below_min.total),
            r.min,
            c.below_expected.sentence(3)
        ),
        format!(
            "Deploy a newer Windows Update Agent to the listed clients (KB949104 lists the builds; Windows 7 gets its agent from Windows Update, older systems from the WSUS self-update tree when they scan), or lower expected_version: no page pairs an agent build with a WSUS level, so this is a warning at most. Requirement: {SU_PREREQS}"
        ),
    ))
}

fn failure_words(f: Failure) -> (String, String, &'static str) {
    match f {
        Failure::Code(code) => (
            format!("0x{code:08X}"),
            hresult::title(code),
            hresult::remedy(code),
        ),
        Failure::State(s) => (
            format!("state-{s}"),
            format!(
                "LastScanState {s} ({}) without an error code",
                SCAN_STATES[usize::from(s)]
            ),
            "The scan failed but stored no error code: read WUAHandler.log and WindowsUpdate.log on a listed client.",
        ),
    }
}

fn failures(c: &Census, r: &Rules) -> Item {
    let failed: u64 = c.failures.values().map(|n| n.total).sum();
    let (status, words) = r.share("failed their last scan", failed, c.clients);
    let mut it = item("scan-errors", "Scan failures", status, words);
    let mut groups: Vec<(&Failure, &Names)> = c.failures.iter().collect();
    groups.sort_by_key(|(f, n)| (std::cmp::Reverse(n.total), **f));
    for (f, names) in &groups {
        let (id, title, fix) = failure_words(**f);
        let hint = match f {
            Failure::Code(code) => hresult::describe(*code).map_or("unknown code", |d| d.1),
            Failure::State(_) => "no error code",
        };
        let mut child = item(
            &id,
            title,
            status,
            format!("{} · {hint}", clients(names.total)),
        );
        child.details = names.details();
        if status != Status::Ok {
            child = explain(
                child,
                &rule::SCAN_FAILURES,
                format!("{}: {}", id, names.sentence(3)),
                fix,
            );
        }
        it.items.push(child);
    }
    if status == Status::Ok {
        return it;
    }
    let top = groups.first().map(|(f, _)| failure_words(**f));
    explain(
        it,
        &rule::SCAN_FAILURES,
        format!(
            "{} of {} clients: LastScanState 5 (failed) or 6 (completed with errors), or a non-zero LastErrorCode; most common {}",
            thousands(failed),
            thousands(c.clients),
            top.as_ref().map_or("-".to_owned(), |t| t.1.clone())
        ),
        top.map_or("", |t| t.2),
    )
}

/// Clients whose last scan is older than `stale_days` days, or who never scanned.
fn stale_total(c: &Census, r: &Rules, today: i64) -> u64 {
    stale_names(c, r, today).total
}

fn stale_names(c: &Census, r: &Rules, today: i64) -> Names {
    let limit = today.saturating_sub(i64::try_from(r.stale_days).unwrap_or(i64::MAX));
    let mut n = Names::new(crate::gather::LIST_SOME);
    for (day, names) in &c.scan_days {
        if day.is_none_or(|d| d < limit) {
            for name in &names.names {
                if n.names.len() < n.cap {
                    n.names.push(name.clone());
                }
            }
            n.total += names.total;
        }
    }
    n
}

fn stale(c: &Census, r: &Rules, today: i64) -> Item {
    let names = stale_names(c, r, today);
    let never = c.scan_days.get(&None).map_or(0, |n| n.total);
    let (status, words) = r.share(
        &format!(
            "not scanned for {} days ({} never scanned)",
            r.stale_days,
            thousands(never)
        ),
        names.total,
        c.clients,
    );
    let mut it = item("stale", "Stale scans", status, words);
    it.details = names.details();
    it.details
        .push(detail("Never scanned", thousands(never), None));
    it.details.push(detail(
        "Line",
        format!(
            "stale_days {} (the compliance scan runs once a week by default: {SCAN_SCHEDULE_DOC})",
            r.stale_days
        ),
        None,
    ));
    if status == Status::Ok {
        return it;
    }
    explain(
        it,
        &rule::STALE_SCANS,
        format!(
            "LastScanTime older than {} days or NULL on {} of {} clients ({} never scanned); waiting for a catalog location (1): {}, pending retry (4): {}",
            r.stale_days,
            thousands(names.total),
            thousands(c.clients),
            thousands(never),
            thousands(c.states[1]),
            thousands(c.states[4])
        ),
        "Check that these clients are online with the ConfigMgr client running and the Software Updates Client Agent enabled; read ScanAgent.log and WUAHandler.log on one. Many at once points at the SUP (wsus probe) or the client policy.",
    )
}

/// Clients whose scan waits (1) or is pending retry (4): informational; the old ones are
/// counted as stale.
fn pending(c: &Census, r: &Rules) -> Option<Item> {
    let (waiting, retry) = (c.states[1], c.states[4]);
    if waiting + retry == 0 {
        return None;
    }
    Some(item(
        "pending",
        "Scans waiting or pending retry",
        Status::Ok,
        format!(
            "{} waiting for a catalog location (state 1), {} pending retry (state 4): counted as stale once older than {} days",
            clients(waiting),
            clients(retry),
            r.stale_days
        ),
    ))
}

fn unparsable(c: &Census, r: &Rules) -> Option<Item> {
    if c.unparsable_count == 0 {
        return None;
    }
    // Odd values are a data problem, not a broken client: at most a warning.
    let pct = c.unparsable_count as f64 * 100.0 / c.clients as f64;
    let status = percent(pct, r.warn_percent, f64::INFINITY);
    let mut it = item(
        "unparsable",
        "Unreadable versions",
        status,
        format!(
            "{} ({pct:.1} %) report a LastWUAVersion that is not a.b.c.d",
            clients(c.unparsable_count)
        ),
    );
    it.details = c
        .unparsable
        .iter()
        .map(|(n, v)| detail(n, v.clone(), None))
        .collect();
    if status == Status::Ok {
        return Some(it);
    }
    let first = c
        .unparsable
        .first()
        .map_or(String::new(), |(n, v)| format!("{n}: {v:?}"));
    Some(explain(
        it,
        &rule::UNREADABLE,
        format!("e.g. {first}"),
        "Check the export query: LastWUAVersion must be exported as the view has it (a.b.c.d).",
    ))
}

/// The version tree: each version row carries the verdict of the group it falls in, so a row
/// never says "below the minimum" in green while the group is red (or the other way).
fn versions(c: &Census, r: &Rules, judged: &[Item]) -> Item {
    let group = |id: &str| judged.iter().find(|i| i.id == id);
    let mut it = item(
        "versions",
        "WUA versions",
        Status::Ok,
        format!("{} versions", c.versions.len()),
    );
    let pct = |n: u64| n as f64 * 100.0 / c.clients as f64;
    for (v, n) in c.versions.iter().rev() {
        let verdict = if *v < r.min {
            group("below-minimum")
        } else if r.expected.as_ref().is_some_and(|(e, _)| v < e) {
            group("below-expected")
        } else {
            None
        };
        let status = verdict.map_or(Status::Ok, |g| g.status);
        let mut summary = format!("{} ({:.1} %)", clients(*n), pct(*n));
        if let Some(g) = verdict {
            summary.push_str(&format!(" · counted in \"{}\"", g.title));
        }
        let mut row = item(&v.to_string(), format!("WUA {v}"), status, summary);
        if let Some(g) = verdict.filter(|g| g.status != Status::Ok) {
            row.rule = g.rule.clone();
            row.evidence = Some(format!("{} report LastWUAVersion {v}", clients(*n)));
            row.fix = g.fix.clone();
        }
        it.items.push(row);
    }
    it.items
        .extend(judged.iter().find(|i| i.id == "unparsable").cloned());
    if c.no_version > 0 {
        it.items.push(item(
            "no-version",
            "No version reported",
            Status::Ok,
            format!(
                "{} have not reported a WUA version yet",
                clients(c.no_version)
            ),
        ));
    }
    it.status = it.items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
    if let Some(worst) = it
        .items
        .iter()
        .find(|i| i.status == it.status && it.status != Status::Ok)
    {
        // The tree's fix is its worst row's own, never an umbrella "see below".
        let (rule, fix) = (worst.rule.clone(), worst.fix.clone());
        it.summary.push_str(&format!(
            ": {} below the line",
            if worst.id == "unparsable" {
                "unreadable versions and some".to_owned()
            } else {
                "some clients run an agent".to_owned()
            }
        ));
        it.rule = rule;
        it.evidence = Some(format!(
            "{} distinct LastWUAVersion values",
            c.versions.len()
        ));
        it.fix = fix;
    }
    it
}

fn clients(n: u64) -> String {
    match n {
        1 => "1 client".into(),
        n => format!("{} clients", thousands(n)),
    }
}

#[cfg(test)]
mod tests;
