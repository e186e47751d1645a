//! Facts in, items out: the msi verdicts, pure and table-tested.

use crate::gather::Census;
use crate::rules as rule;
use patchdeck_kit::report::{detail, explain, item, metric, name_list};
use patchdeck_kit::threshold::{judged_share, thousands};
use patchdeck_kit::version::WinVersion;
use patchdeck_probe_api::{Detail, Item, Overrides, Report, Status};

/// ConfigMgr 2007 client prerequisites: "Windows Installer version 3.1.4000.2435"
/// (Windows Installer 3.1 v2, KB893803 v2).
pub const CLIENT_PREREQS: &str = "http://technet.microsoft.com/en-us/library/bb680537.aspx";
/// Prerequisites for Software Updates: "Client computers must have Windows Installer 3.1
/// installed or certain software updates, such as Microsoft Office updates, will not be
/// detected during a scan for software update compliance."
pub const SU_PREREQS: &str =
    "http://systemscenter.ru/smsv4.en/html/76638fa0-cbc7-4b42-9378-0a92a3be1201.htm";

/// KB893803, "Windows Installer 3.1 v2 (3.1.4000.2435) is available": "Windows Installer
/// 3.1 v2 was included with Windows Server 2003 Service Pack 1 (SP1)".
pub const KB893803: &str =
    "https://web.archive.org/web/20110805144307/http://support.microsoft.com/kb/893803";
/// Windows Server 2003 SP1's own Windows Installer 3.1 v2 build ("Windows Server 2003 SP1
/// already includes ... 3.1.4000.1830", KB903771; KB893803 above): compliant, and KB893803 is
/// not its fix.
pub const SERVER_2003_SP1_BUILD: WinVersion = WinVersion::new(3, 1, 4000, 1830);

#[derive(Debug, Clone)]
pub struct Rules {
    /// The client prerequisite, 3.1.4000.2435 (3.1 v2).
    pub min: WinVersion,
    /// The first Windows Installer 3.1 build, 3.1.4000.1823 (3.1 v1; Server 2003 SP1 ships
    /// .1830). Builds from here up to `min` meet the seed's "Windows Installer 3.1" but not
    /// the client prerequisite: a warning at most. The v1 build number is not on a stored
    /// Microsoft page; `v31_version` overrides it.
    pub v31: WinVersion,
    pub warn_percent: f64,
    pub crit_percent: f64,
    pub export: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Below31,
    V1,
    Fine,
}

impl Rules {
    fn group(&self, v: WinVersion) -> Group {
        if v < self.v31 {
            Group::Below31
        } else if v == SERVER_2003_SP1_BUILD || v >= self.min {
            Group::Fine
        } else {
            Group::V1
        }
    }
}

fn clients(n: u64) -> String {
    match n {
        1 => "1 client".into(),
        n => format!("{} clients", thousands(n)),
    }
}

/// Clients and names of the versions in a group.
fn members(c: &Census, r: &Rules, g: Group) -> (u64, Vec<String>) {
    let mut n = 0;
    let mut names = Vec::new();
    for (v, count) in &c.counts {
        if v.is_some_and(|v| r.group(v) == g) {
            n += count;
            names.extend(
                c.by_version[v]
                    .iter()
                    .take(500 - names.len().min(500))
                    .cloned(),
            );
        }
    }
    names.sort();
    (n, names)
}

pub fn judge(c: &Census, r: &Rules, ages: Vec<Detail>, overrides: &Overrides) -> Report {
    let mut details = vec![detail("Export", &r.export, None)];
    details.extend(ages);
    if c.other_copies > 0 {
        details.push(detail(
            "msi.dll copies outside system32 (ignored)",
            format!(
                "{} rows, e.g. {}",
                thousands(c.other_copies),
                c.other_examples.first().map_or("", String::as_str)
            ),
            None,
        ));
    }
    if c.population == 0 {
        let it = explain(
            item(
                "export",
                "Export",
                Status::Unknown,
                "the exports list no clients",
            ),
            &rule::EXPORT,
            format!("{}: no msi.dll row and no client", r.export),
            "Check the export queries (README, Site-database exports) and that software inventory collects msi.dll.",
        );
        let mut rep = Report::new(Status::Unknown, "the exports list no clients");
        rep.details = details;
        rep.items = vec![it];
        return rep;
    }
    let below = below31(c, r);
    let v1 = v1(c, r);
    let unreadable = c.counts.get(&None).copied().unwrap_or(0);
    let mut judged = vec![below, v1];
    if c.has_client_list || c.unknown.total > 0 || unreadable > 0 {
        judged.push(unknown(c, r, unreadable));
    }
    overrides.apply(&mut judged);
    let versions = versions(c, r, &judged);
    let status = judged
        .iter()
        .chain(std::iter::once(&versions))
        .fold(Status::Ok, |w, i| w.worst(i.status));
    let pct = |n: u64| n as f64 * 100.0 / c.population as f64;
    let (n31, _) = members(c, r, Group::Below31);
    let (nv1, _) = members(c, r, Group::V1);
    let fine: u64 = c.with_msi - n31 - nv1 - unreadable;
    let summary = match judged
        .iter()
        .find(|i| i.status == status && status != Status::Ok)
    {
        Some(w) => format!("{}: {}", clients(c.population), w.summary),
        None => format!(
            "{} · {:.1} % at >= {} · {} below 3.1 · {} on 3.1 v1 · {} unknown",
            clients(c.population),
            pct(fine),
            r.min,
            thousands(n31),
            thousands(nv1),
            thousands(c.unknown.total + unreadable)
        ),
    };
    details.push(detail(
        "Client prerequisite",
        format!("{} ({CLIENT_PREREQS})", r.min),
        None,
    ));
    let mut items = judged;
    items.push(versions);
    Report {
        status,
        summary,
        details,
        metrics: vec![
            metric("below_3_1_percent", pct(n31), "%")
                .warn(r.warn_percent)
                .crit(r.crit_percent)
                .max(100.0)
                .done(),
            metric("v1_percent", pct(nv1), "%")
                .warn(r.warn_percent)
                .max(100.0)
                .done(),
            metric("unknown_percent", pct(c.unknown.total + unreadable), "%")
                .warn(r.warn_percent)
                .crit(r.crit_percent)
                .max(100.0)
                .done(),
        ],
        items,
    }
}

fn below31(c: &Census, r: &Rules) -> Item {
    let (n, names) = members(c, r, Group::Below31);
    let (status, words) = judged_share(
        &format!(
            "below Windows Installer 3.1 ({}): they miss updates such as Office updates",
            r.v31
        ),
        n,
        c.population,
        r.warn_percent,
        r.crit_percent,
    );
    let mut it = item(
        "below-3.1",
        format!("Below Windows Installer 3.1 ({})", r.v31),
        status,
        words,
    );
    it.details = name_list(&names, n);
    if status == Status::Ok {
        return it;
    }
    explain(
        it,
        &rule::BELOW_31,
        format!(
            "system32\\msi.dll below {} on {} of {}",
            r.v31,
            clients(n),
            clients(c.population)
        ),
        format!(
            "Install Windows Installer 3.1 v2 (KB893803, msi.dll {}) on these clients, e.g. as a ConfigMgr package (Windows Server 2003 gets it with SP1); without 3.1 the compliance scan misses Office updates. {SU_PREREQS} and {CLIENT_PREREQS}",
            r.min
        ),
    )
}

fn v1(c: &Census, r: &Rules) -> Item {
    let (n, names) = members(c, r, Group::V1);
    // Meets the seed's "Windows Installer 3.1": never more than a warning.
    let (status, words) = judged_share(
        &format!(
            "on Windows Installer 3.1 v1 ({} to below {}): 3.1 as the seed asks, below the client prerequisite",
            r.v31, r.min
        ),
        n,
        c.population,
        r.warn_percent,
        f64::INFINITY,
    );
    let mut it = item(
        "v1",
        format!("Windows Installer 3.1 v1 (below {})", r.min),
        status,
        words,
    );
    it.details = name_list(&names, n);
    if status == Status::Ok {
        return it;
    }
    explain(
        it,
        &rule::V1,
        format!(
            "system32\\msi.dll from {} to below {} on {}",
            r.v31,
            r.min,
            clients(n)
        ),
        format!(
            "Install Windows Installer 3.1 v2 (KB893803 v2, msi.dll {}) on these clients (XP and Server 2003 before SP1; Server 2003 SP1 already has 3.1 v2, build .1830), the ConfigMgr 2007 client prerequisite: {CLIENT_PREREQS} {KB893803}",
            r.min
        ),
    )
}

/// Clients with no system32 msi.dll row, or one without a readable FileVersion: unknown,
/// never compliant. Over the warning line a warning; over the critical line the probe
/// cannot tell for too many clients: UNKNOWN.
fn unknown(c: &Census, r: &Rules, unreadable: u64) -> Item {
    let n = c.unknown.total + unreadable;
    let (share, words) = judged_share(
        &format!(
            "unknown ({} with no msi.dll in system32 in the inventory, {} with no readable FileVersion): not counted as compliant",
            thousands(c.unknown.total),
            thousands(unreadable)
        ),
        n,
        c.population,
        r.warn_percent,
        r.crit_percent,
    );
    let status = if share == Status::Critical {
        Status::Unknown
    } else {
        share
    };
    let mut it = item("unknown", "Unknown Windows Installer", status, words);
    it.details = c.unknown.details();
    it.details.extend(
        c.unparsable
            .iter()
            .map(|(n, v)| detail(n, format!("FileVersion {v:?}"), None)),
    );
    if status == Status::Ok {
        return it;
    }
    explain(
        it,
        &rule::UNKNOWN,
        format!(
            "{} of {}: no msi.dll row in the Windows folder's system32 ({}, e.g. {}) or a FileVersion that is not a.b.c.d ({})",
            clients(n),
            clients(c.population),
            thousands(c.unknown.total),
            c.unknown.sentence(3),
            thousands(unreadable)
        ),
        "Make software inventory collect msi.dll with its file details (Software Inventory Client Agent: a rule for msi.dll in %windir%\\system32), check that these clients run inventory, and that the export keeps FileVersion.",
    )
}

/// The version tree; each row carries the verdict of the group it falls in.
fn versions(c: &Census, r: &Rules, judged: &[Item]) -> Item {
    let status_of = |id: &str| {
        judged
            .iter()
            .find(|i| i.id == id)
            .map(|i| (i.status, i.title.clone(), i.fix.clone()))
    };
    let mut it = item(
        "versions",
        "msi.dll versions",
        Status::Ok,
        format!("{} versions", c.counts.len()),
    );
    let pct = |n: u64| n as f64 * 100.0 / c.population as f64;
    for (v, n) in c.counts.iter().rev() {
        let Some(v) = v else {
            let mut row = item(
                "unreadable",
                "Unreadable version",
                Status::Ok,
                format!("{} ({:.1} %)", clients(*n), pct(*n)),
            );
            row.details = c
                .unparsable
                .iter()
                .map(|(n, v)| detail(n, v.clone(), None))
                .collect();
            it.items.push(row);
            continue;
        };
        let group = match r.group(*v) {
            Group::Below31 => status_of("below-3.1"),
            Group::V1 => status_of("v1"),
            Group::Fine => None,
        };
        let mut summary = format!("{} ({:.1} %)", clients(*n), pct(*n));
        let mut row_status = Status::Ok;
        let mut fix = None;
        if let Some((s, title, f)) = group {
            summary.push_str(&format!(" · counted in \"{title}\""));
            row_status = s;
            fix = f;
        }
        let mut row = item(&v.to_string(), format!("msi.dll {v}"), row_status, summary);
        if let Some(f) = fix.filter(|_| row_status != Status::Ok) {
            row.rule = Some(
                match r.group(*v) {
                    Group::Below31 => rule::BELOW_31.id,
                    _ => rule::V1.id,
                }
                .to_owned(),
            );
            row.evidence = Some(format!("{} report system32\\msi.dll {v}", clients(*n)));
            row.fix = Some(f);
        }
        it.items.push(row);
    }
    it.status = it.items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
    if let Some(worst) = it
        .items
        .iter()
        .find(|i| i.status == it.status && it.status != Status::Ok)
    {
        let (rule, fix) = (worst.rule.clone(), worst.fix.clone());
        it.summary.push_str(": some clients are below the line");
        it.rule = rule;
        it.evidence = Some(format!(
            "{} distinct msi.dll versions in system32",
            c.counts.len()
        ));
        it.fix = fix;
    }
    it
}

#[cfg(test)]
mod tests;
