//! Finding plugin files and reading their descriptors.
//!
//! Descriptors are read in a `patchdeck-probe-host --inspect` child, so a library that
//! crashes while loading is reported ("crashed while loading: SIGSEGV") instead of taking
//! patchdeck down.

use crate::isolated::describe_exit;
use crate::plugin::{PluginInfo, check_permissions};
use crate::protocol::{ToHost, read_frame_async};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// One library file found in a plugin folder (or named by a probe).
#[derive(Debug, Clone)]
pub struct PluginFile {
    pub path: PathBuf,
    /// The descriptor, when the file is a valid plugin.
    pub info: Option<PluginInfo>,
    /// Why the file cannot be used (refused, invalid descriptor, duplicate kind, ...).
    pub problem: Option<String>,
}

/// Everything discovery found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub files: Vec<PluginFile>,
    /// Problems with the folders themselves (missing, unreadable).
    pub folder_problems: Vec<String>,
    /// Kind -> index into `files` of the file that provides it.
    pub kinds: HashMap<String, usize>,
}

impl Discovery {
    /// The usable file providing a kind.
    pub fn by_kind(&self, kind: &str) -> Option<&PluginFile> {
        self.kinds.get(kind).map(|&i| &self.files[i])
    }

    /// The entry for a library path (after canonicalisation).
    pub fn by_path(&self, path: &Path) -> Option<&PluginFile> {
        let want = canonical(path);
        self.files.iter().find(|f| canonical(&f.path) == want)
    }

    /// Known kinds, sorted, for "unknown kind" messages.
    pub fn kind_names(&self) -> Vec<String> {
        let mut k: Vec<String> = self.kinds.keys().cloned().collect();
        k.sort();
        k
    }
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())
}

/// Finds `patchdeck-probe-host`: `$PATCHDECK_PROBE_HOST` when set; else in `../lib/patchdeck/`
/// relative to the running binary (an installed package: `/usr/bin/patchdeck` and
/// `/usr/lib/patchdeck/patchdeck-probe-host`), next to it (a development build:
/// `target/release/`), or one folder up (cargo's test binaries).
pub fn locate_probe_host() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PATCHDECK_PROBE_HOST").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the running binary: {e}"))?;
    let name = format!("patchdeck-probe-host{}", std::env::consts::EXE_SUFFIX);
    let dir = exe.parent().unwrap_or(Path::new("."));
    let up = dir.parent().unwrap_or(dir);
    let candidates = [
        installed_lib_dir(dir).join(&name),
        dir.join(&name),
        up.join(&name),
    ];
    for candidate in &candidates {
        if candidate.is_file() {
            return Ok(candidate.clone());
        }
    }
    Err(format!(
        "cannot find {name}: looked in {}. patchdeck runs every probe in that helper: install \
         the Debian package (it puts it in /usr/lib/patchdeck/), build the whole workspace \
         (`cargo build --release --workspace`, which puts it next to patchdeck), or set \
         PATCHDECK_PROBE_HOST to its path. (`cargo install --path tui` installs patchdeck \
         alone; also run `cargo install --path core` for the helper and copy the plugin \
         libraries into a plugin_dirs folder)",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The folders searched for plugins after the config's `plugin_dirs`: for an installed
/// package (`/usr/bin/patchdeck`), `../lib/patchdeck/plugins/` relative to the binary and
/// only that (never `/usr/bin` itself, which holds unrelated libraries such as `ld.so`);
/// otherwise the binary's own folder (a development build: `target/release/`).
pub fn builtin_plugin_dirs() -> Vec<PathBuf> {
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    else {
        return vec![];
    };
    builtin_plugin_dirs_for(&dir)
}

/// `../lib/patchdeck` relative to the binary's folder: where the Debian package puts the
/// probe host and the plugins (`/usr/bin` -> `/usr/lib/patchdeck`).
fn installed_lib_dir(exe_dir: &Path) -> PathBuf {
    exe_dir
        .parent()
        .unwrap_or(exe_dir)
        .join("lib")
        .join("patchdeck")
}

fn builtin_plugin_dirs_for(exe_dir: &Path) -> Vec<PathBuf> {
    let lib = installed_lib_dir(exe_dir).join("plugins");
    if lib.is_dir() {
        vec![lib]
    } else {
        vec![exe_dir.to_owned()]
    }
}

/// Scans `dirs` for shared libraries and adds the `explicit` files, then reads every
/// descriptor in an isolated child. Kinds map to the first file providing them.
pub async fn discover(
    dirs: &[PathBuf],
    explicit: &[PathBuf],
    host_exe: &Path,
    allow_insecure: bool,
) -> Discovery {
    let mut out = Discovery::default();
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                out.folder_problems
                    .push(format!("plugin folder {}: {e}", dir.display()));
                continue;
            }
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.to_string_lossy().ends_with(std::env::consts::DLL_SUFFIX))
            .collect();
        found.sort();
        for p in found {
            if seen.insert(canonical(&p)) {
                paths.push(p);
            }
        }
    }
    for p in explicit {
        if seen.insert(canonical(p)) {
            paths.push(p.clone());
        }
    }

    let mut to_inspect = Vec::new();
    for p in paths {
        let problem = if !p.exists() {
            Some(format!("plugin file {} does not exist", p.display()))
        } else if allow_insecure {
            None
        } else {
            check_permissions(&p).err()
        };
        if problem.is_none() {
            to_inspect.push(out.files.len());
        }
        out.files.push(PluginFile {
            path: p,
            info: None,
            problem,
        });
    }
    let files: Vec<PathBuf> = to_inspect
        .iter()
        .map(|&i| out.files[i].path.clone())
        .collect();
    let results = inspect(host_exe, &files).await;
    for (&i, result) in to_inspect.iter().zip(results) {
        match result {
            Ok(info) => out.files[i].info = Some(info),
            Err(e) => out.files[i].problem = Some(e),
        }
    }
    for i in 0..out.files.len() {
        let Some(kind) = out.files[i].info.as_ref().map(|inf| inf.kind.clone()) else {
            continue;
        };
        match out.kinds.get(&kind) {
            Some(&first) => {
                let first_path = out.files[first].path.display().to_string();
                out.files[i].problem = Some(format!(
                    "kind \"{kind}\" is also provided by {first_path}, which is used"
                ));
            }
            None => {
                out.kinds.insert(kind, i);
            }
        }
    }
    out
}

/// Reads descriptors in `patchdeck-probe-host --inspect` children. When a child dies on a
/// file, that file is reported as crashing and inspection goes on with the rest.
pub async fn inspect(host_exe: &Path, files: &[PathBuf]) -> Vec<Result<PluginInfo, String>> {
    let mut results: Vec<Result<PluginInfo, String>> = Vec::with_capacity(files.len());
    while results.len() < files.len() {
        let rest = &files[results.len()..];
        let mut child = match tokio::process::Command::new(host_exe)
            .arg("--inspect")
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("cannot start {}: {e}", host_exe.display());
                results.extend(rest.iter().map(|_| Err(msg.clone())));
                break;
            }
        };
        let mut stdout = child.stdout.take().expect("piped stdout");
        let before = results.len();
        loop {
            let frame = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                read_frame_async::<_, ToHost>(&mut stdout),
            )
            .await;
            match frame {
                Ok(Ok(Some(ToHost::Inspected { outcome, .. }))) => {
                    results.push(outcome);
                    if results.len() == files.len() {
                        break;
                    }
                }
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) | Ok(Err(_)) => {
                    let status = child.wait().await.ok();
                    let why = status
                        .map(describe_exit)
                        .unwrap_or_else(|| "probe host vanished".into());
                    let why = why.replace("probe host died: ", "");
                    results.push(Err(format!("crashed while loading: {why}")));
                    break;
                }
                Err(_) => {
                    let _ = child.start_kill();
                    results.push(Err("hung while loading (no answer within 10s)".into()));
                    break;
                }
            }
        }
        let _ = child.wait().await;
        if results.len() == before {
            results.push(Err("probe host gave no answer".into()));
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_binary_searches_its_lib_folder_never_its_own_bin_folder() {
        let root = std::env::temp_dir().join(format!("pd-builtin-{}", std::process::id()));
        let bin = root.join("usr/bin");
        std::fs::create_dir_all(&bin).unwrap();
        // A development layout (target/release/): the binary's own folder.
        assert_eq!(builtin_plugin_dirs_for(&bin), vec![bin.clone()]);
        // An installed package: /usr/lib/patchdeck/plugins only (/usr/bin holds ld.so).
        let plugins = root.join("usr/lib/patchdeck/plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        assert_eq!(builtin_plugin_dirs_for(&bin), vec![plugins]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
