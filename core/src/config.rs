//! The TOML configuration: `[settings]` and `[[probe]]` tables.
//!
//! Every error names the file and line, and where it applies the probe id and the field, so
//! an operator can fix the file without guessing.

use crate::duration;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// No probe may run more often than this: a dashboard must not hammer the servers it watches.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest allowed timeout.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
/// Default interval between runs of one probe.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Default time a check may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a probe's plugin is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// In a `patchdeck-probe-host` child process (default): a crash or hang kills only it.
    Process,
    /// In the patchdeck process itself: fastest, for trusted plugins only.
    InProcess,
    /// In one `patchdeck-probe-host` child per plugin file, shared by that file's probes
    /// (fewer processes for thousands of probes; a crash takes down only that file's probes,
    /// and their reports say the host was shared).
    SharedProcess,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Process => "process",
            Isolation::InProcess => "in-process",
            Isolation::SharedProcess => "shared-process",
        }
    }
}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (relative paths in it are relative to its folder).
    pub path: PathBuf,
    pub settings: Settings,
    pub probes: Vec<ProbeConfig>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Site name shown in the dashboard header.
    pub site: Option<String>,
    /// Folders searched for plugin libraries (the binary's own folder is always added).
    pub plugin_dirs: Vec<PathBuf>,
    pub interval: Duration,
    pub timeout: Duration,
    /// Where transitions are appended (JSON lines). By default a folder of this config's own
    /// under [`state_dir`] ([`default_history_dir`]): two configs never mix their events.
    /// `None` only when there is no state folder (neither HOME nor XDG_STATE_HOME).
    pub history_dir: Option<PathBuf>,
    /// `serve`'s Unix socket, where dashboards attach: `socket` in `[settings]`, else
    /// `serve.sock` in the history folder.
    pub socket: Option<PathBuf>,
    /// Rotate the history file past this many MiB (the previous file is kept as `.1`).
    pub history_max_mb: u64,
}

/// The folder for state (history, the dashboard's log): `$XDG_STATE_HOME/patchdeck`, else
/// `~/.local/state/patchdeck`; `None` when neither is set or it would be relative (never `./`
/// or a shared temporary folder).
pub fn state_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })
        .filter(|p| p.is_absolute())
        .map(|p| p.join("patchdeck"))
}

/// A config's own history folder under [`state_dir`]: `<file stem>-<hash of its absolute
/// path>` (`patchdeck-5f1c09a2`), so two configs with one name in different folders differ.
pub fn default_history_dir(config: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(config).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(config))
            .unwrap_or_else(|_| config.to_owned())
    });
    // FNV-1a, 32 bits: stable across builds and platforms (std's hasher is not).
    let hash = abs
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
    let stem: String = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    let stem = if stem.is_empty() {
        "config".into()
    } else {
        stem
    };
    state_dir().map(|d| d.join(format!("{stem}-{hash:08x}")))
}

/// Default [`Settings::history_max_mb`].
pub const DEFAULT_HISTORY_MAX_MB: u64 = 16;

/// One `[[probe]]`.
#[derive(Clone)]
pub struct ProbeConfig {
    pub id: String,
    /// A plugin kind ("wsus") or a path to a library.
    pub plugin: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub isolation: Isolation,
    /// The `[probe.config]` table as JSON, secrets resolved. Never log it.
    pub config: serde_json::Value,
    /// The resolved secret values in `config`, to redact from whatever the plugin returns.
    pub secrets: Vec<String>,
    /// Line of the `id = ...` key, for later errors (unknown plugin kind).
    pub line: usize,
    /// Line of the `plugin = ...` key.
    pub plugin_line: usize,
    /// `[probe.rules]`: rule id -> level ("off", "warning", "critical", "unknown"), levels
    /// checked here, ids checked against the plugin's rule index when it is bound.
    pub rules: std::collections::BTreeMap<String, String>,
    /// Line of `[probe.rules]` (or of the probe when there is none).
    pub rules_line: usize,
}

impl fmt::Debug for ProbeConfig {
    // Hand-written so that resolved secrets in `config` never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeConfig")
            .field("id", &self.id)
            .field("plugin", &self.plugin)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("isolation", &self.isolation)
            .field("config", &"<redacted>")
            .field("secrets", &self.secrets.len())
            .field("rules", &self.rules)
            .finish()
    }
}

/// One thing wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub probe: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error(
        "no config file: pass --config FILE, set PATCHDECK_CONFIG, or create {default} \
         or {SYSTEM_CONFIG} (see examples/site.toml, installed as \
         /usr/share/patchdeck/examples/site.toml; or try `patchdeck demo`)"
    )]
    NotFound { default: String },
}

impl ConfigError {
    pub(crate) fn invalid(path: &Path, problem: Problem) -> ConfigError {
        ConfigError::Invalid {
            path: path.to_owned(),
            problems: vec![problem],
        }
    }
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| render_problem(path, p))
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_problem(path: &Path, p: &Problem) -> String {
    let mut s = path.display().to_string();
    if let Some(line) = p.line {
        s.push_str(&format!(":{line}"));
    }
    s.push_str(": ");
    if let Some(probe) = &p.probe {
        s.push_str(&format!("probe \"{probe}\": "));
    }
    if let Some(field) = &p.field {
        s.push_str(&format!("field `{field}`: "));
    }
    s.push_str(&p.message);
    s
}

/// Finds the config file: `--config`, then `$PATCHDECK_CONFIG`, then
/// `$XDG_CONFIG_HOME/patchdeck/patchdeck.toml` (`~/.config/...` when unset).
/// The system-wide config (installed by the Debian package), read after the user's.
pub const SYSTEM_CONFIG: &str = "/etc/patchdeck/patchdeck.toml";

/// Finds the config: `--config`, then `$PATCHDECK_CONFIG`, then
/// `$XDG_CONFIG_HOME/patchdeck/patchdeck.toml`, then [`SYSTEM_CONFIG`].
pub fn locate(cli: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = cli {
        return Ok(p.to_owned());
    }
    if let Some(p) = std::env::var_os("PATCHDECK_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"));
    let default = base.join("patchdeck").join("patchdeck.toml");
    if default.exists() {
        Ok(default)
    } else if Path::new(SYSTEM_CONFIG).exists() {
        Ok(PathBuf::from(SYSTEM_CONFIG))
    } else {
        Err(ConfigError::NotFound {
            default: default.display().to_string(),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    settings: Option<Spanned<RawSettings>>,
    #[serde(default)]
    probe: Vec<Spanned<RawProbe>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    site: Option<String>,
    plugin_dirs: Option<Vec<Spanned<String>>>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    history_dir: Option<String>,
    history_max_mb: Option<Spanned<u64>>,
    socket: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    id: Spanned<String>,
    plugin: Spanned<String>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    isolation: Option<Spanned<String>>,
    config: Option<Spanned<toml::Table>>,
    rules: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_owned(),
        error,
    })?;
    parse(path, &text)
}

/// Validates config text as if read from `path` (used for messages and relative paths).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let lines = LineIndex::new(text);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start);
        let problem = Problem {
            line: offset.map(|o| lines.line(o)),
            probe: offset.and_then(|o| enclosing_probe_id(text, o)),
            field: None,
            message: e.message().trim().to_owned(),
        };
        ConfigError::invalid(path, problem)
    })?;
    let base_dir = path.parent().map(Path::to_owned).unwrap_or_default();
    let mut problems = Vec::new();

    let raw_settings = raw.settings.map(Spanned::into_inner).unwrap_or_default();
    let mut settings = Settings {
        site: raw_settings.site,
        plugin_dirs: raw_settings
            .plugin_dirs
            .unwrap_or_default()
            .into_iter()
            .map(|d| resolve_path(&base_dir, d.get_ref()))
            .collect(),
        interval: DEFAULT_INTERVAL,
        timeout: DEFAULT_TIMEOUT,
        history_dir: raw_settings
            .history_dir
            .as_deref()
            .map(|d| resolve_path(&base_dir, d))
            .or_else(|| default_history_dir(path)),
        socket: None,
        history_max_mb: DEFAULT_HISTORY_MAX_MB,
    };
    settings.socket = raw_settings
        .socket
        .as_deref()
        .map(|d| resolve_path(&base_dir, d))
        .or_else(|| settings.history_dir.as_ref().map(|d| d.join("serve.sock")));
    let mut field_problem =
        |probe: Option<&str>, field: &str, span_start: usize, message: String| {
            problems.push(Problem {
                line: Some(lines.line(span_start)),
                probe: probe.map(str::to_owned),
                field: Some(field.to_owned()),
                message,
            });
        };
    if let Some(v) = &raw_settings.interval {
        match checked_interval(v.get_ref()) {
            Ok(d) => settings.interval = d,
            Err(m) => field_problem(None, "settings.interval", v.span().start, m),
        }
    }
    if let Some(v) = &raw_settings.history_max_mb {
        match *v.get_ref() {
            0 => field_problem(
                None,
                "settings.history_max_mb",
                v.span().start,
                "must be at least 1 (MiB)".into(),
            ),
            mb => settings.history_max_mb = mb,
        }
    }
    if let Some(v) = &raw_settings.timeout {
        match checked_timeout(v.get_ref()) {
            Ok(d) => settings.timeout = d,
            Err(m) => field_problem(None, "settings.timeout", v.span().start, m),
        }
    }

    let mut probes: Vec<ProbeConfig> = Vec::new();
    for raw_probe in raw.probe {
        let rp = raw_probe.into_inner();
        let id = rp.id.get_ref().clone();
        let id_line = lines.line(rp.id.span().start);
        if let Err(m) = check_probe_id(&id) {
            field_problem(Some(&id), "id", rp.id.span().start, m);
        }
        if let Some(first) = probes.iter().find(|p| p.id == id) {
            field_problem(
                Some(&id),
                "id",
                rp.id.span().start,
                format!(
                    "duplicate probe id (first used on line {}); ids must be unique",
                    first.line
                ),
            );
        }
        if rp.plugin.get_ref().trim().is_empty() {
            field_problem(
                Some(&id),
                "plugin",
                rp.plugin.span().start,
                "must name a plugin kind or a library path".into(),
            );
        }
        let interval = match &rp.interval {
            Some(v) => checked_interval(v.get_ref()).unwrap_or_else(|m| {
                field_problem(Some(&id), "interval", v.span().start, m);
                settings.interval
            }),
            None => settings.interval,
        };
        let timeout = match &rp.timeout {
            Some(v) => checked_timeout(v.get_ref()).unwrap_or_else(|m| {
                field_problem(Some(&id), "timeout", v.span().start, m);
                settings.timeout
            }),
            None => settings.timeout,
        };
        let isolation = match rp
            .isolation
            .as_ref()
            .map(|v| (v.get_ref().as_str(), v.span().start))
        {
            None | Some(("process", _)) => Isolation::Process,
            Some(("in-process", _)) => Isolation::InProcess,
            Some(("shared-process", _)) => Isolation::SharedProcess,
            Some((other, at)) => {
                field_problem(
                    Some(&id),
                    "isolation",
                    at,
                    format!("\"{other}\" is not \"process\", \"shared-process\" or \"in-process\""),
                );
                Isolation::Process
            }
        };
        let mut secrets = Vec::new();
        let config = match rp.config {
            None => serde_json::Value::Object(Default::default()),
            Some(table) => {
                let at = table.span().start;
                let json = to_json(
                    &toml::Value::Table(table.into_inner()),
                    "config",
                    &base_dir,
                    &mut secrets,
                );
                match json {
                    // The probe host receives the config in one protocol frame.
                    Ok(v) if v.to_string().len() > MAX_PROBE_CONFIG_BYTES => {
                        field_problem(
                            Some(&id),
                            "config",
                            at,
                            format!(
                                "the config is {} bytes as JSON, over the {} KiB a probe config may have",
                                v.to_string().len(),
                                MAX_PROBE_CONFIG_BYTES / 1024
                            ),
                        );
                        serde_json::Value::Null
                    }
                    Ok(v) => v,
                    Err((field, m)) => {
                        field_problem(Some(&id), &field, at, m);
                        serde_json::Value::Null
                    }
                }
            }
        };
        let mut rules = std::collections::BTreeMap::new();
        let mut rules_line = id_line;
        if let Some(table) = rp.rules {
            rules_line = lines.line(table.span().start);
            for (rule, level) in table.into_inner() {
                match patchdeck_probe_api::rules::Level::parse(level.get_ref()) {
                    Ok(_) => {
                        rules.insert(rule, level.into_inner());
                    }
                    Err(m) => {
                        field_problem(Some(&id), &format!("rules.{rule}"), level.span().start, m)
                    }
                }
            }
        }
        let plugin_line = lines.line(rp.plugin.span().start);
        let plugin = rp.plugin.into_inner();
        let plugin = if looks_like_path(&plugin) {
            resolve_path(&base_dir, &plugin).display().to_string()
        } else {
            plugin
        };
        probes.push(ProbeConfig {
            id,
            plugin,
            interval,
            timeout,
            isolation,
            config,
            secrets,
            line: id_line,
            plugin_line,
            rules,
            rules_line,
        });
    }

    if problems.is_empty() {
        Ok(Config {
            path: path.to_owned(),
            settings,
            probes,
        })
    } else {
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        })
    }
}

/// True when `plugin = ...` names a library file rather than a kind.
pub fn looks_like_path(plugin: &str) -> bool {
    plugin.contains('/') || plugin.contains('\\') || plugin.ends_with(std::env::consts::DLL_SUFFIX)
}

fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

fn checked_interval(text: &str) -> Result<Duration, String> {
    let d = duration::parse(text)?;
    if d < MIN_INTERVAL {
        return Err(format!(
            "\"{text}\" is below the floor of {}: a dashboard must not hammer the servers it watches",
            duration::format(MIN_INTERVAL)
        ));
    }
    Ok(d)
}

fn checked_timeout(text: &str) -> Result<Duration, String> {
    let d = duration::parse(text)?;
    if d < MIN_TIMEOUT {
        return Err(format!(
            "\"{text}\" is below the minimum of {}",
            duration::format(MIN_TIMEOUT)
        ));
    }
    if d.as_millis() > u128::from(u32::MAX) {
        return Err(format!("\"{text}\" is too long"));
    }
    Ok(d)
}

fn check_probe_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.len() > 64 {
        return Err("must be at most 64 characters".into());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(format!(
            "{c:?} is not allowed; use letters, digits, '-', '_', '.' or ':'"
        ));
    }
    Ok(())
}

/// Converts a TOML value to JSON, resolving `{ env = "NAME" }` and `{ file = "path" }`.
/// Errors carry the dotted field path.
fn to_json(
    v: &toml::Value,
    field: &str,
    base: &Path,
    secrets: &mut Vec<String>,
) -> Result<serde_json::Value, (String, String)> {
    use serde_json::Value as J;
    Ok(match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .ok_or((field.to_owned(), format!("{f} is not a finite number")))?,
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| to_json(x, &format!("{field}[{i}]"), base, secrets))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => {
            if let Some(secret) = resolve_secret(t, field, base)? {
                if !secret.is_empty() {
                    secrets.push(secret.clone());
                }
                return Ok(J::String(secret));
            }
            let mut m = serde_json::Map::new();
            for (k, x) in t {
                m.insert(
                    k.clone(),
                    to_json(x, &format!("{field}.{k}"), base, secrets)?,
                );
            }
            J::Object(m)
        }
    })
}

fn resolve_secret(
    t: &toml::Table,
    field: &str,
    base: &Path,
) -> Result<Option<String>, (String, String)> {
    if t.len() != 1 {
        return Ok(None);
    }
    let err = |m: String| (field.to_owned(), m);
    match t.iter().next() {
        Some((k, toml::Value::String(name))) if k == "env" => match std::env::var(name) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => {
                Err(err(format!("environment variable {name} is not set")))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(err(format!("environment variable {name} is not UTF-8")))
            }
        },
        Some((k, toml::Value::String(file))) if k == "file" => {
            let p = resolve_path(base, file);
            Ok(Some(read_secret_file(&p).map_err(err)?))
        }
        // systemd's LoadCredential=NAME:PATH: the file systemd placed for this service.
        Some((k, toml::Value::String(name))) if k == "credential" => {
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(err(format!(
                    "credential \"{name}\" is not a credential name (LoadCredential=NAME:PATH)"
                )));
            }
            let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
                return Err(err(format!(
                    "credential \"{name}\": $CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential={name}:/path/to/file)"
                )));
            };
            Ok(Some(
                read_secret_file(&Path::new(&dir).join(name)).map_err(err)?,
            ))
        }
        _ => Ok(None),
    }
}

/// A probe config larger than this (as JSON) is refused at load: it must fit in one
/// probe-host protocol frame with room to spare.
pub const MAX_PROBE_CONFIG_BYTES: usize = 1024 * 1024;

/// Secret files are small regular files: a FIFO would hang the load, `/dev/zero` would
/// grow without end.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

fn read_secret_file(p: &Path) -> Result<String, String> {
    use std::io::Read;
    let shown = p.display();
    let meta = std::fs::metadata(p).map_err(|e| format!("cannot read secret file {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "secret file {shown} is not a regular file (a FIFO, device or folder cannot hold a secret)"
        ));
    }
    {
        use std::os::unix::fs::MetadataExt;
        if meta.mode() & 0o004 != 0 {
            return Err(format!(
                "secret file {shown} is readable by others (mode {:o}): chmod 600 it (or 640 with a group patchdeck runs in)",
                meta.mode() & 0o777
            ));
        }
    }
    if meta.len() > MAX_SECRET_BYTES {
        return Err(format!(
            "secret file {shown} is {} bytes, over the {} KiB limit for a secret",
            meta.len(),
            MAX_SECRET_BYTES / 1024
        ));
    }
    let mut text = String::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(MAX_SECRET_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read secret file {shown}: {e}"))?;
    if text.len() as u64 > MAX_SECRET_BYTES {
        return Err(format!(
            "secret file {shown} grew past the {} KiB limit while read",
            MAX_SECRET_BYTES / 1024
        ));
    }
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// Finds the id of the `[[probe]]` block containing a byte offset, for parse errors that
/// serde reports without it (unknown keys, wrong types).
fn enclosing_probe_id(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let start = before.rfind("[[probe]]")?;
    // Another table header between the block start and the offset means we left the block,
    // unless it is the probe's own [probe.config].
    let block_end = text[start + 9..]
        .find("\n[")
        .map(|i| start + 9 + i)
        .filter(|&e| e < offset);
    if let Some(end) = block_end {
        let header = text[end + 1..].lines().next().unwrap_or("");
        if !header.starts_with("[probe.") {
            return None;
        }
    }
    let block = &text[start..];
    let block = &block[..block[9..].find("[[").map_or(block.len(), |i| i + 9)];
    block.lines().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix("id")?.trim_start().strip_prefix('=')?.trim();
        Some(rest.trim_matches(|c| c == '"' || c == '\'').to_owned())
    })
}

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("t.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_probe_gets_defaults() {
        let c = parse(
            Path::new("/etc/pd/p.toml"),
            "[[probe]]\nid = \"a\"\nplugin = \"mock\"\n",
        )
        .unwrap();
        assert_eq!(c.probes[0].interval, DEFAULT_INTERVAL);
        assert_eq!(c.probes[0].timeout, DEFAULT_TIMEOUT);
        assert_eq!(c.probes[0].isolation, Isolation::Process);
        assert_eq!(c.probes[0].config, serde_json::json!({}));
        assert_eq!(c.probes[0].line, 2);
    }

    #[test]
    fn errors_name_line_probe_and_field() {
        let e = err("[[probe]]\nid = \"a\"\nplugin = \"mock\"\ninterval = \"500ms\"\n");
        assert_eq!(
            e,
            "t.toml:4: probe \"a\": field `interval`: \"500ms\" is below the floor of 1s: a dashboard must not hammer the servers it watches"
        );
    }

    #[test]
    fn unknown_key_names_the_probe() {
        let e = err(
            "[[probe]]\nid = \"a\"\nplugin = \"mock\"\n\n[[probe]]\nid = \"b\"\nplugin = \"mock\"\nintervall = \"5s\"\n",
        );
        assert!(
            e.starts_with("t.toml:8: probe \"b\": unknown field `intervall`"),
            "{e}"
        );
    }

    #[test]
    fn line_index_is_one_based() {
        let li = LineIndex::new("a\nb\nc");
        assert_eq!((li.line(0), li.line(2), li.line(4)), (1, 2, 3));
    }

    #[test]
    fn secrets_resolve_from_env_and_file_and_are_redacted_in_debug() {
        let dir = std::env::temp_dir().join(format!("pd-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pw"), "s3cret\n").unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join("pw"), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        // SAFETY: a variable name unique to this test; no other code reads it concurrently.
        unsafe { std::env::set_var("PD_TEST_TOKEN_XYZ", "tok") };
        let text = "[[probe]]\nid = \"a\"\nplugin = \"mock\"\n[probe.config]\npw = { file = \"pw\" }\nauth = { token = { env = \"PD_TEST_TOKEN_XYZ\" } }\n";
        let c = parse(&dir.join("p.toml"), text).unwrap();
        assert_eq!(
            c.probes[0].config,
            serde_json::json!({"pw": "s3cret", "auth": {"token": "tok"}})
        );
        assert!(!format!("{:?}", c).contains("s3cret"));
    }
}
