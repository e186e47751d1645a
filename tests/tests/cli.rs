//! The real `patchdeck` binary: config fixtures, `check` exit codes and formats, bad input,
//! plugin permission rules.

use patchdeck_tests::*;
use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/fixtures").join(kind);
    // git keeps 0644; a secret file readable by others is refused, as on a real box.
    let secret = dir.join("secret.txt");
    if secret.exists() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {}", dir.display());
    v
}

/// The value of a `# key: value` header line.
fn header(path: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let prefix = format!("# {key}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{} has no `{prefix}` line", path.display()))
        .to_owned()
}

fn check(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let out = run_patchdeck(&all);
    (
        out.status.code().expect("exited, not killed"),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn every_invalid_config_fails_with_its_message_naming_file_and_line() {
    for path in fixtures("invalid_configs") {
        let expected = header(&path, "expect");
        let (code, stdout, stderr) = check(&["--config", path.to_str().unwrap()]);
        assert_eq!(code, 3, "{}: exit code; stderr: {stderr}", path.display());
        assert!(
            stdout.is_empty(),
            "{}: printed results for a bad config: {stdout}",
            path.display()
        );
        let want = format!("patchdeck: {}{expected}", path.display());
        assert!(
            stderr.starts_with(&want),
            "{}:\n  want prefix: {want}\n  got:         {stderr}",
            path.display()
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
    }
}

#[test]
fn every_valid_config_runs_with_its_expected_exit_code() {
    for path in fixtures("valid_configs") {
        let expected: i32 = header(&path, "expect-exit").parse().unwrap();
        let (code, stdout, stderr) = check(&["--config", path.to_str().unwrap()]);
        assert_eq!(code, expected, "{}:\n{stdout}\n{stderr}", path.display());
        assert!(stdout.contains("worst: "), "{stdout}");
        assert!(
            !stdout.contains("not-a-real-password") && !stderr.contains("not-a-real-password"),
            "secret leaked"
        );
    }
}

fn status_config(dir: &Path, probes: &[(&str, &str)]) -> PathBuf {
    let mut text = String::new();
    for (id, cfg) in probes {
        text.push_str(&format!(
            "[[probe]]\nid = \"{id}\"\nplugin = \"mock\"\ntimeout = \"5s\"\n[probe.config]\n{cfg}\n\n"
        ));
    }
    write_config(dir, &text)
}

#[test]
fn exit_code_is_the_worst_status_and_critical_outranks_unknown() {
    let cases: &[(&[(&str, &str)], i32)] = &[
        (&[("a", "status = \"ok\""), ("b", "status = \"ok\"")], 0),
        (
            &[("a", "status = \"ok\""), ("b", "status = \"warning\"")],
            1,
        ),
        (
            &[
                ("a", "status = \"warning\""),
                ("b", "status = \"critical\""),
            ],
            2,
        ),
        (
            &[
                ("a", "status = \"ok\""),
                ("b", "behavior = \"create-error\""),
            ],
            3,
        ),
        (
            &[
                ("a", "status = \"critical\""),
                ("b", "behavior = \"panic\""),
            ],
            2,
        ),
        (&[("a", "status = \"unknown\"")], 3),
    ];
    for (probes, want) in cases {
        let dir = scratch("cli-exit");
        let cfg = status_config(&dir, probes);
        let (code, stdout, stderr) = check(&["--config", cfg.to_str().unwrap()]);
        assert_eq!(code, *want, "{probes:?}\n{stdout}\n{stderr}");
    }
}

#[test]
fn text_json_and_nagios_formats() {
    let dir = scratch("cli-formats");
    let cfg = status_config(
        &dir,
        &[
            (
                "wsus-sup01",
                "status = \"warning\"\nsummary = \"WSUS 3.0 SP1 | SP2 needed\"\nmetrics = [{ label = \"get config\", value = 41.5, uom = \"ms\", warn = \"500\", crit = \"2000\", min = 0 }, { label = \"protocol\", value = 3.1 }]\nitems = [{ id = \"version\", title = \"Version\", status = \"warning\", summary = \"WSUS 3.0 SP1\", evidence = \"ProtocolVersion 3.1\", fix = \"Install WSUS 3.0 SP2.\" }]",
            ),
            ("dp", "status = \"ok\"\nsummary = \"8/8 DPs BITS-ready\""),
            ("broken", "behavior = \"garbage\""),
        ],
    );
    let cfg = cfg.to_str().unwrap();

    let (code, out, _) = check(&["--config", cfg, "--format", "nagios"]);
    assert_eq!(code, 3);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "PATCHDECK UNKNOWN - 1 unknown (broken), 1 warning (wsus-sup01), 1 ok | 'wsus-sup01::get config'=41.5ms;500;2000;0 'wsus-sup01::protocol'=3.1",
            "UNKNOWN broken: report is not valid UTF-8 (invalid byte at offset 0)",
            "WARNING wsus-sup01: WSUS 3.0 SP1 / SP2 needed (fix: Version: Install WSUS 3.0 SP2.)",
            "OK dp: 8/8 DPs BITS-ready",
            // Then every non-OK item, with its evidence and fix.
            "WARNING wsus-sup01 Version: WSUS 3.0 SP1; evidence: ProtocolVersion 3.1; fix: Install WSUS 3.0 SP2.",
        ]
    );
    // One probe: the single-probe line shape.
    let (code, out, _) = check(&[
        "--config",
        cfg,
        "--format",
        "nagios",
        "--probe",
        "wsus-sup01",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "wsus-sup01 WARNING: WSUS 3.0 SP1 / SP2 needed | 'get config'=41.5ms;500;2000;0 protocol=3.1\n\
WARNING wsus-sup01 Version: WSUS 3.0 SP1; evidence: ProtocolVersion 3.1; fix: Install WSUS 3.0 SP2.\n"
    );

    let (code, out, _) = check(&[
        "--config",
        cfg,
        "--format",
        "json",
        "--probe",
        "wsus-sup01",
        "--probe",
        "broken",
    ]);
    assert_eq!(code, 3);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["worst"], "unknown");
    let probes = doc["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2, "--probe selects");
    assert_eq!(probes[0]["id"], "wsus-sup01");
    assert_eq!(probes[0]["kind"], "mock");
    assert_eq!(probes[0]["status"], "warning");
    assert!(probes[0]["duration_ms"].is_u64());
    assert_eq!(probes[0]["report"]["metrics"][0]["value"], 41.5);
    assert_eq!(
        probes[0]["report"]["items"][0]["evidence"],
        "ProtocolVersion 3.1"
    );
    assert_eq!(
        probes[0]["report"]["items"][0]["fix"],
        "Install WSUS 3.0 SP2."
    );
    assert!(probes[0]["error"].is_null());
    assert_eq!(probes[1]["status"], "unknown");
    assert!(probes[1]["report"].is_null());
    assert_eq!(
        probes[1]["error"],
        "report is not valid UTF-8 (invalid byte at offset 0)"
    );

    // Text: the fix under the failing probe, none under a healthy one.
    let (_, out, _) = check(&["--config", cfg, "--probe", "wsus-sup01", "--probe", "dp"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("WARNING   wsus-sup01"), "{out}");
    assert_eq!(lines[1], "          fix: Version: Install WSUS 3.0 SP2.");
    assert!(lines[2].starts_with("OK        dp  "), "{out}");

    let (code, out, _) = check(&["--config", cfg, "--probe", "dp"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("OK        dp  (mock)  8/8 DPs BITS-ready  ["),
        "{out}"
    );
    assert!(
        out.ends_with("worst: OK (1 ok, 0 warning, 0 critical, 0 unknown)\n"),
        "{out}"
    );
}

#[test]
fn bad_invocations_exit_3_with_a_clear_message() {
    let (code, _, err) = check(&["--config", "/no/such/patchdeck.toml"]);
    assert_eq!(code, 3);
    assert_eq!(
        err,
        "patchdeck: cannot read config file /no/such/patchdeck.toml: No such file or directory (os error 2)\n"
    );

    let dir = scratch("cli-bad");
    let cfg = status_config(&dir, &[("a", "")]);
    let (code, _, err) = check(&["--config", cfg.to_str().unwrap(), "--probe", "zzz"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("no probe with id \"zzz\" (configured: a)"),
        "{err}"
    );

    let empty = write_config(&scratch("cli-empty"), "[settings]\ninterval = \"1m\"\n");
    let (code, _, err) = check(&["--config", empty.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("no probes configured"), "{err}");

    // No --config, no $PATCHDECK_CONFIG, nothing in $XDG_CONFIG_HOME.
    let out = std::process::Command::new(patchdeck_bin())
        .arg("check")
        .env_remove("PATCHDECK_CONFIG")
        .env("XDG_CONFIG_HOME", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).starts_with(
        "patchdeck: no config file: pass --config FILE, set PATCHDECK_CONFIG, or create "
    ));

    // $PATCHDECK_CONFIG is honoured.
    let out = std::process::Command::new(patchdeck_bin())
        .arg("check")
        .env("PATCHDECK_CONFIG", &cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn plugin_files_others_can_write_are_refused_unless_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("cli-perms");
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let lib = plugins.join("libmock_copy.so");
    std::fs::copy(mock_lib(), &lib).unwrap();
    let cfg = write_config(
        &dir,
        &format!("[[probe]]\nid = \"a\"\nplugin = \"{}\"\n", lib.display()),
    );
    let cfg = cfg.to_str().unwrap();

    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, _, err) = check(&["--config", cfg]);
    assert_eq!(code, 3);
    assert!(
        err.contains(&format!(
            "field `plugin`: plugin file {} is not usable: refused: plugin folder {} is writable by group or others (mode 0777); fix with `chmod go-w",
            lib.display(),
            plugins.display()
        )),
        "{err}"
    );
    let (code, _, err) = check(&["--config", cfg, "--allow-insecure-plugins"]);
    assert_eq!(code, 0, "{err}");

    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, _, err) = check(&["--config", cfg]);
    assert_eq!(code, 3);
    assert!(
        err.contains("refused: plugin file") && err.contains("(mode 0666)"),
        "{err}"
    );
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(check(&["--config", cfg]).0, 0);

    // Owned by another non-root user: refused like sshd's StrictModes. Changing the owner
    // needs root, which CI and this project's machines are.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } == 0 {
        std::os::unix::fs::chown(&lib, Some(4242), None).unwrap();
        let (code, _, err) = check(&["--config", cfg]);
        assert_eq!(code, 3);
        assert!(
            err.contains("is owned by uid 4242, not by root or by you (uid 0)"),
            "{err}"
        );
        assert_eq!(check(&["--config", cfg, "--allow-insecure-plugins"]).0, 0);
    } else {
        eprintln!("not root: the ownership half of this test needs root to chown");
    }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn help_explains_exit_codes_and_config_lookup() {
    let out = run_patchdeck(&["check", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"),
        "{help}"
    );
    let out = run_patchdeck(&["--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("$PATCHDECK_CONFIG"), "{help}");
}

#[test]
fn plugin_log_lines_go_to_the_log_file_never_the_terminal() {
    let dir = scratch("cli-log");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"iso\"\nplugin = \"mock\"\n\n[[probe]]\nid = \"inproc\"\nplugin = \"mock\"\nisolation = \"in-process\"\n",
    );
    let log = dir.join("logs/patchdeck.log");
    let out = std::process::Command::new(patchdeck_bin())
        .args([
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).is_empty(),
        "logs leaked to stderr: {}",
        text(&out.stderr)
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    for probe in ["iso", "inproc"] {
        assert!(logged.contains(&format!("probe=\"{probe}\"")), "{logged}");
    }
    assert_eq!(
        logged.matches("mock instance created").count(),
        2,
        "{logged}"
    );
    assert_eq!(logged.matches("mock check starting").count(), 2, "{logged}");
}

#[test]
fn the_readme_example_config_runs() {
    let cfg = repo_root().join("examples/patchdeck.toml");
    let (code, out, err) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("WARNING   bits-dps         (mock)  7/8 DPs BITS-ready · DP05 lacks WebDAV"),
        "{out}"
    );
    assert!(
        out.ends_with("worst: WARNING (2 ok, 1 warning, 0 critical, 0 unknown)\n"),
        "{out}"
    );
}

#[tokio::test]
async fn the_real_site_example_parses_and_binds_every_probe() {
    // Binding only: nothing is contacted (the hosts are examples).
    let config = patchdeck_core::config::load(&repo_root().join("examples/site.toml")).unwrap();
    let opts = patchdeck_core::engine::EngineOptions {
        validate_files: false,
        allow_insecure_plugins: false,
        host_exe: Some(probe_host()),
        extra_plugin_dirs: vec![target_dir()],
    };
    let engine = patchdeck_core::engine::Engine::build(config, &opts)
        .await
        .unwrap();
    let kinds: Vec<&str> = engine.probes.iter().map(|p| p.meta.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "wsus",
            "bits",
            "reporting-point",
            "wua",
            "msi",
            "sup-capacity"
        ]
    );
}

/// Bytes a terminal would act on: C0 controls except `\n`, DEL, C1 controls, bidi overrides.
fn hostile_chars(out: &str) -> Vec<String> {
    out.chars()
        .filter(|c| *c != '\n' && patchdeck_core::sanitize::is_hostile(*c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect()
}

const EVIL: &str = "\u{1b}[2J\u{1b}]52;c;cGF0Y2hkZWNr\u{7}\u{9b}31m\u{202e}gnp.exe";

#[test]
fn hostile_text_from_servers_exports_and_the_config_never_reaches_the_terminal_raw() {
    let dir = scratch("cli-hostile");
    // A "WSUS" whose SOAP fault string and a DP whose auth header carry escapes.
    let fault = format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>{EVIL}</faultstring><detail><ErrorCode>{EVIL}</ErrorCode></detail></s:Fault></s:Body></s:Envelope>"
    );
    let wsus = stub_server(move |_| {
        format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{fault}",
            fault.len()
        )
        .into_bytes()
    });
    // An export whose header names a column with escapes (the error quotes the header).
    let csv = dir.join("scan.csv");
    std::fs::write(&csv, format!("ResourceID,{EVIL}\r\n1,x\r\n")).unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "[[probe]]\nid = \"wsus\"\nplugin = \"wsus\"\ntimeout = \"3s\"\n[probe.config]\nurl = \"{wsus}\"\n\n[[probe]]\nid = \"wua\"\nplugin = \"wua\"\n[probe.config]\nscan_status_csv = \"{}\"\n",
            csv.display()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    for format in ["text", "nagios", "json"] {
        let (code, out, err) = check(&["--config", cfg, "--format", format]);
        assert_eq!(code, 2, "{format}: {out}{err}");
        assert_eq!(hostile_chars(&out), Vec::<String>::new(), "{format}: {out}");
        assert_eq!(hostile_chars(&err), Vec::<String>::new(), "{format}: {err}");
        if format == "json" {
            let doc: serde_json::Value = serde_json::from_str(&out).expect("still valid JSON");
            let summary = doc["probes"][0]["summary"].as_str().unwrap();
            assert!(
                summary.contains(EVIL),
                "JSON keeps the text, escaped by JSON rules: {summary:?}"
            );
        } else {
            assert!(
                out.contains("\\x1b[2J\\x1b]52;c;cGF0Y2hkZWNr\\x07\\x9b31m\\u{202e}gnp.exe"),
                "{format}: {out}"
            );
        }
    }
    // A probe id with escapes in the config: the error names it, escaped.
    let bad = write_config(
        &dir,
        &format!("[[probe]]\nid = \"x{EVIL}\"\nplugin = \"mock\"\n"),
    );
    let (code, out, err) = check(&["--config", bad.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert_eq!(hostile_chars(&err), Vec::<String>::new(), "{err}");
    assert!(err.contains("\\x1b[2J"), "{err}");
}

#[test]
fn a_secret_echoed_by_a_plugin_is_redacted_from_every_output() {
    let dir = scratch("cli-secret");
    std::fs::write(dir.join("sp.txt"), "S3CR3T-sp-level\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("sp.txt"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"wsus\"\nplugin = \"wsus\"\n[probe.config]\nurl = \"http://127.0.0.1:9\"\nconfigmgr_sp = { env = \"PD_TEST_SECRET\" }\n\n[[probe]]\nid = \"wsus2\"\nplugin = \"wsus\"\n[probe.config]\nurl = \"http://127.0.0.1:9\"\nconfigmgr_sp = { file = \"sp.txt\" }\n",
    );
    for format in ["text", "json", "nagios"] {
        let out = std::process::Command::new(patchdeck_bin())
            .args([
                "check",
                "--config",
                cfg.to_str().unwrap(),
                "--format",
                format,
            ])
            .env("PD_TEST_SECRET", "hunter2-S3CR3T")
            .env_remove("PATCHDECK_CONFIG")
            .output()
            .unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        // serde's "unknown variant `...`" would quote the value.
        assert!(
            stdout.contains("unknown variant `<redacted>`"),
            "{format}: {stdout}"
        );
        for leaked in ["hunter2-S3CR3T", "S3CR3T-sp-level"] {
            assert!(
                !stdout.contains(leaked) && !stderr.contains(leaked),
                "{format}: {stdout}{stderr}"
            );
        }
    }
}

#[test]
fn secret_files_must_be_small_regular_files() {
    let dir = scratch("cli-secret-files");
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(dir.join("big"), vec![b'x'; 70 * 1024]).unwrap();
    std::fs::write(dir.join("open"), "pw").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("big"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(dir.join("open"), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    for (file, want) in [
        ("fifo", "is not a regular file"),
        ("big", "over the 64 KiB limit for a secret"),
        ("/dev/zero", "is not a regular file"),
        ("open", "is readable by others (mode 644): chmod 600 it"),
    ] {
        let cfg = write_config(
            &dir,
            &format!(
                "[[probe]]\nid = \"m\"\nplugin = \"mock\"\n[probe.config]\ntoken = {{ file = \"{file}\" }}\n"
            ),
        );
        let (code, _, err) = check(&["--config", cfg.to_str().unwrap()]);
        assert_eq!(code, 3, "{file}: {err}");
        assert!(
            err.contains(want) && err.contains("config.token"),
            "{file}: {err}"
        );
    }
}

#[test]
fn a_plugin_flooding_its_output_does_not_grow_patchdeck() {
    // 512 MiB on stdout (moved to the probe host's stderr) without a newline. Read with an
    // unbounded lines(), patchdeck grew by the same amount.
    let dir = scratch("cli-flood");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"flood\"\nplugin = \"mock\"\ntimeout = \"60s\"\n[probe.config]\nbehavior = \"flood\"\nflood_mb = 512\n",
    );
    let log = dir.join("patchdeck.log");
    let out = std::process::Command::new(patchdeck_bin())
        .args([
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ])
        .env_remove("PATCHDECK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Peak RSS of the largest child this test process has waited for (KiB on Linux).
    // SAFETY: getrusage writes into the zeroed struct we own.
    let peak_kib = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru), 0);
        ru.ru_maxrss
    };
    assert!(
        peak_kib < 100 * 1024,
        "peak RSS {peak_kib} KiB: the flood was buffered"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(&format!(
            "({} more bytes of this line dropped)",
            512 * 1024 * 1024 - 8 * 1024
        )),
        "{}",
        &logged[..logged.len().min(500)]
    );
    assert!(logged.len() < 64 * 1024, "log size {}", logged.len());
}

#[test]
fn plugin_trust_follows_symlinks_and_checks_every_folder_up_to_the_root() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    let dir = scratch("cli-trust");
    let run = |cfg: &Path| check(&["--config", cfg.to_str().unwrap()]);
    let probe = |lib: &Path| {
        write_config(
            &dir,
            &format!("[[probe]]\nid = \"a\"\nplugin = \"{}\"\n", lib.display()),
        )
    };

    // A symlink in a 0755 folder pointing into a 0777 folder: the real folder is judged.
    let open = dir.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::copy(mock_lib(), open.join("libevil.so")).unwrap();
    mode(&open, 0o777);
    let safe = dir.join("safe");
    std::fs::create_dir(&safe).unwrap();
    std::os::unix::fs::symlink(open.join("libevil.so"), safe.join("libmock_link.so")).unwrap();
    let (code, _, err) = run(&probe(&safe.join("libmock_link.so")));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!(
            "refused: plugin folder {} is writable by group or others (mode 0777)",
            open.display()
        )),
        "{err}"
    );

    // A 0755 plugin folder under a 0777 parent (anyone could rename it away).
    let parent = dir.join("parent");
    let plugins = parent.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(mock_lib(), plugins.join("libm.so")).unwrap();
    mode(&parent, 0o777);
    let (code, _, err) = run(&probe(&plugins.join("libm.so")));
    assert_eq!(code, 3);
    assert!(
        err.contains(&format!(
            "refused: folder above the plugin {} is writable by group or others (mode 0777)",
            parent.display()
        )),
        "{err}"
    );
    // Root-owned and sticky above (like /tmp): nobody else can rename what is ours. Fine.
    mode(&parent, 0o1777);
    let (code, _, err) = run(&probe(&plugins.join("libm.so")));
    assert_eq!(code, 0, "{err}");
    // But a sticky shared folder is never a plugin home.
    mode(&plugins, 0o1777);
    let (code, _, err) = run(&probe(&plugins.join("libm.so")));
    assert_eq!(code, 3);
    assert!(
        err.contains("(mode 1777) (sticky, but a plugin's own folder must not be shared)"),
        "{err}"
    );
    mode(&plugins, 0o755);
    mode(&parent, 0o755);

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } == 0 {
        std::os::unix::fs::chown(&parent, Some(4242), None).unwrap();
        let (code, _, err) = run(&probe(&plugins.join("libm.so")));
        assert_eq!(code, 3);
        assert!(
            err.contains(&format!(
                "refused: folder above the plugin {} is owned by uid 4242",
                parent.display()
            )),
            "{err}"
        );
        std::os::unix::fs::chown(&parent, Some(0), None).unwrap();
    }

    // The probe host is held to the same rule.
    let hostdir = dir.join("host");
    std::fs::create_dir(&hostdir).unwrap();
    let host = hostdir.join("patchdeck-probe-host");
    std::fs::copy(probe_host(), &host).unwrap();
    mode(&hostdir, 0o777);
    let cfg = write_config(&dir, "[[probe]]\nid = \"a\"\nplugin = \"mock\"\n");
    let out = std::process::Command::new(patchdeck_bin())
        .args(["check", "--config", cfg.to_str().unwrap()])
        .env("PATCHDECK_PROBE_HOST", &host)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains(&format!(
            "refused: probe host's folder {} is writable by group or others",
            hostdir.display()
        )),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn too_many_isolated_probes_for_the_open_files_limit_are_refused_at_start() {
    let dir = scratch("cli-nofile");
    let mut cfg = String::new();
    for i in 0..40 {
        cfg.push_str(&format!("[[probe]]\nid = \"m{i}\"\nplugin = \"mock\"\n\n"));
    }
    let cfg = write_config(&dir, &cfg);
    let run = |limits: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{limits}; exec {} check --config {}",
                patchdeck_bin().display(),
                cfg.display()
            ))
            .env_remove("PATCHDECK_CONFIG")
            .output()
            .unwrap()
    };
    // Soft and hard limit 100: 40 isolated probes need about 184.
    let out = run("ulimit -n 100");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(
            "40 probe-host children need about 184 open files, but the limit is 100 (hard limit 100)"
        ),
        "{}",
        text(&out.stderr)
    );
    // Only the soft limit low: patchdeck raises it to the hard limit and runs them all.
    let out = run("ulimit -Sn 100");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("OK "))
            .count(),
        40
    );
}

#[test]
fn a_probe_config_too_big_for_the_probe_host_is_refused_at_load() {
    // It used to reach the child and fail as "probe host exited unexpectedly with status 0".
    let dir = scratch("cli-bigconfig");
    let cfg = write_config(
        &dir,
        &format!(
            "[[probe]]\nid = \"big\"\nplugin = \"mock\"\n[probe.config]\nsummary = \"{}\"\n",
            "x".repeat(1100 * 1024)
        ),
    );
    let (code, out, err) = check(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert!(
        err.contains(":4: probe \"big\": field `config`: the config is ")
            && err.contains("bytes as JSON, over the 1024 KiB a probe config may have"),
        "{err}"
    );
}

#[test]
fn nagios_failures_are_one_stdout_line_and_exit_3() {
    let dir = scratch("cli-nagios-fail");
    let cfg = write_config(&dir, "[[probe]]\nid = \"a\"\nplugin = \"mock\"\n");
    let cfg = cfg.to_str().unwrap();
    let one_line = |out: &str| {
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.starts_with("PATCHDECK UNKNOWN - "), "{out}");
        assert!(!out.contains('|'), "{out}");
    };
    // Bad config.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[probe]]\nid = \"a\"\n").unwrap();
    let (code, out, _) = check(&["--config", bad.to_str().unwrap(), "--format", "nagios"]);
    assert_eq!(code, 3);
    one_line(&out);
    assert!(out.contains("missing field `plugin`"), "{out}");
    // Unknown probe id.
    let (code, out, _) = check(&["--config", cfg, "--format", "nagios", "--probe", "nope"]);
    assert_eq!(code, 3);
    one_line(&out);
    assert!(out.contains("no probe with id \"nope\""), "{out}");
    // Missing probe host.
    let out = std::process::Command::new(patchdeck_bin())
        .args(["check", "--config", cfg, "--format", "nagios"])
        .env("PATCHDECK_PROBE_HOST", dir.join("no-such-host"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    one_line(&text(&out.stdout));
    // Bad command-line arguments: 3, not clap's 2 (which Nagios reads as CRITICAL).
    let (code, out, err) = check(&["--config", cfg, "--format", "nagios", "--frobnicate"]);
    assert_eq!(code, 3, "{err}");
    one_line(&out);
    assert!(
        out.contains("bad arguments: unexpected argument '--frobnicate'"),
        "{out}"
    );
    let (code, out, _) = check(&["--config", cfg, "--format", "nagios", "--timeout", "soon"]);
    assert_eq!(code, 3);
    one_line(&out);
    // -c and -w are thresholds in the Monitoring Plugins guidelines: patchdeck uses neither
    // for anything else (a Nagios admin's habitual `-w 80 -c 90` is refused, not misread).
    for short in ["-c", "-w"] {
        let (code, out, _) = check(&[short, cfg, "--format", "nagios"]);
        assert_eq!(code, 3, "{short}");
        assert!(
            out.contains(&format!("bad arguments: unexpected argument '{short}'")),
            "{out}"
        );
    }
    // Outside nagios, usage errors also exit 3 and print on stderr only.
    let (code, out, err) = check(&["--frobnicate"]);
    assert_eq!((code, out.as_str()), (3, ""));
    assert!(err.contains("unexpected argument"), "{err}");
    assert_eq!(run_patchdeck(&["--version"]).status.code(), Some(0));
}

#[test]
fn check_timeout_bounds_the_whole_run() {
    let dir = scratch("cli-timeout");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"fast\"\nplugin = \"mock\"\n\n[[probe]]\nid = \"slow\"\nplugin = \"mock\"\ntimeout = \"60s\"\n[probe.config]\ndelay_ms = 30000\n",
    );
    let t = std::time::Instant::now();
    let (code, out, _) = check(&[
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "nagios",
        "--timeout",
        "2s",
    ]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("PATCHDECK UNKNOWN - 1 unknown (slow), 1 ok"),
        "{out}"
    );
    assert!(
        out.contains("UNKNOWN slow: not finished within the --timeout of 2s"),
        "{out}"
    );
}

/// Nagios 4's status.dat: the fields of the `servicestatus` block of `service`.
fn nagios_service_status(
    status_dat: &str,
    service: &str,
) -> Option<std::collections::HashMap<String, String>> {
    for block in status_dat.split("servicestatus {").skip(1) {
        let body = block.split('}').next().unwrap_or("");
        let fields: std::collections::HashMap<String, String> = body
            .lines()
            .filter_map(|l| l.trim().split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if fields.get("service_description").map(String::as_str) == Some(service) {
            return Some(fields);
        }
    }
    None
}

#[test]
fn real_nagios_runs_patchdeck_and_records_state_output_long_output_and_perfdata() {
    use patchdeck_sitesim::{Scenario, Site};
    let nagios = std::path::Path::new("/usr/sbin/nagios4");
    assert!(
        nagios.exists(),
        "this test needs Debian's nagios4-core (apt-get install nagios4-core; .ci/run installs it)"
    );
    let site = Site::start(Scenario::default_site());
    let dir = scratch("nagios4");
    let cfg = write_config(&dir, &site.config_toml("60s"));
    let ng = dir.join("nagios");
    std::fs::create_dir_all(ng.join("checkresults")).unwrap();
    let objects = format!(
        r#"define timeperiod {{
    timeperiod_name 24x7
    alias 24x7
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}}
define command {{
    command_name notify-none
    command_line /bin/true
}}
define contact {{
    contact_name nobody
    host_notifications_enabled 0
    service_notifications_enabled 0
    host_notification_period 24x7
    service_notification_period 24x7
    host_notification_options n
    service_notification_options n
    host_notification_commands notify-none
    service_notification_commands notify-none
}}
define command {{
    command_name check-patchdeck
    command_line {bin} check --config {cfg} --format nagios --timeout 50s
}}
define host {{
    host_name abc-site
    address 127.0.0.1
    check_command notify-none
    max_check_attempts 1
    check_period 24x7
    contacts nobody
    notification_period 24x7
    active_checks_enabled 0
}}
define service {{
    host_name abc-site
    service_description patchdeck
    check_command check-patchdeck
    max_check_attempts 1
    check_interval 60
    retry_interval 60
    check_period 24x7
    notification_period 24x7
    contacts nobody
}}
"#,
        bin = patchdeck_bin().display(),
        cfg = cfg.display()
    );
    std::fs::write(ng.join("objects.cfg"), objects).unwrap();
    std::fs::write(ng.join("resource.cfg"), "").unwrap();
    let p = |f: &str| ng.join(f).display().to_string();
    let main_cfg = format!(
        "log_file={}\ncfg_file={}\nobject_cache_file={}\nprecached_object_file={}\nresource_file={}\nstatus_file={}\nstatus_update_interval=1\nnagios_user=root\nnagios_group=root\ncheck_external_commands=0\nlock_file={}\ntemp_file={}\ntemp_path={}\ncheck_result_path={}\ncheck_result_reaper_frequency=1\ninterval_length=1\nservice_inter_check_delay_method=n\nmax_service_check_spread=1\nretain_state_information=0\nuse_syslog=0\nenable_notifications=0\nservice_check_timeout=60\n",
        p("nagios.log"),
        p("objects.cfg"),
        p("objects.cache"),
        p("objects.precache"),
        p("resource.cfg"),
        p("status.dat"),
        p("nagios.lock"),
        p("nagios.tmp"),
        ng.display(),
        p("checkresults"),
    );
    std::fs::write(ng.join("nagios.cfg"), main_cfg).unwrap();
    let verify = std::process::Command::new(nagios)
        .arg("-v")
        .arg(ng.join("nagios.cfg"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "nagios -v: {}",
        text(&verify.stdout)
    );
    let daemon = Group::spawn(
        std::process::Command::new(nagios)
            .arg(ng.join("nagios.cfg"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    // Wait (bounded) for Nagios to run the check and write it to status.dat.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let fields = loop {
        let status = std::fs::read_to_string(ng.join("status.dat")).unwrap_or_default();
        if let Some(f) = nagios_service_status(&status, "patchdeck")
            && f.get("has_been_checked").map(String::as_str) == Some("1")
        {
            break f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Nagios never checked: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    drop(daemon);
    assert_eq!(fields["current_state"], "2", "{fields:?}");
    // Nagios split the headline from its perfdata: the text alone is the output.
    assert_eq!(
        fields["plugin_output"], "PATCHDECK CRITICAL - 1 critical (bits-dps), 2 ok",
        "{fields:?}"
    );
    // status.dat keeps long output with escaped newlines.
    let long: Vec<&str> = fields["long_plugin_output"].split("\\n").collect();
    assert!(
        long[0].starts_with("CRITICAL bits-dps: 7/9 DPs BITS-ready · DP04 ignores Range"),
        "{long:?}"
    );
    assert!(
        long.iter()
            .any(|l| l.starts_with("OK wsus-sup01: WSUS 3.0 SP2 (protocol 3.2)")),
        "{long:?}"
    );
    // Every fault is paged, not only the first: DP04 (Range) and DP06 (WebDAV) each have a
    // line with the fix.
    for dp in ["DP04", "DP06"] {
        assert!(
            long.iter()
                .any(|l| l.starts_with(&format!("CRITICAL bits-dps {dp}")) && l.contains("; fix: ")),
            "{dp}: {long:?}"
        );
    }
    let perf = &fields["performance_data"];
    assert!(perf.contains("'bits-dps::dps_ready'=7;;;0;9"), "{perf}");
    assert!(perf.contains("'wsus-sup01::getconfig_latency'="), "{perf}");
}

#[test]
fn real_icinga2_runs_the_example_check_command_and_records_state_output_and_perfdata() {
    use patchdeck_sitesim::{Scenario, Site};
    let icinga = Path::new("/usr/sbin/icinga2");
    assert!(
        icinga.exists(),
        "this test needs Debian's icinga2-bin (apt-get install icinga2-bin; .ci/run installs it)"
    );
    let site = Site::start(Scenario::default_site());
    let dir = scratch("icinga2");
    let cfg = write_config(&dir, &site.config_toml("60s"));
    // The shipped example, with only the install path of the binary and the schedule changed
    // (a first check within a second instead of within 5 minutes).
    let example =
        std::fs::read_to_string(repo_root().join("examples/monitoring/icinga2.conf")).unwrap();
    assert!(example.contains("\"/usr/bin/patchdeck\"") && example.contains("check_interval = 5m"));
    let example = example
        .replace(
            "\"/usr/bin/patchdeck\"",
            &format!("\"{}\"", patchdeck_bin().display()),
        )
        .replace("check_interval = 5m", "check_interval = 1s");
    let ic = dir.join("icinga2");
    for d in ["run/icinga2", "data", "log", "cache", "spool", "out"] {
        std::fs::create_dir_all(ic.join(d)).unwrap();
    }
    std::fs::write(ic.join("patchdeck.conf"), example).unwrap();
    let out = ic.join("out");
    let main = format!(
        r#"include "{example}"
object CheckerComponent "checker" {{ }}
object PerfdataWriter "perfdata" {{
  service_perfdata_path = "{out}/service"
  service_temp_path = "{out}/service.tmp"
  host_perfdata_path = "{out}/host"
  host_temp_path = "{out}/host.tmp"
  service_format_template = "SERVICE::$service.name$\tSTATE::$service.state$\tOUTPUT::$service.output$\tPERF::$service.perfdata$"
  rotation_interval = 1s
}}
object CheckCommand "nothing" {{ command = [ "/bin/true" ] }}
object Host "site01" {{
  check_command = "nothing"
  vars.configmgr_site = "ABC"
  vars.patchdeck_config = "{cfg}"
}}
"#,
        example = ic.join("patchdeck.conf").display(),
        out = out.display(),
        cfg = cfg.display(),
    );
    std::fs::write(ic.join("main.conf"), main).unwrap();
    let consts: Vec<String> = [
        ("InitRunDir", "run"),
        ("DataDir", "data"),
        ("LogDir", "log"),
        ("CacheDir", "cache"),
        ("SpoolDir", "spool"),
    ]
    .iter()
    .map(|(k, d)| format!("-D{k}={}", ic.join(d).display()))
    .chain(["-DRunAsUser=root".into(), "-DRunAsGroup=root".into()])
    .collect();
    let validate = std::process::Command::new(icinga)
        .args(["daemon", "-C", "-c"])
        .arg(ic.join("main.conf"))
        .args(&consts)
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "icinga2 daemon -C: {}",
        text(&validate.stdout)
    );
    // icinga2 forks its workers (which ignore SIGTERM): a process group, killed whole.
    let daemon = Group::spawn(
        std::process::Command::new(icinga)
            .args(["daemon", "-c"])
            .arg(ic.join("main.conf"))
            .args(&consts)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    // Wait (bounded) for Icinga to run the check and write its perfdata record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    // A record spans lines: the output keeps the long output's newlines.
    let record = loop {
        let found = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .find_map(|t| {
                let start = t.find("SERVICE::configmgr-software-updates\t")?;
                let rec = &t[start..];
                let end = rec.find("\tPERF::")? + "\tPERF::".len();
                let perf_end = rec[end..].find('\n').map_or(rec.len(), |n| end + n);
                Some(rec[..perf_end].to_owned())
            });
        if let Some(rec) = found {
            break rec;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Icinga never checked; its log: {}",
            std::fs::read_to_string(ic.join("log/icinga2.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    drop(daemon);
    let field = |k: &str| {
        record
            .split('\t')
            .find_map(|f| f.strip_prefix(&format!("{k}::")))
            .unwrap_or_else(|| panic!("no {k} in {record}"))
            .to_owned()
    };
    assert!(
        field("OUTPUT")
            .lines()
            .any(|l| l.starts_with("CRITICAL bits-dps: 7/9 DPs BITS-ready · DP04 ignores Range")),
        "long output per probe: {record}"
    );
    assert_eq!(field("STATE"), "CRITICAL", "{record}");
    // Icinga split the headline from the perfdata (and kept the long output after it).
    assert!(
        field("OUTPUT").starts_with("PATCHDECK CRITICAL - 1 critical (bits-dps), 2 ok"),
        "{record}"
    );
    let perf = field("PERF");
    assert!(perf.contains("bits-dps::dps_ready=7;;;0;9"), "{perf}");
    assert!(perf.contains("wsus-sup01::getconfig_latency="), "{perf}");
}

/// A running `patchdeck serve` (killed on drop).
struct Serve {
    child: std::process::Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `patchdeck serve` on a free loopback port and waits (bounded) for /healthz.
fn serve(cfg: &Path) -> Serve {
    serve_in(cfg, None)
}

/// [`serve`] with `$XDG_STATE_HOME` (its history and socket) in `state`.
fn serve_in(cfg: &Path, state: Option<&Path>) -> Serve {
    let port = closed_port();
    let mut cmd = std::process::Command::new(patchdeck_bin());
    cmd.args([
        "serve",
        "--config",
        cfg.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .env_remove("PATCHDECK_CONFIG")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    if let Some(state) = state {
        cmd.env("XDG_STATE_HOME", state);
    }
    let child = cmd.spawn().unwrap();
    let s = Serve {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_until("serve answers /healthz", || {
        http_get(&format!("{}/healthz", s.base), None).is_some_and(|(c, _, _)| c == 200)
    });
    s
}

/// Polls `f` every 100 ms for up to 60 s.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A minimal blocking HTTP/1.0 GET on loopback: (status, content type, body).
fn http_get(url: &str, accept: Option<&str>) -> Option<(u16, String, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut sock = std::net::TcpStream::connect(hostport).ok()?;
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    write!(
        sock,
        "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n{accept}\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Some((code, ctype, body.to_owned()))
}

#[test]
fn serve_exposes_metrics_promtool_accepts_state_and_health() {
    use patchdeck_sitesim::{Scenario, Site};
    let site = Site::start(Scenario::default_site());
    let dir = scratch("serve-site");
    let config = site.config_toml("2s").replacen(
        "[settings]\n",
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n",
            dir.join("h").display()
        ),
        1,
    );
    let cfg = write_config(&dir, &config);
    let s = serve(&cfg);
    let metrics = |accept| http_get(&format!("{}/metrics", s.base), accept).unwrap();
    wait_until("every probe has run", || {
        metrics(None).2.matches("patchdeck_probe_up{").count() == 3
            && metrics(None).2.contains(
                "patchdeck_probe_status{probe=\"bits-dps\",kind=\"bits\",status=\"critical\"} 1",
            )
    });
    let (code, ctype, plain) = metrics(Some("text/plain"));
    assert_eq!(code, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let (_, om_type, om) = metrics(Some("application/openmetrics-text; version=1.0.0"));
    assert!(
        om_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{om_type}"
    );
    assert!(
        om.ends_with("# EOF\n") && om.contains("# UNIT patchdeck_probe_duration_seconds seconds")
    );
    // The real linter on the Prometheus text.
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus; .ci/run installs it)");
    std::io::Write::write_all(promtool.stdin.as_mut().unwrap(), plain.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{plain}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // Each report metric a family of its own, no catch-all; why a probe is not OK; the site;
    // the process.
    assert!(!plain.contains("patchdeck_metric{"), "{plain}");
    assert!(
        plain.contains(
            "# TYPE patchdeck_bitsdps_ready gauge\npatchdeck_bitsdps_ready{probe=\"bits-dps\"} 7\n"
        ),
        "{plain}"
    );
    assert!(
        plain.contains("patchdeck_wsus_getconfig_latency_seconds{probe=\"wsus-sup01\"} "),
        "{plain}"
    );
    assert!(
        plain.contains("patchdeck_probe_cause_info{probe=\"bits-dps\",kind=\"bits\",status=\"critical\",item=\"DP04\","),
        "{plain}"
    );
    assert!(plain.contains("patchdeck_site_info{site=\""), "{plain}");
    assert!(
        plain.contains("\nprocess_resident_memory_bytes "),
        "{plain}"
    );
    assert!(om.contains("# TYPE patchdeck_probe_cause info\n"), "{om}");
    assert!(
        om.contains("# UNIT patchdeck_wsus_getconfig_latency_seconds seconds\n"),
        "{om}"
    );
    assert_eq!(om.matches("# EOF").count(), 1);
    assert!(
        plain.contains(
            "patchdeck_item_status{probe=\"bits-dps\",item=\"DP04\",status=\"critical\"} 1"
        ),
        "{plain}"
    );
    // The example alert rules pass the real rule checker.
    let rules = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(repo_root().join("examples/monitoring/patchdeck-alerts.yml"))
        .output()
        .unwrap();
    assert!(rules.status.success(), "{}", text(&rules.stdout));
    let (code, ctype, state) = http_get(&format!("{}/api/v1/state", s.base), None).unwrap();
    assert_eq!((code, ctype.as_str()), (200, "application/json"));
    let doc: serde_json::Value = serde_json::from_str(&state).unwrap();
    let probes = doc["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 3);
    let bits = probes.iter().find(|p| p["id"] == "bits-dps").unwrap();
    assert_eq!(bits["latest"]["status"], "critical");
    assert_eq!(bits["latest"]["cause"], "DP04");
    assert!(bits["latest"]["report"]["items"].as_array().unwrap().len() == 9);
    assert!(bits["next_run"].as_f64().is_some());
    assert_eq!(http_get(&format!("{}/nope", s.base), None).unwrap().0, 404);
}

/// SIGHUP reloads the config: a good one replaces the probes (the unchanged one keeps its
/// result and its timer, a changed one and a new one run, a removed one goes); a bad one
/// keeps the running config and /healthz says why, naming the line; a good one after it
/// clears that.
#[test]
fn sighup_reloads_a_good_config_and_keeps_running_on_a_bad_one() {
    let dir = scratch("serve-hup");
    let probe = |id: &str, status: &str| {
        format!(
            "\n[[probe]]\nid = \"{id}\"\nplugin = \"mock\"\n[probe.config]\nstatus = \"{status}\"\n"
        )
    };
    let head = "[settings]\ninterval = \"1h\"\n";
    let cfg = write_config(
        &dir,
        &format!(
            "{head}{}{}{}",
            probe("keep", "ok"),
            probe("gone", "ok"),
            probe("changed", "ok")
        ),
    );
    let serve = serve_in(&cfg, Some(&dir.join("state")));
    let (base, pid) = (serve.base.clone(), serve.child.id() as i32);
    let state = || {
        http_get(&format!("{base}/api/v1/state"), None)
            .and_then(|(_, _, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
    };
    let probe_of = |d: &serde_json::Value, id: &str| {
        d["probes"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["id"] == id).cloned())
    };
    let all_ran = |d: &serde_json::Value, ids: &[&str]| {
        d["probes"].as_array().is_some_and(|ps| {
            ps.len() == ids.len()
                && ids.iter().all(|id| {
                    ps.iter()
                        .any(|p| p["id"] == *id && !p["latest"].is_null() && p["running"] == false)
                })
        })
    };
    wait_until("the first round", || {
        state().is_some_and(|d| all_ran(&d, &["keep", "gone", "changed"]))
    });
    let before = probe_of(&state().unwrap(), "keep").unwrap();
    let healthz = || http_get(&format!("{base}/healthz"), None).map(|(c, _, b)| (c, b));
    let hup = || {
        // SAFETY: kill(2) on the serve this test started.
        unsafe { libc::kill(pid, libc::SIGHUP) };
    };

    // A good config: keep unchanged, gone removed, changed changed, new added.
    std::fs::write(
        &cfg,
        format!(
            "{head}{}{}{}",
            probe("keep", "ok"),
            probe("changed", "critical"),
            probe("new", "warning")
        ),
    )
    .unwrap();
    hup();
    wait_until("the reloaded probes ran", || {
        state().is_some_and(|d| {
            all_ran(&d, &["keep", "changed", "new"])
                && probe_of(&d, "changed").is_some_and(|p| p["latest"]["status"] == "critical")
        })
    });
    let d = state().unwrap();
    let after = probe_of(&d, "keep").unwrap();
    assert_eq!(
        after["latest"]["started_at"], before["latest"]["started_at"],
        "the unchanged probe ran again"
    );
    let drift = (after["next_run"].as_f64().unwrap() - before["next_run"].as_f64().unwrap()).abs();
    assert!(
        drift < 1.0,
        "the unchanged probe's timer moved by {drift} s"
    );
    assert_eq!(probe_of(&d, "new").unwrap()["latest"]["status"], "warning");
    assert!(probe_of(&d, "gone").is_none());
    assert_eq!(healthz(), Some((200, "ok\n".to_owned())));

    // A bad config: refused, the running one stays, /healthz says why with the line.
    std::fs::write(
        &cfg,
        format!("[settings]\ninterval = \"soon\"\n{}", probe("keep", "ok")),
    )
    .unwrap();
    hup();
    wait_until("/healthz says the reload was refused", || {
        healthz().is_some_and(|(c, b)| c == 200 && b.contains("config reload refused"))
    });
    let (_, body) = healthz().unwrap();
    assert!(
        body.contains("patchdeck.toml:2") && body.contains("settings.interval"),
        "{body}"
    );
    assert!(all_ran(&state().unwrap(), &["keep", "changed", "new"]));

    // Fixed: reloaded, and /healthz is plain again.
    std::fs::write(&cfg, format!("{head}{}", probe("keep", "ok"))).unwrap();
    hup();
    wait_until("the fixed config is running", || {
        state().is_some_and(|d| all_ran(&d, &["keep"]))
    });
    assert_eq!(healthz(), Some((200, "ok\n".to_owned())));
}

/// Debian's chromium, headless, with a private profile and home under `dir`.
fn chromium_cmd(dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-crash-reporter",
        "--disable-breakpad",
        "--no-first-run",
    ])
    .arg(format!(
        "--user-data-dir={}",
        dir.join("chromium").display()
    ))
    .env("HOME", dir);
    c
}

/// Headless chromium, in a process group of its own killed on drop, with a private
/// profile; returns its stdout once it exits (bounded: 90 s).
fn chromium(dir: &Path, args: &[&str]) -> String {
    use std::io::Read;
    let mut g = Group::spawn(
        chromium_cmd(dir)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null()),
    );
    let mut out = g.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while g.0.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "chromium {args:?} never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(g);
    reader.join().unwrap()
}

/// A minimal WebSocket client for the DevTools protocol (text frames, client-masked): enough
/// to ask a real browser what its page shows now.
struct Devtools {
    sock: std::net::TcpStream,
    next: u64,
}

impl Devtools {
    fn connect(ws_url: &str) -> Devtools {
        use std::io::{Read, Write};
        let rest = ws_url.strip_prefix("ws://").unwrap();
        let (hostport, path) = rest.split_once('/').unwrap();
        let mut sock = std::net::TcpStream::connect(hostport).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        write!(
            sock,
            "GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: cGF0Y2hkZWNrLXRlc3Qta2V5IQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            sock.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Devtools { sock, next: 1 }
    }

    /// Evaluates `expr` in the page; its value as JSON.
    fn eval(&mut self, expr: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let id = self.next;
        self.next += 1;
        let msg = serde_json::json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": { "expression": expr, "returnByValue": true }
        })
        .to_string();
        let mut frame = vec![0x81u8];
        let n = msg.len();
        if n < 126 {
            frame.push(0x80 | n as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        // A zero mask: masked as the protocol asks, bytes unchanged.
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(msg.as_bytes());
        self.sock.write_all(&frame).unwrap();
        loop {
            let mut h = [0u8; 2];
            self.sock.read_exact(&mut h).unwrap();
            let len = match h[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    self.sock.read_exact(&mut l).unwrap();
                    u64::from(u16::from_be_bytes(l))
                }
                127 => {
                    let mut l = [0u8; 8];
                    self.sock.read_exact(&mut l).unwrap();
                    u64::from_be_bytes(l)
                }
                l => u64::from(l),
            };
            assert!(len < 16 << 20, "frame of {len} bytes");
            let mut payload = vec![0u8; len as usize];
            self.sock.read_exact(&mut payload).unwrap();
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&payload) else {
                continue;
            };
            if v["id"] == id {
                return v["result"]["result"]["value"].clone();
            }
        }
    }
}

/// The web page updates itself in a real browser: chromium (headless, driven over its
/// DevTools socket) keeps the page open while a 1 s probe runs; the page's script swaps in
/// the new page on each change event and the probe's run number shown goes up, no reload.
#[test]
fn the_web_page_updates_itself_in_a_real_browser() {
    use std::io::BufRead;
    let dir = scratch("serve-web-live");
    let cfg = write_config(
        &dir,
        "[settings]\ninterval = \"1h\"\n\n[[probe]]\nid = \"tick\"\nplugin = \"mock\"\ninterval = \"1s\"\n",
    );
    let serve = serve_in(&cfg, Some(&dir.join("state")));
    let base = serve.base.clone();
    wait_until("the page shows the probe", || {
        http_get(&format!("{base}/"), None).is_some_and(|(_, _, b)| b.contains("mock ok (run"))
    });
    let mut browser = Group::spawn(
        chromium_cmd(&dir)
            .arg("--remote-debugging-port=0")
            .arg(format!("{base}/"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped()),
    );
    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/..." on stderr.
    let stderr = browser.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(at) = line.find("ws://") {
                let _ = tx.send(line[at..].trim().to_owned());
            }
        }
    });
    let browser_ws = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("chromium's DevTools address");
    let devtools = browser_ws
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut page_ws = String::new();
    wait_until("chromium lists the page", || {
        // curl: chromium's DevTools server keeps the connection open after its answer.
        let list = std::process::Command::new("curl")
            .args([
                "-sf",
                "--max-time",
                "10",
                &format!("http://{devtools}/json/list"),
            ])
            .output()
            .ok()
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok());
        if let Some(url) = list.as_ref().and_then(|l| {
            l.as_array()?
                .iter()
                .find(|t| {
                    t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(&base))
                })
                .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_owned))
        }) {
            page_ws = url;
        }
        !page_ws.is_empty()
    });
    let mut page = Devtools::connect(&page_ws);
    let run = |page: &mut Devtools| -> u64 {
        page.eval("(document.querySelector('tr.probe') || {textContent: ''}).textContent")
            .as_str()
            .and_then(|t| t.split("(run ").nth(1))
            .and_then(|t| t.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    wait_until("the page loaded with its script", || {
        page.eval("document.documentElement.dataset.live || ''") == "yes" || run(&mut page) > 0
    });
    let first = run(&mut page);
    wait_until(
        "the page swapped itself twice and shows a later run",
        || {
            let swaps: u64 = page
                .eval("document.documentElement.dataset.swaps || '0'")
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            swaps >= 2 && run(&mut page) > first
        },
    );
    // And never reloaded: the same document all along (a reload would reset the counter).
    assert_eq!(
        page.eval("performance.getEntriesByType('navigation').length"),
        1
    );
}

/// The web page at `GET /`, read by a real browser: the CRITICAL probe's problem with what was
/// seen and its fix (the address a link), hostile item text shown as text, the page's own
/// script running under its Content-Security-Policy, a screenshot; and the change stream
/// sends an event (with an id) when the state changes.
#[test]
fn the_web_page_in_a_real_browser_shows_problems_and_fixes_and_escapes_hostile_text() {
    let dir = scratch("serve-web");
    let cfg = write_config(
        &dir,
        r#"[settings]
site = "ABC <i>site</i>"
interval = "1h"

[[probe]]
id = "bits-dps"
plugin = "mock"
[probe.config]
status = "critical"
summary = "7/8 DPs BITS-ready"
items = [{ id = "dp04", title = "DP04 <img src=x onerror=alert(1)>", status = "critical", summary = "ignores Range <script>document.title='pwned'</script>", evidence = "GET Range bytes=0-1023 -> 200", fix = "Make IIS honour Range: https://example.invalid/bits-range." }]

[[probe]]
id = "tick"
plugin = "mock"
interval = "1s"
"#,
    );
    let serve = serve_in(&cfg, Some(&dir.join("state")));
    let base = serve.base.clone();
    wait_until("the page shows the problem", || {
        http_get(&format!("{base}/"), None).is_some_and(|(c, t, b)| {
            c == 200 && t.starts_with("text/html") && b.contains("ignores Range")
        })
    });

    let dom = chromium(&dir, &["--dump-dom", &format!("{base}/")]);
    assert!(dom.contains("<main>"), "{dom}");
    // The problem: status, probe, item, what was seen, the fix with its address a link.
    assert!(
        dom.contains(r#"<td class="s critical">critical</td><td><b>bits-dps</b>"#),
        "{dom}"
    );
    assert!(
        dom.contains("Seen: GET Range bytes=0-1023 -&gt; 200"),
        "{dom}"
    );
    assert!(
        dom.contains(r#"Fix: Make IIS honour Range: <a href="https://example.invalid/bits-range" rel="noreferrer">"#),
        "{dom}"
    );
    // Hostile text is text: no element came of it, and the title is the page's own.
    assert!(
        dom.contains("DP04 &lt;img src=x onerror=alert(1)&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<img"), "{dom}");
    assert!(
        !dom.contains("pwned</title>") && !dom.contains("<title>pwned"),
        "{dom}"
    );
    assert!(
        dom.contains("<title>patchdeck · ABC &lt;i&gt;site&lt;/i&gt;</title>"),
        "{dom}"
    );
    // The page's own script ran (allowed by the policy that forbids any other).
    assert!(dom.contains(r#"data-live="yes""#), "{dom}");

    let png = dir.join("page.png");
    chromium(
        &dir,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,900",
            &format!("{base}/"),
        ],
    );
    let shot = std::fs::read(&png).expect("chromium wrote a screenshot");
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 10_000,
        "{} bytes",
        shot.len()
    );

    // Headers: the policy, no sniffing, no caching.
    let head = std::process::Command::new("curl")
        .args(["-sI", &format!("{base}/")])
        .output()
        .unwrap();
    let head = text(&head.stdout).to_ascii_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");

    // The change stream: an event with an id when the 1 s probe changes the state.
    use std::io::{BufRead, Write};
    let mut sock = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        sock,
        "GET /api/v1/changes HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut lines = std::io::BufReader::new(sock).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let ids: Vec<u64> = lines
        .map_while(Result::ok)
        .filter_map(|l| l.strip_prefix("id: ").and_then(|v| v.trim().parse().ok()))
        .take(2)
        .collect();
    assert_eq!(ids.len(), 2, "two change events");
    assert!(ids[1] > ids[0], "{ids:?}");
}

#[test]
fn serve_refuses_a_non_loopback_address_without_allow_remote_and_stops_cleanly_on_sigterm() {
    let dir = scratch("serve-term");
    let cfg = write_config(
        &dir,
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n[[probe]]\nid = \"m\"\nplugin = \"mock\"\n",
            dir.join("h").display()
        ),
    );
    let out = run_patchdeck(&[
        "serve",
        "--config",
        cfg.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("is not a loopback address"),
        "{}",
        text(&out.stderr)
    );
    let mut s = serve(&cfg);
    wait_until("the probe ran", || {
        http_get(&format!("{}/metrics", s.base), None)
            .is_some_and(|(_, _, b)| b.contains("patchdeck_probe_up{probe=\"m\",kind=\"mock\"} 1"))
    });
    let pid = s.child.id();
    // The probe-host children of serve, to check they are reaped.
    // Children are listed per thread of the parent (tokio spawns them from its workers).
    let children = || -> Vec<String> {
        let mut all = Vec::new();
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .flatten()
        {
            let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            all.extend(list.split_whitespace().map(str::to_owned));
        }
        all
    };
    let kids = children();
    assert_eq!(kids.len(), 1, "one probe host: {kids:?}");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    for k in kids {
        assert!(
            !Path::new(&format!("/proc/{k}")).exists()
                || std::fs::read_to_string(format!("/proc/{k}/stat"))
                    .unwrap_or_default()
                    .contains(") Z"),
            "probe host {k} left running"
        );
    }
}

#[test]
fn history_survives_a_restart_and_a_kill_9() {
    let dir = scratch("serve-history");
    let hist = dir.join("h");
    let cfg = write_config(
        &dir,
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n[[probe]]\nid = \"flappy\"\nplugin = \"mock\"\ninterval = \"1s\"\n[probe.config]\nsequence = [\"ok\", \"critical\"]\nitems = [{{ id = \"dp04\", status = \"critical\" }}]\n",
            hist.display()
        ),
    );
    let mut s = serve(&cfg);
    wait_until("three transitions in the history file", || {
        std::fs::read_to_string(hist.join("history.jsonl"))
            .unwrap_or_default()
            .lines()
            .count()
            >= 3
    });
    // kill -9: no clean shutdown; the file keeps every whole line.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    // And a torn line, as a power loss mid-write would leave.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(hist.join("history.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, br#"{"at":"2026-11-28T08:00:00Z","probe":"fla"#).unwrap();
    drop(f);
    let o = run_patchdeck(&[
        "events",
        "--config",
        cfg.to_str().unwrap(),
        "--since",
        "1h",
        "--format",
        "json",
    ]);
    let (code, out) = (o.status.code(), text(&o.stdout));
    assert_eq!(code, Some(0));
    let before: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(before.len() >= 3, "{out}");
    assert_eq!(before[0]["to"], "critical");
    assert_eq!(before[0]["cause"], "dp04");
    assert_eq!(before[1]["to"], "ok");
    // Restarted: the earlier transitions are loaded, marked as before this start.
    let s2 = serve(&cfg);
    let (_, _, state) = http_get(&format!("{}/api/v1/state", s2.base), None).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&state).unwrap();
    let earlier = doc["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["before_this_start"] == true)
        .count();
    assert!(earlier >= 3, "{state}");
    // Text output and --probe filtering.
    let o = run_patchdeck(&[
        "events",
        "--config",
        cfg.to_str().unwrap(),
        "--probe",
        "nope",
    ]);
    assert!(
        text(&o.stdout).starts_with("no events in the last 1d in "),
        "{}",
        text(&o.stdout)
    );
    let o = run_patchdeck(&["events", "--config", cfg.to_str().unwrap()]);
    assert!(
        text(&o.stdout).contains("flappy        OK -> CRITICAL  [dp04]  mock critical (run 2)"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_real_prometheus_scrapes_serve_and_its_api_returns_the_series() {
    use patchdeck_sitesim::{Scenario, Site};
    let prometheus = std::path::Path::new("/usr/bin/prometheus");
    assert!(
        prometheus.exists(),
        "this test needs Debian's prometheus (.ci/run installs it)"
    );
    let site = Site::start(Scenario::default_site());
    let dir = scratch("prometheus");
    let config = site.config_toml("5s").replacen(
        "[settings]\n",
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n",
            dir.join("h").display()
        ),
        1,
    );
    let cfg = write_config(&dir, &config);
    let s = serve(&cfg);
    let target = s.base.trim_start_matches("http://").to_owned();
    let prom_port = closed_port();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: patchdeck\n    static_configs:\n      - targets: ['{target}']\n"),
    )
    .unwrap();
    use std::os::unix::process::CommandExt;
    let prom = std::process::Command::new(prometheus)
        .process_group(0)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Group(prom);
    // patchdeck_probe_status{probe="bits-dps",status="critical"}, URL-encoded.
    let query = "patchdeck_probe_status%7Bprobe%3D%22bits-dps%22%2Cstatus%3D%22critical%22%7D";
    let url = format!("http://127.0.0.1:{prom_port}/api/v1/query?query={query}");
    let mut last = String::new();
    wait_until(
        "Prometheus has scraped the critical bits-dps series",
        || {
            last = http_get(&url, None).map(|r| r.2).unwrap_or_default();
            serde_json::from_str::<serde_json::Value>(&last).is_ok_and(|doc| {
                doc["data"]["result"].as_array().is_some_and(|r| {
                    r.len() == 1 && r[0]["value"][1] == "1" && r[0]["metric"]["kind"] == "bits"
                })
            })
        },
    );
    // The new families, read back from Prometheus: a report metric, the cause, the process.
    for (query, want) in [
        ("patchdeck_bitsdps_ready", "bits-dps"),
        (
            "patchdeck_probe_cause_info%7Bitem%3D%22DP04%22%7D",
            "bits-dps",
        ),
        ("process_resident_memory_bytes", ""),
    ] {
        let url = format!("http://127.0.0.1:{prom_port}/api/v1/query?query={query}");
        wait_until(&format!("Prometheus returns {query}"), || {
            http_get(&url, None).is_some_and(|(_, _, b)| {
                serde_json::from_str::<serde_json::Value>(&b).is_ok_and(|doc| {
                    doc["data"]["result"].as_array().is_some_and(|r| {
                        !r.is_empty() && (want.is_empty() || r[0]["metric"]["probe"] == want)
                    })
                })
            })
        });
    }
    // The scrape itself was healthy (OpenMetrics parsed, no errors).
    let up = http_get(
        &format!("http://127.0.0.1:{prom_port}/api/v1/query?query=up"),
        None,
    )
    .unwrap()
    .2;
    assert!(
        up.contains(r#""value":["#) && up.contains(r#","1"]"#),
        "{up}"
    );
}

#[test]
fn config_check_validates_core_keys_and_every_plugin_config_without_running_probes() {
    // Invalid fixtures: exit 1 with the same message `check` gives, on stdout.
    for path in fixtures("invalid_configs") {
        let expected = header(&path, "expect");
        let out = run_patchdeck(&["config", "check", "--config", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with(&format!("{}{expected}", path.display())),
            "{}:\n  want: {expected}\n  got:  {stdout}",
            path.display()
        );
    }
    // Valid fixtures: core keys pass; full.toml gives the mock a key it does not know, which
    // only the plugin's own create() can tell (it used to show up only as UNKNOWN at run time).
    for path in fixtures("valid_configs") {
        let out = run_patchdeck(&["config", "check", "--config", path.to_str().unwrap()]);
        let stdout = text(&out.stdout);
        if path.ends_with("full.toml") {
            assert_eq!(out.status.code(), Some(1));
            assert!(
                stdout.contains(&format!(
                    "{}:34: probe \"rp:abc\": plugin rejected its config: mock config: unknown field `password`",
                    path.display()
                )),
                "{stdout}"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{}: {stdout}", path.display());
            assert!(
                stdout.ends_with("every plugin accepted its config)\n"),
                "{stdout}"
            );
        }
    }
    // Plugin-config typos in real plugins, all reported at once, each on its own line.
    let dir = scratch("config-check");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"w\"\nplugin = \"wsus\"\n[probe.config]\nurl = \"http://sup01:8530\"\nurll = \"x\"\n\n[[probe]]\nid = \"b\"\nplugin = \"bits\"\n[probe.config]\ndistribution_points = []\n\n[[probe]]\nid = \"m\"\nplugin = \"mock\"\n[probe.config]\nstatus = \"purple\"\n",
    );
    let out = run_patchdeck(&["config", "check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let p = cfg.display();
    assert_eq!(lines[0], format!("{p}: 3 problems"));
    assert!(
        lines[1].starts_with(&format!(
            "{p}:6: probe \"w\": plugin rejected its config: wsus config: unknown field `urll`"
        )),
        "{stdout}"
    );
    assert!(lines[2].starts_with(&format!("{p}:12: probe \"b\": plugin rejected its config: field `distribution_points`: list at least one")), "{stdout}");
    assert!(
        lines[3].starts_with(&format!(
            "{p}:18: probe \"m\": plugin rejected its config: mock config: unknown variant `purple`"
        )),
        "{stdout}"
    );
    // No probe ran: nothing was checked against a server (the wsus URL is not reachable).
    assert!(!stdout.contains("unreachable"), "{stdout}");
}

#[test]
fn version_completions_and_man_pages() {
    let v = text(&run_patchdeck(&["--version"]).stdout);
    assert!(
        v.starts_with(&format!(
            "patchdeck {} (probe ABI 1.1, report schema 1.2, probe-host protocol 2, commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{v}"
    );
    let dir = scratch("completions");
    for shell in ["bash", "zsh", "fish"] {
        let out = run_patchdeck(&["completions", shell]);
        assert!(out.status.success());
        let script = text(&out.stdout);
        assert!(
            script.contains("serve") && script.contains("config"),
            "{shell}"
        );
        // Each shell parses its own script (.ci/run installs zsh and fish).
        let f = dir.join(format!("patchdeck.{shell}"));
        std::fs::write(&f, &script).unwrap();
        let check = if shell == "fish" {
            "--no-execute"
        } else {
            "-n"
        };
        let syntax = std::process::Command::new(shell)
            .arg(check)
            .arg(&f)
            .output()
            .unwrap_or_else(|e| panic!("{shell} (apt-get install {shell}): {e}"));
        assert!(syntax.status.success(), "{shell}: {}", text(&syntax.stderr));
        if shell == "fish" {
            // And fish, having loaded it, completes the subcommands.
            let out = std::process::Command::new("fish")
                .arg("-c")
                .arg(format!(
                    "source {}; complete -C 'patchdeck co'",
                    f.display()
                ))
                .output()
                .unwrap();
            let got = text(&out.stdout);
            assert!(
                got.contains("completions") && got.contains("config"),
                "{got}"
            );
        }
    }
    // --probe completes the config's probe ids (bash: the --config on the line; fish: the
    // config patchdeck finds), not file names.
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"wsus-sup01\"\nplugin = \"mock\"\n\n[[probe]]\nid = \"bits-dps\"\nplugin = \"mock\"\n",
    );
    let path = format!(
        "{}:{}",
        patchdeck_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let bash = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(patchdeck check --config {} --probe ''); COMP_CWORD=5; _patchdeck patchdeck '' --probe; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            dir.join("patchdeck.bash").display(),
            cfg.display()
        ))
        .env("PATH", &path)
        .env_remove("PATCHDECK_CONFIG")
        .output()
        .unwrap();
    let got = text(&bash.stdout);
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        ["wsus-sup01", "bits-dps"],
        "bash: {got}{}",
        text(&bash.stderr)
    );
    let fish = std::process::Command::new("fish")
        .arg("-c")
        .arg(format!(
            "source {}; complete -C 'patchdeck check --probe '",
            dir.join("patchdeck.fish").display()
        ))
        .env("PATH", &path)
        .env("PATCHDECK_CONFIG", &cfg)
        .output()
        .unwrap();
    let got = text(&fish.stdout);
    assert!(
        got.contains("wsus-sup01") && got.contains("bits-dps"),
        "fish: {got}{}",
        text(&fish.stderr)
    );
    let man = dir.join("man");
    assert!(
        run_patchdeck(&["man", "--out", man.to_str().unwrap()])
            .status
            .success()
    );
    for page in [
        "patchdeck.1",
        "patchdeck-check.1",
        "patchdeck-serve.1",
        "patchdeck-config.1",
        "patchdeck-events.1",
    ] {
        let text = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(
            text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH"),
            "{page}"
        );
    }
    let demo_help = text(&run_patchdeck(&["demo", "--help"]).stdout);
    for probe in [
        "wsus",
        "bits",
        "reporting-point",
        "wua",
        "msi",
        "sup-capacity",
    ] {
        assert!(
            demo_help.contains(probe),
            "demo --help names {probe}: {demo_help}"
        );
    }
}

/// Runs a copy of patchdeck from `bin` with no config or probe host in the environment.
fn run_copied(bin: &Path, args: &[&str], home: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(bin)
        .args(args)
        .env_remove("PATCHDECK_PROBE_HOST")
        .env_remove("PATCHDECK_CONFIG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".state"))
        .current_dir(home)
        .output()
        .unwrap();
    (
        out.status.code().expect("exited"),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn copy_exec(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

#[test]
fn an_installed_layout_finds_its_probe_host_and_plugins_under_lib_and_never_scans_bin() {
    // The Debian package's layout, in a scratch root: usr/bin, usr/lib/patchdeck/...
    let root = scratch("installed");
    let bin = root.join("usr/bin/patchdeck");
    copy_exec(&patchdeck_bin(), &bin);
    copy_exec(
        &probe_host(),
        &root.join("usr/lib/patchdeck/patchdeck-probe-host"),
    );
    let lib = root.join("usr/lib/patchdeck/plugins");
    copy_exec(&mock_lib(), &lib.join("libpatchdeck_mock.so"));
    // Like /usr/bin/ld.so: a library beside the binary that is not a plugin.
    std::fs::write(root.join("usr/bin/libnot_a_plugin.so"), b"\x7fELF junk").unwrap();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();

    let (code, out, err) = run_copied(&bin, &["plugins"], &home);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("searched {}", lib.display())),
        "{out}"
    );
    assert!(
        !out.contains("usr/bin"),
        "scanned its own bin folder: {out}"
    );
    assert!(out.contains("mock"), "{out}");

    let cfg = repo_root().join("examples/patchdeck.toml");
    let (code, out, err) = run_copied(&bin, &["check", "--config", cfg.to_str().unwrap()], &home);
    assert_eq!(code, 1, "mock example's worst is WARNING: {out}{err}");
    assert!(
        out.contains("bits-dps") && !out.contains("UNKNOWN"),
        "{out}"
    );
}

#[test]
fn a_lone_binary_says_where_it_looked_for_the_probe_host_and_how_to_install_it() {
    // `cargo install --path tui` alone: patchdeck in a bin folder, nothing beside it.
    let root = scratch("lone");
    let bin = root.join("bin/patchdeck");
    copy_exec(&patchdeck_bin(), &bin);
    let cfg = repo_root().join("examples/patchdeck.toml");
    let (code, out, err) = run_copied(&bin, &["check", "--config", cfg.to_str().unwrap()], &root);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("cannot find patchdeck-probe-host"), "{err}");
    assert!(
        err.contains(&root.join("lib/patchdeck").display().to_string()),
        "{err}"
    );
    assert!(err.contains("cargo install --path core"), "{err}");
    // And with no config anywhere: where it looked, and what to copy (unless this machine
    // has the package's /etc/patchdeck/patchdeck.toml, which is then found instead).
    if Path::new(patchdeck_core::config::SYSTEM_CONFIG).exists() {
        return;
    }
    let (code, _, err) = run_copied(&bin, &["check"], &root);
    assert_eq!(code, 3);
    assert!(
        err.contains("no config file") && err.contains("examples/site.toml"),
        "{err}"
    );
}

/// `patchdeck rules` lists every rule of every shipped plugin from the plugins themselves
/// (through the ABI): id, default severity, source and fix; no rule that can give CRITICAL
/// rests on an assumption.
#[test]
fn rules_lists_every_rule_with_its_source_and_no_critical_assumption() {
    let out = run_patchdeck(&["rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    for want in [
        "bits",
        "msi",
        "reporting-point",
        "sup-capacity",
        "wsus",
        "wua",
    ] {
        assert!(kinds.contains(&want), "{kinds:?}");
    }
    let mut n = 0;
    for k in doc.as_array().unwrap() {
        let kind = k["kind"].as_str().unwrap();
        for r in k["rules"].as_array().unwrap() {
            n += 1;
            let id = r["id"].as_str().unwrap();
            assert!(id.contains('.'), "{kind}: {id}");
            assert!(!r["title"].as_str().unwrap().is_empty(), "{id}");
            assert!(!r["source"].as_str().unwrap().is_empty(), "{id}: no source");
            assert!(!r["fix"].as_str().unwrap().is_empty(), "{id}: no fix");
            if r["severity"] == "critical" {
                assert_eq!(r["assumption"], false, "{id}: CRITICAL on an assumption");
                assert!(
                    r["url"].as_str().unwrap().starts_with("http"),
                    "{id}: a CRITICAL rule cites its page"
                );
            }
        }
    }
    assert!(n >= 40, "{n} rules");
    let out = run_patchdeck(&["rules", "--kind", "wsus"]);
    let listing = text(&out.stdout);
    assert!(
        listing.contains("wsus.sync-age")
            && listing.contains("7133d061-cd54-40c5-81a5-ea16bfbdb580"),
        "{listing}"
    );
    assert!(listing.contains("wsus.latency") && listing.contains("assumption"));
    let out = run_patchdeck(&["rules", "--kind", "nope"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("no plugin of kind \"nope\""));
}

/// `[probe.rules]` overrides a rule's severity or turns it off; the verdict says so in its
/// evidence, the summary follows, and `check --format json` names every non-OK item's rule.
#[test]
fn rule_overrides_change_the_verdict_and_say_so() {
    let dir = scratch("cli-rules");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = patchdeck_sitesim::exports::timestamp(now - 3600);
    let mut csv = "ResourceID,Name0,LastScanTime,LastScanState,LastErrorCode,LastWUAVersion,LastScanPackageLocation\r\n".to_owned();
    for i in 0..100 {
        let v = if i == 0 {
            "7.0.6000.100"
        } else {
            "7.4.7600.226"
        };
        csv.push_str(&format!("{i},PC{i},{t},3,0,{v},http://sup01:8530\r\n"));
    }
    let export = dir.join("scan.csv");
    std::fs::write(&export, csv).unwrap();
    let cfg = |rules: &str| {
        let p = dir.join("rules.toml");
        std::fs::write(
            &p,
            format!(
                "[[probe]]\nid = \"wua\"\nplugin = \"wua\"\n{rules}[probe.config]\nscan_status_csv = \"{}\"\n",
                export.display()
            ),
        )
        .unwrap();
        p
    };
    // One client below the documented minimum: a warning by default.
    let p = cfg("");
    let (code, out, _) = check(&["--config", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    fn walk(items: &serde_json::Value, out: &mut Vec<(String, Option<String>)>) {
        for i in items.as_array().into_iter().flatten() {
            if i["status"] != "ok" {
                out.push((
                    i["id"].as_str().unwrap().to_owned(),
                    i["rule"].as_str().map(str::to_owned),
                ));
            }
            walk(&i["items"], out);
        }
    }
    let mut bad = Vec::new();
    walk(&doc["probes"][0]["report"]["items"], &mut bad);
    assert!(!bad.is_empty());
    assert!(bad.iter().all(|(_, r)| r.is_some()), "{bad:?}");
    // Raised to critical by the operator.
    let p = cfg("[probe.rules]\n\"wua.below-minimum\" = \"critical\"\n");
    let (code, out, _) = check(&["--config", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            " [rule wua.below-minimum, http://technet.microsoft.com/en-us/library/bb680537.aspx]"
        ),
        "{out}"
    );
    let (_, json, _) = check(&["--config", p.to_str().unwrap(), "--format", "json"]);
    assert!(
        json.contains(
            "[probe.rules] \\\"wua.below-minimum\\\" = \\\"critical\\\": WARNING -> CRITICAL"
        ),
        "{json}"
    );
    // Turned off: OK, and the item says it was turned off.
    let p = cfg("[probe.rules]\n\"wua.below-minimum\" = \"off\"\n");
    let (code, out, _) = check(&["--config", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("turned off by config: "), "{out}");
}

/// The README's rule table is generated from the plugins' own index (`patchdeck rules`):
/// it cannot drift. `PATCHDECK_BLESS=1` rewrites it.
#[test]
fn the_readme_rule_table_matches_the_plugins_index() {
    let out = run_patchdeck(&["rules", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cell = |s: &str| s.replace('|', "\\|");
    let mut table =
        String::from("| rule | severity | judges | source |\n| --- | --- | --- | --- |\n");
    let mut seen = std::collections::BTreeSet::new();
    for k in doc.as_array().unwrap() {
        if k["kind"] == "mock" {
            continue;
        }
        for r in k["rules"].as_array().unwrap() {
            let id = r["id"].as_str().unwrap();
            // Shared rules (the wsus server rules in sup-capacity) once.
            if !seen.insert(id.to_owned()) {
                continue;
            }
            let sev = r["severity"].as_str().unwrap().to_uppercase();
            let sev = if r["assumption"] == true {
                format!("{sev} (assumption)")
            } else {
                sev
            };
            let src = r["source"].as_str().unwrap();
            let url = r["url"].as_str().unwrap();
            let source = if url.is_empty() {
                cell(src)
            } else {
                format!("[{}]({url})", cell(src))
            };
            table.push_str(&format!(
                "| `{id}` | {sev} | {} | {source} |\n",
                cell(r["title"].as_str().unwrap())
            ));
        }
    }
    let readme_path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (begin, end) = ("<!-- rules:begin -->\n", "<!-- rules:end -->");
    let a = readme.find(begin).expect("rules:begin marker") + begin.len();
    let b = readme.find(end).expect("rules:end marker");
    if std::env::var_os("PATCHDECK_BLESS").is_some() {
        let new = format!("{}{table}{}", &readme[..a], &readme[b..]);
        std::fs::write(&readme_path, new).unwrap();
        return;
    }
    assert_eq!(
        &readme[a..b],
        table,
        "README's rule table is stale: PATCHDECK_BLESS=1 cargo test --test cli the_readme_rule_table"
    );
}

/// Every query of the shipped export kit parses as T-SQL (a real parser: sqlglot, tsql
/// dialect) and selects exactly the columns the probes' readers read (kit::exports, which the
/// readers use); the Windows runner writes exactly those files and the manifest header the
/// probes parse; the systemd units pass `systemd-analyze verify`.
#[test]
fn the_export_kit_parses_matches_the_readers_and_its_units_verify() {
    let kit = repo_root().join("examples/exports");
    let script = r#"
import json, sys, sqlglot
out = {}
for f in sys.argv[1:]:
    stmts = [s for s in sqlglot.parse(open(f).read(), read="tsql") if s is not None]
    selects = [s for s in stmts if isinstance(s, sqlglot.exp.Select)]
    out[f] = [e.alias_or_name for e in selects[-1].expressions] if selects else None
print(json.dumps(out))
"#;
    let specs: Vec<&patchdeck_kit::exports::ExportSpec> = patchdeck_kit::exports::ALL
        .iter()
        .chain(&patchdeck_kit::exports::SUSDB)
        .collect();
    let files: Vec<String> = specs
        .iter()
        .map(|s| kit.join(s.sql).display().to_string())
        .collect();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .expect("python3 with sqlglot (.ci/install-test-deps installs it)");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (spec, file) in specs.iter().zip(&files) {
        let cols: Vec<&str> = parsed[file]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: no SELECT"))
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cols, spec.columns, "{file}");
        let sql = std::fs::read_to_string(file).unwrap();
        assert!(sql.contains("SET NOCOUNT ON;"), "{file}");
        assert!(
            sql.contains(spec.config_key),
            "{file}: the header names its config key"
        );
    }
    // The runner: the site database's exports, then the WSUS database's when its server is
    // given, each with temp name + rename, the manifest header the probes read.
    let cmd = std::fs::read_to_string(kit.join("run-exports.cmd")).unwrap();
    let list = |n: usize| -> Vec<&str> {
        cmd.split("for %%E in (")
            .nth(n)
            .and_then(|r| r.split(')').next())
            .unwrap()
            .split_whitespace()
            .collect()
    };
    let stems = |specs: &[patchdeck_kit::exports::ExportSpec]| -> Vec<&str> {
        specs
            .iter()
            .map(|s| s.file.trim_end_matches(".csv"))
            .collect()
    };
    assert_eq!(list(1), stems(&patchdeck_kit::exports::ALL));
    assert_eq!(list(2), stems(&patchdeck_kit::exports::SUSDB));
    assert!(cmd.contains(r#"call :export "%SERVER%" "%DB%" %%E || exit /b 1"#));
    assert!(cmd.contains(r#"if not "%WSUSSQL%"=="" ("#));
    assert!(cmd.contains(r#"call :export "%WSUSSQL%" "%WSUSDB%" %%E || exit /b 1"#));
    assert!(cmd.contains("echo File,Rows,TakenUtc,SiteCode,KitVersion"));
    assert!(cmd.contains(r#"move /y "%OUT%\%~3.csv.tmp" "%OUT%\%~3.csv""#));
    assert!(cmd.contains(r#"move /y "%MANIFEST%" "%OUT%\exports.csv""#));
    assert!(
        std::fs::read_to_string(kit.join("patchdeck-exports.xml"))
            .unwrap()
            .contains("run-exports.cmd")
    );
    let units = [
        kit.join("srv-patchdeck-exports.mount"),
        kit.join("srv-patchdeck-exports.automount"),
    ];
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .expect("systemd-analyze (systemd)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `config check` opens every export a probe names: with the exports in place (written like
/// the runner, manifest last) the config is OK; one missing, one stale (its manifest's time),
/// one with a renamed column give three problem lines naming them; `--offline` skips files.
#[test]
fn config_check_opens_every_export() {
    use patchdeck_sitesim::exports::{timestamp, write_like_the_runner, write_manifest};
    let dir = scratch("cli-exports-check");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let scan = "ResourceID,Name0,LastScanTime,LastScanState,LastErrorCode,LastWUAVersion,LastScanPackageLocation\r\n1,PC1,2026-11-20 10:00:00.000,3,0,7.4.7600.226,http://sup01:8530\r\n";
    let msi = "ResourceID,Name0,FileName,FileVersion,FilePath\r\n1,PC1,msi.dll,3.1.4000.2435,C:\\WINDOWS\\system32\\\r\n";
    let clients = "ResourceID,Name0\r\n1,PC1\r\n";
    let messages = "Component,MessageID,Time,SiteCode,MachineName\r\nSMS_WSUS_SYNC_MANAGER,6702,2026-11-20 10:00:00.000,ABC,SITE01\r\n";
    let write_all = |scan: &str, msi: &str, taken_scan: i64| {
        write_like_the_runner(&dir.join("scan_status.csv"), scan.as_bytes()).unwrap();
        write_like_the_runner(&dir.join("msi_files.csv"), msi.as_bytes()).unwrap();
        write_like_the_runner(&dir.join("clients.csv"), clients.as_bytes()).unwrap();
        write_like_the_runner(&dir.join("status_messages.csv"), messages.as_bytes()).unwrap();
        write_manifest(
            &dir,
            "ABC",
            &[
                ("scan_status.csv", 1, taken_scan),
                ("msi_files.csv", 1, now),
                ("clients.csv", 1, now),
                ("status_messages.csv", 1, now),
            ],
        )
        .unwrap();
    };
    write_all(scan, msi, now);
    let cfg = write_config(
        &dir,
        &format!(
            "[[probe]]\nid = \"wua\"\nplugin = \"wua\"\n[probe.config]\nscan_status_csv = \"{d}/scan_status.csv\"\n\n[[probe]]\nid = \"msi\"\nplugin = \"msi\"\n[probe.config]\nsoftware_files_csv = \"{d}/msi_files.csv\"\nclients_csv = \"{d}/clients.csv\"\n\n[[probe]]\nid = \"wsus\"\nplugin = \"wsus\"\n[probe.config]\nurl = \"http://sup01.corp.example:8530\"\nstatus_messages_csv = \"{d}/status_messages.csv\"\nsite_code = \"ABC\"\n",
            d = dir.display()
        ),
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["config", "check", "--config", cfg.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = run_patchdeck(&args);
        (out.status.code(), text(&out.stdout))
    };
    let (code, out) = run(&[]);
    assert_eq!(code, Some(0), "{out}");
    // `patchdeck exports` shows them from the manifest.
    let listing = run_patchdeck(&["exports", "--config", cfg.to_str().unwrap()]);
    let l = text(&listing.stdout);
    assert_eq!(listing.status.code(), Some(0), "{l}");
    assert!(
        l.contains("OK") && l.contains("scan_status.csv") && !l.contains("no manifest"),
        "{l}"
    );

    // Stale (taken 3 days ago), renamed column, missing file: three lines naming them.
    let renamed = msi.replace("FilePath", "Path");
    write_all(scan, &renamed, now - 3 * 86_400);
    std::fs::remove_file(dir.join("status_messages.csv")).unwrap();
    let (code, out) = run(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(": 3 problems"), "{out}");
    assert!(
        out.contains("probe \"wua\": plugin rejected its config: field `scan_status_csv`: export ")
            && out.contains("was taken 72 h ago, over max_export_age_hours 26"),
        "{out}"
    );
    assert!(
        out.contains(
            "probe \"msi\": plugin rejected its config: field `software_files_csv`: export "
        ) && out.contains("lacks the column `FilePath`"),
        "{out}"
    );
    assert!(
        out.contains(
            "probe \"wsus\": plugin rejected its config: field `status_messages_csv`: export "
        ) && out.contains("No such file"),
        "{out}"
    );
    let listing = run_patchdeck(&["exports", "--config", cfg.to_str().unwrap()]);
    let l = text(&listing.stdout);
    assert_eq!(listing.status.code(), Some(1), "{l}");
    assert!(l.contains("STALE") && l.contains("MISSING"), "{l}");
    let (code, out) = run(&["--offline"]);
    assert_eq!(code, Some(0), "--offline skips file checks: {out}");
    let _ = timestamp(now);
}

/// A plugin returning a non-JSON report that holds a secret: the error's preview never shows
/// it, not escaped (a `"` or `\` in it), not cut at 40 characters (a long one), in any output.
#[test]
fn a_secret_in_a_non_json_report_is_never_previewed() {
    let dir = scratch("cli-secret-preview");
    let secret = "pa\"ss\\word-that-is-much-longer-than-forty-characters-1234";
    std::fs::write(dir.join("s"), secret).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("s"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"m\"\nplugin = \"mock\"\n[probe.config]\nraw = { file = \"s\" }\n",
    );
    for format in ["text", "json", "nagios"] {
        let (code, out, err) = check(&["--config", cfg.to_str().unwrap(), "--format", format]);
        assert_eq!(code, 3, "{format}: {out}{err}");
        let all = format!("{out}{err}");
        assert!(all.contains("report is not valid JSON"), "{format}: {all}");
        for leak in [
            "pa\"ss",
            "pa\\\"ss",
            "ss\\word",
            "ss\\\\word",
            "much-longer",
        ] {
            assert!(!all.contains(leak), "{format} leaks {leak:?}: {all}");
        }
    }
}

/// `serve --max-items 1000000000` once aborted on the first scrape (a 600 GB allocation):
/// the value is bounded at the command line, with the limit in the message.
#[test]
fn serve_refuses_an_unbounded_max_items() {
    let out = run_patchdeck(&["serve", "--max-items", "1000000000"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("over the limit of 10000 item series per probe"),
        "{}",
        text(&out.stderr)
    );
}

/// `check -f nagios` with stdout full (/dev/full: ENOSPC) or closed exits 3 like text, never
/// a panic (exit 101).
#[test]
fn nagios_output_to_a_full_or_closed_stdout_is_unknown_not_a_panic() {
    let dir = scratch("cli-dev-full");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"m\"\nplugin = \"mock\"\n[probe.config]\nstatus = \"ok\"\n",
    );
    for format in ["nagios", "text"] {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(patchdeck_bin())
            .args([
                "check",
                "--config",
                cfg.to_str().unwrap(),
                "--format",
                format,
            ])
            .env_remove("PATCHDECK_CONFIG")
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{format}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{}",
            text(&out.stderr)
        );
    }
    // A closed pipe: the reader went away before patchdeck wrote.
    let mut child = std::process::Command::new(patchdeck_bin())
        .args([
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--format",
            "nagios",
        ])
        .env_remove("PATCHDECK_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

/// host->log: 50,000 calls with a line feed in each. The log keeps at most 200 lines a second
/// per instance and says how many it dropped; no message forges a log line.
#[test]
fn a_plugin_flooding_host_log_is_rate_limited_and_cannot_forge_lines() {
    let dir = scratch("cli-log-flood");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"m\"\nplugin = \"mock\"\n[probe.config]\nbehavior = \"log-flood\"\n",
    );
    let log = dir.join("patchdeck.log");
    let out = std::process::Command::new(patchdeck_bin())
        .args(["check", "--config", cfg.to_str().unwrap(), "--log-file"])
        .arg(&log)
        .env_remove("PATCHDECK_CONFIG")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logged.lines().collect();
    assert!(
        !lines.iter().any(|l| l.starts_with("FORGED")),
        "a message forged a line"
    );
    let kept = lines.iter().filter(|l| l.contains("mock log line")).count();
    assert!((1..=400).contains(&kept), "{kept} lines kept");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("mock log line 0\\x0aFORGED")),
        "the line feed is escaped"
    );
}

/// `patchdeck events` text: an event whose cause (an item id from client-reported export data)
/// or summary holds a line feed stays one line.
#[test]
fn events_text_cannot_be_forged_by_a_line_feed() {
    let dir = scratch("cli-events-forge");
    let hist = dir.join("history");
    std::fs::create_dir_all(&hist).unwrap();
    let now = patchdeck_sitesim::exports::timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    )
    .replacen(" ", "T", 1)
    .replace(".000", "Z");
    let rec = serde_json::json!({
        "at": now, "probe": "wua", "from": "ok", "to": "critical",
        "summary": "bad\n2026-01-01T00:00:00Z  forged  OK -> OK  all fine",
        "cause": "PC01\nforged-cause"
    });
    std::fs::write(hist.join("history.jsonl"), format!("{rec}\n")).unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n[[probe]]\nid = \"wua\"\nplugin = \"mock\"\n",
            hist.display()
        ),
    );
    let out = run_patchdeck(&["events", "--config", cfg.to_str().unwrap()]);
    let t = text(&out.stdout);
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{t}");
    assert!(lines[0].contains("\\x0aforged"), "{t}");
}

/// The shipped systemd unit passes `systemd-analyze verify`, its sandbox scores at most 4.0
/// ("OK") in `systemd-analyze security`, it bounds memory and tasks, and a `{ credential = }`
/// secret reads systemd's credentials folder.
#[test]
fn the_serve_unit_verifies_is_bounded_and_credentials_work() {
    let dir = scratch("cli-unit");
    let unit =
        std::fs::read_to_string(repo_root().join("examples/monitoring/patchdeck-serve.service"))
            .unwrap();
    assert!(
        unit.contains("\nMemoryMax=") && unit.contains("\nTasksMax="),
        "{unit}"
    );
    // The man page and /usr/bin exist only once installed (.ci/test-deb checks those).
    let local = unit
        .replace("/usr/bin/patchdeck", &patchdeck_bin().display().to_string())
        .lines()
        .filter(|l| !l.starts_with("Documentation="))
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.join("patchdeck-serve.service");
    std::fs::write(&path, local).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=40"])
        .arg(&path)
        .output()
        .expect("systemd-analyze security");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // { credential = "dp" } with CREDENTIALS_DIRECTORY, as systemd sets it.
    let creds = dir.join("creds");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("dp"), "from-systemd-S3cret").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(creds.join("dp"), std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"m\"\nplugin = \"mock\"\n[probe.config]\nsummary = { credential = \"dp\" }\n",
    );
    let out = std::process::Command::new(patchdeck_bin())
        .args(["check", "--config", cfg.to_str().unwrap()])
        .env_remove("PATCHDECK_CONFIG")
        .env("CREDENTIALS_DIRECTORY", &creds)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("<redacted>"),
        "{}",
        text(&out.stdout)
    );
    assert!(!text(&out.stdout).contains("from-systemd-S3cret"));
    let out = std::process::Command::new(patchdeck_bin())
        .args(["check", "--config", cfg.to_str().unwrap()])
        .env_remove("PATCHDECK_CONFIG")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("$CREDENTIALS_DIRECTORY is not set"),
        "{}",
        text(&out.stderr)
    );
}

/// serve's resident memory in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// A config of six probes with ~800 KB reports each (an hour apart): a state of ~5 MB.
fn big_state_config() -> String {
    let filler = "x".repeat(4000);
    let items: Vec<String> = (0..200)
        .map(|i| {
            format!(
                "{{ id = \"i{i}\", title = \"item {i}\", status = \"ok\", summary = \"{filler}\" }}"
            )
        })
        .collect();
    let mut cfg = String::from("[settings]\ninterval = \"1h\"\n");
    for p in 0..6 {
        cfg.push_str(&format!(
            "\n[[probe]]\nid = \"big{p}\"\nplugin = \"mock\"\n[probe.config]\nitems = [{}]\n",
            items.join(", ")
        ));
    }
    cfg
}

/// Anyone who can reach the port: slow readers of a ~5 MB state must not pin a copy each,
/// and slowloris sockets past the file limit must not stop /healthz: the header timeout
/// closes them and a connection cap keeps serve inside its file limit.
#[test]
fn serve_holds_slow_readers_and_slowloris_inside_a_400_file_limit() {
    use std::io::{Read, Write};
    let dir = scratch("serve-hostile");
    let cfg = big_state_config();
    let cfg = write_config(&dir, &cfg);
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 400 && exec {} serve --config {} --listen 127.0.0.1:{port}",
            patchdeck_bin().display(),
            cfg.display()
        ))
        .env_remove("PATCHDECK_CONFIG")
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _serve = Serve {
        child,
        base: base.clone(),
    };
    wait_until("every probe reported", || {
        http_get(&format!("{base}/api/v1/state"), None).is_some_and(|(_, _, b)| {
            serde_json::from_str::<serde_json::Value>(&b).is_ok_and(|d| {
                d["probes"]
                    .as_array()
                    .is_some_and(|ps| ps.len() == 6 && ps.iter().all(|p| !p["latest"].is_null()))
            })
        })
    });
    let before = rss_bytes(pid);

    // 200 readers that ask for the state and never read it.
    let addr = format!("127.0.0.1:{port}");
    let slow: Vec<std::net::TcpStream> = (0..200)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            write!(s, "GET /api/v1/state HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            s
        })
        .collect();
    // A full answer after them: serve has taken their requests by then.
    let (code, _, body) = http_get(&format!("{base}/api/v1/state"), None)
        .expect("serve answers /api/v1/state while 200 slow readers hold theirs");
    assert_eq!(code, 200);
    assert!(body.len() > 4_000_000, "state of {} bytes", body.len());
    let grown = rss_bytes(pid).saturating_sub(before);
    eprintln!(
        "serve RSS {} MB before, grew {} MB with 200 slow readers of {} bytes",
        before / (1024 * 1024),
        grown / (1024 * 1024),
        body.len()
    );
    assert!(
        grown < 200 * 1024 * 1024,
        "200 slow readers of a {} byte state grew serve by {} MB",
        body.len(),
        grown / (1024 * 1024)
    );
    drop(slow);

    // 450 slowloris sockets (headers never finished): more than the file limit allows.
    let loris: Vec<std::net::TcpStream> = (0..450)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            let _ = write!(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            s
        })
        .collect();
    // The cap holds serve's descriptors well inside its 400-file limit.
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    eprintln!("serve holds {fds} descriptors with 450 slowloris sockets queued");
    assert!(fds <= 256 + 100, "{fds} descriptors");
    wait_until("/healthz answers past 450 slowloris sockets", || {
        http_get(&format!("{base}/healthz"), None).is_some_and(|(c, _, _)| c == 200)
    });
    // The first ones were closed by serve (header timeout), not left open.
    let mut first = &loris[0];
    first
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut rest = Vec::new();
    let closed = first.read_to_end(&mut rest);
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{closed:?}"
    );
}

/// Scrapers never decide a verdict: with a ~5 MB state and 40 clients fetching it back to
/// back, a 1 s probe with a 2 s timeout runs ten times and never times out (rendering once
/// ran per request on the threads that drive the probes, and probes recorded false UNKNOWNs).
#[test]
fn forty_scrapers_of_a_large_state_never_make_a_probe_time_out() {
    let dir = scratch("serve-scraped");
    let mut cfg = big_state_config();
    cfg.push_str(
        "\n[[probe]]\nid = \"tick\"\nplugin = \"mock\"\ninterval = \"1s\"\ntimeout = \"2s\"\n",
    );
    let cfg = write_config(&dir, &cfg);
    let serve = serve_in(&cfg, Some(&dir.join("state")));
    let base = serve.base.clone();
    let state = || {
        http_get(&format!("{base}/api/v1/state"), None)
            .and_then(|(_, _, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
    };
    let tick_runs = |d: &serde_json::Value| -> u64 {
        d["probes"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["id"] == "tick"))
            .and_then(|p| p["latest"]["summary"].as_str())
            .and_then(|s| {
                s.strip_prefix("mock ok (run ")?
                    .strip_suffix(')')?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    wait_until("every probe reported", || {
        state().is_some_and(|d| {
            d["probes"]
                .as_array()
                .is_some_and(|ps| ps.iter().all(|p| !p["latest"].is_null()))
        })
    });
    let start = state().map_or(0, |d| tick_runs(&d));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let scrapes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let scrapers: Vec<_> = (0..40)
        .map(|_| {
            let (done, scrapes, url) = (
                done.clone(),
                scrapes.clone(),
                format!("{base}/api/v1/state"),
            );
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    if http_get(&url, None).is_some_and(|(_, _, b)| b.len() > 4_000_000) {
                        scrapes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut last = serde_json::Value::Null;
    wait_until("the 1 s probe ran ten times under load", || {
        state().is_some_and(|d| {
            let ok = tick_runs(&d) >= start + 10;
            last = d;
            ok
        })
    });
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in scrapers {
        s.join().unwrap();
    }
    eprintln!(
        "{} full scrapes of a ~5 MB state while the probe ran ten times",
        scrapes.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(scrapes.load(std::sync::atomic::Ordering::Relaxed) >= 40);
    let bad: Vec<&serde_json::Value> = last["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["probe"] == "tick" && t["to"] != "ok")
        .collect();
    assert!(bad.is_empty(), "scrape load changed a verdict: {bad:?}");
}

/// `events` on a huge history: 300,000 records and a 200 MB line with no line feed. The
/// whole file once went into memory (and the overlong line into a buffer of its own); now it
/// is streamed: the peak stays small and both sides of the overlong line are read.
#[test]
fn events_streams_a_huge_history_in_bounded_memory() {
    use std::io::Write;
    let dir = scratch("events-huge");
    let hist = dir.join("hist");
    std::fs::create_dir_all(&hist).unwrap();
    let now = patchdeck_sitesim::exports::timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 60,
    )
    .replacen(" ", "T", 1)
    .replace(".000", "Z");
    let record = |probe: &str| {
        format!(
            "{}\n",
            serde_json::json!({"at": now, "probe": probe, "from": "ok", "to": "critical", "summary": "mock critical"})
        )
    };
    {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(hist.join("history.jsonl")).unwrap());
        f.write_all(record("before").as_bytes()).unwrap();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..200 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
        let line = record("after");
        for _ in 0..300_000 {
            f.write_all(line.as_bytes()).unwrap();
        }
        f.flush().unwrap();
    }
    let cfg = write_config(
        &dir,
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n[[probe]]\nid = \"after\"\nplugin = \"mock\"\n",
            hist.display()
        ),
    );
    let out_file = dir.join("events.txt");
    // Reaped by wait4 below, which std's Child does not know about.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(patchdeck_bin())
        .args(["events", "--config", cfg.to_str().unwrap(), "--since", "1d"])
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // wait4: this child's own peak RSS (other tests' children do not count).
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, once, with valid pointers.
    let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{status}"
    );
    let peak_mb = usage.ru_maxrss / 1024;
    eprintln!("events over a 230 MB history: peak RSS {peak_mb} MB");
    assert!(peak_mb < 100, "events peaked at {peak_mb} MB");
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains("before")).count(), 1);
    assert_eq!(
        text.lines().filter(|l| l.contains("after")).count(),
        300_000
    );
}

/// The files patchdeck writes for itself are never followed through a planted symlink, never
/// kept in a folder others can write, and never defaulted to a relative or shared folder.
#[test]
fn history_and_log_refuse_symlinks_shared_folders_and_missing_homes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("private-files");
    let cfg = write_config(&dir, "[[probe]]\nid = \"p\"\nplugin = \"mock\"\n");
    // The dashboard's log through a planted symlink: refused before the screen, target intact.
    let target = dir.join("precious");
    std::fs::write(&target, "untouched\n").unwrap();
    let link = dir.join("patchdeck.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = std::process::Command::new(patchdeck_bin())
        .args(["--config", cfg.to_str().unwrap(), "--log-file"])
        .arg(&link)
        .env_remove("PATCHDECK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("refused: log file")
            && text(&o.stderr).contains("is a symbolic link"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");

    // No HOME and no XDG_STATE_HOME: no default log folder (never $TMPDIR or ./).
    let o = std::process::Command::new(patchdeck_bin())
        .args(["--config", cfg.to_str().unwrap()])
        .env_remove("PATCHDECK_CONFIG")
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("HOME and XDG_STATE_HOME are unset; pass --log-file"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        !dir.join("patchdeck").exists(),
        "nothing written under the working folder"
    );

    // events from a history folder others can write: refused, naming the folder.
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("history.jsonl"), "").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let cfg2 = write_config(
        &dir,
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n[[probe]]\nid = \"p\"\nplugin = \"mock\"\n",
            shared.display()
        ),
    );
    let o = run_patchdeck(&["events", "--config", cfg2.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o.stderr).contains("is writable by group or others (mode 0777)"),
        "{}",
        text(&o.stderr)
    );
}

/// `check -t` takes plain seconds like every Monitoring Plugin; 0 is a usage error that
/// Nagios sees as one UNKNOWN line on stdout.
#[test]
fn check_timeout_takes_plain_seconds_and_refuses_zero() {
    let dir = scratch("check-t");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"slow\"\nplugin = \"mock\"\ntimeout = \"30s\"\n[probe.config]\ndelay_ms = 30000\n",
    );
    let o = run_patchdeck(&[
        "check",
        "--config",
        cfg.to_str().unwrap(),
        "-f",
        "nagios",
        "-t",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("slow UNKNOWN"),
        "{}",
        text(&o.stdout)
    );
    assert!(text(&o.stdout).contains("1s"), "{}", text(&o.stdout));
    let o = run_patchdeck(&[
        "check",
        "--config",
        cfg.to_str().unwrap(),
        "-f",
        "nagios",
        "-t",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(
            "PATCHDECK UNKNOWN - bad arguments: invalid value '0' for '--timeout <SECONDS>'"
        ),
        "{out}"
    );
}

/// Two writers on one history folder renamed each other's live file at every rotation (one
/// writer kept 182 records in 30 s, two kept 13 each): a second serve is refused, naming the
/// first's pid.
#[test]
fn a_second_serve_on_one_history_is_refused_naming_the_first() {
    let dir = scratch("serve-lock");
    let hist = dir.join("hist");
    let cfg = write_config(
        &dir,
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n[[probe]]\nid = \"p\"\nplugin = \"mock\"\n",
            hist.display()
        ),
    );
    let first = serve(&cfg);
    let port = closed_port();
    let o = std::process::Command::new(patchdeck_bin())
        .args(["serve", "--config", cfg.to_str().unwrap(), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("PATCHDECK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!(
            "history folder {} is in use by pid {}",
            hist.display(),
            first.child.id()
        )),
        "{err}"
    );
    drop(first);
    // Once the first is gone, the folder is free again.
    let again = serve(&cfg);
    drop(again);
}

/// Options work before or after the command, and each command's help shows only what
/// applies to it: `demo --mouse` parses, `--config` works on either side of `check`, and
/// neither `completions -h` offers `--config` nor `check -h` offers `--mouse`.
#[test]
fn options_work_on_either_side_of_the_command_and_help_shows_what_applies() {
    let dir = scratch("cli-options");
    let cfg = write_config(
        &dir,
        "[[probe]]\nid = \"m\"\nplugin = \"mock\"\n[probe.config]\nstatus = \"warning\"\n",
    );
    let cfg = cfg.to_str().unwrap();
    let after = run_patchdeck(&["check", "--config", cfg]);
    let before = run_patchdeck(&["--config", cfg, "check"]);
    assert_eq!(after.status.code(), Some(1), "{}", text(&after.stderr));
    assert_eq!(before.status.code(), Some(1), "{}", text(&before.stderr));
    // The same report either way (the run's milliseconds aside).
    let verdict = |o: &std::process::Output| {
        text(&o.stdout)
            .lines()
            .map(|l| l.split("  [").next().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(verdict(&after), verdict(&before));
    // After the command wins.
    let both = run_patchdeck(&["--config", "/nonexistent.toml", "check", "--config", cfg]);
    assert_eq!(both.status.code(), Some(1), "{}", text(&both.stderr));

    // demo takes the display options after it (a missing scenario is the error, not --mouse).
    let demo = run_patchdeck(&[
        "demo",
        "--mouse",
        "--ascii",
        "--no-color",
        "--scenario",
        "/nonexistent-scenario.toml",
    ]);
    assert_eq!(demo.status.code(), Some(3));
    let err = text(&demo.stderr);
    assert!(err.contains("/nonexistent-scenario.toml"), "{err}");
    assert!(!err.contains("unexpected argument"), "{err}");

    let help = |args: &[&str]| text(&run_patchdeck(args).stdout);
    let completions = help(&["completions", "-h"]);
    assert!(!completions.contains("--config"), "{completions}");
    assert!(!completions.contains("--plugin-dir"), "{completions}");
    let check = help(&["check", "-h"]);
    assert!(
        check.contains("--config") && !check.contains("--mouse"),
        "{check}"
    );
    let demo = help(&["demo", "-h"]);
    assert!(
        demo.contains("--mouse") && !demo.contains("--config"),
        "{demo}"
    );
}
