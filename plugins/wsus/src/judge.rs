//! Facts in, items out: the wsus verdicts, pure and table-tested.

use crate::gather::{
    Components, Console, Facts, Get, SelfUpdate, Summary, SummaryRow, SupPorts, Sync, SyncFailure,
    WsusSource,
};
use crate::rules as r;
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
/// Sync Schedule page of the software update point (ConfigMgr 2007): "By default, the simple
/// schedule is selected and the interval is set to 7 days."
pub const SYNC_SCHEDULE_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/7133d061-cd54-40c5-81a5-ea16bfbdb580.htm";
/// Status message 6702 (sync done) from SMS_WSUS_SYNC_MANAGER:
/// http://systemscenter.ru/smsv4.en/html/a81f9571-64b6-48cb-ba2c-7d9b52a9074c.htm
pub const SYNC_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/a81f9571-64b6-48cb-ba2c-7d9b52a9074c.htm";
/// Status message 6703 (sync failed) and its usual causes (the console missing on the site
/// server, port settings, proxy): Troubleshooting Software Updates Synchronization,
/// http://systemscenter.ru/smsv4.en/html/9647358a-d80b-486e-b4fc-e463745d4aba.htm
pub const SYNC_TROUBLE_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/9647358a-d80b-486e-b4fc-e463745d4aba.htm";

/// "How to Configure the Firewall for Software Updates" (ConfigMgr 2007): WSUS on the Default
/// Web Site uses 80/443, on the WSUS custom web site 8530/8531.
pub const WSUS_PORTS_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/483faab7-1a5e-4e04-8fd8-6787dccc6a10.htm";
/// Software Update Point (ConfigMgr 2007 SDK): "When ... the active software update point is
/// configured to use Secure Sockets Layer (SSL), you must configure five virtual roots to use
/// a secured channel ... then run the WSUSUtil tool".
pub const SUP_SSL_DOC: &str =
    "https://systemscenter.ru/sccm_sdk.en/html/6f35ac9a-fe2a-4446-8ea3-e17ea86709b4.htm";

/// The site server reaches WSUS with the SUP's port settings; they must be the WSUS web
/// site's (SYNC_TROUBLE_DOC), and SSL on the SUP needs the web services to require it
/// (SUP_SSL_DOC). `services` is where this probe found WSUS (its `url`/`ssl_url`), named in
/// the evidence when the SUP points elsewhere.
/// `wsus_at`: the URLs this probe checks WSUS at (`url`, and `ssl_url` when set); when the
/// SUP points at one of them the settings match, and WSUS's own failures are the other
/// items' business, never blamed on the port settings.
pub fn sup_ports(s: &SupPorts, services: &str, services_ok: bool, wsus_at: &[&str]) -> Item {
    let (id, title) = ("sup-ports", "SUP settings vs the WSUS web site");
    let (settings, gc, plain) = match s {
        SupPorts::Failed(e) => {
            return unreadable_export(
                id,
                title,
                e,
                "Fix the SUP properties export named here (README, Site-database exports).",
            );
        }
        SupPorts::Missing {
            server,
            missing,
            servers,
        } => {
            let seen = if servers.is_empty() {
                "no SUP rows at all".to_owned()
            } else {
                format!(
                    "SUP rows for {}",
                    servers.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            return patchdeck_kit::report::explain(
                item(
                    id,
                    title,
                    Status::Unknown,
                    format!(
                        "cannot compare: no {} for {server} in the SUP properties export",
                        missing.join(", ")
                    ),
                ),
                &r::SUP_PROPERTIES,
                format!("the export has {seen}"),
                r::SUP_PROPERTIES.fix,
            );
        }
        SupPorts::Checked {
            settings,
            get_config,
            plain,
        } => (settings, get_config, plain),
    };
    let (scheme, port) = settings.used();
    let set = format!(
        "the SUP {} is set for {scheme} port {port} (WSUSIISPort {}, WSUSIISSSLPort {}, SSL {})",
        settings.server,
        settings.http_port,
        settings.https_port,
        if settings.ssl { "on" } else { "off" }
    );
    let wsus_ok = gc.answer.as_ref().is_ok_and(|a| a.parsed.is_ok());
    let at_checked = patchdeck_kit::host::Endpoint::parse(&gc.url).is_some_and(|e| {
        wsus_at
            .iter()
            .any(|u| patchdeck_kit::host::Endpoint::parse(u).is_some_and(|w| w.same(&e)))
    });
    let plain_status = plain.answer.as_ref().ok().copied();
    let mut it = if !settings.ssl && plain.ssl_required {
        // SSL off on the SUP, but the web services want SSL: every call is refused.
        patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Critical,
                format!("{set}, but the WSUS web services require SSL (403.4)"),
            ),
            &r::SUP_SSL,
            format!("{set}; {} answered 403.4 SSL required", plain.url),
            "Enable SSL communications to the WSUS server in the software update point's properties (the SSL port is WSUSIISSSLPort), or stop requiring SSL on the five WSUS virtual roots.",
        )
    } else if !wsus_ok && at_checked {
        item(
            id,
            title,
            Status::Ok,
            format!(
                "{set}: the WSUS web site this probe checks; WSUS's own answer is judged by the items above"
            ),
        )
    } else if !wsus_ok {
        let why = match &gc.answer {
            Err(e) => e.to_string(),
            Ok(a) if a.ssl_required => "IIS answered 403.4 SSL required".to_owned(),
            Ok(a) => match &a.parsed {
                Ok(_) => format!("HTTP {}", a.status),
                Err(e) => format!("HTTP {}, not WSUS's GetConfig answer: {e}", a.status),
            },
        };
        let elsewhere = if services_ok {
            format!("; WSUS answers GetConfig at {services} (this probe's url)")
        } else {
            String::new()
        };
        let (rule, fix) = if settings.ssl && plain_status == Some(200) && !plain.ssl_required {
            (
                &r::SUP_SSL,
                format!(
                    "The SUP uses SSL but the web services do not require it ({} answered 200): require SSL on the five WSUS virtual roots, then run `wsusutil configuressl <FQDN>`; or clear SSL in the software update point's properties.",
                    plain.url
                ),
            )
        } else {
            (&r::SUP_PORTS, r::SUP_PORTS.fix.to_owned())
        };
        patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Critical,
                format!("{set}; WSUS does not answer there as WSUS: {why}"),
            ),
            rule,
            format!("{set}; GetConfig at {}: {why}{elsewhere}", gc.url),
            fix,
        )
    } else if settings.ssl && plain_status == Some(200) && !plain.ssl_required {
        // SSL works, but plain HTTP is accepted too: the virtual roots do not require SSL.
        patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Critical,
                format!("{set}, but the WSUS web services do not require SSL"),
            ),
            &r::SUP_SSL,
            format!("{set}; {} answered 200 over plain HTTP", plain.url),
            "Require SSL on the five WSUS virtual roots (ApiRemoting30, ClientWebService, DSSAuthWebService, ServerSyncWebService, SimpleAuthWebService), then run `wsusutil configuressl <FQDN>`.",
        )
    } else {
        item(
            id,
            title,
            Status::Ok,
            format!("{set}: WSUS answers GetConfig there"),
        )
    };
    it.details.push(detail("URL", &gc.url, None));
    it.details
        .push(detail("Site server's accounts", NOT_VISIBLE, None));
    it
}

/// What cannot be seen from here: the site server's own accounts on the WSUS virtual
/// directories (Troubleshooting Software Updates Synchronization, 9647358a).
pub const NOT_VISIBLE: &str = "not visible from this host: the site server's computer and administrator accounts can only be tested from the site server (the admin API item logs in as the account patchdeck is given)";

/// Which documented cause a 6703 text names (case-insensitive), or none.
fn cause_of(text: &str) -> Option<(&'static patchdeck_probe_api::Rule, &'static str)> {
    let t = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["(407)", "status 407", "proxy authentication required"]) {
        Some((&r::CAUSE_PROXY, "the proxy asks for credentials (HTTP 407)"))
    } else if has(&[
        "(401)",
        "status 401",
        "unauthorized",
        "access is denied",
        "(403)",
        "status 403",
        "forbidden",
    ]) {
        Some((
            &r::CAUSE_ACCESS,
            "the WSUS web site refuses the site server's account (HTTP 401/403)",
        ))
    } else if has(&[
        "unable to connect to the remote server",
        "actively refused",
        "could not be resolved",
        "the operation has timed out",
    ]) {
        Some((&r::CAUSE_CONNECT, "the site server cannot reach WSUS"))
    } else if t.contains("microsoft.updateservices.administration")
        && has(&["could not load", "not found", "cannot find"])
    {
        Some((
            &r::CAUSE_CONSOLE,
            "the WSUS administration assembly is missing on the site server",
        ))
    } else {
        None
    }
}

/// Why the failing synchronisation fails: the newest 6703's text, when no 6702 came after
/// it. None when synchronisation is not failing.
/// `source`: how WSUS's own update source differs from the wanted one, when it does: the
/// documented cause of an unrecognised text, and evidence beside a recognised one.
pub fn sync_cause(
    s: &Sync,
    failure: &Result<Option<SyncFailure>, String>,
    taken: i64,
    source: Option<&str>,
) -> Option<Item> {
    let (id, title) = ("sync-cause", "Why synchronisation fails (6703)");
    let failing = s
        .last_fail
        .is_some_and(|f| s.last_ok.is_none_or(|ok| f > ok));
    if !failing {
        return None;
    }
    let f = match failure {
        Err(e) => {
            return Some(unreadable_export(
                id,
                title,
                e,
                "Fix the sync failures export named here (README, Site-database exports).",
            ));
        }
        Ok(f) => f
            .as_ref()
            .filter(|f| s.last_ok.is_none_or(|ok| f.time > ok)),
    };
    let Some(f) = f else {
        return Some(patchdeck_kit::report::explain(
            item(
                id,
                title,
                Status::Unknown,
                "the newest 6703 has no text in the sync failures export",
            ),
            &r::EXPORT,
            "no insertion strings for a 6703 newer than the last 6702",
            "Check that sync_failures.sql runs with status_messages.sql (the same export run).",
        ));
    };
    let shown = f.text.replace('\n', " · ");
    let mut it = match (cause_of(&f.text), source) {
        (Some((rule, what)), _) => patchdeck_kit::report::explain(
            item(
                id,
                title,
                rule.severity,
                format!("{what}: 6703 {}", ago(f.time, taken)),
            ),
            rule,
            format!("6703 text: {shown}"),
            rule.fix,
        ),
        (None, Some(m)) => patchdeck_kit::report::explain(
            item(
                id,
                title,
                r::CAUSE_SOURCE.severity,
                format!("{m}: 6703 {}: {shown}", ago(f.time, taken)),
            ),
            &r::CAUSE_SOURCE,
            format!("6703 text: {shown}; {m}"),
            r::CAUSE_SOURCE.fix,
        ),
        (None, None) => patchdeck_kit::report::explain(
            item(
                id,
                title,
                r::CAUSE_UNKNOWN.severity,
                format!("6703 {}: {shown}", ago(f.time, taken)),
            ),
            &r::CAUSE_UNKNOWN,
            format!("6703 text: {shown}"),
            r::CAUSE_UNKNOWN.fix,
        ),
    };
    if let Some(m) = source {
        it.details.push(detail("WSUS update source", m, None));
    }
    Some(it)
}

/// "Verifying WSUS Server Settings" (WSUS): the server's configuration lives in SUSDB;
/// tbConfigurationA.SyncToMu is the update source (0 a WSUS server, 1 Microsoft Update) and
/// tbConfigurationA.UpstreamServerName the upstream server's name.
pub const WSUS_SETTINGS_DOC: &str = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/cc708545(v=ws.10)";

/// Where a SUP's WSUS should synchronise from (`sync_from`), as ConfigMgr set it: Microsoft
/// Update at the central site (set when its SUP is created, 9647358a), the parent site's SUP
/// at a child site (a81f9571: child sites synchronise with their parent), or nowhere when the
/// site is kept up to date with WSUSutil export and import (2eb31e4c).
#[derive(Debug, Clone, PartialEq)]
pub enum SyncFrom {
    MicrosoftUpdate,
    Upstream(String),
    NotSynchronised,
}

impl SyncFrom {
    pub fn parse(v: &str) -> Result<SyncFrom, String> {
        match v {
            "microsoft-update" => Ok(SyncFrom::MicrosoftUpdate),
            "none" => Ok(SyncFrom::NotSynchronised),
            name if !name.is_empty()
                && name.len() < 256
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) =>
            {
                Ok(SyncFrom::Upstream(name.to_owned()))
            }
            _ => Err(format!(
                "field `sync_from`: {:?} must be \"microsoft-update\" (the central site), the upstream server's name (a child site: its parent's SUP) or \"none\" (WSUSutil import)",
                patchdeck_kit::report::clip(v, 80)
            )),
        }
    }

    fn describe(&self) -> String {
        match self {
            SyncFrom::MicrosoftUpdate => "Microsoft Update".into(),
            SyncFrom::Upstream(u) => format!("the upstream server {u}"),
            SyncFrom::NotSynchronised => "nowhere".into(),
        }
    }
}

fn source_name(s: &WsusSource) -> String {
    match (&s.sync_to_mu, &s.upstream) {
        (true, _) => "Microsoft Update".into(),
        (false, Some(u)) => format!("the upstream server {u}"),
        (false, None) => "an upstream server it does not name".into(),
    }
}

/// How WSUS's own update source differs from `want`, or None when it is the one wanted (or
/// nothing is wanted).
fn source_mismatch(s: &WsusSource, want: &SyncFrom) -> Option<String> {
    let same = match want {
        SyncFrom::NotSynchronised => true,
        SyncFrom::MicrosoftUpdate => s.sync_to_mu,
        SyncFrom::Upstream(u) => {
            !s.sync_to_mu
                && s.upstream
                    .as_deref()
                    .is_some_and(|have| patchdeck_kit::host::same_host(have, u))
        }
    };
    (!same).then(|| {
        format!(
            "WSUS synchronises from {}, not {}",
            source_name(s),
            want.describe()
        )
    })
}

/// WSUS's own update source against the one ConfigMgr set (`sync_from`). ConfigMgr's WSUS
/// Configuration Manager resets other WSUS settings but not this one when it is changed in the
/// WSUS console (9647358a), so it can drift unseen until synchronisation fails. Also returns
/// how the source differs ([`source_mismatch`]): a cause for [`sync_cause`].
pub fn sync_source(src: &Result<WsusSource, String>, want: &SyncFrom) -> (Item, Option<String>) {
    let (id, title) = ("sync-source", "WSUS update source");
    let s = match src {
        Err(e) => {
            let it = unreadable_export(
                id,
                title,
                e,
                "Fix the WSUS configuration export named here (run-exports.cmd with the SUP's WSUS database server; README, Site-database exports).",
            );
            return (it, None);
        }
        Ok(s) => s,
    };
    let mismatch = source_mismatch(s, want);
    let evidence = format!(
        "SUSDB tbConfigurationA: SyncToMu {}, UpstreamServerName {} ({WSUS_SETTINGS_DOC})",
        u8::from(s.sync_to_mu),
        s.upstream.as_deref().unwrap_or("(none)")
    );
    let mut it = if *want == SyncFrom::NotSynchronised {
        item(
            id,
            title,
            Status::Ok,
            format!(
                "not judged (sync_from = \"none\": the site imports with WSUSutil); WSUS is set to {}",
                source_name(s)
            ),
        )
    } else if let Some(m) = &mismatch {
        patchdeck_kit::report::explain(
            item(id, title, r::SYNC_SOURCE.severity, m),
            &r::SYNC_SOURCE,
            evidence.clone(),
            format!(
                "Set the update source back to {} in the WSUS Administration console on the SUP (Options, Update Source and Proxy Server): ConfigMgr's WSUS Configuration Manager does not reset it. If the site is meant to synchronise otherwise, correct sync_from.",
                want.describe()
            ),
        )
    } else {
        item(
            id,
            title,
            Status::Ok,
            format!(
                "WSUS synchronises from {}, as ConfigMgr set it",
                want.describe()
            ),
        )
    };
    it.details.push(detail("Source", evidence, None));
    (it, mismatch)
}

/// "Configuration Manager 2007 Component Status Properties: General tab": a component is
/// Warning when its count of a message type reaches the Warning threshold and Critical when
/// it reaches the Critical one, within the threshold period. The values are the site's own
/// (Component Status Summarizer, Thresholds tab).
pub const COMPONENT_STATUS_DOC: &str =
    "https://systemscenter.ru/smsv4.en/html/d8577603-020d-42cc-a1c1-890eb0ba2a5e.htm";

/// A site's Component Status Summarizer thresholds: [warning at, critical at] per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentThresholds {
    pub errors: [u64; 2],
    pub warnings: [u64; 2],
}

/// Component status as the console shows it: per component, errors and warnings in the
/// window, the newest error with its message id and text. With the site's thresholds,
/// judged as the console judges; without, any error is a warning (the console's defaults
/// are not in the stored ConfigMgr 2007 pages) and warnings alone are shown, not judged.
pub fn components(
    c: &Result<Components, String>,
    thresholds: Option<&ComponentThresholds>,
    window: &str,
    taken: i64,
) -> Item {
    let (id, title) = ("components", "Component status");
    let c = match c {
        Err(e) => {
            return unreadable_export(
                id,
                title,
                e,
                "Fix the component messages export named here (README, Site-database exports).",
            );
        }
        Ok(c) => c,
    };
    let level = |n: u64, [warn, crit]: [u64; 2]| {
        if n >= crit {
            Status::Critical
        } else if n >= warn {
            Status::Warning
        } else {
            Status::Ok
        }
    };
    let mut children = Vec::new();
    for (name, k) in &c.counts {
        let status = match thresholds {
            Some(t) => level(k.errors, t.errors).worst(level(k.warnings, t.warnings)),
            None if k.errors > 0 => Status::Warning,
            None => Status::Ok,
        };
        let mut summary = format!(
            "{} error{}, {} warning{} in the last {window}",
            k.errors,
            if k.errors == 1 { "" } else { "s" },
            k.warnings,
            if k.warnings == 1 { "" } else { "s" }
        );
        if let Some((t, mid, text)) = &k.latest_error {
            summary.push_str(&format!("; newest error {mid} {}", ago(*t, taken)));
            if !text.is_empty() {
                summary.push_str(&format!(": {text}"));
            }
        }
        let mut it = item(name, name, status, summary.clone());
        if status != Status::Ok {
            let rule = if thresholds.is_some() {
                &r::COMPONENT_STATUS
            } else {
                &r::COMPONENT_ERRORS
            };
            let fix = format!(
                "Open the component's status messages in the ConfigMgr console (System Status, Component Status, {name}) and its log on the site server; {}",
                if thresholds.is_some() {
                    "counts reset with the site's threshold period"
                } else {
                    "set component_thresholds to your site's Component Status Summarizer thresholds to judge as the console does"
                }
            );
            it = patchdeck_kit::report::explain(it, rule, summary, fix);
        }
        children.push(it);
    }
    over(
        children,
        &format!("without errors in the last {window}"),
        "errors or warnings over the line",
    )
}

/// The component status item over its components: the worst of them; "N components
/// {good}", or the ones that are not OK and `bad`.
fn over(children: Vec<Item>, good: &str, bad: &str) -> Item {
    let not_ok: Vec<&str> = children
        .iter()
        .filter(|i| i.status != Status::Ok)
        .map(|i| i.id.as_str())
        .collect();
    let status = children.iter().fold(Status::Ok, |w, i| w.worst(i.status));
    let summary = if not_ok.is_empty() {
        format!(
            "{} component{} {good}",
            children.len(),
            if children.len() == 1 { "" } else { "s" }
        )
    } else {
        format!("{}: {bad}", not_ok.join(", "))
    };
    let mut it = item("components", "Component status", status, summary);
    it.items = children;
    it
}

/// "SMS_ComponentSummarizer Server WMI Class" (ConfigMgr 2007 SDK): `Status` is the health
/// (colour) of the component's icon in the console, `Errors`/`Warnings` the counts over the
/// tally interval. The values 0 GREEN, 1 YELLOW, 2 RED and the states 0 STOPPED .. 5
/// DE_INSTALLING are the SMS reference's (Table B.75, "Summarizer — Component",
/// library.thedatadungeon.com/msdn-2000-04/bores/html/smc_ab094.content.htm).
pub const COMPONENT_SUMMARIZER_DOC: &str = "https://learn.microsoft.com/en-us/previous-versions/system-center/developer/cc144830(v=msdn.10)";

/// The console's colour for a SMS_ComponentSummarizer.Status value.
fn colour(status: i64) -> (Status, &'static str) {
    match status {
        0 => (Status::Ok, "green"),
        1 => (Status::Warning, "yellow"),
        2 => (Status::Critical, "red"),
        _ => (
            Status::Unknown,
            "not a documented Status (0 green, 1 yellow, 2 red)",
        ),
    }
}

/// SMS_ComponentSummarizer.State's names.
fn state_name(state: i64) -> String {
    match state {
        0 => "stopped".into(),
        1 => "started".into(),
        2 => "paused".into(),
        3 => "installing".into(),
        4 => "re-installing".into(),
        5 => "de-installing".into(),
        n => format!("state {n}"),
    }
}

/// One component as the console colours it: the worst Status of its rows (a row per
/// computer), the counts since 12:00 AM, and the newest error from the messages export.
fn console_component(
    name: &str,
    rows: &[SummaryRow],
    newest: Option<&(i64, i64, String)>,
    site: Option<&str>,
    taken: i64,
) -> Item {
    if rows.is_empty() {
        let at = site.map(|s| format!(" of site {s}")).unwrap_or_default();
        return patchdeck_kit::report::explain(
            item(
                name,
                name,
                Status::Unknown,
                format!("no row{at} in the component summary"),
            ),
            &r::EXPORT,
            format!("component_summary_csv has no {name} row{at} for the interval Since 12:00AM"),
            "Check the name in `components` against the console's Component Status list, and that component_summary.sql ran against this site's database.",
        );
    }
    let status = rows
        .iter()
        .fold(Status::Ok, |w, r| w.worst(colour(r.status).0));
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    let warnings: u64 = rows.iter().map(|r| r.warnings).sum();
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let colours: Vec<&str> = rows.iter().map(|r| colour(r.status).1).collect();
    let shown = if colours.iter().all(|c| *c == colours[0]) {
        colours[0].to_owned()
    } else {
        rows.iter()
            .map(|r| format!("{} on {}", colour(r.status).1, r.machine))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut summary = format!(
        "{shown} in the console: {errors} error{}, {warnings} warning{} since 12:00 AM",
        plural(errors),
        plural(warnings)
    );
    for r in rows.iter().filter(|r| r.state != 1) {
        summary.push_str(&format!("; {} on {}", state_name(r.state), r.machine));
    }
    if let Some((t, mid, text)) = newest {
        summary.push_str(&format!("; newest error {mid} {}", ago(*t, taken)));
        if !text.is_empty() {
            summary.push_str(&format!(": {text}"));
        }
    }
    let mut it = item(name, name, status, summary.clone());
    if status != Status::Ok {
        let evidence = rows
            .iter()
            .map(|r| {
                format!(
                    "SMS_ComponentSummarizer on {}: Status {} ({}), {} errors, {} warnings since 12:00 AM",
                    r.machine,
                    r.status,
                    colour(r.status).1,
                    r.errors,
                    r.warnings
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let fix = format!(
            "In the ConfigMgr console open System Status › Site Status › {} › Component Status › {name}, read its error messages (Show Messages) and its log on the site server; the colour comes from the site's Component Status thresholds and its counts reset with the threshold period.",
            site.unwrap_or("the site")
        );
        it = patchdeck_kit::report::explain(it, &r::COMPONENT_CONSOLE, evidence, fix);
    }
    it
}

/// Component status from the console's own summary (`component_summary_csv`): each watched
/// component's colour with the site's thresholds, as an operator sees it in the console.
pub fn components_from_summary(
    s: &Result<Summary, String>,
    messages: Option<&Result<Components, String>>,
    site: Option<&str>,
    taken: i64,
) -> Item {
    let (id, title) = ("components", "Component status");
    let s = match s {
        Err(e) => {
            return unreadable_export(
                id,
                title,
                e,
                "Fix the component summary export named here (README, Site-database exports).",
            );
        }
        Ok(s) => s,
    };
    let newest = messages.and_then(|m| m.as_ref().ok());
    let mut children: Vec<Item> = s
        .rows
        .iter()
        .map(|(name, rows)| {
            let latest = newest
                .and_then(|m| m.counts.get(name))
                .and_then(|c| c.latest_error.as_ref());
            console_component(name, rows, latest, site, taken)
        })
        .collect();
    if let Some(Err(e)) = messages {
        // The colours stand; the newest errors' texts are missing: say so, never hide it.
        children.push(unreadable_export(
            "messages",
            "Newest error texts",
            e,
            "Fix the component messages export named here (README, Site-database exports).",
        ));
    }
    over(children, "green in the console", "not green in the console")
}

fn with(it: Item, v: &Verdict) -> Item {
    if v.status == Status::Ok {
        return it;
    }
    patchdeck_kit::report::explain(it, v.rule, &v.evidence, &v.fix)
}

fn verdict_item(id: &str, title: &str, v: &Verdict, url: &str) -> Item {
    let mut it = item(id, title, v.status, &v.summary);
    it.details.push(detail("URL", url, None));
    with(it, v)
}

/// A web service answering GET (client.asmx, SimpleAuth.asmx).
pub fn service(id: &str, title: &str, g: &Get) -> Item {
    verdict_item(
        id,
        title,
        &wsus::service_status_ssl(&g.url, &g.answer, g.ssl_required),
        &g.url,
    )
}

/// The admin API (ApiRemoting30) wants Windows authentication: 401 is healthy without
/// credentials; with them, 401 for that account means it lacks WSUS rights.
pub fn admin_api(g: &Get, who: Option<&str>) -> Item {
    use patchdeck_kit::auth::Outcome;
    let (id, title) = ("admin-api", "Admin API (ApiRemoting30)");
    let who = who.unwrap_or("the configured account");
    match (&g.answer, &g.login) {
        (Ok(401), Outcome::Refused { scheme }) => {
            return patchdeck_kit::report::explain(
                item(
                    id,
                    title,
                    Status::Warning,
                    format!(
                        "answering, but refuses {who} ({scheme}): the account lacks WSUS rights"
                    ),
                ),
                &r::ADMIN_RIGHTS,
                format!("GET {} with {scheme} as {who} -> 401", g.url),
                format!(
                    "Add {who} to the WSUS Reporters (read-only) or WSUS Administrators local group on the WSUS server, or check its password; the site server's accounts need WSUS Administrators to configure the SUP. {SYNC_TROUBLE_DOC}"
                ),
            );
        }
        (Ok(code @ (200 | 401)), Outcome::Accepted(scheme)) => {
            let mut it = item(
                id,
                title,
                Status::Ok,
                format!("HTTP {code}: answering, {who} logged in ({scheme})"),
            );
            it.details.push(detail("URL", &g.url, None));
            it.details
                .push(detail("Site server's accounts", NOT_VISIBLE, None));
            return it;
        }
        _ => {}
    }
    match g.answer {
        Ok(code @ (200 | 401)) => verdict_item(
            id,
            title,
            &Verdict::ok(
                &r::ADMIN_API,
                format!("HTTP {code}: answering (the site server's WSUS console uses it)"),
                format!("GET {} -> {code}", g.url),
            ),
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
    // The fix names the site the item is about: the WSUS web site's own port, or port 80.
    let port = patchdeck_kit::host::Endpoint::parse(&s.url).map_or(80, |e| e.port);
    let where_ = if port == 80 || id == "selfupdate-80" {
        "on the Default Web Site, port 80 (WSUS needs it there even when its own site is on 8530)"
            .to_owned()
    } else {
        format!("on the WSUS web site, port {port}")
    };
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
            &r::SELF_UPDATE,
            evidence,
            format!(
                "Serve the self-update tree: the Selfupdate virtual directory with anonymous access {where_} (WSUS event 13042 says \"Self-update is not working\"). {SELFUPDATE_DOC}"
            ),
        )
    };
    let head = match &s.head {
        Err(e) if e.not_checked() => {
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
/// Latency alone is at most a warning: no page gives a limit, and a slow server that answers
/// is not failing its clients (scan failures in the wua probe are that evidence).
pub fn latency(ms: f64, warn_ms: u64, crit_ms: u64, url: &str) -> Option<Item> {
    let status = threshold::latency(ms, warn_ms, crit_ms);
    if status == Status::Ok {
        return None;
    }
    let over = if status == Status::Critical {
        format!("over the {crit_ms} ms line; latency alone is a warning")
    } else {
        format!("over the {warn_ms} ms warning line")
    };
    Some(patchdeck_kit::report::explain(
        item(
            "latency",
            "GetConfig latency",
            Status::Warning,
            format!("GetConfig took {ms:.0} ms ({over})"),
        ),
        &r::LATENCY,
        format!("POST GetConfig {url} answered in {ms:.0} ms"),
        "Clients time out against a slow WSUS (0x8024401C): check WsusPool's CPU and memory and the WSUS database on the server.",
    ))
}

/// How synchronisation is judged: the site's schedule and the age lines derived from it.
#[derive(Debug, Clone)]
pub struct SyncPolicy {
    /// The site's sync interval in seconds, and how the operator wrote it ("7d").
    pub schedule: (i64, String),
    /// True when `schedule` is ConfigMgr 2007's default (not set in the config).
    pub default_schedule: bool,
    /// Older than this is a warning (default: the schedule plus a day).
    pub max_age: (i64, String),
}

impl SyncPolicy {
    /// "every 7d (the ConfigMgr 2007 default)" or "every 1d (sync_schedule)".
    pub fn schedule_words(&self) -> String {
        if self.default_schedule {
            format!("every {} (the ConfigMgr 2007 default)", self.schedule.1)
        } else {
            format!("every {} (sync_schedule)", self.schedule.1)
        }
    }

    /// Past this a second scheduled sync has been missed: critical.
    fn critical_age(&self) -> i64 {
        self.max_age.0.saturating_add(self.schedule.0)
    }
}

fn ago(t: i64, now: i64) -> String {
    let h = time::hours_between(t, now);
    if h >= 48 {
        format!("{} d {} h ago", h / 24, h % 24)
    } else {
        format!("{h} h ago")
    }
}

/// SUP synchronisation from SMS_WSUS_SYNC_MANAGER status messages (6702 done, 6703 failed);
/// only the watched site's rows count. `now` is when the export was taken: a message cannot
/// be newer than its export, so ages are judged from there.
pub fn sync(
    s: &Result<Sync, String>,
    policy: &SyncPolicy,
    site_code: Option<&str>,
    now: i64,
) -> Item {
    let (id, title) = ("sync", "SUP synchronisation");
    let s = match s {
        Ok(s) => s,
        Err(e) => {
            return unreadable_export(
                id,
                title,
                e,
                "Fix the status-message export named here (README, Site-database exports: the SQL lists the columns).",
            );
        }
    };
    let mut details = vec![
        detail(
            "Last success (6702)",
            s.last_ok.map_or("never".into(), |t| ago(t, now)),
            None,
        ),
        detail(
            "Last failure (6703)",
            s.last_fail.map_or("none".into(), |t| ago(t, now)),
            None,
        ),
        detail("Schedule", policy.schedule_words(), None),
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
        "SMS_WSUS_SYNC_MANAGER rows{}: last 6702 {}, last 6703 {} (ages at the export's time)",
        site_code.map_or(String::new(), |c| format!(" of site {c}")),
        s.last_ok.map_or("never".into(), |t| ago(t, now)),
        s.last_fail.map_or("none".into(), |t| ago(t, now))
    );
    let (mut status, mut summary, mut fix, mut rule) = sync_verdict(s, policy, now);
    if site_code.is_none() && s.sites.len() > 1 {
        // Another site's success must not stand for this one's.
        let sites: Vec<&str> = s.sites.iter().map(String::as_str).collect();
        if status.severity() <= Status::Warning.severity() {
            rule = &r::SYNC_SITES;
        }
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
    patchdeck_kit::report::explain(it, rule, seen, fix)
}

fn sync_verdict(
    s: &Sync,
    policy: &SyncPolicy,
    now: i64,
) -> (Status, String, String, &'static patchdeck_probe_api::Rule) {
    // Manual synchronisation exists only at the top site (a81f9571): a child site syncs when
    // its parent asks, so its fix starts at the parent.
    let trouble = format!(
        "Read wsyncmgr.log on the site server and the text of the 6703 messages; common causes are the WSUS console missing on the site server, the SUP's port settings differing from the WSUS web site, a proxy without the SUP proxy account, or the site server's accounts unable to reach the WSUS virtual directories. {SYNC_TROUBLE_DOC}"
    );
    let Some(ok) = s.last_ok else {
        return (
            Status::Critical,
            "no successful sync (6702) in the status messages".into(),
            trouble,
            &r::SYNC_NEVER,
        );
    };
    let age = now.saturating_sub(ok);
    let age_status = if age > policy.critical_age() {
        Status::Critical
    } else if age > policy.max_age.0 {
        Status::Warning
    } else {
        Status::Ok
    };
    if let Some(fail) = s.last_fail.filter(|f| *f > ok) {
        let rule = if age_status == Status::Critical {
            &r::SYNC_AGE
        } else {
            &r::SYNC_FAILED
        };
        return (
            Status::Warning.worst(age_status),
            format!(
                "last sync failed (6703) {}; last success {}",
                ago(fail, now),
                ago(ok, now)
            ),
            trouble,
            rule,
        );
    }
    match age_status {
        Status::Ok => (
            Status::Ok,
            format!(
                "last sync succeeded (6702) {}; schedule {}",
                ago(ok, now),
                policy.schedule_words()
            ),
            String::new(),
            &r::SYNC_AGE,
        ),
        st => (
            st,
            format!(
                "last successful sync (6702) was {}: {} for a schedule {}",
                ago(ok, now),
                if st == Status::Critical {
                    "a second scheduled sync was missed".to_owned()
                } else {
                    format!("over {}", policy.max_age.1)
                },
                policy.schedule_words()
            ),
            format!(
                "Check the synchronisation schedule of the active software update point (Software Update Point Component properties, Sync Schedule; {SYNC_SCHEDULE_DOC}) and wsyncmgr.log on the site server. At the central site run Synchronization on the Update Repository node; a child site cannot sync by hand (it syncs when its parent asks): check the parent's sync first. {SYNC_DOC}"
            ),
            &r::SYNC_AGE,
        ),
    }
}

/// An export that cannot be read: UNKNOWN with the reader's error (file, line, column).
fn unreadable_export(id: &str, title: &str, error: &str, fix: &str) -> Item {
    patchdeck_kit::report::explain(
        item(id, title, Status::Unknown, error),
        &r::EXPORT,
        error,
        fix,
    )
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
            return unreadable_export(
                id,
                title,
                error,
                "Fix the programs export named here (README, Site-database exports).",
            );
        }
        Console::Read {
            server,
            inventoried: false,
            ..
        } => {
            // No row at all for the site server: no inventory is no evidence either way.
            return patchdeck_kit::report::explain(
                item(
                    id,
                    title,
                    Status::Unknown,
                    format!(
                        "no inventory for {server}: cannot tell whether the console is installed"
                    ),
                ),
                &r::CONSOLE_INVENTORY,
                format!("no row for {server} in the programs export"),
                format!(
                    "Check that hardware inventory runs on {server} (Add/Remove Programs class) and that site_server names it as Name0 does; the programs query (README) lists every inventoried computer, with an empty DisplayName0 when it has no WSUS entry."
                ),
            );
        }
        Console::Read { server, found, .. } => (server, found),
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
            &r::CONSOLE,
            format!(
                "{server} is inventoried, with no \"Windows Server Update Services 3.0\" entry in the programs export"
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
            &r::CONSOLE_INVENTORY,
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
            &r::CONSOLE_LEVEL,
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
            &r::CONSOLE_LEVEL,
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
