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
    std::fs::write(
        &files,
        "ResourceID,Name0,FileName,FileVersion\r\n\
1,PC01,msi.dll,3.1.4000.2435 (srv03_sp1_rtm.050330-1612)\r\n\
1,PC01,MSI.DLL,3.1.4000.1823\r\n\
2,PC02,msi.dll,4.5.6001.22159\r\n\
3,PC03,msi.dll,3.1.4000.1823\r\n\
4,PC04,msi.dll,3.1.4001.5512\r\n\
5,PC05,msi.dll,three\r\n\
6,PC06,kernel32.dll,5.1.2600.5512\r\n",
    )
    .unwrap();
    let clients = dir.join("clients.csv");
    let mut text = "ResourceID,Name0\r\n".to_owned();
    for i in 1..=7 {
        text.push_str(&format!("{i},PC0{i}\r\n"));
    }
    std::fs::write(&clients, text).unwrap();
    (files, clients)
}

#[tokio::test]
async fn versions_below_minimum_and_unknown_clients() {
    let dir = scratch("msi-exact");
    let (files, clients) = exports(&dir);
    let r = run(&files, Some(&clients)).await;
    assert_eq!(
        r.summary, "7 clients · 42.9 % at >= 3.1.4000.2435 · 1 below · 2 unknown",
        "{r:?}"
    );
    assert_eq!(r.status, Status::Critical, "2 of 7 unknown is over 20 %");
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
            "unreadable"
        ]
    );
    assert_eq!(
        item(&versions.items, "3.1.4000.2435").summary,
        "1 clients (14.3 %)",
        "PC01's highest msi.dll counts"
    );
    assert_eq!(
        item(&versions.items, "3.1.4000.1823").status,
        Status::Critical
    );
    assert_eq!(
        item(&versions.items, "unreadable").details[0].value,
        "three"
    );
    let below = item(&rep.items, "below-minimum");
    assert_eq!(below.status, Status::Warning);
    assert_eq!(below.details[0].label, "PC03");
    let unknown = item(&rep.items, "unknown");
    let names: Vec<&str> = unknown.details.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(
        names,
        ["PC06", "PC07"],
        "no msi.dll row = unknown, never compliant"
    );
    assert!(
        unknown
            .summary
            .ends_with("is software inventory collecting msi.dll?")
    );
}

#[tokio::test]
async fn without_a_client_list_only_inventoried_clients_count() {
    let dir = scratch("msi-no-clients");
    let (files, _) = exports(&dir);
    let r = run(&files, None).await;
    assert_eq!(
        r.summary,
        "5 clients · 60.0 % at >= 3.1.4000.2435 · 1 below"
    );
    assert_eq!(r.status, Status::Critical, "1 of 5 below is 20 %");
    assert!(r.report.unwrap().items.iter().all(|i| i.id != "unknown"));
}

#[tokio::test]
async fn a_bad_export_is_unknown_with_its_location() {
    let dir = scratch("msi-bad");
    let files = dir.join("f.csv");
    std::fs::write(&files, "ResourceID,Name0,FileName\r\n1,PC1,msi.dll\r\n").unwrap();
    let r = run(&files, None).await;
    assert_eq!(r.status, Status::Unknown);
    assert!(
        r.summary.contains(&format!(
            "{}:1: missing column `FileVersion`",
            files.display()
        )),
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
    assert!(
        e.probes[0]
            .run_once()
            .await
            .summary
            .ends_with("· 2 unknown")
    );
    // Only the client list changes (a new computer joined): the cached result must not hide it.
    let mut text = std::fs::read_to_string(&clients).unwrap();
    text.push_str("8,PC08\r\n");
    std::fs::write(&clients, text).unwrap();
    let r = e.probes[0].run_once().await;
    assert!(r.summary.ends_with("· 3 unknown"), "{}", r.summary);
    e.shutdown().await;
}
