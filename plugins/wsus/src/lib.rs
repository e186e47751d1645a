//! `wsus`: is the WSUS 3.0 server behind the software update point usable by ConfigMgr 2007
//! and its clients? Everything from the network, anonymously and read-only, plus two
//! site-database exports: SUP synchronisation status messages and the site server's
//! programs (for the WSUS 3.0 Administration Console).
//!
//! Items: client web service, version (SOAP `GetConfig`), simple auth web service,
//! self-update tree (on the configured port and on port 80), admin API, and when configured
//! SUP synchronisation and the console. Never calls RegisterComputer /
//! GetAuthorizationCookie (that would leave phantom computers), never asks for Xpress.
//!
//! [`gather`] does the I/O; [`judge`] turns what it saw into items.

mod gather;
mod judge;
pub mod rules;

use patchdeck_kit::http::Http;
use patchdeck_kit::report::detail;
use patchdeck_kit::wsus::{ConfigMgrSp, SiteNeeds};
use patchdeck_kit::{host, time};
use patchdeck_probe_api::sdk::{CheckContext, CheckError, ConfigProbe, Host};
use patchdeck_probe_api::{Overrides, Report, Status};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::SystemTime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// e.g. "http://sup01.corp:8530"
    pub url: String,
    /// HTTPS base for the web services when SSL is on (content and self-update stay on HTTP).
    pub ssl_url: Option<String>,
    /// Self-update tree on port 80; default `http://<host>:80/selfupdate/wuident.cab`.
    pub selfupdate_url: Option<String>,
    #[serde(default = "sp1")]
    pub configmgr_sp: ConfigMgrSp,
    #[serde(default)]
    pub windows7_clients: bool,
    #[serde(default = "patchdeck_kit::defaults::latency_warn_ms")]
    pub latency_warn_ms: u64,
    #[serde(default = "patchdeck_kit::defaults::latency_crit_ms")]
    pub latency_crit_ms: u64,
    #[serde(default)]
    pub tls_insecure: bool,
    /// Export of v_StatusMessage (`Component, MessageID, Time, SiteCode`) for SUP sync.
    pub status_messages_csv: Option<PathBuf>,
    /// The site whose synchronisation is judged (e.g. "ABC"); other sites' rows are ignored.
    pub site_code: Option<String>,
    /// The site's synchronisation schedule (Software Update Point Component, Sync Schedule):
    /// ConfigMgr 2007's default is every 7 days (7133d061).
    #[serde(default = "sync_schedule")]
    pub sync_schedule: String,
    /// A last successful sync older than this is a warning; default: `sync_schedule` plus a
    /// day. Older than this plus another `sync_schedule` (a second scheduled sync missed) is
    /// critical.
    pub sync_max_age: Option<String>,
    /// An export older than this cannot be judged (UNKNOWN naming it).
    #[serde(default = "patchdeck_kit::defaults::max_export_age_hours")]
    pub max_export_age_hours: u64,
    /// Export of Add/Remove Programs (`Name0, DisplayName0, Version0`) to find the WSUS 3.0
    /// Administration Console on the site server.
    pub site_server_programs_csv: Option<PathBuf>,
    /// The site server's name (as in Name0); the console is required there when the SUP is
    /// remote.
    pub site_server: Option<String>,
    /// Credentials for the admin API (ApiRemoting30): a 401 for them means the account lacks
    /// WSUS rights (see kit::auth).
    pub auth: Option<patchdeck_kit::auth::AuthConfig>,
    /// Export of the software update point's port settings (`SiteCode, ServerName,
    /// PropertyName, Value`: WSUSIISPort, WSUSIISSSLPort, SSLWSUS): WSUS must answer on the
    /// port and scheme ConfigMgr uses.
    pub sup_properties_csv: Option<PathBuf>,
    /// The SUP's name as the site database has it (ServerName); default: the host of `url`.
    pub sup_server: Option<String>,
    /// Export of the 6703 messages' insertion strings (`RecordID, Time, SiteCode,
    /// InsStrIndex, InsStrValue`): why the failing synchronisation fails.
    pub sync_failures_csv: Option<PathBuf>,
    /// Export of error and warning status messages (`component_messages.sql`): component
    /// status as the console shows it.
    pub component_messages_csv: Option<PathBuf>,
    /// Export of the console's component summary (`component_summary.sql`,
    /// SMS_ComponentSummarizer since 12:00 AM): each component's colour in the console, with
    /// the site's own thresholds. With it the messages export only adds the newest error's text.
    pub component_summary_csv: Option<PathBuf>,
    /// Export of the SUP's WSUS database (`wsus_configuration.sql`, SUSDB tbConfigurationA:
    /// SyncToMu, UpstreamServerName): where WSUS itself synchronises from.
    pub wsus_configuration_csv: Option<PathBuf>,
    /// Where this SUP's WSUS should synchronise from, as ConfigMgr set it: "microsoft-update"
    /// (the central site's active SUP), the upstream server's name (a child site's: its
    /// parent site's active SUP) or "none" (WSUSutil export/import). Goes with
    /// `wsus_configuration_csv`.
    pub sync_from: Option<String>,
    /// The components shown; default: the three SMS_WSUS_* components.
    #[serde(default = "wsus_components")]
    pub components: Vec<String>,
    /// Messages counted: newer than this before the export was taken (default "24h").
    #[serde(default = "component_window")]
    pub component_window: String,
    /// The site's Component Status Summarizer thresholds, `{ errors = [1, 5], warnings =
    /// [10, 50] }` ([warning at, critical at]); without them any error is a warning.
    pub component_thresholds: Option<judge::ComponentThresholds>,
}

fn wsus_components() -> Vec<String> {
    [
        "SMS_WSUS_SYNC_MANAGER",
        "SMS_WSUS_CONFIGURATION_MANAGER",
        "SMS_WSUS_CONTROL_MANAGER",
    ]
    .map(String::from)
    .to_vec()
}

fn component_window() -> String {
    "24h".into()
}

fn sync_schedule() -> String {
    "7d".into()
}

fn sp1() -> ConfigMgrSp {
    ConfigMgrSp::SP1
}

pub struct Wsus {
    config: Config,
    component_window: i64,
    services: String,
    selfupdate_80: String,
    sync: judge::SyncPolicy,
    sync_from: Option<judge::SyncFrom>,
    auth: Option<patchdeck_kit::auth::Authenticator>,
}

impl ConfigProbe for Wsus {
    type Config = Config;
    const KIND: &'static str = "wsus";
    const RULES: &'static [patchdeck_probe_api::Rule] = rules::RULES;

    fn from_config(config: Config, host: &Host) -> Result<Wsus, String> {
        if host.config_check() {
            use patchdeck_kit::exports::{SITE_SERVER_PROGRAMS, STATUS_MESSAGES, check_file};
            let age = config.max_export_age_hours;
            if let Some(p) = &config.status_messages_csv {
                check_file(
                    p,
                    &STATUS_MESSAGES.columns[..4],
                    STATUS_MESSAGES.config_key,
                    age,
                )?;
            }
            if let Some(p) = &config.component_messages_csv {
                let spec = patchdeck_kit::exports::COMPONENT_MESSAGES;
                check_file(p, spec.columns, spec.config_key, age)?;
            }
            if let Some(p) = &config.component_summary_csv {
                let spec = patchdeck_kit::exports::COMPONENT_SUMMARY;
                check_file(p, spec.columns, spec.config_key, age)?;
            }
            if let Some(p) = &config.sync_failures_csv {
                let spec = patchdeck_kit::exports::SYNC_FAILURES;
                check_file(p, spec.columns, spec.config_key, age)?;
            }
            if let Some(p) = &config.sup_properties_csv {
                let spec = patchdeck_kit::exports::SUP_PROPERTIES;
                check_file(p, spec.columns, spec.config_key, age)?;
            }
            if let Some(p) = &config.wsus_configuration_csv {
                let spec = patchdeck_kit::exports::WSUS_CONFIGURATION;
                check_file(p, spec.columns, spec.config_key, age)?;
            }
            if let Some(p) = &config.site_server_programs_csv {
                check_file(
                    p,
                    SITE_SERVER_PROGRAMS.columns,
                    SITE_SERVER_PROGRAMS.config_key,
                    age,
                )?;
            }
        }
        for (field, v) in [
            ("url", Some(&config.url)),
            ("ssl_url", config.ssl_url.as_ref()),
            ("selfupdate_url", config.selfupdate_url.as_ref()),
        ] {
            if let Some(v) = v
                && host::Endpoint::parse(v)
                    .is_none_or(|e| e.scheme != "http" && e.scheme != "https")
            {
                return Err(format!(
                    "field `{field}`: \"{v}\" must be an http:// or https:// URL with a host"
                ));
            }
        }
        let services = config
            .ssl_url
            .as_deref()
            .unwrap_or(&config.url)
            .trim_end_matches('/')
            .to_owned();
        let selfupdate_80 = match &config.selfupdate_url {
            Some(u) => u.clone(),
            None => {
                let e = host::Endpoint::parse(&config.url).ok_or("field `url`: no host in it")?;
                format!("http://{}:80/selfupdate/wuident.cab", e.host)
            }
        };
        let schedule = patchdeck_probe_api::duration::parse(&config.sync_schedule)
            .map(time::secs)
            .map_err(|e| format!("field `sync_schedule`: {e}"))?;
        if schedule == 0 {
            return Err("field `sync_schedule` must be longer than 0".into());
        }
        let max_age = match &config.sync_max_age {
            Some(text) => (
                patchdeck_probe_api::duration::parse(text)
                    .map(time::secs)
                    .map_err(|e| format!("field `sync_max_age`: {e}"))?,
                format!("sync_max_age {text}"),
            ),
            None => (
                schedule.saturating_add(86_400),
                format!(
                    "the schedule plus a day ({} h)",
                    schedule.saturating_add(86_400) / 3600
                ),
            ),
        };
        let sync = judge::SyncPolicy {
            schedule: (schedule, config.sync_schedule.clone()),
            default_schedule: config.sync_schedule == sync_schedule(),
            max_age,
        };
        if config.wsus_configuration_csv.is_some() != config.sync_from.is_some() {
            return Err("fields `wsus_configuration_csv` and `sync_from` go together (sync_from says which update source is right for this SUP)".into());
        }
        let sync_from = config
            .sync_from
            .as_deref()
            .map(judge::SyncFrom::parse)
            .transpose()?;
        if config.site_server_programs_csv.is_some() != config.site_server.is_some() {
            return Err("fields `site_server_programs_csv` and `site_server` go together".into());
        }
        if config.site_code.is_some()
            && config.status_messages_csv.is_none()
            && config.sup_properties_csv.is_none()
            && config.component_messages_csv.is_none()
            && config.component_summary_csv.is_none()
        {
            return Err(
                "field `site_code` needs `status_messages_csv` or `sup_properties_csv` (it filters those exports)".into(),
            );
        }
        if config.sync_failures_csv.is_some() && config.status_messages_csv.is_none() {
            return Err("field `sync_failures_csv` needs `status_messages_csv` (a failure counts only when no sync succeeded since)".into());
        }
        if config.sup_server.is_some() && config.sup_properties_csv.is_none() {
            return Err(
                "field `sup_server` needs `sup_properties_csv` (it picks that export's rows)"
                    .into(),
            );
        }
        if let Some(a) = &config.auth {
            a.validate("auth")?;
        }
        let auth = config
            .auth
            .clone()
            .map(patchdeck_kit::auth::Authenticator::new);
        let component_window = patchdeck_probe_api::duration::parse(&config.component_window)
            .map(time::secs)
            .map_err(|e| format!("field `component_window`: {e}"))?;
        if let Some(t) = &config.component_thresholds {
            for (field, [warn, crit]) in [("errors", t.errors), ("warnings", t.warnings)] {
                if warn == 0 || crit < warn {
                    return Err(format!(
                        "field `component_thresholds.{field}`: [{warn}, {crit}] must be [warning at, critical at] with 0 < warning <= critical"
                    ));
                }
            }
        }
        if config.component_thresholds.is_some() && config.component_summary_csv.is_some() {
            return Err("field `component_thresholds` is not used with `component_summary_csv`: the console's summary is already judged with the site's own thresholds (remove one)".into());
        }
        if config.components.is_empty() {
            return Err("field `components`: name at least one component".into());
        }
        Ok(Wsus {
            config,
            component_window,
            services,
            selfupdate_80,
            sync,
            sync_from,
            auth,
        })
    }

    fn run(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let c = &self.config;
        let http = Http::new(ctx.deadline, c.tls_insecure, Some(ctx.cancel_flag()))
            .with_auth(self.auth.as_ref());
        let targets = gather::Targets {
            url: &c.url,
            services: &self.services,
            selfupdate_80: &self.selfupdate_80,
            status_messages: c
                .status_messages_csv
                .as_deref()
                .map(|p| (p, c.site_code.as_deref())),
            console: c
                .site_server_programs_csv
                .as_deref()
                .zip(c.site_server.as_deref()),
            sup_properties: None,
            components: c.component_messages_csv.as_deref().map(|p| {
                (
                    p,
                    c.site_code.as_deref(),
                    c.components.as_slice(),
                    self.component_window,
                )
            }),
            summary: c
                .component_summary_csv
                .as_deref()
                .map(|p| (p, c.site_code.as_deref(), c.components.as_slice())),
            sync_failures: c
                .sync_failures_csv
                .as_deref()
                .map(|p| (p, c.site_code.as_deref())),
            wsus_configuration: c.wsus_configuration_csv.as_deref(),
        };
        let sup_host = host::Endpoint::parse(&c.url)
            .map(|e| e.host.to_string())
            .unwrap_or_default();
        let targets = gather::Targets {
            sup_properties: c.sup_properties_csv.as_deref().map(|p| {
                (
                    p,
                    c.sup_server.as_deref().unwrap_or(&sup_host),
                    c.site_code.as_deref(),
                )
            }),
            ..targets
        };
        let facts = gather::gather(&http, &targets);
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        Ok(self.report(&facts, time::unix(SystemTime::now()), ctx.rules))
    }
}

impl Wsus {
    /// Ages are judged at the export's time; an export older than max_export_age_hours says
    /// nothing: the item (id, title, export name, subject) is UNKNOWN instead.
    fn stale(
        &self,
        (id, title, export, subject): (&str, &str, &str, &str),
        path: Option<&std::path::Path>,
        taken: i64,
        now: i64,
    ) -> Option<patchdeck_probe_api::Item> {
        let at = |t: i64| {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(t).unwrap_or(0))
        };
        let age = patchdeck_kit::report::ExportAge::at(
            path.unwrap_or(std::path::Path::new("")),
            at(taken),
            at(now),
            self.config.max_export_age_hours,
        );
        age.too_old()
            .then(|| age.unknown_item((id, title), (export, subject), &rules::EXPORT))
    }

    fn report(&self, f: &gather::Facts, now: i64, rules: &Overrides) -> Report {
        let c = &self.config;
        let needs = SiteNeeds {
            configmgr_sp: c.configmgr_sp,
            windows7_clients: c.windows7_clients,
        };
        let (version, pv) = judge::version(f, needs);
        let ms = f.get_config.answer.as_ref().ok().map(|a| a.ms);
        let mut items = vec![
            judge::service("client", "Client web service", &f.client),
            version,
            judge::service("simpleauth", "Simple auth web service", &f.simpleauth),
            judge::selfupdate("selfupdate", "Self-update (configured port)", &f.selfupdate),
        ];
        if let Some(s) = &f.selfupdate_80 {
            items.push(judge::selfupdate(
                "selfupdate-80",
                "Self-update (port 80)",
                s,
            ));
        }
        let who = self.auth.as_ref().map(|a| a.config.who());
        items.push(judge::admin_api(&f.admin_api, who.as_deref()));
        if let Some(ms) = ms {
            items.extend(judge::latency(
                ms,
                c.latency_warn_ms,
                c.latency_crit_ms,
                &f.get_config.url,
            ));
        }
        // WSUS's own update source, and how it differs from the one wanted (a cause of a
        // failing synchronisation); an export too old says nothing.
        let mut mismatch = None;
        let source = f
            .wsus_source
            .as_ref()
            .zip(self.sync_from.as_ref())
            .map(|(src, want)| {
                let stale = src.as_ref().ok().and_then(|s| {
                    self.stale(
                        (
                            "sync-source",
                            "WSUS update source",
                            "WSUS configuration",
                            "the update source",
                        ),
                        c.wsus_configuration_csv.as_deref(),
                        s.taken.unwrap_or(now),
                        now,
                    )
                });
                stale.unwrap_or_else(|| {
                    let (it, m) = judge::sync_source(src, want);
                    mismatch = m;
                    it
                })
            });
        if let Some(s) = &f.sync {
            // Ages are judged at the export's time; an export too old says nothing.
            let taken = s.as_ref().ok().and_then(|s| s.taken).unwrap_or(now);
            if let Some(stale) = s.as_ref().ok().and(self.stale(
                ("sync", "SUP synchronisation", "status-message", "a sync"),
                c.status_messages_csv.as_deref(),
                taken,
                now,
            )) {
                items.push(stale);
            } else {
                items.push(judge::sync(s, &self.sync, c.site_code.as_deref(), taken));
                if let (Ok(s), Some(failure)) = (s, &f.sync_failure)
                    && let Some(it) = judge::sync_cause(s, failure, taken, mismatch.as_deref())
                {
                    items.push(it);
                }
            }
        }
        items.extend(source);
        if let Some(con) = &f.console {
            items.push(judge::console(con, pv.as_deref()));
        }
        // Component status from the console's summary when given, else from the messages;
        // either export too old says nothing.
        let source = match (&f.summary, &f.components) {
            (Some(s), _) => Some((
                s.as_ref().ok().map(|s| s.taken),
                "component summary",
                c.component_summary_csv.as_deref(),
            )),
            (None, Some(k)) => Some((
                k.as_ref().ok().map(|k| k.taken),
                "component messages",
                c.component_messages_csv.as_deref(),
            )),
            (None, None) => None,
        };
        if let Some((read, export, path)) = source {
            let taken = read.flatten().unwrap_or(now);
            let stale = read.and_then(|_| {
                self.stale(
                    ("components", "Component status", export, "component status"),
                    path,
                    taken,
                    now,
                )
            });
            items.push(match (stale, &f.summary, &f.components) {
                (Some(stale), _, _) => stale,
                (None, Some(s), k) => {
                    judge::components_from_summary(s, k.as_ref(), c.site_code.as_deref(), taken)
                }
                (None, None, Some(k)) => judge::components(
                    k,
                    c.component_thresholds.as_ref(),
                    &c.component_window,
                    taken,
                ),
                (None, None, None) => unreachable!("a source was found above"),
            });
        }
        if let Some(sp) = &f.sup_ports {
            let services_ok = f.get_config.answer.as_ref().is_ok_and(|a| a.parsed.is_ok());
            let mut at = vec![c.url.as_str()];
            at.extend(c.ssl_url.as_deref());
            items.push(judge::sup_ports(sp, &self.services, services_ok, &at));
        }
        rules.apply(&mut items);
        let status = items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
        let mut details = vec![detail("Server", &c.url, None)];
        if c.tls_insecure {
            details.push(detail(
                "TLS",
                "certificate not verified (tls_insecure = true)",
                Some(Status::Warning),
            ));
        }
        Report {
            status,
            summary: judge::summary(&items, pv.as_deref(), ms),
            details,
            metrics: judge::metrics(ms, pv.as_deref(), c.latency_warn_ms, c.latency_crit_ms),
            items,
        }
    }
}

patchdeck_probe_api::export_probe!(
    Wsus,
    kind: "wsus",
    version: env!("CARGO_PKG_VERSION"),
    description: "WSUS 3.0 for ConfigMgr 2007: web services, version (GetConfig), self-update, admin API, SUP sync, admin console, SUP port settings, WSUS update source",
    config_schema: r#"{"type":"object","required":["url"],"properties":{"url":{"type":"string"},"ssl_url":{"type":"string"},"selfupdate_url":{"type":"string"},"configmgr_sp":{"enum":["SP1","SP2"]},"windows7_clients":{"type":"boolean"},"latency_warn_ms":{"type":"integer"},"latency_crit_ms":{"type":"integer"},"tls_insecure":{"type":"boolean"},"status_messages_csv":{"type":"string"},"site_code":{"type":"string"},"sync_schedule":{"type":"string"},"sync_max_age":{"type":"string"},"max_export_age_hours":{"type":"integer","minimum":0},"site_server_programs_csv":{"type":"string"},"site_server":{"type":"string"},"sup_properties_csv":{"type":"string"},"sup_server":{"type":"string"},"sync_failures_csv":{"type":"string"},"component_messages_csv":{"type":"string"},"component_summary_csv":{"type":"string"},"wsus_configuration_csv":{"type":"string"},"sync_from":{"type":"string"},"components":{"type":"array"},"component_window":{"type":"string"},"component_thresholds":{"type":"object","properties":{"errors":{"type":"array"},"warnings":{"type":"array"}},"additionalProperties":false},"auth":{"type":"object","properties":{"user":{"type":"string"},"password":{"type":"string"},"kerberos":{"type":"boolean"},"principal":{"type":"string"},"keytab":{"type":"string"}},"additionalProperties":false}},"additionalProperties":false}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schema_matches_the_config() {
        let schema = patchdeck_kit::schema::exported_schema(patchdeck_probe_v1);
        patchdeck_kit::schema::check::<Config>(&schema, "").unwrap();
    }

    #[test]
    fn sync_max_age_takes_the_shared_duration_syntax_and_refuses_overflow() {
        use patchdeck_probe_api::sdk::Probe;
        let make = |age: &str| {
            <Wsus as Probe>::create(
                serde_json::json!({"url": "http://sup01:8530", "sync_max_age": age}),
                &Host::detached(),
            )
        };
        assert_eq!(make("1h30m").ok().unwrap().sync.max_age.0, 5400);
        // Once an overflow into a false CRITICAL; now a clear refusal at create.
        let e = make("106751991167300d").err().unwrap();
        assert!(e.contains("is too large"), "{e}");
        assert_eq!(
            make("100000000d").ok().unwrap().sync.max_age.0,
            8_640_000_000_000
        );
        let e = make("soon").err().unwrap();
        assert!(
            e.starts_with("field `sync_max_age`: \"soon\" is not a duration"),
            "{e}"
        );
        let w = make("26h").ok().unwrap();
        let e = <Wsus as Probe>::create(
            serde_json::json!({"url": "http://sup01:8530", "component_thresholds": {"errors": [5, 2], "warnings": [10, 50]}}),
            &Host::detached(),
        )
        .err()
        .unwrap();
        assert_eq!(
            e,
            "field `component_thresholds.errors`: [5, 2] must be [warning at, critical at] with 0 < warning <= critical"
        );
        // The console's summary is already judged with the site's thresholds: both is a
        // contradiction, refused rather than one silently ignored.
        let e = <Wsus as Probe>::create(
            serde_json::json!({"url": "http://sup01:8530", "component_summary_csv": "/x.csv", "component_thresholds": {"errors": [1, 2], "warnings": [10, 50]}}),
            &Host::detached(),
        )
        .err()
        .unwrap();
        assert!(
            e.starts_with("field `component_thresholds` is not used with `component_summary_csv`"),
            "{e}"
        );
        assert_eq!(w.selfupdate_80, "http://sup01:80/selfupdate/wuident.cab");
    }

    #[test]
    fn sync_from_goes_with_the_wsus_configuration_and_is_checked() {
        use patchdeck_probe_api::sdk::Probe;
        let make = |extra: serde_json::Value| {
            let mut config = serde_json::json!({"url": "http://sup01:8530"});
            config
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            <Wsus as Probe>::create(config, &Host::detached())
        };
        // Without sync_from the export could not be judged: refused, not guessed.
        let e = make(serde_json::json!({"wsus_configuration_csv": "/x.csv"}))
            .err()
            .unwrap();
        assert!(
            e.starts_with("fields `wsus_configuration_csv` and `sync_from` go together"),
            "{e}"
        );
        let e = make(serde_json::json!({"wsus_configuration_csv": "/x.csv", "sync_from": "Microsoft Update"}))
            .err()
            .unwrap();
        assert!(
            e.starts_with("field `sync_from`: \"Microsoft Update\" must be \"microsoft-update\""),
            "{e}"
        );
        let e = make(serde_json::json!({"wsus_configuration_csv": "/x.csv", "sync_from": "x".repeat(100_000)}))
            .err()
            .unwrap();
        assert!(
            e.len() < 400,
            "the value is clipped in the error: {}",
            e.len()
        );
        for (from, want) in [
            ("microsoft-update", judge::SyncFrom::MicrosoftUpdate),
            ("none", judge::SyncFrom::NotSynchronised),
            (
                "sup01.corp.example",
                judge::SyncFrom::Upstream("sup01.corp.example".into()),
            ),
        ] {
            let w =
                make(serde_json::json!({"wsus_configuration_csv": "/x.csv", "sync_from": from}))
                    .ok()
                    .unwrap();
            assert_eq!(w.sync_from, Some(want));
        }
    }
}
