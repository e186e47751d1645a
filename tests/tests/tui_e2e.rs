//! The real `patchdeck` dashboard in a real terminal: tmux on a private socket, 100x30,
//! mock probes. Reads the rendered screen with `capture-pane`, sends keys, and checks that
//! `q` and SIGHUP both end the process with the terminal restored.

use patchdeck_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    status_file: std::path::PathBuf,
}

impl Tmux {
    /// Starts `cmd` (a shell command line) in a 100x30 tmux pane. A wrapper records the
    /// exit status in a file: tmux 3.3 does not always report it for a dead pane.
    fn start(name: &str, dir: &Path, cmd: &str) -> Tmux {
        Tmux::start_sized(name, dir, cmd, (100, 30))
    }

    /// [`Tmux::start`] in a pane of `size` (columns, rows).
    fn start_sized(name: &str, dir: &Path, cmd: &str, size: (u16, u16)) -> Tmux {
        let socket = format!("pd-{name}-{}", std::process::id());
        // remain-on-exit keeps the pane after patchdeck exits, to check that the alternate
        // screen was left.
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\n").unwrap();
        let status_file = dir.join("exit-status");
        let _ = std::fs::remove_file(&status_file);
        let wrapper = dir.join("run.sh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\n{cmd}\necho $? > {}.tmp && mv {}.tmp {}\n",
                status_file.display(),
                status_file.display(),
                status_file.display()
            ),
        )
        .unwrap();
        let t = Tmux {
            socket,
            status_file,
        };
        t.run(&[
            "-f",
            conf.to_str().unwrap(),
            "new-session",
            "-d",
            "-x",
            &size.0.to_string(),
            "-y",
            &size.1.to_string(),
            &format!("sh {}", wrapper.display()),
        ]);
        t
    }

    /// The pid of patchdeck (the wrapper shell's child).
    fn patchdeck_pid(&self) -> String {
        let sh = self.format("#{pane_pid}");
        let limit = Instant::now() + Duration::from_secs(10);
        loop {
            let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children"))
                .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                return pid.to_owned();
            }
            assert!(Instant::now() < limit, "no patchdeck process under {sh}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed");
        assert!(out.status.success(), "tmux {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// The screen (with scrollback), wrapped lines joined.
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-"])
    }

    /// Records every byte patchdeck writes from now on into `file`.
    fn record(&self, file: &Path) {
        self.run(&["pipe-pane", "-o", &format!("cat > {}", file.display())]);
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn format(&self, f: &str) -> String {
        self.run(&["display-message", "-p", f]).trim().to_owned()
    }

    /// Waits until the screen satisfies `pred` (the terminal is only observable by
    /// looking), up to 10 s.
    /// The screen returned is settled: the same on two captures in a row, so a frame caught
    /// half drawn (tmux shows the bytes as they arrive) is never what a test asserts on.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let limit = Instant::now() + Duration::from_secs(10);
        let mut last = String::new();
        loop {
            let s = self.screen();
            if pred(&s) && s == last {
                return s;
            }
            last = s.clone();
            assert!(
                Instant::now() < limit,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for patchdeck to exit; returns its exit status.
    fn wait_dead(&self) -> String {
        let limit = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(code) = std::fs::read_to_string(&self.status_file) {
                return code.trim().to_owned();
            }
            assert!(
                Instant::now() < limit,
                "patchdeck did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn config(dir: &Path) -> std::path::PathBuf {
    write_config(
        dir,
        r#"
[settings]
site = "ABC test site"
interval = "1h"

[[probe]]
id = "wsus-sup01"
plugin = "mock"

[[probe]]
id = "bits-dps"
plugin = "mock"
[probe.config]
status = "critical"
summary = "7/8 DPs BITS-ready · DP07 ignores Range"
items = [{ id = "dp07", title = "DP07.corp", status = "critical", summary = "200 instead of 206" }]

[[probe]]
id = "crashy"
plugin = "mock"
[probe.config]
behavior = "segfault"
"#,
    )
}

fn pid_alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn dashboard_shows_probes_drills_down_filters_runs_and_quits() {
    let dir = scratch("tui-e2e");
    let cfg = config(&dir);
    let cmd = dashboard_cmd(&cfg, &dir.join("patchdeck.log"));
    let t = Tmux::start("main", &dir, &cmd);
    let s = t.wait_for("three results", |s| {
        s.contains("mock ok (run 1)") && s.contains("probe host died: SIGSEGV")
    });
    assert!(s.contains("patchdeck · ABC test site"), "{s}");
    // 100x30 is the smallest grid; the crash hits only the crashing probe.
    assert!(
        s.contains("✖ CRITICAL bits-dps (mock)") && s.contains("? UNKNOWN crashy (mock)"),
        "grid at 100x30:\n{s}"
    );
    assert!(s.contains("7/8 DPs BITS-ready"), "{s}");
    assert!(s.contains("q quit"), "footer:\n{s}");
    let pid = t.patchdeck_pid();
    assert_eq!(t.format("#{alternate_on}"), "1");

    // Drill into bits-dps (the next pane), then back.
    t.keys(&["Tab", "Enter"]);
    let s = t.wait_for("the drill-down", |s| {
        s.contains("Summary") && s.contains("DP07.corp")
    });
    assert!(s.contains("7/8 DPs BITS-ready · DP07 ignores Range"), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("the overview again", |s| {
        !s.contains("Summary") && s.contains("wsus-sup01")
    });

    // Filter: only matching probes stay.
    t.keys(&["/", "b", "i", "t", "s", "Enter"]);
    let s = t.wait_for("the filter", |s| s.contains("filter \"bits\""));
    assert!(!s.contains("wsus-sup01") && s.contains("bits-dps"), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("the filter cleared", |s| s.contains("wsus-sup01"));

    // r runs the selected probe now (the interval is an hour): the mock counts its runs.
    t.keys(&["Home", "r"]);
    t.wait_for("a second run", |s| s.contains("mock ok (run 2)"));

    // Events and help.
    t.keys(&["e"]);
    t.wait_for("the events screen", |s| {
        s.contains("status changes, newest first")
    });
    t.keys(&["?"]);
    t.wait_for("help", |s| s.contains("Keys on the events screen"));
    t.keys(&["Escape"]);
    t.wait_for("events again", |s| {
        s.contains("status changes, newest first") && !s.contains("Keys on")
    });
    t.keys(&["Escape"]);
    t.wait_for("the overview", |s| {
        s.contains("wsus-sup01") && s.contains("q quit")
    });

    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
    assert!(!pid_alive(&pid), "patchdeck {pid} still running after q");
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "alternate screen not left"
    );
}

#[test]
fn sighup_and_sigterm_end_the_dashboard_and_restore_the_terminal() {
    for signal in ["-HUP", "-TERM"] {
        let dir = scratch("tui-e2e-signal");
        let cfg = config(&dir);
        let cmd = dashboard_cmd(&cfg, &dir.join("l.log"));
        let t = Tmux::start("sig", &dir, &cmd);
        t.wait_for("the first results", |s| s.contains("mock ok (run 1)"));
        let bytes = dir.join("bytes");
        t.record(&bytes);
        let pid = t.patchdeck_pid();
        let killed = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(killed.success());
        assert_eq!(t.wait_dead(), "0", "{signal}: clean exit");
        assert!(!pid_alive(&pid), "{signal}: patchdeck {pid} still running");
        assert_eq!(
            t.format("#{alternate_on}"),
            "0",
            "{signal}: alternate screen not left"
        );
        // The last thing written: leave the alternate screen, then show the cursor.
        let out = std::fs::read(&bytes).unwrap();
        let leave = out
            .windows(8)
            .rposition(|w| w == b"\x1b[?1049l")
            .expect("left the alternate screen");
        let show = out
            .windows(6)
            .rposition(|w| w == b"\x1b[?25h")
            .expect("showed the cursor");
        assert!(
            show > leave,
            "{signal}: cursor shown before leaving the alternate screen"
        );
    }
}

#[test]
fn with_mouse_a_double_click_on_a_problem_opens_its_item() {
    let dir = scratch("tui-e2e-mouse");
    let cfg = config(&dir);
    let cmd = format!(
        "{} --mouse --config {} --log-file {}",
        patchdeck_bin().display(),
        cfg.display(),
        dir.join("l.log").display()
    );
    let t = Tmux::start("mouse", &dir, &cmd);
    let s = t.wait_for("the problems list", |s| {
        s.contains("problems, worst first") && s.contains("DP07.corp: 200 instead of 206")
    });
    let row = s
        .lines()
        .position(|l| l.contains("DP07.corp: 200 instead of 206"))
        .unwrap()
        + 1; // SGR mouse coordinates are 1-based
    // A double click as a terminal reports it (SGR 1006): press, release, press, release.
    let click = format!("\x1b[<0;30;{row}M\x1b[<0;30;{row}m");
    t.run(&["send-keys", "-l", &format!("{click}{click}")]);
    t.wait_for("DP07 selected in the drill-down of bits-dps", |s| {
        s.contains("bits-dps  (mock)")
            && s.lines()
                .any(|l| l.starts_with('>') && l.contains("DP07.corp"))
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
    assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse capture released");
}

#[test]
fn a_panic_restores_the_terminal_and_prints_its_message_after() {
    let dir = scratch("tui-e2e-panic");
    let cfg = config(&dir);
    // PATCHDECK_DEBUG_PANIC (debug builds only) panics right after the first frame; the tty
    // modes are saved before and compared after.
    let cmd = format!(
        "stty -g > {before} && PATCHDECK_DEBUG_PANIC=1 {bin} --config {cfg} --log-file {log}; \
         rc=$?; stty -g > {after}; echo patchdeck-exit=$rc; sleep 60",
        before = dir.join("stty-before").display(),
        after = dir.join("stty-after").display(),
        bin = patchdeck_bin().display(),
        cfg = cfg.display(),
        log = dir.join("l.log").display(),
    );
    let t = Tmux::start("panic", &dir, &cmd);
    // The shell lives on after patchdeck (a dead pane reports no cursor), so the cursor is
    // checked as the user sees it.
    let s = t.wait_for("patchdeck to exit", |s| s.contains("patchdeck-exit="));
    assert!(
        s.contains("patchdeck-exit=101"),
        "a Rust panic's exit status: {s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left");
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor visible");
    let before = std::fs::read_to_string(dir.join("stty-before")).unwrap();
    let after = std::fs::read_to_string(dir.join("stty-after")).unwrap();
    assert_eq!(before, after, "tty modes (raw mode) restored");
    let s = t.screen();
    assert!(
        s.contains("PATCHDECK_DEBUG_PANIC is set: panicking after the first frame"),
        "the panic message is on the normal screen: {s}"
    );
}

#[test]
fn config_errors_print_before_the_alternate_screen() {
    let dir = scratch("tui-e2e-bad");
    let cfg = write_config(&dir, "[[probe]]\nid = \"a\"\nplugin = \"nope\"\n");
    let cmd = format!("{} --config {}", patchdeck_bin().display(), cfg.display());
    let t = Tmux::start("bad", &dir, &cmd);
    assert_eq!(t.wait_dead(), "3");
    let s = t.screen();
    assert!(
        s.contains("probe \"a\": field `plugin`: unknown plugin kind \"nope\""),
        "{s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0");
}

#[test]
fn demo_runs_the_real_plugins_against_the_simulated_site() {
    let dir = scratch("tui-e2e-demo");
    let cmd = format!(
        "{} demo --log-file {}",
        patchdeck_bin().display(),
        dir.join("demo.log").display()
    );
    let t = Tmux::start("demo", &dir, &cmd);
    // All six prerequisites: the network probes and the ones reading the site's exports.
    let s = t.wait_for("all six probes", |s| {
        s.contains("WSUS 3.0 SP2 (protocol 3.2)")
            && s.contains("7/9 DPs BITS-ready")
            && s.contains("installed, Windows authentication")
            && s.contains("30,000 clients")
            && s.contains("msi-clients")
            && s.contains("SUP load:")
    });
    assert!(s.contains("ABC (simulated)"), "{s}");
    let pid = t.patchdeck_pid();
    t.keys(&["Tab", "Enter"]);
    // Long reasons wrap instead of being cut at the right edge.
    t.wait_for("the DP items", |s| {
        s.contains("DP04") && s.contains("BG_E_INSUFFICIENT_RANGE_SUPPORT")
    });
    // Open DP04: what was seen and what to do, from the real plugin through the real ABI.
    t.keys(&["Down", "Down", "Down", "Enter"]);
    t.wait_for("DP04's evidence and fix", |s| {
        s.contains("Seen: GET ")
            && s.contains("-> 200 without Content-Range")
            && s.contains("Fix:  BITS resumes with byte ranges")
    });
    // Back on the overview, the problems list names the worst item first; Enter on it lands
    // on that item, expanded, in the drill-down.
    t.keys(&["Escape"]);
    let s = t.wait_for("the problems list", |s| s.contains("problems, worst first"));
    let lines: Vec<&str> = s.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("problems, worst first"))
        .unwrap();
    let first = lines[head + 1];
    let words: Vec<&str> = first.split_whitespace().collect();
    assert!(
        words.len() > 3,
        "first problem line: {first}
{s}"
    );
    let probe = words[2].to_owned();
    let rest = words[3..].join(" ");
    let title = rest.split(": ").next().unwrap();
    let item = title
        .rsplit(" › ")
        .next()
        .unwrap()
        .trim_end_matches('…')
        .to_owned();
    t.keys(&["End", "Down", "Enter"]);
    // Everything checked on one whole frame: a capture can catch a frame half drawn.
    t.wait_for(
        "the first problem's item, selected and expanded, with its fix",
        |s| {
            s.lines()
                .any(|l| l.starts_with('>') && l.contains("▾") && l.contains(&item))
                && s.contains(&probe)
                && s.contains("Fix:")
        },
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
    assert!(!pid_alive(&pid));
    let private = std::env::temp_dir().join(format!("patchdeck-demo-{pid}"));
    assert!(
        !private.exists(),
        "demo config folder {} left behind",
        private.display()
    );
}

#[test]
fn demo_with_a_scenario_file_and_a_bad_one() {
    let dir = scratch("tui-e2e-demo-broken");
    let scenario = repo_root().join("tests/sitesim/scenarios/broken.toml");
    let cmd = format!(
        "{} demo --scenario {} --log-file {}",
        patchdeck_bin().display(),
        scenario.display(),
        dir.join("d.log").display()
    );
    let t = Tmux::start("demo-broken", &dir, &cmd);
    t.wait_for("the broken site", |s| {
        s.contains("0/4 DPs BITS-ready") && s.contains("WSUS 3.0 RTM")
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[dp]]\nname = \"DP01\"\nrange = \"yes\"\n").unwrap();
    let out = std::process::Command::new(patchdeck_bin())
        .args(["demo", "--scenario", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("bad.toml: invalid type: string \"yes\", expected a boolean"),
        "{}",
        text(&out.stderr)
    );
}

/// The stuck-input attack: an unterminated escape sequence reaching the dashboard once
/// swallowed every later key, `q` and Ctrl-C included, with or without --mouse.
#[test]
fn an_unterminated_escape_sequence_never_swallows_q_or_ctrl_c() {
    for mouse in [false, true] {
        // (bytes sent raw, then how the test ends it)
        let cases: [(&[&str], &str); 3] = [
            // SGR mouse report cut short, then Ctrl-C: acts at once.
            (&["1b", "5b", "3c"], "C-c"),
            // Bracketed paste start (never enabled), then q.
            (&["1b", "5b", "32", "30", "30", "7e"], "q"),
            // SGR mouse cut short, then q until it is read (the first may complete the
            // broken sequence; once no byte follows for a moment the sequence is dropped).
            (&["1b", "5b", "3c", "31", "3b"], "q"),
        ];
        for (i, (raw, end)) in cases.iter().enumerate() {
            let dir = scratch("tui-e2e-stuck");
            let cfg = config(&dir);
            let cmd = format!(
                "{} {}--config {} --log-file {}",
                patchdeck_bin().display(),
                if mouse { "--mouse " } else { "" },
                cfg.display(),
                dir.join("l.log").display()
            );
            let t = Tmux::start(&format!("stuck{i}{mouse}"), &dir, &cmd);
            t.wait_for("the first results", |s| s.contains("mock ok (run 1)"));
            let mut args = vec!["send-keys", "-H"];
            args.extend_from_slice(raw);
            t.run(&args);
            let limit = Instant::now() + Duration::from_secs(10);
            let code = loop {
                t.keys(&[end]);
                // Wait for the exit status up to 200 ms after each key.
                let until = Instant::now() + Duration::from_millis(200);
                let got = loop {
                    if let Ok(code) = std::fs::read_to_string(&t.status_file) {
                        break Some(code.trim().to_owned());
                    }
                    if Instant::now() > until {
                        break None;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                };
                if let Some(code) = got {
                    break code;
                }
                assert!(
                    Instant::now() < limit,
                    "mouse {mouse}, case {i}: {end} never ended the dashboard; screen:\n{}",
                    t.screen()
                );
            };
            assert_eq!(code, "0", "mouse {mouse}, case {i}");
            assert_eq!(t.format("#{alternate_on}"), "0");
        }
    }
}

/// `/DP07` finds the item, not only probes named so: its probe stays, the others go, and the
/// problems list shows the item.
#[test]
fn the_filter_finds_an_item_and_shows_where_it_is() {
    let dir = scratch("tui-e2e-filter");
    let cfg = config(&dir);
    let cmd = dashboard_cmd(&cfg, &dir.join("l.log"));
    let t = Tmux::start("filter", &dir, &cmd);
    t.wait_for("the first results", |s| {
        s.contains("mock ok (run 1)") && s.contains("DP07.corp: 200 instead of 206")
    });
    t.keys(&["/"]);
    t.run(&["send-keys", "-l", "dp07"]);
    t.keys(&["Enter"]);
    // Everything checked on one whole frame: a capture can catch a frame half drawn.
    t.wait_for("only bits-dps left, with DP07 in the problems", |s| {
        s.contains("bits-dps")
            && !s.contains("wsus-sup01")
            && !s.contains("crashy")
            && s.contains("DP07.corp: 200 instead of 206")
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
}

/// The shell command line of the dashboard on `cfg`, logging to `log`.
fn dashboard_cmd(cfg: &Path, log: &Path) -> String {
    format!(
        "{} --config {} --log-file {}",
        patchdeck_bin().display(),
        cfg.display(),
        log.display()
    )
}

/// `patchdeck serve` for `cfg` on a loopback `port`, its state (history, socket) in `state`,
/// in a process group of its own killed when the value is dropped.
fn serve(cfg: &Path, state: &Path, port: u16) -> Group {
    Group::spawn(
        Command::new(patchdeck_bin())
            .args(["serve", "--config", cfg.to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_remove("PATCHDECK_CONFIG")
            .env("XDG_STATE_HOME", state)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One collector, many viewers: two dashboards started on the config `serve` runs attach to
/// it (the header says so), show the same results, and poll nothing themselves: the
/// simulated site sees serve's round only. `R` in one dashboard makes serve run every probe
/// once, and both dashboards show the new run; the history holds exactly serve's transitions.
#[test]
fn two_dashboards_attach_to_one_serve_and_the_site_sees_one_poll() {
    use patchdeck_sitesim::{Scenario, Site};
    let site = Site::start(Scenario::default_site());
    let dir = scratch("attach");
    let mut text = site.config_toml("1h");
    text.push_str(
        "\n[[probe]]\nid = \"tick\"\nplugin = \"mock\"\n[probe.config]\nsequence = [\"ok\", \"critical\"]\nitems = [{ id = \"t1\", title = \"T1\", status = \"ok\", summary = \"fine\" }]\n",
    );
    let cfg = write_config(&dir, &text);
    let state = dir.join("state");
    let port = free_port();
    let _serve = serve(&cfg, &state, port);
    // serve's first round, every probe answered.
    let probes = text.matches("[[probe]]").count();
    let api = || -> Option<serde_json::Value> {
        let out = Command::new("curl")
            .args(["-sf", &format!("http://127.0.0.1:{port}/api/v1/state")])
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    };
    let runs_done = |d: &serde_json::Value, n: usize| {
        d["probes"].as_array().is_some_and(|ps| {
            ps.len() == probes
                && ps.iter().all(|p| {
                    p["running"] == false
                        && p["latest"]["started_at"].as_f64().is_some()
                        && p["history_len"].as_u64().is_none_or(|h| h as usize >= n)
                })
        })
    };
    let limit = Instant::now() + Duration::from_secs(60);
    while !api().is_some_and(|d| runs_done(&d, 1)) {
        assert!(Instant::now() < limit, "serve's first round never finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    let first_round = site.requests();
    assert!(first_round > 0, "serve polled the site");
    let serve_pid = _serve.0.id();

    let dashboard = |name: &str| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let cmd = format!(
            "XDG_STATE_HOME={} {} --config {} --log-file {}",
            state.display(),
            patchdeck_bin().display(),
            cfg.display(),
            d.join("l.log").display()
        );
        Tmux::start(name, &d, &cmd)
    };
    let a = dashboard("viewer-a");
    let b = dashboard("viewer-b");
    // A third, read-only over serve's HTTP port (--connect URL).
    let c = {
        let d = dir.join("viewer-c");
        std::fs::create_dir_all(&d).unwrap();
        let cmd = format!(
            "{} --connect http://127.0.0.1:{port} --log-file {}",
            patchdeck_bin().display(),
            d.join("l.log").display()
        );
        Tmux::start("viewer-c", &d, &cmd)
    };
    // At 100 columns the header has room for the short form only.
    let live = format!("· serve {serve_pid} ");
    for t in [&a, &b] {
        t.wait_for("the dashboard attached to serve", |s| {
            s.lines().next().is_some_and(|h| h.contains(&live)) && s.contains("mock ok (run 1)")
        });
    }
    c.wait_for("the HTTP viewer attached", |s| {
        s.lines().next().is_some_and(|h| h.contains(&live)) && s.contains("mock ok (run 1)")
    });
    assert_eq!(
        site.requests(),
        first_round,
        "an attached dashboard polled the site itself"
    );
    // The HTTP viewer is read-only and says so.
    c.keys(&["R"]);
    c.wait_for("read-only said", |s| {
        s.contains("read-only: attached over HTTP")
    });

    // `R` in one dashboard: serve runs every probe once; both dashboards show it.
    a.keys(&["R"]);
    for t in [&a, &b, &c] {
        t.wait_for("serve's second run of tick", |s| {
            s.contains("mock critical (run 2)")
        });
    }
    let limit = Instant::now() + Duration::from_secs(60);
    while !api().is_some_and(|d| {
        d["probes"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["running"] == false))
    }) {
        assert!(
            Instant::now() < limit,
            "serve's second round never finished"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let second_round = site.requests() - first_round;
    eprintln!("site requests: first round {first_round}, after R {second_round}");
    assert!(
        second_round <= first_round,
        "R made {second_round} requests where one round makes {first_round}: someone else polled"
    );

    // History: one writer, every transition serve recorded is in the file once.
    let d = api().unwrap();
    let transitions = d["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["before_this_start"] == false)
        .count();
    let hist = std::fs::read_dir(state.join("patchdeck"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("history.jsonl"))
        .find(|p| p.exists())
        .expect("serve's history in the config's own folder");
    let records = std::fs::read_to_string(&hist).unwrap().lines().count();
    assert_eq!(records, transitions, "{}", hist.display());

    // A refused reload reaches the dashboards' headers.
    std::fs::write(&cfg, format!("[settings]\ninterval = \"soon\"\n{text}")).unwrap();
    // SAFETY: kill(2) on the serve this test started.
    unsafe { libc::kill(serve_pid as i32, libc::SIGHUP) };
    for t in [&a, &b] {
        t.wait_for("the refused reload in the header", |s| {
            s.lines()
                .next()
                .is_some_and(|h| h.contains("serve: reload refused"))
        });
    }

    for t in [&a, &b, &c] {
        t.keys(&["q"]);
        assert_eq!(t.wait_dead(), "0");
    }
}

/// At 80x24, as an operator over a small SSH window: the problems list shows each problem
/// once (the two WUA versions with one fix are one row), and Enter on a problem opens the
/// drill with the breadcrumb at the top and the item's fix on screen.
#[test]
fn at_80x24_enter_on_a_problem_shows_its_fix_under_a_breadcrumb() {
    let dir = scratch("tui-e2e-80x24");
    let cmd = format!(
        "{} demo --log-file {}",
        patchdeck_bin().display(),
        dir.join("l.log").display()
    );
    let t = Tmux::start_sized("small", &dir, &cmd, (80, 24));
    let s = t.wait_for("the demo's problems", |s| {
        s.contains("problems, worst first") && s.contains("also: ")
    });
    // The agent versions below a line share one fix: one row each, "+N", the rest on "also:".
    let wua_rows: Vec<&str> = s
        .lines()
        .filter(|l| l.contains("WARNING") && l.contains("wua-clients") && l.contains(": "))
        .filter(|l| !l.contains("30,000 clients"))
        .collect();
    assert!(!wua_rows.is_empty(), "{s}");
    assert!(
        wua_rows.iter().all(|l| l.contains(" +")),
        "one row for one cause:\n{s}"
    );
    assert!(s.contains("also: WUA versions › WUA "), "{s}");
    // The first problem: DP04, which ignores Range.
    t.keys(&["End", "Down", "Enter"]);
    // Everything checked on one whole frame (a capture can catch a frame half drawn); the
    // URL may take a row of its own, depending on the port's digits.
    t.wait_for(
        "the drill with the breadcrumb, what was seen and the fix",
        |s| {
            s.lines()
                .nth(1)
                .is_some_and(|l| l.trim_end() == "bits-dps › DP04")
                && s.contains("Seen: GET")
                && s.contains("http://127.0.0.1:")
                && s.contains("Fix:  BITS resumes with byte ranges")
        },
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
}

/// `y` on an item sends it to the clipboard with OSC 52 (tmux with set-clipboard on turns it
/// into a paste buffer: the real terminal side), `w` writes it to a file and the footer says
/// where.
#[test]
fn y_copies_an_item_with_osc_52_and_w_writes_it_to_a_file() {
    let dir = scratch("tui-e2e-copy");
    let cfg = config(&dir);
    let state = dir.join("state");
    let cmd = format!(
        "XDG_STATE_HOME={} {} --config {} --log-file {}",
        state.display(),
        patchdeck_bin().display(),
        cfg.display(),
        dir.join("l.log").display()
    );
    let t = Tmux::start("copy", &dir, &cmd);
    t.run(&["set", "-s", "set-clipboard", "on"]);
    t.wait_for("the first results", |s| {
        s.contains("DP07.corp: 200 instead of 206")
    });
    t.keys(&["End", "Down", "Enter"]);
    t.wait_for("the drill", |s| {
        s.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("bits-dps › DP07"))
    });
    t.keys(&["y"]);
    t.wait_for("the copy said", |s| s.contains("copied 1 line"));
    let buffer = t.run(&["show-buffer"]);
    assert!(
        buffer.starts_with("CRITICAL DP07.corp — 200 instead of 206"),
        "{buffer:?}"
    );
    t.keys(&["w"]);
    let s = t.wait_for("the file said", |s| s.contains("written to "));
    let items = state.join("patchdeck/items");
    let files: Vec<_> = std::fs::read_dir(&items).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let path = files[0].path();
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("bits-dps-dp07-"), "{name}");
    // The footer names the file (the folder may be cut at this width).
    let footer = s.lines().rev().find(|l| l.contains("written to ")).unwrap();
    assert!(
        footer.contains(&name) || footer.contains(&name[..20]),
        "{footer}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), buffer);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
}

/// One focus, drawn one way, in a real terminal: with the problems list focused no pane has
/// the double border; ← goes back to the panes and the border returns.
#[test]
fn one_focus_at_a_time_and_left_goes_back_to_the_panes() {
    let dir = scratch("tui-e2e-focus");
    let cfg = config(&dir);
    let cmd = dashboard_cmd(&cfg, &dir.join("l.log"));
    let t = Tmux::start("focus", &dir, &cmd);
    t.wait_for("the panes, the first one focused", |s| {
        s.contains("DP07.corp: 200 instead of 206") && s.contains('╔')
    });
    t.keys(&["End", "Down"]);
    t.wait_for("the problems list focused, no pane double-bordered", |s| {
        !s.contains('╔') && s.lines().any(|l| l.starts_with(">✖ CRITICAL bits-dps"))
    });
    t.keys(&["Left"]);
    t.wait_for("back on the panes", |s| {
        s.contains('╔') && !s.lines().any(|l| l.starts_with('>'))
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
}

/// A serve runs for the config but its socket is not this user's to open (the packaged
/// /run/patchdeck/serve.sock for someone outside the patchdeck group): the dashboard says so
/// in its header and its log, and runs its own probes.
#[test]
fn a_socket_that_refuses_the_user_is_said_not_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("tui-e2e-refused");
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = run.join("serve.sock");
    let cfg = write_config(
        &dir,
        &format!(
            "[settings]\nsocket = \"{}\"\ninterval = \"1h\"\n\n[[probe]]\nid = \"m\"\nplugin = \"mock\"\n",
            socket.display()
        ),
    );
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _serve = serve(&cfg, &dir.join("root-state"), free_port());
    let limit = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(Instant::now() < limit, "serve made no socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The dashboard as nobody, who may not open the root-owned 0660 socket.
    let home = dir.join("nobody");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let cmd = format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups env HOME={h} XDG_STATE_HOME={h}/state {} --config {} --log-file {h}/l.log",
        patchdeck_bin().display(),
        cfg.display(),
        h = home.display()
    );
    let t = Tmux::start("refused", &dir, &cmd);
    t.wait_for("its own probes, and why", |s| {
        s.contains("mock ok (run 1)")
            && s.lines().next().is_some_and(|h| {
                h.contains("serve's socket refused this user") || h.contains("socket refused")
            })
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_dead(), "0");
    let log = std::fs::read_to_string(home.join("l.log")).unwrap();
    assert!(log.contains("its socket refuses this user"), "{log}");
}

/// Reads `file` until `pred` holds on its bytes (tmux's pipe-pane writes them as they
/// come), up to 10 s.
fn wait_for_bytes(file: &Path, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let limit = Instant::now() + Duration::from_secs(10);
    loop {
        let b = String::from_utf8_lossy(&std::fs::read(file).unwrap_or_default()).into_owned();
        if pred(&b) {
            return b;
        }
        assert!(
            Instant::now() < limit,
            "timed out waiting for {what}: {b:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A URL on screen is an OSC 8 hyperlink: opened on its first character, closed on its last,
/// the link being the text shown. What patchdeck writes is checked (tmux 3.3 records the
/// stream but does not keep links); `--no-links` writes none.
#[test]
fn urls_on_screen_are_osc_8_hyperlinks_unless_turned_off() {
    for off in [false, true] {
        let dir = scratch(if off {
            "tui-e2e-nolinks"
        } else {
            "tui-e2e-links"
        });
        let cmd = format!(
            "{} demo{} --log-file {}",
            patchdeck_bin().display(),
            if off { " --no-links" } else { "" },
            dir.join("l.log").display()
        );
        let t = Tmux::start_sized(if off { "nolinks" } else { "links" }, &dir, &cmd, (120, 40));
        t.wait_for("the demo's problems", |s| {
            s.contains("problems, worst first")
        });
        let stream = dir.join("stream");
        t.record(&stream);
        t.keys(&["End", "Down", "Enter"]);
        let screen = t.wait_for("the drill with the DP's URL", |s| {
            s.lines()
                .nth(1)
                .is_some_and(|l| l.trim_end() == "bits-dps › DP04")
                && s.contains("http://127.0.0.1:")
        });
        if off {
            t.keys(&["q"]);
            assert_eq!(t.wait_dead(), "0");
            let b = std::fs::read(&stream).unwrap();
            assert!(
                !b.windows(4).any(|w| w == b"\x1b]8;"),
                "--no-links wrote a link"
            );
            continue;
        }
        // Every link written (the overview may redraw one of its own meanwhile): the URLs.
        let urls = |b: &str| -> Vec<String> {
            b.split("\x1b]8;;")
                .skip(1)
                .filter_map(|rest| rest.split_once("\x1b\\").map(|(u, _)| u.to_owned()))
                .filter(|u| !u.is_empty())
                .collect()
        };
        let b = wait_for_bytes(&stream, "a link to a URL of the drill", |b| {
            urls(b).iter().any(|u| screen.contains(u.as_str()))
        });
        assert!(
            urls(&b).iter().any(|u| u.starts_with("http://127.0.0.1:")),
            "{b:?}"
        );
        // The text linked is the URL itself, closed right after it.
        for url in urls(&b) {
            assert!(
                b.contains(&format!("\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\")),
                "{url}: {b:?}"
            );
        }
        // The terminal shrinks under the links (a frame smaller than the one they were on):
        // redrawn at the new size, no panic.
        t.run(&["resize-window", "-x", "70", "-y", "20"]);
        t.wait_for("the drill at 70 columns", |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.trim_end().chars().count() <= 70)
                && s.lines()
                    .nth(1)
                    .is_some_and(|l| l.trim_end() == "bits-dps › DP04")
        });
        // Going back leaves no link open: every one opened is closed.
        t.keys(&["Escape"]);
        t.wait_for("the overview", |s| s.contains("problems, worst first"));
        t.keys(&["q"]);
        assert_eq!(t.wait_dead(), "0");
        let b = String::from_utf8_lossy(&std::fs::read(&stream).unwrap()).into_owned();
        assert_eq!(
            b.matches("\x1b]8;;http").count(),
            b.matches("\x1b]8;;\x1b\\").count(),
            "{b:?}"
        );
    }
}
