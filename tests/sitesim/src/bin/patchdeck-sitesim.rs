//! `patchdeck-sitesim [SCENARIO.toml] [--interval 30s]`: serves a simulated ConfigMgr 2007
//! site on loopback and prints a patchdeck config for it; runs until interrupted.

use patchdeck_sitesim::exports::{Encoding, ScanStatus, write_scan_status};
use patchdeck_sitesim::{Scenario, Site};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut scenario_file = None;
    let mut interval = "30s".to_owned();
    let mut scan_status: Option<String> = None;
    let (mut clients, mut seed, mut utf16) = (30_000usize, 2010u64, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--interval" => interval = args.next().unwrap_or(interval),
            "--scan-status" => scan_status = args.next(),
            "--clients" => clients = args.next().and_then(|v| v.parse().ok()).unwrap_or(clients),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--utf16" => utf16 = true,
            "-h" | "--help" => {
                println!(
                    "usage: patchdeck-sitesim [SCENARIO.toml] [--interval 30s]\n\
                     \x20      patchdeck-sitesim --scan-status FILE [--clients 30000] [--seed 2010] [--utf16]\n\
                     Serves a simulated ConfigMgr 2007 site on 127.0.0.1 and prints a patchdeck config for it,\n\
                     or writes a v_UpdateScanStatus export (UTF-8 CSV, or UTF-16LE with tabs) and exits.\n\
                     Scenarios: tests/sitesim/scenarios/*.toml (default: the built-in demo site)."
                );
                return;
            }
            f => scenario_file = Some(f.to_owned()),
        }
    }
    if let Some(file) = scan_status {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let o = ScanStatus {
            clients,
            seed,
            site: "ABC".into(),
            sups: vec!["http://SUP01:8530".into()],
            now,
            encoding: if utf16 {
                Encoding::Utf16LeTab
            } else {
                Encoding::Utf8Comma
            },
            healthy: false,
        };
        if let Err(e) = write_scan_status(std::path::Path::new(&file), &o) {
            eprintln!("patchdeck-sitesim: {file}: {e}");
            std::process::exit(2);
        }
        return;
    }
    let scenario = match scenario_file {
        None => Scenario::default_site(),
        Some(f) => match std::fs::read_to_string(&f)
            .map_err(|e| format!("{f}: {e}"))
            .and_then(|t| Scenario::parse(&f, &t))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("patchdeck-sitesim: {e}");
                std::process::exit(2);
            }
        },
    };
    let site = Site::start(scenario);
    print!("{}", site.config_toml(&interval));
    // A line scripts can wait for: the config is complete and the servers are answering.
    println!("# end of config: serving until killed");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
