//! `patchdeck demo`: a simulated site on loopback, the real plugins, the dashboard.

use crate::app::{self, TuiOptions};
use crate::headless::Options;
use anyhow::Context;
use patchdeck_core::config;
use patchdeck_core::engine::Engine;
use patchdeck_sitesim::{Scenario, Site};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Seconds between chaos flips.
const CHAOS_EVERY: Duration = Duration::from_secs(7);

/// Removes the demo's private folder on every exit path.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn run(
    opts: &Options,
    scenario: Option<&Path>,
    chaos: bool,
    tui: TuiOptions,
) -> anyhow::Result<u8> {
    let scenario = match scenario {
        None => Scenario::default_site(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read scenario {}", path.display()))?;
            Scenario::parse(&path.display().to_string(), &text).map_err(anyhow::Error::msg)?
        }
    };
    // The site lives as long as the demo: leaking it keeps its servers' threads valid.
    let site: &'static Site = Box::leak(Box::new(Site::start(scenario)));
    let dir = std::env::temp_dir().join(format!("patchdeck-demo-{}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let _cleanup = TempDir(dir.clone());
    let path = dir.join("patchdeck.toml");
    // Network probes plus the site-database exports (scan status, msi.dll inventory, sync
    // messages, site-server programs) written into the same private folder.
    let text = site
        .config_toml_with_inventory("5s", &dir)
        .with_context(|| format!("cannot write exports into {}", dir.display()))?;
    // The demo's transitions stay in its private folder, not in the operator's history.
    let text = text.replacen(
        "[settings]\n",
        &format!(
            "[settings]\nhistory_dir = \"{}\"\n",
            dir.join("history").display()
        ),
        1,
    );
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(config = %path.display(), "demo site started");
    let config = config::load(&path)?;
    let engine = Engine::build(config, &opts.engine_options()).await?;
    if chaos {
        std::thread::Builder::new()
            .name("chaos".into())
            .spawn(move || {
                for n in 0.. {
                    std::thread::sleep(CHAOS_EVERY);
                    let what = site.chaos_step(n * 3);
                    tracing::info!("chaos: {what}");
                }
            })?;
    }
    app::run(engine, tui).await
}
