//! Reads the software-inventory export (`v_GS_SoftwareFile`, msi.dll rows) and the client
//! list (`v_R_System`) into a [`Census`]: the running Windows Installer per client.

use patchdeck_kit::inventory::{self, ExportError};
use patchdeck_kit::report::Names;
use patchdeck_kit::version::WinVersion;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

pub const LIST: usize = 500;

/// True for the folder of the running Windows Installer: `system32` directly under the
/// Windows folder (`C:\WINDOWS\system32\`). Copies under `ServicePackFiles\i386`,
/// `$NtUninstallKB893803$`, `system32\dllcache`, `i386` or a program's folder are installers'
/// leftovers: software inventory lists every copy, the system only loads this one.
pub fn is_system_copy(file_path: &str) -> bool {
    let parts: Vec<&str> = file_path
        .split(['\\', '/'])
        .filter(|p| !p.is_empty())
        .collect();
    matches!(parts.as_slice(), [drive, _windir, last]
        if drive.ends_with(':') && last.eq_ignore_ascii_case("system32"))
}

/// What the exports say.
#[derive(Debug, Clone, Default)]
pub struct Census {
    /// Clients with a system msi.dll and its version (None = unreadable).
    pub by_version: BTreeMap<Option<WinVersion>, Vec<String>>,
    pub with_msi: u64,
    /// Clients per version (same keys as `by_version`), counted whole.
    pub counts: BTreeMap<Option<WinVersion>, u64>,
    pub unparsable: Vec<(String, String)>,
    /// Rows of msi.dll copies outside system32, ignored: count and a few "name: path".
    pub other_copies: u64,
    pub other_examples: Vec<String>,
    /// Clients with no system msi.dll: in the client list without a row, or with copies only
    /// outside system32.
    pub unknown: Names,
    /// All clients: from the client list when given, else the inventoried ones.
    pub population: u64,
    pub has_client_list: bool,
}

/// Per client id: name and highest system msi.dll version.
type SystemCopies = HashMap<i64, (String, Option<WinVersion>)>;
/// Per client id with msi.dll copies only outside system32: its name.
type OnlyElsewhere = HashMap<i64, String>;

/// The highest system msi.dll per client (a client may list several rows: not adjacent).
fn read_files(path: &Path) -> Result<(SystemCopies, OnlyElsewhere, Census), ExportError> {
    let mut system: HashMap<i64, (String, Option<WinVersion>)> = HashMap::new();
    let mut only_elsewhere: HashMap<i64, String> = HashMap::new();
    let mut c = Census::default();
    inventory::read(path, patchdeck_kit::exports::MSI_FILES.columns, |row| {
        if !row
            .get(2)
            .is_some_and(|f| f.eq_ignore_ascii_case("msi.dll"))
        {
            return Ok(());
        }
        let id = row.id(0)?;
        let name = row.get(1).unwrap_or("(no name)");
        let folder = row.get(4).unwrap_or("");
        if !is_system_copy(folder) {
            c.other_copies += 1;
            if c.other_examples.len() < 20 {
                c.other_examples.push(format!("{name}: {folder}"));
            }
            if !system.contains_key(&id) {
                only_elsewhere.entry(id).or_insert_with(|| name.to_owned());
            }
            return Ok(());
        }
        only_elsewhere.remove(&id);
        let version = match row.get(3) {
            None => None,
            // File versions often carry a build tag: "3.1.4000.2435 (srv03_sp1_rtm.050330-1612)".
            Some(v) => match v
                .split_whitespace()
                .next()
                .unwrap_or("")
                .parse::<WinVersion>()
            {
                Ok(v) => Some(v),
                Err(_) => {
                    if c.unparsable.len() < 50 {
                        c.unparsable.push((name.to_owned(), v.to_owned()));
                    }
                    None
                }
            },
        };
        let entry = system.entry(id).or_insert_with(|| (name.to_owned(), None));
        if version > entry.1 {
            entry.1 = version;
        }
        Ok(())
    })?;
    Ok((system, only_elsewhere, c))
}

pub fn census(files: &Path, clients: Option<&Path>) -> Result<Census, ExportError> {
    let (system, only_elsewhere, mut c) = read_files(files)?;
    c.unknown = Names::new(LIST);
    match clients {
        Some(path) => {
            c.has_client_list = true;
            let mut seen = HashSet::new();
            inventory::read(path, patchdeck_kit::exports::CLIENTS.columns, |row| {
                let id = row.id(0)?;
                if !seen.insert(id) {
                    return Ok(());
                }
                if !system.contains_key(&id) {
                    c.unknown.push(row.get(1).unwrap_or("(no name)"));
                }
                Ok(())
            })?;
            c.population = (seen.len() as u64).max(system.len() as u64);
        }
        None => {
            let mut names: Vec<&String> = only_elsewhere.values().collect();
            names.sort();
            for n in names {
                c.unknown.push(n);
            }
            c.population = (system.len() + only_elsewhere.len()) as u64;
        }
    }
    c.with_msi = system.len() as u64;
    for (name, v) in system.into_values() {
        *c.counts.entry(v).or_default() += 1;
        let names = c.by_version.entry(v).or_default();
        if names.len() < LIST {
            names.push(name);
        }
    }
    for names in c.by_version.values_mut() {
        names.sort();
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::is_system_copy;

    #[test]
    fn only_system32_under_the_windows_folder_is_the_running_installer() {
        for yes in [
            r"C:\WINDOWS\system32\",
            r"C:\WINNT\System32",
            r"D:\Windows\SYSTEM32\",
        ] {
            assert!(is_system_copy(yes), "{yes}");
        }
        for no in [
            r"C:\WINDOWS\ServicePackFiles\i386\",
            r"C:\WINDOWS\$NtUninstallKB893803v2$\",
            r"C:\WINDOWS\system32\dllcache\",
            r"C:\I386\",
            r"C:\Program Files\Vendor\system32\",
            "",
        ] {
            assert!(!is_system_copy(no), "{no}");
        }
    }
}
