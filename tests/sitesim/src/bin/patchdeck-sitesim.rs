//! `patchdeck-sitesim [SCENARIO.toml] [--interval 30s]`: serves a simulated ConfigMgr 2007
//! site on loopback and prints a patchdeck config for it; runs until interrupted.

use patchdeck_sitesim::{Scenario, Site};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut scenario_file = None;
    let mut interval = "30s".to_owned();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--interval" => interval = args.next().unwrap_or(interval),
            "-h" | "--help" => {
                println!(
                    "usage: patchdeck-sitesim [SCENARIO.toml] [--interval 30s]\n\
                     Serves a simulated ConfigMgr 2007 site on 127.0.0.1 and prints a patchdeck config for it.\n\
                     Scenarios: tests/sitesim/scenarios/*.toml (default: the built-in demo site)."
                );
                return;
            }
            f => scenario_file = Some(f.to_owned()),
        }
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
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
