//! Case tables for the msi judge, on exports shaped like v_GS_SoftwareFile: one row per
//! copy of msi.dll, each with its folder.

use super::*;
use crate::gather::census;

const SYS: &str = r"C:\WINDOWS\system32\";

fn rules() -> Rules {
    Rules {
        min: "3.1.4000.2435".parse().unwrap(),
        v31: "3.1.4000.1823".parse().unwrap(),
        warn_percent: 5.0,
        crit_percent: 20.0,
        export: "files.csv".into(),
    }
}

/// (client id, version, folder) rows; `clients` ids in the client list (None: no list).
fn report(rows: &[(u32, &str, &str)], clients: Option<u32>) -> Report {
    let dir = std::env::temp_dir().join(format!(
        "msi-judge-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = "ResourceID,Name0,FileName,FileVersion,FilePath\r\n".to_owned();
    for (id, v, path) in rows {
        text.push_str(&format!("{id},PC{id:03},msi.dll,{v},{path}\r\n"));
    }
    let files = dir.join("files.csv");
    std::fs::write(&files, text).unwrap();
    let list = clients.map(|n| {
        let mut t = "ResourceID,Name0\r\n".to_owned();
        for id in 0..n {
            t.push_str(&format!("{id},PC{id:03}\r\n"));
        }
        let p = dir.join("clients.csv");
        std::fs::write(&p, t).unwrap();
        p
    });
    let c = census(&files, list.as_deref()).unwrap();
    judge(&c, &rules(), vec![], &Overrides::NONE)
}

fn get<'a>(r: &'a Report, id: &str) -> &'a Item {
    r.items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn a_leftover_copy_outside_system32_is_not_the_running_installer() {
    // Client 0 runs 3.0 but keeps a 3.1 v2 installer copy in ServicePackFiles: below 3.1.
    let rows = [
        (0, "3.0.3790.2180", SYS),
        (0, "3.1.4000.2435", r"C:\WINDOWS\ServicePackFiles\i386\"),
        (0, "3.1.4000.2435", r"C:\WINDOWS\$NtUninstallKB893803v2$\"),
        (1, "3.1.4000.2435", SYS),
        (2, "3.1.4000.2435", SYS),
        (3, "4.5.6001.22159", SYS),
    ];
    let r = report(&rows, None);
    let below = get(&r, "below-3.1");
    assert_eq!(below.status, Status::Critical, "{}", below.summary);
    assert!(
        below
            .summary
            .starts_with("1 client (25.0 %) below Windows Installer 3.1"),
        "{}",
        below.summary
    );
    assert!(
        r.details
            .iter()
            .any(|d| d.label == "msi.dll copies outside system32 (ignored)"
                && d.value.starts_with("2 rows"))
    );
}

#[test]
fn a_client_with_copies_only_outside_system32_is_unknown() {
    let rows = [(0, "3.1.4000.2435", r"C:\I386\"), (1, "3.1.4000.2435", SYS)];
    let r = report(&rows, None);
    let u = get(&r, "unknown");
    assert_eq!(u.details[0].label, "PC000");
    // Half the fleet cannot be judged: UNKNOWN (cannot tell), never CRITICAL or OK.
    assert_eq!(u.status, Status::Unknown, "1 of 2 unknown");
    assert_eq!(u.rule.as_deref(), Some("msi.unknown"));
}

/// KB903771: "Windows Server 2003 SP1 already includes ... 3.1.4000.1830"; KB893803: "3.1 v2
/// was included with Windows Server 2003 SP1". That build is compliant, and KB893803 is not
/// its fix.
#[test]
fn server_2003_sp1s_own_build_is_compliant() {
    let rows: Vec<(u32, &str, &str)> = (0..20).map(|id| (id, "3.1.4000.1830", SYS)).collect();
    let r = report(&rows, None);
    assert_eq!(r.status, Status::Ok, "{}", r.summary);
    assert_eq!(get(&r, "v1").status, Status::Ok);
    assert!(
        r.summary.contains("100.0 % at >= 3.1.4000.2435"),
        "{}",
        r.summary
    );
}

/// v_GS_SoftwareFile rows whose FileVersion is NULL: those clients are unknown, counted and
/// judged, never OK by omission.
#[test]
fn msi_dll_rows_without_a_version_are_unknown_not_ok() {
    let rows: Vec<(u32, &str, &str)> = (0..10).map(|id| (id, "NULL", SYS)).collect();
    let r = report(&rows, None);
    let u = get(&r, "unknown");
    assert_eq!(u.status, Status::Unknown, "{}", u.summary);
    assert!(
        u.summary.contains("10 with no readable FileVersion"),
        "{}",
        u.summary
    );
    assert_eq!(r.status, Status::Unknown);
    let mut rows: Vec<(u32, &str, &str)> = (0..95).map(|id| (id, "3.1.4000.2435", SYS)).collect();
    rows.extend((95..100).map(|id| (id, "", SYS)));
    let r = report(&rows, None);
    assert_eq!(get(&r, "unknown").status, Status::Warning);
}

#[test]
fn v1_is_a_warning_at_most_and_below_31_is_the_critical_line() {
    // 60 % on 3.1 v1 (.1823; Server 2003 SP1's .1830 is v2): warning, never critical.
    let mut rows = vec![];
    for id in 0..6 {
        rows.push((id, "3.1.4000.1823", SYS));
    }
    for id in 6..10 {
        rows.push((id, "3.1.4000.2435 (srv03_sp1_rtm.050330-1612)", SYS));
    }
    let r = report(&rows, None);
    assert_eq!(get(&r, "v1").status, Status::Warning);
    assert_eq!(r.status, Status::Warning);
    assert!(
        r.summary
            .starts_with("10 clients: 6 clients (60.0 %) on Windows Installer 3.1 v1"),
        "{}",
        r.summary
    );
    assert!(get(&r, "v1").fix.as_deref().unwrap().contains("bb680537"));
    assert_eq!(
        get(&r, "below-3.1").summary,
        "no client below Windows Installer 3.1 (3.1.4000.1823): they miss updates such as Office updates"
    );
    assert_eq!(
        patchdeck_kit::report::unexplained(&r.items),
        Vec::<String>::new()
    );
}

#[test]
fn with_a_client_list_missing_clients_are_unknown_and_healthy_is_ok() {
    let rows: Vec<(u32, &str, &str)> = (0..100).map(|id| (id, "4.5.6001.22159", SYS)).collect();
    let r = report(&rows, Some(100));
    assert_eq!(r.status, Status::Ok, "{}", r.summary);
    assert_eq!(
        r.summary,
        "100 clients · 100.0 % at >= 3.1.4000.2435 · 0 below 3.1 · 0 on 3.1 v1 · 0 unknown"
    );
    let r = report(&rows, Some(110));
    assert_eq!(get(&r, "unknown").status, Status::Warning);
    assert_eq!(r.status, Status::Warning);
}
