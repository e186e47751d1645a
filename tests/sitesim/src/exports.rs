//! Site-database exports as administrators produce them (sqlcmd / SSMS), generated from a
//! seeded RNG: the same seed gives the same file.

use std::io::{self, Write};
use std::path::Path;

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// How to write a file: sqlcmd -u writes UTF-16LE with tabs; SSMS "save as" writes UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8Comma,
    Utf8BomComma,
    Utf16LeTab,
}

/// Options for a `v_UpdateScanStatus` + `v_R_System` export.
#[derive(Debug, Clone)]
pub struct ScanStatus {
    pub clients: usize,
    pub seed: u64,
    /// Site code, used in computer names.
    pub site: String,
    /// URLs clients scan against (LastScanPackageLocation), chosen evenly.
    pub sups: Vec<String>,
    /// Now, in seconds since the epoch (scan times are before it).
    pub now: i64,
    pub encoding: Encoding,
    /// Only agents at or above the documented minimum (see `InventorySpec::healthy`).
    pub healthy: bool,
}

/// WUA versions and their share (per mille) in a ConfigMgr 2007 fleet of 2010.
const VERSIONS: &[(&str, u64)] = &[
    ("7.4.7600.226", 700),
    ("7.6.7600.256", 200),
    ("7.2.6001.788", 60),
    ("7.0.6000.381", 30),
    ("5.8.0.2469", 7),
    ("7.4.7600.226 (winmain)", 1),
    ("", 2),
];

/// A well-kept fleet: WSUS 3.0 SP2's agent, the last XP/Vista/7 agent, and Windows 7 RTM's
/// own 7.3.7600.16385 (which scans fine against WSUS 3.0 SP2).
const HEALTHY_VERSIONS: &[(&str, u64)] = &[
    ("7.4.7600.226", 600),
    ("7.6.7600.256", 250),
    ("7.3.7600.16385", 150),
];

/// Scan errors and their share (per mille of failing clients).
const ERRORS: &[(i64, u64)] = &[
    (0x8024_4022, 300),
    (0x8024_401C, 200),
    (0x8007_2EE2, 200),
    (0x8024_4019, 150),
    (0x8024_D009, 100),
    (0x8024_FFFF, 50),
];

fn pick<T: Copy>(rng: &mut Rng, table: &[(T, u64)]) -> T {
    let total: u64 = table.iter().map(|(_, w)| w).sum();
    let mut x = rng.below(total);
    for (v, w) in table {
        if x < *w {
            return *v;
        }
        x -= w;
    }
    table[0].0
}

/// A SQL Server datetime as exports show it: "2026-11-20 13:45:12.000" (UTC).
pub fn timestamp(unix: i64) -> String {
    match jiff::Timestamp::from_second(unix) {
        // A Timestamp formats in UTC.
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S.000").to_string(),
        Err(_) => "NULL".to_owned(),
    }
}

/// Writes the export; returns the number of data rows (clients, and the rows sqlcmd repeats).
pub fn write_scan_status(path: &Path, o: &ScanStatus) -> io::Result<usize> {
    let mut rng = Rng::new(o.seed);
    let sep = if o.encoding == Encoding::Utf16LeTab {
        "\t"
    } else {
        ","
    };
    let mut text = String::with_capacity(o.clients * 110);
    let mut rows = 0usize;
    text.push_str(
        &[
            "ResourceID",
            "Name0",
            "LastScanTime",
            "LastScanState",
            "LastErrorCode",
            "LastWUAVersion",
            "LastScanPackageLocation",
        ]
        .join(sep),
    );
    text.push_str("\r\n");
    for i in 0..o.clients {
        let id = 16_777_216 + i as u64;
        let name = if rng.chance(150) {
            format!("{}-SRV-{i:05}", o.site)
        } else {
            format!("{}-WKS-{i:05}", o.site)
        };
        // The compliance scan runs once a week by default, starting at a random time up to
        // 2 hours after its schedule (1727d91e, e7957b87): last scans spread over the past 7
        // days and 2 hours. A few clients were off for a while; a few never scanned.
        let scan = if rng.chance(3) {
            "NULL".to_owned()
        } else if rng.chance(20) {
            timestamp(o.now - 86_400 * (10 + rng.below(50) as i64))
        } else {
            timestamp(o.now - rng.below(86_400 * 7 + 7_200) as i64)
        };
        // LastScanState is a state of topic type 501 (v_StateNames): 3 completed is healthy;
        // 5 failed and 6 completed with errors usually carry an error code, not always;
        // 1 waiting for catalog location, 4 pending retry and 2 running are in between.
        let (state, code) = if rng.chance(12) {
            let code = pick(&mut rng, ERRORS) as u32 as i32 as i64;
            match rng.below(10) {
                0 => (5, 0),
                1 => (6, 0),
                2 | 3 => (6, code),
                _ => (5, code),
            }
        } else {
            match rng.below(1000) {
                0..=4 => (1, 0),
                5..=9 => (4, 0),
                10..=14 => (2, 0),
                _ => (3, 0),
            }
        };
        let version = pick(
            &mut rng,
            if o.healthy {
                HEALTHY_VERSIONS
            } else {
                VERSIONS
            },
        );
        let version = if version.is_empty() { "NULL" } else { version };
        let sup = if o.sups.is_empty() {
            "NULL".to_owned()
        } else {
            o.sups[i % o.sups.len()].clone()
        };
        text.push_str(&format!(
            "{id}{sep}{name}{sep}{scan}{sep}{state}{sep}{code}{sep}{version}{sep}{sup}\r\n"
        ));
        rows += 1;
        // sqlcmd repeats rows now and then when views join duplicates.
        if rng.chance(1) {
            text.push_str(&format!(
                "{id}{sep}{name}{sep}{scan}{sep}{state}{sep}{code}{sep}{version}{sep}{sup}\r\n"
            ));
            rows += 1;
        }
    }
    text.push_str(&format!("\r\n({} rows affected)\r\n", o.clients));
    let mut f = std::fs::File::create(path)?;
    match o.encoding {
        Encoding::Utf8Comma => f.write_all(text.as_bytes())?,
        Encoding::Utf8BomComma => {
            f.write_all(&[0xEF, 0xBB, 0xBF])?;
            f.write_all(text.as_bytes())?;
        }
        Encoding::Utf16LeTab => {
            let mut bytes = vec![0xFF, 0xFE];
            for u in text.encode_utf16() {
                bytes.extend_from_slice(&u.to_le_bytes());
            }
            f.write_all(&bytes)?;
        }
    }
    Ok(rows)
}

/// The running msi.dll (per mille) in software inventory; "" = no msi.dll row for the client.
/// 3.1.4000.2435 is 3.1 v2 (the client prerequisite), .1823/.1830 are 3.1 v1 (Server 2003 SP1
/// ships .1830), 3.0.3790.2180 is Windows Installer 3.0 (below 3.1).
const MSI_VERSIONS: &[(&str, u64)] = &[
    ("3.1.4000.2435 (srv03_sp1_rtm.050330-1612)", 640),
    ("4.5.6001.22159", 200),
    ("3.1.4001.5512", 90),
    ("3.1.4000.1823 (srv03_sp1_rtm.050330-1612)", 30),
    ("3.1.4000.1830", 10),
    ("3.0.3790.2180", 10),
    ("", 20),
];

/// Writes a v_GS_SoftwareFile export (msi.dll rows, each copy with its folder, as software
/// inventory lists them) and a v_R_System client list for the same fleet as
/// [`write_scan_status`] with these options. Some clients keep installer copies of a newer
/// msi.dll in `ServicePackFiles\i386` or `$NtUninstall...$`: they are not what runs.
/// Returns the data rows of each file (msi.dll rows, client rows).
pub fn write_software_inventory(
    files: &Path,
    clients: &Path,
    o: &ScanStatus,
) -> io::Result<(usize, usize)> {
    let (mut file_rows, mut client_rows) = (0usize, 0usize);
    let mut rng = Rng::new(o.seed ^ 0x5EED);
    let mut f = String::from("ResourceID,Name0,FileName,FileVersion,FilePath\r\n");
    let mut c = String::from("ResourceID,Name0\r\n");
    for i in 0..o.clients {
        let id = 16_777_216 + i as u64;
        let name = format!("{}-WKS-{i:05}", o.site);
        c.push_str(&format!("{id},{name}\r\n"));
        client_rows += 1;
        let v = pick(&mut rng, MSI_VERSIONS);
        if v.is_empty() {
            continue;
        }
        if rng.chance(100) {
            let leftover = if rng.chance(500) {
                "C:\\WINDOWS\\ServicePackFiles\\i386\\"
            } else {
                "C:\\WINDOWS\\$NtUninstallKB893803v2$\\"
            };
            f.push_str(&format!(
                "{id},{name},msi.dll,\"4.5.6001.22159\",{leftover}\r\n"
            ));
            file_rows += 1;
        }
        f.push_str(&format!(
            "{id},{name},msi.dll,\"{v}\",C:\\WINDOWS\\system32\\\r\n"
        ));
        file_rows += 1;
    }
    std::fs::write(files, f)?;
    std::fs::write(clients, c)?;
    Ok((file_rows, client_rows))
}

/// Writes `text` as the export kit's runner does: under a temporary name, then renamed into
/// place, so that a reader never sees half a file.
pub fn write_like_the_runner(path: &Path, text: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The export kit's manifest (`exports.csv`), written last: file name, data rows, the UTC
/// time its query started, the site code, the kit version.
pub fn write_manifest(dir: &Path, site: &str, files: &[(&str, usize, i64)]) -> io::Result<()> {
    let mut text = String::from("File,Rows,TakenUtc,SiteCode,KitVersion\r\n");
    for (name, rows, taken) in files {
        text.push_str(&format!("{name},{rows},{},{site},1\r\n", timestamp(*taken)));
    }
    write_like_the_runner(&dir.join("exports.csv"), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_determinism() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00.000");
        assert_eq!(timestamp(1_795_182_312), "2026-11-20 13:45:12.000");
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(
            (0..100).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..100).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
    }
}
