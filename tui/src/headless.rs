//! The headless commands: `check` and `plugins`.

use crate::{CheckFormat, ListFormat};
use anyhow::{Context, bail};
use patchdeck_core::config::{self, Config};
use patchdeck_core::discovery;
use patchdeck_core::engine::{Engine, EngineOptions};
use patchdeck_core::output;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Global options shared by the commands.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub plugin_dirs: Vec<PathBuf>,
    pub allow_insecure_plugins: bool,
}

impl Options {
    pub fn engine_options(&self) -> EngineOptions {
        let mut extra = self.plugin_dirs.clone();
        extra.extend(discovery::builtin_plugin_dirs());
        EngineOptions {
            allow_insecure_plugins: self.allow_insecure_plugins,
            host_exe: None,
            extra_plugin_dirs: extra,
            validate_files: false,
        }
    }
}

pub fn load_config(opts: &Options) -> anyhow::Result<Config> {
    let path = config::locate(opts.config.as_deref())?;
    Ok(config::load(&path)?)
}

/// Where the annotated example of a real site's config is, installed or in the source tree.
pub const SITE_EXAMPLE: &str =
    "/usr/share/patchdeck/examples/site.toml (examples/site.toml in the source tree)";

fn no_probes_is_an_error(config: &Config) -> anyhow::Result<()> {
    if config.probes.is_empty() {
        bail!(
            "{}: no probes configured (add a [[probe]] table; see {SITE_EXAMPLE}, or try `patchdeck demo`)",
            config.path.display()
        );
    }
    Ok(())
}

/// Loads the config and binds every probe (serve's start-up and reload).
pub async fn build_engine(opts: &Options) -> anyhow::Result<Engine> {
    engine_from(load_config(opts)?, opts).await
}

/// Binds every probe of a config already loaded (the dashboard loads it once, to look for a
/// serve first).
pub async fn engine_from(config: Config, opts: &Options) -> anyhow::Result<Engine> {
    no_probes_is_an_error(&config)?;
    Ok(Engine::build(config, &opts.engine_options()).await?)
}

/// `patchdeck check`: run once, print, exit with the worst status. In Nagios format every
/// failure is one line on stdout and exit 3 (Nagios shows stdout; a usage error's exit 2
/// would read as CRITICAL).
pub async fn check(
    opts: &Options,
    only: &[String],
    format: CheckFormat,
    timeout: Option<Duration>,
) -> anyhow::Result<u8> {
    match check_inner(opts, only, format, timeout).await {
        Err(e) if format == CheckFormat::Nagios => {
            let line = patchdeck_core::sanitize::line(&format!("{e:#}")).replace('|', "/");
            // stdout may be the very thing that failed (closed or full): never panic on it.
            let _ = writeln!(std::io::stdout(), "PATCHDECK UNKNOWN - {line}");
            Ok(crate::EXIT_UNKNOWN)
        }
        r => r,
    }
}

async fn check_inner(
    opts: &Options,
    only: &[String],
    format: CheckFormat,
    timeout: Option<Duration>,
) -> anyhow::Result<u8> {
    let mut config = load_config(opts)?;
    no_probes_is_an_error(&config)?;
    if !only.is_empty() {
        let unknown: Vec<&String> = only
            .iter()
            .filter(|id| !config.probes.iter().any(|p| &p.id == *id))
            .collect();
        if !unknown.is_empty() {
            let ids: Vec<&str> = config.probes.iter().map(|p| p.id.as_str()).collect();
            bail!(
                "{}: no probe with id {} (configured: {})",
                config.path.display(),
                unknown
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                ids.join(", ")
            );
        }
        config.probes.retain(|p| only.contains(&p.id));
    }
    let engine = Engine::build(config, &opts.engine_options()).await?;
    let mut set = tokio::task::JoinSet::new();
    for (i, probe) in engine.probes.iter().enumerate() {
        let probe = probe.clone();
        set.spawn(async move { (i, probe.run_once().await) });
    }
    let mut results = vec![None; engine.probes.len()];
    let started = std::time::SystemTime::now();
    let collect = async {
        while let Some(joined) = set.join_next().await {
            let (i, r) = joined.context("a probe task failed")?;
            results[i] = Some(r);
        }
        anyhow::Ok(())
    };
    match timeout {
        // The whole run within Nagios's service timeout: what has not finished is UNKNOWN.
        Some(t) => {
            if let Ok(r) = tokio::time::timeout(t, collect).await {
                r?;
            }
        }
        None => collect.await?,
    }
    set.abort_all();
    let rows: Vec<_> = engine
        .probes
        .iter()
        .zip(results)
        .map(|(p, r)| {
            let r = r.unwrap_or_else(|| {
                patchdeck_core::store::CheckResult::unknown(
                    format!(
                        "not finished within the --timeout of {}",
                        patchdeck_core::duration::format(timeout.unwrap_or_default())
                    ),
                    started,
                    started.elapsed().unwrap_or_default(),
                )
            });
            (p.meta.clone(), r)
        })
        .collect();
    let text = match format {
        CheckFormat::Text => output::text(&rows),
        CheckFormat::Json => output::json(&rows),
        CheckFormat::Nagios => output::nagios(&rows),
    };
    let worst = output::worst(rows.iter().map(|(_, r)| r));
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("cannot write to stdout")?;
    let _ = tokio::time::timeout(Duration::from_secs(3), engine.shutdown()).await;
    Ok(worst.code() as u8)
}

/// `patchdeck plugins`: list every plugin file found and what is wrong with it.
pub async fn plugins(opts: &Options, format: ListFormat) -> anyhow::Result<u8> {
    let (dirs, disc) = discover_plugins(opts).await?;
    plugins_listing(&dirs, &disc, format)
}

/// The plugin folders and what discovery found in them (the config is optional: without
/// one, the binary's own folder).
async fn discover_plugins(opts: &Options) -> anyhow::Result<(Vec<PathBuf>, discovery::Discovery)> {
    let config = match config::locate(opts.config.as_deref()) {
        Ok(path) => Some(config::load(&path)?),
        Err(config::ConfigError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let eo = opts.engine_options();
    let mut dirs = config
        .as_ref()
        .map(|c| c.settings.plugin_dirs.clone())
        .unwrap_or_default();
    dirs.extend(eo.extra_plugin_dirs.iter().cloned());
    let explicit: Vec<PathBuf> = config
        .iter()
        .flat_map(|c| c.probes.iter())
        .filter(|p| config::looks_like_path(&p.plugin))
        .map(|p| PathBuf::from(&p.plugin))
        .collect();
    let host = discovery::locate_probe_host().map_err(anyhow::Error::msg)?;
    let disc = discovery::discover(&dirs, &explicit, &host, opts.allow_insecure_plugins).await;
    Ok((dirs, disc))
}

/// Every rule of every plugin found (or of `kind`): id, default severity, source, fix, and
/// whether it rests on an assumption.
pub async fn rules(opts: &Options, kind: Option<&str>, format: ListFormat) -> anyhow::Result<u8> {
    let (_dirs, disc) = discover_plugins(opts).await?;
    let mut infos: Vec<&patchdeck_core::plugin::PluginInfo> =
        disc.files.iter().filter_map(|f| f.info.as_ref()).collect();
    infos.sort_by(|a, b| a.kind.cmp(&b.kind));
    infos.dedup_by(|a, b| a.kind == b.kind);
    if let Some(k) = kind {
        infos.retain(|i| i.kind == k);
        if infos.is_empty() {
            let kinds: Vec<&str> = disc
                .files
                .iter()
                .filter_map(|f| f.info.as_ref().map(|i| i.kind.as_str()))
                .collect();
            eprintln!(
                "{}",
                patchdeck_core::sanitize::text(&format!(
                    "no plugin of kind \"{k}\" found (found: {})",
                    if kinds.is_empty() {
                        "none".to_owned()
                    } else {
                        kinds.join(", ")
                    }
                ))
            );
            return Ok(3);
        }
    }
    let out = match format {
        ListFormat::Json => {
            let doc: Vec<serde_json::Value> = infos
                .iter()
                .map(
                    |i| serde_json::json!({"kind": i.kind, "version": i.version, "rules": i.rules}),
                )
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        ListFormat::Text => {
            let mut s = String::new();
            for i in &infos {
                s.push_str(&format!(
                    "{} {} ({} rules)\n",
                    i.kind,
                    i.version,
                    i.rules.len()
                ));
                if i.rules.is_empty() {
                    s.push_str("  publishes no rule index\n");
                }
                for r in &i.rules {
                    s.push_str(&format!(
                        "  {:<34} {:<8}{}  {}\n      source: {} {}\n      fix: {}\n",
                        r.id,
                        r.severity.label(),
                        if r.assumption { " assumption" } else { "" },
                        r.title,
                        r.source,
                        r.url,
                        r.fix
                    ));
                }
            }
            s.push_str("Override per probe in the config: [probe.rules] \"<id>\" = \"off\" | \"warning\" | \"critical\" | \"unknown\"\n");
            s
        }
    };
    print_listing(format, out)?;
    Ok(0)
}

/// `patchdeck exports`: the exports the config's probes read, with rows, time taken, age.
pub fn exports(opts: &Options, format: ListFormat) -> anyhow::Result<u8> {
    let path = config::locate(opts.config.as_deref())?;
    let config = config::load(&path)?;
    let now = std::time::SystemTime::now();
    let mut rows = Vec::new();
    for p in &config.probes {
        let Some(obj) = p.config.as_object() else {
            continue;
        };
        let max_h = obj
            .get("max_export_age_hours")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(26);
        for (key, v) in obj {
            let (true, Some(file)) = (key.ends_with("_csv"), v.as_str()) else {
                continue;
            };
            let file = PathBuf::from(file);
            let file = if file.is_relative() {
                path.parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join(file)
            } else {
                file
            };
            let entry = patchdeck_kit::exports::entry(&file);
            let mtime = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
            let taken = entry.as_ref().map(|e| e.taken).or(mtime);
            let age_h = taken.map(|t| now.duration_since(t).map_or(0, |d| d.as_secs() / 3600));
            let status = match (mtime, age_h) {
                (None, _) => "missing",
                (_, Some(a)) if a > max_h => "stale",
                _ => "ok",
            };
            rows.push(serde_json::json!({
                "file": file.display().to_string(),
                "probe": p.id,
                "key": key,
                "rows": entry.as_ref().map(|e| e.rows),
                "taken_utc": taken.map(|t| jiff::Timestamp::try_from(t).map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()),
                "taken_from": if entry.is_some() { "manifest" } else if mtime.is_some() { "mtime" } else { "-" },
                "age_hours": age_h,
                "max_age_hours": max_h,
                "status": status,
            }));
        }
    }
    let bad = rows.iter().any(|r| r["status"] != "ok");
    let out = match format {
        ListFormat::Json => format!("{}\n", serde_json::to_string_pretty(&rows)?),
        ListFormat::Text => {
            let mut s = format!(
                "{:<8} {:<16} {:>8} {:<20} {:>6}  {}\n",
                "STATUS", "PROBE", "ROWS", "TAKEN (UTC)", "AGE", "FILE"
            );
            for r in &rows {
                s.push_str(&format!(
                    "{:<8} {:<16} {:>8} {:<20} {:>6}  {}{}\n",
                    r["status"].as_str().unwrap_or("").to_uppercase(),
                    r["probe"].as_str().unwrap_or(""),
                    r["rows"].as_u64().map_or("-".to_owned(), |n| n.to_string()),
                    r["taken_utc"].as_str().unwrap_or("-"),
                    r["age_hours"]
                        .as_u64()
                        .map_or("-".to_owned(), |h| format!("{h} h")),
                    r["file"].as_str().unwrap_or(""),
                    if r["taken_from"] == "mtime" {
                        "  (no manifest: mtime)"
                    } else {
                        ""
                    }
                ));
            }
            if rows.is_empty() {
                s.push_str("no probe of this config reads an export\n");
            }
            s
        }
    };
    print_listing(format, out)?;
    Ok(u8::from(bad))
}

fn plugins_listing(
    dirs: &[PathBuf],
    disc: &discovery::Discovery,
    format: ListFormat,
) -> anyhow::Result<u8> {
    let out = match format {
        ListFormat::Json => {
            let files: Vec<serde_json::Value> = disc
                .files
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "path": f.path.display().to_string(),
                        "kind": f.info.as_ref().map(|i| &i.kind),
                        "version": f.info.as_ref().map(|i| &i.version),
                        "abi": f.info.as_ref().map(|i| format!("{}.{}", i.abi_major, i.abi_minor)),
                        "description": f.info.as_ref().map(|i| &i.description),
                        "problem": f.problem,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "folders": dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
                "folder_problems": disc.folder_problems,
                "plugins": files,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        ListFormat::Text => {
            let mut s = String::new();
            for d in dirs {
                s.push_str(&format!("searched {}\n", d.display()));
            }
            for p in &disc.folder_problems {
                s.push_str(&format!("problem: {p}\n"));
            }
            if disc.files.is_empty() {
                s.push_str("no plugin files found\n");
            }
            for f in &disc.files {
                match &f.info {
                    // A plugin's texts stay on their lines: a line feed in a version or
                    // description is escaped.
                    Some(i) => s.push_str(&format!(
                        "{:<16} {:<8} ABI {}.{}  {}\n    {}\n",
                        i.kind,
                        patchdeck_core::sanitize::line(&i.version),
                        i.abi_major,
                        i.abi_minor,
                        patchdeck_core::sanitize::line(&f.path.display().to_string()),
                        patchdeck_core::sanitize::line(&i.description)
                    )),
                    None => s.push_str(&format!(
                        "{:<16} {:<8} ABI -    {}\n",
                        "-",
                        "-",
                        f.path.display()
                    )),
                }
                if let Some(p) = &f.problem {
                    s.push_str(&format!("    problem: {p}\n"));
                }
            }
            s
        }
    };
    // Paths, descriptions and load errors (dlerror) come from files and plugins.
    print_listing(format, out)?;
    Ok(0)
}

/// Prints a listing (`plugins`, `rules`, `exports`) made terminal-safe for its format: its
/// texts come from plugins, files and exports.
fn print_listing(format: ListFormat, out: String) -> anyhow::Result<()> {
    let out = match format {
        ListFormat::Json => patchdeck_core::sanitize::json(out),
        ListFormat::Text => patchdeck_core::sanitize::text(&out).into_owned(),
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("cannot write to stdout")
}

/// `patchdeck events`: the persisted transitions, oldest first.
pub fn events(
    opts: &Options,
    since: Duration,
    only: &[String],
    format: ListFormat,
) -> anyhow::Result<u8> {
    use patchdeck_core::history;
    // The config only says where the history is; without one, the default folder.
    let dir = match config::locate(opts.config.as_deref()) {
        Ok(path) => config::load(&path)?.settings.history_dir,
        Err(config::ConfigError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    }
    .or_else(history::default_dir)
    .ok_or_else(|| {
        anyhow::anyhow!(
            "no history folder: HOME and XDG_STATE_HOME are unset; set history_dir in [settings]"
        )
    })?;
    let cutoff = std::time::SystemTime::now()
        .checked_sub(since)
        .unwrap_or(std::time::UNIX_EPOCH);
    // Streamed twice (the text's column width, then the lines): memory stays bounded by one
    // record whatever the history's size.
    let keep = |r: &history::Record| {
        r.time().is_some_and(|t| t >= cutoff) && (only.is_empty() || only.contains(&r.probe))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut count = 0u64;
    let mut id_w = 0usize;
    if format == ListFormat::Text {
        history::for_each(&dir, |r| {
            if keep(&r) {
                count += 1;
                id_w = id_w.max(patchdeck_core::sanitize::line(&r.probe).len());
            }
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut failed: Option<std::io::Error> = None;
    let mut emit = |text: &str, out: &mut std::io::BufWriter<std::io::StdoutLock>| {
        if failed.is_none()
            && let Err(e) = out.write_all(text.as_bytes())
        {
            failed = Some(e);
        }
    };
    match format {
        ListFormat::Json => {
            // The same document serde's pretty printer gives for the array, one record at a
            // time.
            let mut first = true;
            history::for_each(&dir, |r| {
                if !keep(&r) {
                    return;
                }
                let Ok(doc) = serde_json::to_string_pretty(&r) else {
                    return;
                };
                let indented: String = doc
                    .lines()
                    .map(|l| format!("  {l}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let sep = if first { "[\n" } else { ",\n" };
                first = false;
                emit(
                    &patchdeck_core::sanitize::json(format!("{sep}{indented}")),
                    &mut out,
                );
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            emit(if first { "[]\n" } else { "\n]\n" }, &mut out);
        }
        ListFormat::Text => {
            if count == 0 {
                emit(
                    &patchdeck_core::sanitize::text(&format!(
                        "no events in the last {} in {}\n",
                        patchdeck_core::duration::format(since),
                        dir.display()
                    )),
                    &mut out,
                );
            }
            history::for_each(&dir, |r| {
                if !keep(&r) {
                    return;
                }
                let from = r.from.map_or("-", |f| f.label());
                let cause = r
                    .cause
                    .as_deref()
                    .map_or(String::new(), |c| format!("  [{c}]"));
                // One event, one line: a line feed in any field (an item id from client
                // data, a probe's summary) is escaped, never a forged line.
                let line = patchdeck_core::sanitize::line;
                let text = format!(
                    "{}  {:<id_w$}  {:>8} -> {:<8}{}  {}\n",
                    line(&r.at),
                    line(&r.probe),
                    from,
                    r.to.label(),
                    line(&cause),
                    line(&r.summary)
                );
                emit(&patchdeck_core::sanitize::text(&text), &mut out);
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    if let Some(e) = failed {
        return Err(anyhow::Error::new(e).context("cannot write to stdout"));
    }
    out.flush().context("cannot write to stdout")?;
    Ok(0)
}

/// The line of `key = ...` inside the `[[probe]]` block that starts at `id_line` (1-based), for
/// a plugin message naming the key ("unknown field `urll`").
fn key_line(text: &str, id_line: usize, message: &str) -> Option<usize> {
    let key = message.split('`').nth(1).filter(|k| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })?;
    let lines: Vec<&str> = text.lines().collect();
    // The block runs from a line or two above the id to the next [[probe]].
    let start = id_line.saturating_sub(3);
    for (i, l) in lines.iter().enumerate().skip(start) {
        let t = l.trim_start();
        if i >= id_line && t.starts_with("[[probe]]") {
            break;
        }
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    // Not a key but a value ("unknown variant `purple`"): the line that sets it.
    let quoted = format!("\"{key}\"");
    for (i, l) in lines.iter().enumerate().skip(id_line) {
        if l.trim_start().starts_with("[[probe]]") {
            break;
        }
        if l.split_once('=').is_some_and(|(_, v)| v.contains(&quoted)) {
            return Some(i + 1);
        }
    }
    None
}

/// `patchdeck config check`: the file, the core keys, the plugins and every probe's config
/// through its plugin's create(), all problems at once. 0 valid, 1 not.
pub async fn config_check(opts: &Options, offline: bool) -> anyhow::Result<u8> {
    let path = config::locate(opts.config.as_deref())?;
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let config = match config::load(&path) {
        Ok(c) => c,
        Err(e @ config::ConfigError::Invalid { .. }) => {
            println!("{}", patchdeck_core::sanitize::text(&e.to_string()));
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    let lines: Vec<(String, usize)> = config
        .probes
        .iter()
        .map(|p| (p.id.clone(), p.line))
        .collect();
    let mut eo = opts.engine_options();
    eo.validate_files = !offline;
    let engine = match Engine::build(config, &eo).await {
        Ok(e) => e,
        Err(patchdeck_core::engine::EngineError::Config(
            e @ config::ConfigError::Invalid { .. },
        )) => {
            println!("{}", patchdeck_core::sanitize::text(&e.to_string()));
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    let mut problems = Vec::new();
    // Every probe's create() at once: each in its own probe host.
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in engine.probes.iter().enumerate() {
        let p = p.clone();
        set.spawn(async move { (i, p.validate().await) });
    }
    let mut results = vec![Ok(()); engine.probes.len()];
    while let Some(Ok((i, r))) = set.join_next().await {
        results[i] = r;
    }
    for ((id, id_line), r) in lines.iter().zip(results) {
        if let Err(msg) = r {
            let line = key_line(&text, *id_line, &msg).unwrap_or(*id_line);
            problems.push(format!("{}:{line}: probe \"{id}\": {msg}", path.display()));
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), engine.shutdown()).await;
    if problems.is_empty() && lines.is_empty() {
        // Valid, but check/serve/the dashboard would refuse it: say so before a reload.
        println!(
            "{}: OK, but no probes configured: nothing will be checked (uncomment a [[probe]]; see {SITE_EXAMPLE})",
            path.display()
        );
        return Ok(0);
    }
    if problems.is_empty() {
        println!(
            "{}: OK ({} probes, every plugin accepted its config)",
            path.display(),
            lines.len()
        );
        return Ok(0);
    }
    let mut out = format!("{}: {} problems\n", path.display(), problems.len());
    for p in &problems {
        out.push_str(p);
        out.push('\n');
    }
    print!("{}", patchdeck_core::sanitize::text(&out));
    Ok(1)
}
