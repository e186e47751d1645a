//! Binding a config to plugins: one [`Probe`] per `[[probe]]`, each able to run once.

use crate::config::{Config, ConfigError, Isolation, Problem, looks_like_path};
use crate::discovery::{self, Discovery};
use crate::duration;
use crate::inprocess::InProcessPlugin;
use crate::isolated::IsolatedPlugin;
use crate::runner::{CallParams, Instance, Plugin, RunError};
use crate::store::{CheckResult, ProbeMeta};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime};

/// A configured probe bound to its plugin.
pub struct Probe {
    pub meta: ProbeMeta,
    plugin: Arc<dyn Plugin>,
    config_json: String,
    instance: tokio::sync::Mutex<Option<Arc<dyn Instance>>>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").field("meta", &self.meta).finish()
    }
}

/// Sets the cancel flag if a run is abandoned (timeout, shutdown) before it finishes.
struct CancelOnDrop {
    flag: Arc<AtomicU32>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.store(1, Ordering::Relaxed);
        }
    }
}

impl Probe {
    pub fn new(meta: ProbeMeta, plugin: Arc<dyn Plugin>, config_json: String) -> Probe {
        Probe {
            meta,
            plugin,
            config_json,
            instance: tokio::sync::Mutex::new(None),
        }
    }

    /// Runs one check: creates the instance first if needed, enforces the timeout (setting
    /// the cancel flag), validates the report. Every failure becomes an UNKNOWN result with
    /// its reason.
    pub async fn run_once(&self) -> CheckResult {
        let mut r = self.run_once_raw().await;
        // A plugin may echo a secret of its config back (in an error, a summary).
        r.redact_secrets();
        r
    }

    async fn run_once_raw(&self) -> CheckResult {
        let started_at = SystemTime::now();
        let t0 = Instant::now();
        let timeout = self.meta.timeout;
        let timed_out = |what: &str| RunError::TimedOut {
            what: what.to_owned(),
            after: duration::format(timeout),
        };
        let instance = {
            let mut slot = self.instance.lock().await;
            match &*slot {
                Some(i) => i.clone(),
                None => match tokio::time::timeout(
                    timeout,
                    self.plugin.create(&self.meta.id, &self.config_json),
                )
                .await
                {
                    Ok(Ok(i)) => {
                        *slot = Some(i.clone());
                        i
                    }
                    Ok(Err(reason)) => {
                        return CheckResult::unknown(reason.to_string(), started_at, t0.elapsed());
                    }
                    Err(_) => {
                        return CheckResult::unknown(
                            timed_out("create ").to_string(),
                            started_at,
                            t0.elapsed(),
                        );
                    }
                },
            }
        };
        let cancel = Arc::new(AtomicU32::new(0));
        let mut guard = CancelOnDrop {
            flag: cancel.clone(),
            armed: true,
        };
        let outcome =
            tokio::time::timeout(timeout, instance.check(CallParams { timeout, cancel })).await;
        let elapsed = t0.elapsed();
        match outcome {
            Err(_) => CheckResult::unknown(timed_out("").to_string(), started_at, elapsed),
            Ok(Err(reason)) => {
                guard.armed = false;
                CheckResult::unknown(reason.to_string(), started_at, elapsed)
            }
            Ok(Ok(text)) => {
                guard.armed = false;
                match crate::report::parse(&text) {
                    Ok(report) => CheckResult::from_report(report, started_at, elapsed),
                    Err(reason) => CheckResult::unknown(reason, started_at, elapsed),
                }
            }
        }
    }

    /// Creates the instance (as the first run would) without running a check: the plugin's
    /// own create() judges the probe's config. `Err` is the plugin's message.
    pub async fn validate(&self) -> Result<(), String> {
        let mut slot = self.instance.lock().await;
        if slot.is_some() {
            return Ok(());
        }
        let timeout = self.meta.timeout;
        match tokio::time::timeout(
            timeout,
            self.plugin.create(&self.meta.id, &self.config_json),
        )
        .await
        {
            Ok(Ok(i)) => {
                *slot = Some(i);
                Ok(())
            }
            Ok(Err(e)) => {
                let mut text = e.to_string();
                crate::sanitize::redact_in_place(&mut text);
                Err(text)
            }
            Err(_) => Err(RunError::TimedOut {
                what: "create ".into(),
                after: duration::format(timeout),
            }
            .to_string()),
        }
    }

    /// Counts deaths of the probe-host child serving this probe (isolated runner only).
    pub fn plugin_deaths(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.plugin.deaths()
    }

    /// The pid of the probe-host child serving this probe, while it runs.
    pub async fn host_pid(&self) -> Option<u32> {
        self.plugin.host_pid().await
    }

    /// Destroys the instance (if idle).
    pub async fn shutdown(&self) {
        if let Some(i) = self.instance.lock().await.take() {
            i.destroy().await;
        }
    }
}

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Load plugin files even when group/other-writable or owned by someone else.
    pub allow_insecure_plugins: bool,
    /// `patchdeck-probe-host`; found next to the binary when `None`.
    pub host_exe: Option<PathBuf>,
    /// Extra plugin folders searched after the config's (the binary's own folder).
    pub extra_plugin_dirs: Vec<PathBuf>,
    /// `config check`: ask plugins that publish a rule index (ABI 1.1) to also check the
    /// files their config names (exports: exist, readable, columns, age) in `create`.
    pub validate_files: bool,
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    ProbeHost(String),
    #[error("{0}")]
    Limits(String),
}

/// File descriptors patchdeck holds per isolated probe (the child's stdin, stdout and
/// stderr pipes), and what the rest of the process needs (log, terminal, sockets, plugins).
const FDS_PER_ISOLATED_PROBE: u64 = 3;
const FDS_BASE: u64 = 64;

/// Raises the soft open-files limit to the hard one, then checks that the configured
/// isolated probes fit: better a clear refusal at start than half the probes failing with
/// "Too many open files" later.
pub fn fd_budget(isolated: usize) -> Result<(), String> {
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    let (soft, hard) = unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Ok(());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        (lim.rlim_cur, lim.rlim_max)
    };
    let need = FDS_BASE + FDS_PER_ISOLATED_PROBE * isolated as u64;
    if need > soft {
        return Err(format!(
            "{isolated} probe-host children need about {need} open files, but the limit is {soft} (hard limit {hard}): \
             raise it (`ulimit -n`, or LimitNOFILE= in a systemd unit), \
             or run trusted plugins with isolation = \"in-process\""
        ));
    }
    Ok(())
}

/// The probes of a config, bound to their plugins.
pub struct Engine {
    pub config: Config,
    pub discovery: Discovery,
    pub probes: Vec<Arc<Probe>>,
    plugins: Vec<Arc<dyn Plugin>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("probes", &self.probes)
            .finish()
    }
}

impl Engine {
    /// Discovers plugins and binds every probe of the config. A probe naming an unknown kind
    /// or an unusable file is a config error (with file, line, probe id); a plugin that
    /// rejects its config is not: that probe reports UNKNOWN with the plugin's message.
    pub async fn build(config: Config, options: &EngineOptions) -> Result<Engine, EngineError> {
        let host_exe = match &options.host_exe {
            Some(p) => p.clone(),
            None => discovery::locate_probe_host().map_err(EngineError::ProbeHost)?,
        };
        // patchdeck runs the probe host with the plugins in it: the same trust rule.
        if !options.allow_insecure_plugins {
            crate::plugin::check_trusted("probe host", &host_exe)
                .map_err(EngineError::ProbeHost)?;
        }
        let mut dirs = config.settings.plugin_dirs.clone();
        dirs.extend(options.extra_plugin_dirs.iter().cloned());
        let explicit: Vec<PathBuf> = config
            .probes
            .iter()
            .filter(|p| looks_like_path(&p.plugin))
            .map(|p| PathBuf::from(&p.plugin))
            .collect();
        let disc =
            discovery::discover(&dirs, &explicit, &host_exe, options.allow_insecure_plugins).await;

        let mut problems = Vec::new();
        let mut plugins: HashMap<(PathBuf, String), Arc<dyn Plugin>> = HashMap::new();
        let mut probes = Vec::new();
        for pc in &config.probes {
            let file = if looks_like_path(&pc.plugin) {
                disc.by_path(std::path::Path::new(&pc.plugin))
            } else {
                disc.by_kind(&pc.plugin)
            };
            let file = match file {
                Some(f) if f.info.is_some() => f,
                Some(f) => {
                    let why = f
                        .problem
                        .clone()
                        .unwrap_or_else(|| "not a usable plugin".into());
                    problems.push(plugin_problem(
                        pc,
                        format!("plugin file {} is not usable: {why}", f.path.display()),
                    ));
                    continue;
                }
                None => {
                    problems.push(plugin_problem(
                        pc,
                        unknown_kind_message(&pc.plugin, &disc, &dirs),
                    ));
                    continue;
                }
            };
            let info = file.info.clone().expect("checked above");
            if let Err(p) = check_rules(pc, &info) {
                problems.push(p);
                continue;
            }
            crate::rules::register(&info.rules);
            let in_process = pc.isolation == Isolation::InProcess;
            // In-process, a library is loaded once and shared. Isolated, every probe gets its
            // own child: a shared child let one crashing probe turn its siblings' in-flight
            // checks UNKNOWN "probe host died", blaming healthy probes.
            // shared-process (opt-in) goes back to one child per file, for thousands of
            // probes, and says so when that child dies.
            let key = (
                file.path.clone(),
                match pc.isolation {
                    Isolation::Process => pc.id.clone(),
                    Isolation::InProcess => String::new(),
                    Isolation::SharedProcess => "\0shared".to_owned(),
                },
            );
            let plugin = match plugins.get(&key) {
                Some(p) => p.clone(),
                None => {
                    let p: Arc<dyn Plugin> = if in_process {
                        match crate::plugin::load(&file.path) {
                            Ok(loaded) => Arc::new(InProcessPlugin::new(loaded)),
                            Err(e) => {
                                problems.push(plugin_problem(
                                    pc,
                                    format!("cannot load {} in-process: {e}", file.path.display()),
                                ));
                                continue;
                            }
                        }
                    } else {
                        Arc::new(IsolatedPlugin::with_sharing(
                            &file.path,
                            &host_exe,
                            info.clone(),
                            pc.isolation == Isolation::SharedProcess,
                        ))
                    };
                    plugins.insert(key, p.clone());
                    p
                }
            };
            let meta = ProbeMeta {
                id: pc.id.clone(),
                kind: info.kind.clone(),
                plugin_version: info.version.clone(),
                isolation: pc.isolation,
                interval: pc.interval,
                timeout: pc.timeout,
            };
            crate::sanitize::register_secrets(&pc.secrets);
            let validate = options.validate_files && !info.rules.is_empty();
            probes.push(Arc::new(Probe::new(
                meta,
                plugin,
                config_for_create(pc, validate),
            )));
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: config.path.clone(),
                problems,
            }
            .into());
        }
        // One child (three pipes) per isolated probe, and one per file for shared-process.
        let children = plugins
            .values()
            .filter(|p| p.isolation() != Isolation::InProcess)
            .count();
        fd_budget(children).map_err(EngineError::Limits)?;
        Ok(Engine {
            config,
            discovery: disc,
            probes,
            plugins: plugins.into_values().collect(),
        })
    }

    /// Probe metadata for a [`crate::store::Store`].
    pub fn metas(&self) -> Vec<ProbeMeta> {
        self.probes.iter().map(|p| p.meta.clone()).collect()
    }

    /// Destroys idle instances and stops every probe-host child.
    pub async fn shutdown(&self) {
        for p in &self.probes {
            p.shutdown().await;
        }
        for plugin in &self.plugins {
            plugin.shutdown().await;
        }
    }
}

/// `[probe.rules]` ids must be rules of the probe's plugin (its published index).
pub fn check_rules(
    pc: &crate::config::ProbeConfig,
    info: &crate::plugin::PluginInfo,
) -> Result<(), Problem> {
    for id in pc.rules.keys() {
        if info.rules.iter().any(|r| &r.id == id) {
            continue;
        }
        let mut message = if info.rules.is_empty() {
            format!(
                "plugin kind \"{}\" publishes no rules, so `{id}` cannot be overridden",
                info.kind
            )
        } else {
            format!("no rule `{id}` in plugin kind \"{}\"", info.kind)
        };
        if let Some(near) = info
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .filter(|r| edit_distance(r, id) <= 3)
            .min_by_key(|r| edit_distance(r, id))
        {
            message.push_str(&format!(" (did you mean `{near}`?)"));
        }
        if !info.rules.is_empty() {
            message.push_str(&format!("; see `patchdeck rules --kind {}`", info.kind));
        }
        return Err(Problem {
            line: Some(pc.rules_line),
            probe: Some(pc.id.clone()),
            field: Some(format!("rules.{id}")),
            message,
        });
    }
    Ok(())
}

/// The JSON given to the plugin's `create`: `[probe.config]`, plus `[probe.rules]` under
/// `"$rules"` when there are overrides (only plugins with a rule index get any).
pub fn config_for_create(pc: &crate::config::ProbeConfig, validate_files: bool) -> String {
    if pc.rules.is_empty() && !validate_files {
        return pc.config.to_string();
    }
    let mut config = pc.config.clone();
    if validate_files && let Some(obj) = config.as_object_mut() {
        obj.insert(
            patchdeck_probe_api::sdk::VALIDATE_KEY.to_owned(),
            serde_json::Value::Bool(true),
        );
    }
    if pc.rules.is_empty() {
        return config.to_string();
    }
    if let Some(obj) = config.as_object_mut() {
        let rules: serde_json::Map<String, serde_json::Value> = pc
            .rules
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        obj.insert(
            patchdeck_probe_api::sdk::RULES_KEY.to_owned(),
            serde_json::Value::Object(rules),
        );
    }
    config.to_string()
}

fn plugin_problem(pc: &crate::config::ProbeConfig, message: String) -> Problem {
    Problem {
        line: Some(pc.plugin_line),
        probe: Some(pc.id.clone()),
        field: Some("plugin".into()),
        message,
    }
}

fn unknown_kind_message(kind: &str, disc: &Discovery, dirs: &[PathBuf]) -> String {
    let known = disc.kind_names();
    let mut msg = format!("unknown plugin kind \"{kind}\"");
    if let Some(near) = known
        .iter()
        .filter(|k| edit_distance(k, kind) <= 2)
        .min_by_key(|k| edit_distance(k, kind))
    {
        msg.push_str(&format!(" (did you mean \"{near}\"?)"));
    }
    if known.is_empty() {
        msg.push_str("; no plugins were found");
    } else {
        msg.push_str(&format!("; found kinds: {}", known.join(", ")));
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    msg.push_str(&format!(
        " (searched {})",
        if searched.is_empty() {
            "nothing".into()
        } else {
            searched.join(", ")
        }
    ));
    let refused: Vec<String> = disc
        .files
        .iter()
        .filter(|f| f.info.is_none())
        .map(|f| {
            format!(
                "{} ({})",
                f.path.display(),
                f.problem.as_deref().unwrap_or("unusable")
            )
        })
        .collect();
    if !refused.is_empty() {
        msg.push_str(&format!("; unusable files: {}", refused.join("; ")));
    }
    msg.push_str("; run `patchdeck plugins` to see every file found");
    msg
}

/// Levenshtein distance, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(super::edit_distance("wsuss", "wsus"), 1);
        assert_eq!(super::edit_distance("bist", "bits"), 2);
        assert_eq!(super::edit_distance("mock", "wsus"), 4);
        assert_eq!(super::edit_distance("", "abc"), 3);
    }
}
