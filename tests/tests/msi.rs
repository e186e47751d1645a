//! The real `msi` plugin (.so, isolated) on v_GS_SoftwareFile and v_R_System exports.

use patchdeck_probe_api::{Item, Status};
use patchdeck_tests::*;
use std::path::Path;

async fn run(files: &Path, clients: Option<&Path>) -> patchdeck_core::store::CheckResult {
    let dir = scratch("msi");
    let mut cfg = format!(
        "[[probe]]\nid = \"msi\"\nplugin = \"msi\"\n[probe.config]\nsoftware_files_csv = \"{}\"\n",
        files.display()
    );
    if let Some(c) = clients {
        cfg.push_str(&format!("clients_csv = \"{}\"\n", c.display()));
    }
    check_once(&dir, &cfg).await
}

fn item<'a>(items: &'a [Item], id: &str) -> &'a Item {
    items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

fn exports(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let files = dir.join("software_files.csv");
    // As software inventory lists msi.dll: every copy, with its folder. Only system32 under
    // the Windows folder is the running Windows Installer.
    std::fs::write(
        &files,
        "ResourceID,Name0,FileName,FileVersion,FilePath\r\n\
1,PC01,msi.dll,3.1.4000.2435 (srv03_sp1_rtm.050330-1612),C:\\WINDOWS\\system32\\\r\n\
1,PC01,MSI.DLL,3.1.4000.1823,C:\\WINDOWS\\$NtUninstallKB893803v2$\\\r\n\
2,PC02,msi.dll,4.5.6001.22159,C:\\WINDOWS\\system32\\\r\n\
3,PC03,msi.dll,3.1.4000.1823,C:\\WINDOWS\\system32\\\r\n\
3,PC03,msi.dll,4.5.6001.22159,C:\\WINDOWS\\ServicePackFiles\\i386\\\r\n\
4,PC04,msi.dll,3.1.4001.5512,C:\\WINDOWS\\system32\\\r\n\
5,PC05,msi.dll,three,C:\\WINDOWS\\system32\\\r\n\
6,PC06,kernel32.dll,5.1.2600.5512,C:\\WINDOWS\\system32\\\r\n\
8,PC08,msi.dll,3.0.3790.2180,D:\\WINNT\\System32\\\r\n",
    )
    .unwrap();
    let clients = dir.join("clients.csv");
    let mut text = "ResourceID,Name0\r\n".to_owned();
    for i in 1..=8 {
        text.push_str(&format!("{i},PC0{i}\r\n"));
    }
    std::fs::write(&clients, text).unwrap();
    (files, clients)
}

#[tokio::test]
async fn only_the_system_copy_counts_and_v1_is_a_warning() {
    let dir = scratch("msi-exact");
    let (files, clients) = exports(&dir);
    let r = run(&files, Some(&clients)).await;
    assert_eq!(
        r.summary,
        "8 clients: 3 clients (37.5 %) unknown (2 with no msi.dll in system32 in the inventory, 1 with no readable FileVersion): not counted as compliant: at or over the 20 % critical line",
        "{r:?}"
    );
    // Over the critical line of unknowns the probe cannot tell: UNKNOWN, never OK.
    assert_eq!(r.status, Status::Unknown, "{}", r.summary);
    let rep = r.report.unwrap();
    let versions = item(&rep.items, "versions");
    let ids: Vec<&str> = versions.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "4.5.6001.22159",
            "3.1.4001.5512",
            "3.1.4000.2435",
            "3.1.4000.1823",
            "3.0.3790.2180",
            "unreadable"
        ],
        "PC03's ServicePackFiles copy of 4.5 is not what runs"
    );
    assert_eq!(
        item(&versions.items, "4.5.6001.22159").summary,
        "1 client (12.5 %)",
        "only PC02 runs 4.5"
    );
    let v1 = item(&rep.items, "v1");
    assert_eq!(
        (v1.status, v1.details[0].label.as_str()),
        (Status::Warning, "PC03")
    );
    assert!(
        v1.summary
            .starts_with("1 client (12.5 %) on Windows Installer 3.1 v1"),
        "{}",
        v1.summary
    );
    let below = item(&rep.items, "below-3.1");
    assert_eq!(
        (below.status, below.details[0].label.as_str()),
        (Status::Warning, "PC08")
    );
    assert_eq!(
        item(&versions.items, "unreadable").details[0].value,
        "three"
    );
    let unknown = item(&rep.items, "unknown");
    let names: Vec<&str> = unknown.details.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(
        names,
        ["PC06", "PC07", "PC05"],
        "no msi.dll row, or no readable version = unknown, never compliant"
    );
    assert_eq!(
        unknown.status,
        Status::Unknown,
        "3 of 8 = 37.5 %: {}",
        unknown.summary
    );
    assert!(
        rep.details
            .iter()
            .any(|d| d.label == "msi.dll copies outside system32 (ignored)"
                && d.value.starts_with("2 rows"))
    );
    for i in rep.items.iter().chain(&versions.items) {
        if i.status != Status::Ok {
            assert!(i.evidence.is_some() && i.fix.is_some(), "{i:?}");
        }
    }
}

#[tokio::test]
async fn without_a_client_list_only_inventoried_clients_count() {
    let dir = scratch("msi-no-clients");
    let (files, _) = exports(&dir);
    let r = run(&files, None).await;
    assert!(r.summary.starts_with("6 clients: "), "{}", r.summary);
    // PC05's unreadable FileVersion is the only unknown: 1 of 6 = 16.7 %, a warning.
    assert_eq!(r.status, Status::Warning, "{}", r.summary);
    let rep = r.report.unwrap();
    let unknown = item(&rep.items, "unknown");
    assert!(
        unknown
            .summary
            .starts_with("1 client (16.7 %) unknown (0 with no msi.dll"),
        "{}",
        unknown.summary
    );
}

#[tokio::test]
async fn a_bad_export_is_unknown_with_its_location() {
    let dir = scratch("msi-bad");
    let files = dir.join("f.csv");
    std::fs::write(
        &files,
        "ResourceID,Name0,FileName,FileVersion\r\n1,PC1,msi.dll,3.1\r\n",
    )
    .unwrap();
    let r = run(&files, None).await;
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.summary
            .contains(&format!("{}:1: missing column `FilePath`", files.display())),
        "{}",
        r.summary
    );
}

#[tokio::test]
async fn a_new_client_list_alone_is_picked_up() {
    let dir = scratch("msi-cache");
    let (files, clients) = exports(&dir);
    let cfg = format!(
        "[[probe]]\nid = \"msi\"\nplugin = \"msi\"\n[probe.config]\nsoftware_files_csv = \"{}\"\nclients_csv = \"{}\"\n",
        files.display(),
        clients.display()
    );
    let e = engine(&dir, &cfg, &[]).await;
    let unknown = |r: &patchdeck_core::store::CheckResult| {
        r.report
            .as_ref()
            .unwrap()
            .items
            .iter()
            .find(|i| i.id == "unknown")
            .unwrap()
            .summary
            .clone()
    };
    assert!(unknown(&e.probes[0].run_once().await).starts_with("3 clients (37.5 %)"));
    // Only the client list changes (a new computer joined): the cached result must not hide it.
    let mut text = std::fs::read_to_string(&clients).unwrap();
    text.push_str("9,PC09\r\n");
    std::fs::write(&clients, text).unwrap();
    let r = e.probes[0].run_once().await;
    assert!(
        unknown(&r).starts_with("4 clients (44.4 %)"),
        "{}",
        unknown(&r)
    );
    e.shutdown().await;
}
