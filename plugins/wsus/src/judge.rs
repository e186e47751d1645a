//! Facts in, items out: the wsus verdicts, pure and table-tested.

use crate::gather::{Console, Facts, Get, SelfUpdate, Sync};
use patchdeck_kit::http::HttpError;
use patchdeck_kit::report::{detail, item};
use patchdeck_kit::threshold;
use patchdeck_kit::time;
use patchdeck_kit::wsus::{self, SiteNeeds, Verdict, level_of_version};
use patchdeck_probe_api::{Item, Metric, Status};

/// Issues with client computer self-update: the self-update tree (`Selfupdate` virtual
/// directory) is how clients get the WSUS-compatible agent; without it they do not update the
/// agent and do not report to the server. WSUS needs it on the Default Web Site, port 80, even
/// when WSUS itself runs on a custom site (8530), and logs event 13042 "Self-update is not
/// working" otherwise. Pages: Issues with Client Computer Self-Update,
/// https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/dd939801(v=ws.10)
/// and "The SelfUpdate virtual directory is not configured for the default site on port 80"
/// (client computers do not report to the WSUS server),
/// http://www.gridview.org/kb/Win2003/The-Microsoft-Windows-Server-Update-Services-(WSUS)-SelfUpdate-service-does-not-send-automatic-updates.aspx
/// Hence CRITICAL: clients that cannot self-update stop scanning against this server.
pub const SELFUPDATE_DOC: &str = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/dd939801(v=ws.10)";
/// Status message 6702 (sync done) from SMS_WSUS_SYNC_MANAGER:
/// http://systemscenter.ru/smsv4.en/html/a81f9571-64b6-48cb-ba2c-7d9b52a9074c.htm
pub const SYNC_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/a81f9571-64b6-48cb-ba2c-7d9b52a9074c.htm";
/// Status message 6703 (sync failed) and its usual causes (the console missing on the site
/// server, port settings, proxy): Troubleshooting Software Updates Synchronization,
/// http://systemscenter.ru/smsv4.en/html/9647358a-d80b-486e-b4fc-e463745d4aba.htm
pub const SYNC_TROUBLE_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/9647358a-d80b-486e-b4fc-e463745d4aba.htm";

fn with(it: Item, v: &Verdict) -> Item {
    if v.status == Status::Ok {
        return it;
    }
    patchdeck_kit::report::explain(it, &v.evidence, &v.fix)
}

fn verdict_item(id: &str, title: &str, v: &Verdict, url: &str) -> Item {
    let mut it = item(id, title, v.status, &v.summary);
    it.details.push(detail("URL", url, None));
    with(it, v)
}

/// A web service answering GET (client.asmx, SimpleAuth.asmx).
pub fn service(id: &str, title: &str, g: &Get) -> Item {
    verdict_item(id, title, &wsus::service_status(&g.url, &g.answer), &g.url)
}

/// The admin API (ApiRemoting30) wants Windows authentication: 401 is healthy.
pub fn admin_api(g: &Get) -> Item {
    let (id, title) = ("admin-api", "Admin API (ApiRemoting30)");
    match g.answer {
        Ok(code @ (200 | 401)) => verdict_item(
            id,
            title,
            &Verdict {
                status: Status::Ok,
                summary: format!("HTTP {code}: answering (the site server's WSUS console uses it)"),
                evidence: format!("GET {} -> {code}", g.url),
                fix: String::new(),
            },
            &g.url,
        ),
        _ => service(id, title, g),
    }
}

/// The version item from GetConfig, and the ProtocolVersion when one was read.
pub fn version(f: &Facts, needs: SiteNeeds) -> (Item, Option<String>) {
    let (v, pv) = wsus::judge_get_config(&f.get_config, needs);
    let mut it = verdict_item("version", "Version (GetConfig)", &v, &f.get_config.url);
    if let Ok(a) = &f.get_config.answer {
        if let Err(patchdeck_kit::soap::SoapError::Fault {
            code,
            message,
            error_code,
        }) = &a.parsed
        {
            it.details.push(detail("faultcode", code, None));
            if let Some(e) = error_code {
                it.details
                    .push(detail("ErrorCode", e, Some(Status::Critical)));
            }
            it.details.push(detail("faultstring", message, None));
        }
        it.details
            .push(detail("Latency", format!("{:.0} ms", a.ms), None));
    }
    if let Some(pv) = &pv {
        it.details
            .push(detail("ProtocolVersion", pv, Some(v.status)));
    }
    (it, pv)
}

/// wuident.cab must answer HEAD with a size and a ranged GET with 206 (MS-WUSP: content and
/// self-update directories serve HEAD and byte ranges).
pub fn selfupdate(id: &str, title: &str, s: &SelfUpdate) -> Item {
    let fail = |status: Status, why: String, evidence: String| {
        let mut it = item(
            id,
            title,
            status,
            format!("{why}: clients that cannot fetch wuident.cab stop talking to this server"),
        );
        it.details.push(detail("URL", &s.url, None));
        patchdeck_kit::report::explain(
            it,
            evidence,
            format!(
                "Serve the self-update tree: the Selfupdate virtual directory with anonymous access on the Default Web Site, port 80 (WSUS event 13042 says \"Self-update is not working\"). {SELFUPDATE_DOC}"
            ),
        )
    };
    let head = match &s.head {
        Err(e @ (HttpError::OutOfTime | HttpError::Cancelled)) => {
            let v = wsus::unreachable(&s.url, e);
            return verdict_item(id, title, &v, &s.url);
        }
        Err(e) => {
            return fail(
                Status::Critical,
                format!("unreachable: {e}"),
                format!("HEAD {}: {e}", s.url),
            );
        }
        Ok(h) => *h,
    };
    let len = match head {
        (200, Some(len)) => len,
        (code, _) => {
            return fail(
                Status::Critical,
                format!("HEAD answered HTTP {code} without a size"),
                format!("HEAD {} -> {code}, no Content-Length", s.url),
            );
        }
    };
    let head_seen = format!("HEAD {} -> 200, Content-Length {len}", s.url);
    match &s.range {
        Some((range, Ok(206))) => {
            let mut it = item(id, title, Status::Ok, "wuident.cab served (HEAD and Range)");
            it.details.push(detail("URL", &s.url, None));
            it.details.push(detail(
                "HEAD",
                format!("200, Content-Length {len}"),
                Some(Status::Ok),
            ));
            it.details.push(detail(
                "Range",
                format!("{range} -> 206 Partial Content"),
                Some(Status::Ok),
            ));
            it
        }
        Some((range, Ok(code))) => fail(
            Status::Critical,
            format!("ranged GET answered HTTP {code} instead of 206"),
            format!("{head_seen}; GET Range {range} -> {code}"),
        ),
        Some((range, Err(e))) => fail(
            Status::Critical,
            format!("unreachable: {e}"),
            format!("{head_seen}; GET Range {range}: {e}"),
        ),
        None => fail(
            Status::Critical,
            "no ranged GET was possible".into(),
            head_seen,
        ),
    }
}

/// GetConfig slower than the limits: its own item, so the cause shows in problem lists.
pub fn latency(ms: f64, warn_ms: u64, crit_ms: u64, url: &str) -> Option<Item> {
    let status = threshold::latency(ms, warn_ms, crit_ms);
    if status == Status::Ok {
        return None;
    }
    Some(patchdeck_kit::report::explain(
        item(
            "latency",
            "GetConfig latency",
            status,
            format!(
                "GetConfig took {ms:.0} ms (warning over {warn_ms} ms, critical over {crit_ms} ms)"
            ),
        ),
        format!("POST GetConfig {url} answered in {ms:.0} ms"),
        "Clients time out against a slow WSUS (0x8024401C): check WsusPool's CPU and memory and the WSUS database on the server.",
    ))
}

/// SUP synchronisation from SMS_WSUS_SYNC_MANAGER status messages (6702 done, 6703 failed);
/// only the watched site's rows count.
/// `max_age`: seconds, and as the operator wrote it ("26h").
pub fn sync(
    s: &Result<Sync, String>,
    max_age: (i64, &str),
    site_code: Option<&str>,
    now: i64,
) -> Item {
    let (id, title) = ("sync", "SUP synchronisation");
    let s = match s {
        Ok(s) => s,
        Err(e) => {
            return patchdeck_kit::report::explain(
                item(id, title, Status::Unknown, e),
                e.clone(),
                "Fix the status-message export named here (README, Site-database exports: the SQL lists the columns).",
            );
        }
    };
    let hours = |t: i64| time::hours_between(t, now);
    let mut details = vec![
        detail(
            "Last success (6702)",
            s.last_ok
                .map_or("never".into(), |t| format!("{} h ago", hours(t))),
            None,
        ),
        detail(
            "Last failure (6703)",
            s.last_fail
                .map_or("none".into(), |t| format!("{} h ago", hours(t))),
            None,
        ),
    ];
    if !s.other_sites.is_empty() {
        let others: Vec<String> = s
            .other_sites
            .iter()
            .map(|(site, n)| format!("{site}: {n}"))
            .collect();
        details.push(detail(
            "Other sites' rows (ignored)",
            others.join(", "),
            None,
        ));
    }
    let seen = format!(
        "SMS_WSUS_SYNC_MANAGER rows{}: last 6702 {}, last 6703 {}",
        site_code.map_or(String::new(), |c| format!(" of site {c}")),
        s.last_ok
            .map_or("never".into(), |t| format!("{} h ago", hours(t))),
        s.last_fail
            .map_or("none".into(), |t| format!("{} h ago", hours(t)))
    );
    let (mut status, mut summary, mut fix) = sync_verdict(s, max_age, now);
    if site_code.is_none() && s.sites.len() > 1 {
        // Another site's success must not stand for this one's.
        let sites: Vec<&str> = s.sites.iter().map(String::as_str).collect();
        status = status.worst(Status::Warning);
        summary = format!(
            "several sites in the export ({}): set site_code; across them: {summary}",
            sites.join(", ")
        );
        fix = format!(
            "Set site_code = \"{}\" (this site's code) in this probe's config, or export only this site's status messages.",
            sites[0]
        );
    }
    let mut it = item(id, title, status, summary);
    it.details = details;
    if status == Status::Ok {
        return it;
    }
    patchdeck_kit::report::explain(it, seen, fix)
}

fn sync_verdict(s: &Sync, (max_age, written): (i64, &str), now: i64) -> (Status, String, String) {
    let hours = |t: i64| time::hours_between(t, now);
    let trouble = format!(
        "Read wsyncmgr.log on the site server and the text of the 6703 messages; common causes are the WSUS console missing on the site server, a port mismatch with the WSUS web site, or a proxy. {SYNC_TROUBLE_DOC}"
    );
    let Some(ok) = s.last_ok else {
        return (
            Status::Critical,
            "no successful sync (6702) in the status messages".into(),
            trouble,
        );
    };
    let age = now.saturating_sub(ok);
    let age_status = if age > max_age.saturating_mul(2) {
        Status::Critical
    } else if age > max_age {
        Status::Warning
    } else {
        Status::Ok
    };
    if let Some(fail) = s.last_fail.filter(|f| *f > ok) {
        return (
            Status::Warning.worst(age_status),
            format!(
                "last sync failed (6703) {} h ago; last success {} h ago",
                hours(fail),
                hours(ok)
            ),
            trouble,
        );
    }
    match age_status {
        Status::Ok => (
            Status::Ok,
            format!("last sync succeeded (6702) {} h ago", hours(ok)),
            String::new(),
        ),
        s => (
            s,
            format!(
                "last successful sync (6702) was {} h ago, over sync_max_age {written}",
                hours(ok),
            ),
            format!(
                "Check the synchronisation schedule of the active software update point and run Synchronization on the Update Repository node; wsyncmgr.log tells why it did not run. {SYNC_DOC}"
            ),
        ),
    }
}

/// The service-pack level of an Add/Remove Programs entry: from Version0, else from the
/// DisplayName ("Windows Server Update Services 3.0 SP2"); `None` when neither tells.
pub fn console_level(display_name: &str, version: &str) -> Option<&'static str> {
    if let Some(l) = level_of_version(version) {
        return Some(l);
    }
    let words: Vec<&str> = display_name.split_whitespace().collect();
    if words.contains(&"SP2") {
        Some("SP2")
    } else if words.contains(&"SP1") {
        Some("SP1")
    } else if words.last() == Some(&"3.0") {
        Some("RTM")
    } else {
        None
    }
}

/// The WSUS 3.0 Administration Console: required on the site server when the active SUP is
/// remote, at the server's service-pack level (SP1 or SP2 for ConfigMgr 2007 SP1). The seed,
/// [`wsus::SU_PREREQS`].
pub fn console(c: &Console, server_pv: Option<&str>) -> Item {
    let (id, title) = ("console", "WSUS 3.0 Administration Console");
    let install = |level: &str| {
        format!(
            "Install the WSUS 3.0 {level} Administration Console on the site server (WSUS setup, console-only install). {}",
            wsus::SU_PREREQS
        )
    };
    let server_level = server_pv.and_then(level_of_version);
    let (server, found) = match c {
        Console::NotNeeded { server } => {
            return item(
                id,
                title,
                Status::Ok,
                format!("not needed: WSUS is installed on the site server {server}"),
            );
        }
        Console::Failed { server: _, error } => {
            return patchdeck_kit::report::explain(
                item(id, title, Status::Unknown, error),
                error.clone(),
                "Fix the programs export named here (README, Site-database exports).",
            );
        }
        Console::Read { server, found } => (server, found),
    };
    let Some((name, version)) = found else {
        return patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Critical,
                format!(
                    "not installed on the site server {server}: it cannot configure or synchronise the remote SUP"
                ),
            ),
            format!(
                "no \"Windows Server Update Services 3.0\" entry for {server} in the programs export"
            ),
            install(server_level.unwrap_or("SP2")),
        );
    };
    let shown = if version.is_empty() {
        name.clone()
    } else {
        format!("{name} ({version})")
    };
    let seen = format!("Add/Remove Programs on {server}: {shown}");
    let mut it = match (console_level(name, version), server_level) {
        (None, _) => patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Warning,
                format!(
                    "installed on {server}, but its service-pack level cannot be told from \"{shown}\""
                ),
            ),
            seen,
            "Check the console's version on the site server (Help > About in the WSUS console) or export Version0 with the programs.",
        ),
        (Some(console), Some(srv)) if console != srv => patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Critical,
                format!(
                    "console is WSUS 3.0 {console}, the server is {srv}: the service-pack levels must match"
                ),
            ),
            seen,
            install(srv),
        ),
        (Some("RTM"), _) => patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Critical,
                "console is WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs the SP1 or SP2 console",
            ),
            seen,
            install("SP2"),
        ),
        (Some(level), _) => item(
            id,
            title,
            Status::Ok,
            format!("installed on {server} (WSUS 3.0 {level})"),
        ),
    };
    it.details.push(detail("Installed", shown, None));
    it
}

/// The pane line: the version, then the worst cause when there is one.
pub fn summary(items: &[Item], pv: Option<&str>, ms: Option<f64>) -> String {
    let status = items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
    let version = items.iter().find(|i| i.id == "version");
    let version_text = match (version, pv) {
        (Some(v), Some(pv)) => format!(
            "{} (protocol {pv})",
            v.summary.split(':').next().unwrap_or("")
        ),
        _ => String::new(),
    };
    if status == Status::Ok {
        let mut s = format!("{version_text} · all {} checks OK", items.len());
        if let Some(ms) = ms {
            s.push_str(&format!(" · {ms:.0} ms"));
        }
        return s;
    }
    // The version item first when it is among the worst: it names the server's state.
    let worst = version
        .filter(|v| v.status == status)
        .or_else(|| items.iter().find(|i| i.status == status))
        .expect("some item has the worst status");
    if worst.id == "version" || version_text.is_empty() {
        if worst.id == "version" {
            return worst.summary.clone();
        }
        return format!("{}: {}", worst.title, worst.summary);
    }
    format!("{version_text} · {}: {}", worst.title, worst.summary)
}

/// The metrics: GetConfig latency and the protocol version as a number.
pub fn metrics(ms: Option<f64>, pv: Option<&str>, warn_ms: u64, crit_ms: u64) -> Vec<Metric> {
    let mut m = Vec::new();
    if let Some(ms) = ms {
        m.push(threshold::latency_metric(
            "getconfig_latency",
            ms,
            warn_ms,
            crit_ms,
        ));
    }
    if let Some(v) = pv.and_then(|v| v.parse::<f64>().ok()) {
        m.push(
            patchdeck_kit::report::metric("protocol_version", v, "")
                .no_min()
                .done(),
        );
    }
    m
}

#[cfg(test)]
mod tests;
