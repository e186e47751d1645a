//! `patchdeck`: is everything ConfigMgr 2007 software-update deployment depends on healthy?
//!
//! The CLI edge: argument parsing, logging set-up, exit codes. The work is in
//! `patchdeck-core`; the headless commands are in `headless.rs`.

mod app;
mod attach;
mod demo;
mod drill_layout;
#[cfg(test)]
mod fixture;
mod headless;
mod hyperlinks;
mod input;
mod keys;
mod layout;
mod model;
mod serve;
mod text;
mod theme;
mod update;
#[cfg(test)]
mod update_tests;
mod view;
#[cfg(test)]
mod view_tests;
mod web;

use clap::{Parser, Subcommand, ValueEnum};
use patchdeck_core::sanitize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for "could not decide": bad config, missing files (Nagios UNKNOWN).
pub const EXIT_UNKNOWN: u8 = 3;

/// A command line clap cannot parse: exit 3 (UNKNOWN), not clap's 2 (which Nagios reads as
/// CRITICAL); with `--format nagios` anywhere in it, also one line on stdout for Nagios to
/// show. `--help` and `--version` print and exit 0 as usual.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().collect();
    let nagios = args
        .windows(2)
        .any(|w| (w[0] == "--format" || w[0] == "-f") && w[1] == "nagios")
        || args.iter().any(|a| a == "--format=nagios");
    if nagios {
        let first = e.to_string();
        let first = first
            .lines()
            .next()
            .unwrap_or("bad arguments")
            .trim_start_matches("error: ");
        println!(
            "PATCHDECK UNKNOWN - bad arguments: {}",
            sanitize::line(first).replace('|', "/")
        );
    }
    let _ = e.print();
    ExitCode::from(EXIT_UNKNOWN)
}

/// "0.1.0 (probe ABI 1.1, report schema 1.2, probe-host protocol 2, commit 1a2b3c4d5e6f)".
fn version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        format!(
            "{} (probe ABI {}.{}, report schema 1.2, probe-host protocol {}, commit {})",
            env!("CARGO_PKG_VERSION"),
            patchdeck_probe_api::abi::PD_ABI_MAJOR,
            patchdeck_probe_api::abi::PD_ABI_MINOR,
            patchdeck_core::protocol::PROTOCOL_VERSION,
            env!("PATCHDECK_GIT_COMMIT")
        )
    })
}

#[derive(Parser, Debug)]
#[command(
    name = "patchdeck",
    version = version(),
    about = "Terminal dashboard for the prerequisites of ConfigMgr 2007 software-update deployment",
    long_about = "patchdeck runs probe plugins (WSUS, Windows Update Agent, BITS on distribution \
points, Windows Installer, SUP capacity, reporting point) and shows whether each is healthy.\n\n\
Config lookup: --config, then $PATCHDECK_CONFIG, then $XDG_CONFIG_HOME/patchdeck/patchdeck.toml, \
then /etc/patchdeck/patchdeck.toml.\n\
Plugins are searched in the config's plugin_dirs and --plugin-dir folders, then in \
../lib/patchdeck/plugins/ relative to this binary when it exists (the Debian package: \
/usr/lib/patchdeck/plugins), else in this binary's own folder (a development build). The probe \
host (patchdeck-probe-host) is $PATCHDECK_PROBE_HOST, else ../lib/patchdeck/ relative to this \
binary, else next to it.",
    after_help = "Examples:\n  patchdeck demo\n  patchdeck --config examples/patchdeck.toml\n  \
patchdeck check --config examples/patchdeck.toml\n  patchdeck check --probe wsus-sup01 --format nagios\n  patchdeck plugins"
)]
struct Cli {
    #[command(flatten)]
    site: SiteOpts,

    #[command(flatten)]
    log: LogOpts,

    #[command(flatten)]
    display: DisplayOpts,

    /// Dashboard: attach to a running `patchdeck serve`: its Unix socket (SOCKET: results and
    /// the keys r, R, p) or its HTTP address (URL, e.g. http://127.0.0.1:9469: read-only,
    /// polled every second). An error if none answers. Without it the dashboard attaches by
    /// itself to the serve of its config (the socket in [settings], else serve.sock in the
    /// config's history folder) and runs its own probes only when no serve runs for it.
    #[arg(long, value_name = "SOCKET|URL")]
    connect: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

/// Which site: the config and where its plugins are. Accepted before or after the command
/// (`patchdeck --config F check` and `patchdeck check --config F`), shown only by the commands
/// that use them.
#[derive(clap::Args, Debug, Clone, Default)]
struct SiteOpts {
    /// Config file (TOML). See examples/site.toml (installed:
    /// /usr/share/patchdeck/examples/site.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Also search this folder for plugins (repeatable).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,

    /// Load plugin files even if group/other-writable or owned by another user.
    #[arg(long)]
    allow_insecure_plugins: bool,
}

impl SiteOpts {
    /// This command's options over those given before it.
    fn over(&self, before: &SiteOpts) -> SiteOpts {
        SiteOpts {
            config: self.config.clone().or_else(|| before.config.clone()),
            plugin_dirs: before
                .plugin_dirs
                .iter()
                .chain(&self.plugin_dirs)
                .cloned()
                .collect(),
            allow_insecure_plugins: self.allow_insecure_plugins || before.allow_insecure_plugins,
        }
    }
}

#[derive(clap::Args, Debug, Clone, Default)]
struct LogOpts {
    /// Write logs to this file (filter with RUST_LOG, default "info"). The dashboard always
    /// logs to a file ($XDG_STATE_HOME/patchdeck/patchdeck.log by default), never to the
    /// screen; `check` and `plugins` log to stderr only when RUST_LOG is set. The file is
    /// created 0600, never through a symlink, and rotates at 10 MiB to FILE.1.
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,
}

/// How the dashboard draws (the dashboard and `demo`).
#[derive(clap::Args, Debug, Clone, Copy, Default)]
struct DisplayOpts {
    /// Dashboard: capture the mouse (off by default so text can be selected over SSH).
    #[arg(long)]
    mouse: bool,

    /// Dashboard: no colours (also when NO_COLOR is set, or TERM=vt100/dumb).
    #[arg(long)]
    no_color: bool,

    /// Dashboard: ASCII symbols and borders only (automatic for TERM=linux/vt100/dumb).
    #[arg(long)]
    ascii: bool,

    /// Dashboard: no OSC 8 hyperlinks on URLs (they are off with ASCII, TERM=linux/vt100/dumb).
    #[arg(long)]
    no_links: bool,
}

/// `--max-items`: a number from 0 to 10,000 (a billion would be a 600 GB allocation).
fn parse_max_items(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n <= 10_000 => Ok(n),
        Ok(n) => Err(format!(
            "{n} is over the limit of 10000 item series per probe"
        )),
        Err(e) => Err(format!("{s:?} is not a number: {e}")),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the selected probes once, concurrently, print their results and exit with the
    /// worst status as a Nagios code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (CRITICAL
    /// outranks UNKNOWN). Bad config or missing file: message on stderr, exit 3.
    Check {
        /// Only this probe id (repeatable). Default: every probe in the config.
        #[arg(long = "probe", short = 'p', value_name = "ID")]
        probes: Vec<String>,
        /// Output format. `nagios`: a Monitoring Plugins headline with every probe's
        /// perfdata, one long-output line per probe, then every non-OK item of every probe,
        /// worst first, each with its probe, evidence and fix (at most 50, then "... and N
        /// more"); a usage error or failure is one stdout line with exit 3 (UNKNOWN).
        #[arg(long, short = 'f', value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Limit for the whole run, in seconds like every Monitoring Plugin ("30"; "30s" and
        /// "1m" work too), under Nagios's service check timeout: probes not finished by then
        /// are UNKNOWN. 0 is refused.
        #[arg(long, short = 't', value_name = "SECONDS", value_parser = parse_check_timeout)]
        timeout: Option<std::time::Duration>,
        #[command(flatten)]
        site: SiteOpts,
        #[command(flatten)]
        log: LogOpts,
    },
    /// Open the dashboard on a simulated ConfigMgr 2007 site served on loopback (sitesim),
    /// judged by all six real probes: wsus (WSUS 3.0, sync, admin console), bits
    /// (distribution points), reporting-point, wua (Windows Update Agent on 30,000 simulated
    /// clients), msi (Windows Installer) and sup-capacity (SUP load and NLB). Needs no network
    /// and no Windows server: the quickest way to see what patchdeck does.
    Demo {
        /// Scenario file (see tests/sitesim/scenarios/); default: a mid-size site with one
        /// DP that ignores Range, one without WebDAV and one refusing anonymous access.
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Flip a fault every few seconds (WsusPool stopped, Range off, HTTP 500) so status
        /// changes show.
        #[arg(long)]
        chaos: bool,
        #[command(flatten)]
        log: LogOpts,
        #[command(flatten)]
        display: DisplayOpts,
    },
    /// List plugin files found: kind, version, ABI version, description, and any problem
    /// (refused permissions, invalid descriptor, duplicate kind).
    Plugins {
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        #[command(flatten)]
        site: SiteOpts,
        #[command(flatten)]
        log: LogOpts,
    },
    /// List the site-database exports the configured probes read (every `*_csv` key): file,
    /// probe, rows and the time the export was taken (from the export kit's manifest,
    /// exports.csv, else the file's mtime), its age, and whether it is fresh enough (the
    /// probe's max_export_age_hours, 26 h by default). What to look at when a probe says
    /// "export too old". Exit 0 when every export is fresh, 1 when one is stale or missing.
    Exports {
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        #[command(flatten)]
        site: SiteOpts,
        #[command(flatten)]
        log: LogOpts,
    },
    /// List every rule the probes judge by: id, default severity (the worst it gives), the
    /// page it rests on, the fix, and "assumption" where no page gives the number. Override a
    /// rule per probe with `[probe.rules] "wsus.sync-age" = "off" | "warning" | "critical" |
    /// "unknown"` (checked by `config check`).
    Rules {
        /// Only this plugin kind (e.g. wsus, bits, wua).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        #[command(flatten)]
        site: SiteOpts,
        #[command(flatten)]
        log: LogOpts,
    },
    /// The one collector for a config: run every probe on its timer without a screen, append
    /// transitions to the history (one writer: a second serve is refused), serve /metrics
    /// (OpenMetrics, for Prometheus), /api/v1/state (JSON) and /healthz, and let dashboards
    /// attach on a Unix socket (`socket` in [settings], else serve.sock in the history
    /// folder; 0660). SIGHUP reloads the config (a bad one is refused and the old one keeps
    /// running; /healthz says why). Logs to stderr (the journal under systemd). Stops on
    /// SIGTERM or SIGINT. No authentication on HTTP: keep it on loopback or behind a reverse
    /// proxy.
    Serve {
        /// Address to listen on.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9469")]
        listen: std::net::SocketAddr,
        /// Allow a non-loopback --listen address (there is no authentication).
        #[arg(long)]
        allow_remote: bool,
        /// Item series (patchdeck_item_status) per probe at most, to bound cardinality
        /// (0 to 10000).
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = parse_max_items)]
        max_items: usize,
        #[command(flatten)]
        site: SiteOpts,
        #[command(flatten)]
        log: LogOpts,
    },
    /// Validate the config without running any probe (like `nginx -t`).
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print a shell completion script: `patchdeck completions bash > /etc/bash_completion.d/patchdeck`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The config's probe ids, one per line (for the shell completions of --probe; silent when
    /// there is no config).
    #[command(hide = true, name = "probe-ids")]
    ProbeIds {
        #[command(flatten)]
        site: SiteOpts,
    },
    /// Write the man pages (patchdeck.1 and one per command) into a folder.
    #[command(hide = true)]
    Man {
        /// Folder to write into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the persisted transition history (what the dashboard's `e` shows, across
    /// restarts): every status change and every change of cause, oldest first. Read from the
    /// config's history_dir (by default $XDG_STATE_HOME/patchdeck/<config>-<hash>/).
    Events {
        /// Only events newer than this ("24h", "7d").
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "24h")]
        since: std::time::Duration,
        /// Only this probe id (repeatable).
        #[arg(long = "probe", short = 'p', value_name = "ID")]
        probes: Vec<String>,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        #[command(flatten)]
        site: SiteOpts,
        #[command(flatten)]
        log: LogOpts,
    },
}

impl Command {
    /// The site, log and display options given after this command, where it takes them.
    fn options(&self) -> (Option<&SiteOpts>, Option<&LogOpts>, Option<DisplayOpts>) {
        match self {
            Command::Check { site, log, .. }
            | Command::Plugins { site, log, .. }
            | Command::Exports { site, log, .. }
            | Command::Rules { site, log, .. }
            | Command::Serve { site, log, .. }
            | Command::Events { site, log, .. }
            | Command::Config {
                action: ConfigAction::Check { site, log, .. },
            } => (Some(site), Some(log), None),
            Command::Demo { log, display, .. } => (None, Some(log), Some(*display)),
            Command::ProbeIds { site } => (Some(site), None, None),
            Command::Completions { .. } | Command::Man { .. } => (None, None, None),
        }
    }
}

#[derive(Subcommand, Debug)]
enum ConfigAction {
    /// Check the config: the file and core keys, then every probe's [probe.config] through
    /// its plugin's own create() (in a probe host, so a bad plugin cannot hurt). Prints every
    /// problem at once with file:line, probe id and key; exit 0 when valid, 1 when not.
    /// The files the probes read are checked too: every site-database export exists, is a
    /// readable regular file, has the columns its probe needs and is younger than the
    /// probe's max_export_age_hours (its manifest's time, else its mtime).
    Check {
        /// Skip the file checks (a config written before the exports exist).
        #[arg(long)]
        offline: bool,
        #[command(flatten)]
        site: SiteOpts,
        #[command(flatten)]
        log: LogOpts,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    /// Aligned lines for people.
    Text,
    /// One JSON document: {"probes":[...],"worst":...}.
    Json,
    /// One Nagios plugin line per probe: `ID STATUS: summary | perfdata`.
    Nagios,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Text,
    Json,
}

/// The dashboard's default log file: $XDG_STATE_HOME/patchdeck/patchdeck.log, else
/// ~/.local/state/patchdeck/patchdeck.log; none without either (never a relative or shared
/// temporary folder).
fn default_log_file() -> Option<PathBuf> {
    patchdeck_core::history::default_dir().map(|d| d.join("patchdeck.log"))
}

/// The dashboard's (and `--log-file`'s) log rotates past this to `<file>.1`.
const LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;

fn init_logging(log_file: Option<&PathBuf>, tui: bool, serve: bool) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let default = default_log_file();
    if tui && log_file.is_none() && default.is_none() {
        anyhow::bail!(
            "no folder for the dashboard's log: HOME and XDG_STATE_HOME are unset; pass --log-file"
        );
    }
    let log_file = log_file.or(if tui { default.as_ref() } else { None });
    if let Some(path) = log_file {
        // Never through a planted symlink, never a file or folder others can write.
        // Rotated at 10 MiB to `.1`: a log flood never fills the disk.
        let file = patchdeck_core::RotatingFile::open("log file", path, LOG_MAX_BYTES)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::sync::Mutex::new(sanitize::Writer(file)))
            .with_ansi(false)
            .init();
    } else if serve || std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(|| sanitize::Writer(std::io::stderr()))
            .init();
    }
    Ok(())
}

/// patchdeck.1 and patchdeck-<command>.1 for every visible command.
fn write_man_pages(out: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let cmd = <Cli as clap::CommandFactory>::command();
    let write = |name: &str, c: clap::Command| -> anyhow::Result<()> {
        let path = out.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("patchdeck-{}", sub.get_name());
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        write(&name, sub.clone().name(leaked))?;
    }
    write("patchdeck", cmd)
}

/// `check -t`: plain seconds (the Monitoring Plugins convention) or a duration; never 0.
fn parse_check_timeout(s: &str) -> Result<std::time::Duration, String> {
    let d = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<u64>()
            .map(std::time::Duration::from_secs)
            .map_err(|_| format!("{s:?} is too large"))?
    } else {
        patchdeck_core::duration::parse(s)?
    };
    if d.is_zero() {
        return Err("a timeout of 0 would time out every probe: give seconds, e.g. 30".into());
    }
    Ok(d)
}

/// The generated completion script, with `--probe`/`-p` completing the config's probe ids
/// (`patchdeck probe-ids`, given the `--config` on the command line in bash) instead of file
/// names. clap_complete has no hook for values known only at run time.
fn complete_probe_ids(shell: clap_complete::Shell, script: &str) -> String {
    use clap_complete::Shell;
    match shell {
        Shell::Bash => {
            let helper = r#"__patchdeck_probe_ids() {
    local i cfg=()
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        [[ ${COMP_WORDS[i]} == --config ]] && cfg=(--config "${COMP_WORDS[i+1]}")
    done
    patchdeck probe-ids "${cfg[@]}" 2>/dev/null
}
"#;
            let mut out = String::from(helper);
            let mut lines = script.lines().peekable();
            while let Some(line) = lines.next() {
                out.push_str(line);
                out.push('\n');
                let t = line.trim();
                if (t == "--probe)" || t == "-p)")
                    && lines
                        .peek()
                        .is_some_and(|n| n.trim() == r#"COMPREPLY=($(compgen -f "${cur}"))"#)
                {
                    let next = lines.next().unwrap_or_default();
                    let indent = &next[..next.len() - next.trim_start().len()];
                    out.push_str(indent);
                    out.push_str(
                        r#"COMPREPLY=($(compgen -W "$(__patchdeck_probe_ids)" -- "${cur}"))"#,
                    );
                    out.push('\n');
                }
            }
            out
        }
        Shell::Zsh => {
            let helper = "\n_patchdeck_probe_ids() {\n    local -a ids\n    ids=(${(f)\"$(patchdeck probe-ids 2>/dev/null)\"})\n    compadd -a ids\n}\n";
            let script = script
                .lines()
                .map(|l| {
                    if l.contains("probe=[") || l.contains("-p+[") {
                        l.replace(":ID:_default'", ":ID:_patchdeck_probe_ids'")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            match script.split_once('\n') {
                Some((first, rest)) if first.starts_with("#compdef") => {
                    format!("{first}\n{helper}{rest}\n")
                }
                _ => format!("{script}\n"),
            }
        }
        Shell::Fish => {
            script
                .lines()
                .map(|l| {
                    if l.contains(" -l probe ") && l.ends_with(" -r") {
                        format!("{l} -f -a \"(patchdeck probe-ids 2>/dev/null)\"")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        }
        _ => script.to_owned(),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    patchdeck_core::duration::parse(s)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let dashboard = matches!(cli.command, None | Some(Command::Demo { .. }));
    let serving = matches!(cli.command, Some(Command::Serve { .. }));
    // Options given after the command win over those before it.
    let (site, log, display) = match &cli.command {
        Some(c) => c.options(),
        None => (None, None, None),
    };
    let site = site.map_or_else(|| cli.site.clone(), |s| s.over(&cli.site));
    let log_file = log
        .and_then(|l| l.log_file.clone())
        .or_else(|| cli.log.log_file.clone());
    let display = display.map_or(cli.display, |d| DisplayOpts {
        mouse: d.mouse || cli.display.mouse,
        no_color: d.no_color || cli.display.no_color,
        ascii: d.ascii || cli.display.ascii,
        no_links: d.no_links || cli.display.no_links,
    });
    let tui = app::TuiOptions {
        mouse: display.mouse,
        no_color: display.no_color,
        ascii: display.ascii,
        no_links: display.no_links,
    };
    if let Err(e) = init_logging(log_file.as_ref(), dashboard, serving) {
        eprintln!("patchdeck: {}", sanitize::text(&format!("{e:#}")));
        return ExitCode::from(EXIT_UNKNOWN);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("patchdeck: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_UNKNOWN);
        }
    };
    let opts = headless::Options {
        config: site.config.clone(),
        plugin_dirs: site.plugin_dirs.clone(),
        allow_insecure_plugins: site.allow_insecure_plugins,
    };
    let code = runtime.block_on(async {
        match cli.command {
            Some(Command::Check {
                probes,
                format,
                timeout,
                ..
            }) => headless::check(&opts, &probes, format, timeout).await,
            Some(Command::Plugins { format, .. }) => headless::plugins(&opts, format).await,
            Some(Command::Exports { format, .. }) => headless::exports(&opts, format),
            Some(Command::Rules { kind, format, .. }) => {
                headless::rules(&opts, kind.as_deref(), format).await
            }
            Some(Command::Serve {
                listen,
                allow_remote,
                max_items,
                ..
            }) => serve::run(&opts, listen, allow_remote, max_items).await,
            Some(Command::Config {
                action: ConfigAction::Check { offline, .. },
            }) => headless::config_check(&opts, offline).await,
            Some(Command::Completions { shell }) => {
                let mut cmd = <Cli as clap::CommandFactory>::command();
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut cmd, "patchdeck", &mut script);
                let script = complete_probe_ids(shell, &String::from_utf8_lossy(&script));
                print!("{script}");
                Ok(0)
            }
            Some(Command::ProbeIds { .. }) => {
                if let Ok(path) = patchdeck_core::config::locate(opts.config.as_deref())
                    && let Ok(config) = patchdeck_core::config::load(&path)
                {
                    for p in &config.probes {
                        println!("{}", p.id);
                    }
                }
                Ok(0)
            }
            Some(Command::Man { out }) => write_man_pages(&out).map(|()| 0),
            Some(Command::Events {
                since,
                probes,
                format,
                ..
            }) => headless::events(&opts, since, &probes, format),
            Some(Command::Demo {
                scenario, chaos, ..
            }) => demo::run(&opts, scenario.as_deref(), chaos, tui).await,
            None => {
                // The config, if it loads, says the site's name and where serve's socket is;
                // if it does not, the error is printed below, before the alternate screen.
                let loaded = headless::load_config(&opts);
                let config = loaded.as_ref().ok();
                if let Some(socket) = &cli.connect {
                    let site = config.and_then(|c| c.settings.site.clone());
                    return app::run_attached(socket, site, tui).await;
                }
                // A serve running for this config: attach to it rather than poll the site a
                // second time and fight over its history.
                let mut note = None;
                if let Some(config) = config
                    && let Some(socket) = &config.settings.socket
                {
                    match std::os::unix::net::UnixStream::connect(socket) {
                        Ok(_) => {
                            return app::run_attached(
                                &socket.display().to_string(),
                                config.settings.site.clone(),
                                tui,
                            )
                            .await;
                        }
                        // A serve runs, but its socket is not ours to open: say so rather
                        // than poll the site beside it without a word.
                        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                            tracing::warn!(
                                socket = %socket.display(),
                                "a serve runs for this config but its socket refuses this user: join its group (adduser $USER patchdeck) or use --connect URL; running this dashboard's own probes"
                            );
                            note = Some(model::Source {
                                long: "own probes: serve's socket refused this user (see log)"
                                    .into(),
                                short: "socket refused".into(),
                                alarm: true,
                            });
                        }
                        Err(_) => {}
                    }
                }
                // Config and plugin errors are printed here, before the alternate screen.
                let t = std::time::Instant::now();
                let engine = headless::engine_from(loaded?, &opts).await?;
                tracing::info!(
                    ms = t.elapsed().as_secs_f64() * 1000.0,
                    "config loaded and plugins bound"
                );
                app::run_own(engine, tui, note).await
            }
        }
    });
    // A hung in-process plugin call must not keep patchdeck from exiting.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match code {
        Ok(c) => ExitCode::from(c),
        Err(e) => {
            // Config errors quote the file (ids, values); load errors quote plugins.
            eprintln!("patchdeck: {}", sanitize::text(&format!("{e:#}")));
            ExitCode::from(EXIT_UNKNOWN)
        }
    }
}
