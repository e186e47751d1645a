//! `kit::inventory` on export files shaped the way SSMS, sqlcmd and report export write them.

use patchdeck_kit::inventory::{Cached, ExportError, read};
use std::path::{Path, PathBuf};

fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pd-inv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn utf16le(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

const COLS: &[&str] = &["ResourceID", "Name0", "LastWUAVersion"];

/// (ResourceID, Name0, LastWUAVersion) as read.
type Triple = (Option<String>, Option<String>, Option<String>);

fn rows(path: &Path) -> Result<Vec<Triple>, ExportError> {
    let mut out = Vec::new();
    read(path, COLS, |r| {
        out.push((
            r.get(0).map(str::to_owned),
            r.get(1).map(str::to_owned),
            r.get(2).map(str::to_owned),
        ));
        Ok(())
    })?;
    Ok(out)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn utf8_comma_crlf_quotes_null_and_any_header_case() {
    let p = file(
        "a.csv",
        b"resourceid,NAME0,LastWuaVersion,Extra\r\n1,\"PC, one\",7.4.7600.226,x\r\n2,\"PC \"\"two\"\"\",NULL,y\r\n3,PC3,,z\r\n",
    );
    assert_eq!(
        rows(&p).unwrap(),
        [
            (s("1"), s("PC, one"), s("7.4.7600.226")),
            (s("2"), s("PC \"two\""), None),
            (s("3"), s("PC3"), None)
        ]
    );
}

#[test]
fn utf8_bom_and_sqlcmd_dashes_and_row_count_trailer() {
    let text = "\u{feff}ResourceID,Name0,LastWUAVersion\r\n----------,-----,--------------\r\n16777220,PC1,7.6.7600.256\r\n\r\n(1 rows affected)\r\n";
    let p = file("b.csv", text.as_bytes());
    assert_eq!(
        rows(&p).unwrap(),
        [(s("16777220"), s("PC1"), s("7.6.7600.256"))]
    );
}

#[test]
fn utf16le_with_bom_and_tabs_as_sqlcmd_u_writes() {
    let p = file(
        "c.tsv",
        &utf16le(
            "ResourceID\tName0\tLastWUAVersion\r\n1\tPC-Ä\t7.0.6000.381\r\n2\tPC2\t7.2.6001.788\r\n(2 rows affected)\r\n",
        ),
    );
    assert_eq!(
        rows(&p).unwrap(),
        [
            (s("1"), s("PC-Ä"), s("7.0.6000.381")),
            (s("2"), s("PC2"), s("7.2.6001.788"))
        ]
    );
}

#[test]
fn bad_files_are_reported_with_path_line_and_column() {
    let p = file("d.csv", b"ResourceID,Name0\n1,PC1\n");
    let e = rows(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:1: missing column `LastWUAVersion` (the header has: ResourceID, Name0)",
            p.display()
        )
    );

    let p = file(
        "e.csv",
        b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n2,PC2\n",
    );
    let e = rows(&p).unwrap_err().to_string();
    assert_eq!(e, format!("{}:3: 2 fields, the header has 3", p.display()));

    let p = file("f.csv", b"");
    assert!(
        rows(&p)
            .unwrap_err()
            .to_string()
            .ends_with(":1: empty file (no header row)")
    );

    let p = file("g.csv", &[0xFE, 0xFF, 0, b'R']);
    assert!(
        rows(&p)
            .unwrap_err()
            .to_string()
            .contains("UTF-16 big-endian is not supported")
    );

    // Line numbers are right with CRLF too (as SSMS and sqlcmd write).
    let p = file(
        "e2.csv",
        b"ResourceID,Name0,LastWUAVersion\r\n1,PC1,7.0\r\n2,PC2\r\n",
    );
    assert_eq!(
        rows(&p).unwrap_err().to_string(),
        format!("{}:3: 2 fields, the header has 3", p.display())
    );

    let p = file("h.csv", b"ResourceID,Name0,LastWUAVersion\n1,PC1,seven\n");
    let mut err = None;
    let _ = read(&p, COLS, |r| {
        err = Some(
            r.error(2, "expected a version like 7.4.7600.226, got \"seven\"")
                .to_string(),
        );
        Ok(())
    });
    assert_eq!(
        err.unwrap(),
        format!(
            "{}:2: column `LastWUAVersion`: expected a version like 7.4.7600.226, got \"seven\"",
            p.display()
        )
    );

    let missing = std::env::temp_dir().join("pd-no-such-export.csv");
    assert!(
        rows(&missing)
            .unwrap_err()
            .to_string()
            .contains("No such file or directory")
    );
}

#[test]
fn a_file_rewritten_while_read_is_refused_not_half_read() {
    let p = file(
        "i.csv",
        b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n2,PC2,7.0\n",
    );
    let mut appended = false;
    let e = read(&p, COLS, |_| {
        if !appended {
            // The scheduled export rewrites the file while we are in the middle of it.
            use std::io::Write;
            std::fs::OpenOptions::new()
                .append(true)
                .open(&p)
                .unwrap()
                .write_all(b"3,PC3,7.0\n")
                .unwrap();
            appended = true;
        }
        Ok(())
    })
    .unwrap_err();
    assert_eq!(e, ExportError::BeingWritten { path: p.clone() });
    assert!(
        e.to_string()
            .ends_with("export is being written (it changed while it was read); will retry")
    );
}

#[test]
fn results_are_reused_until_the_file_changes() {
    let p = file("j.csv", b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n");
    let mut cache: Cached<usize> = Cached::default();
    let count = || rows(&p).map(|r| r.len());
    assert_eq!(cache.get(&[&p], count).unwrap(), (1, false));
    assert_eq!(
        cache
            .get(&[&p], || panic!("must not re-read an unchanged file"))
            .unwrap(),
        (1, true)
    );
    std::fs::write(
        &p,
        b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n2,PC2,7.0\n",
    )
    .unwrap();
    assert_eq!(
        cache.get(&[&p], || rows(&p).map(|r| r.len())).unwrap(),
        (2, false)
    );
}

#[test]
fn a_result_from_two_files_is_recomputed_when_either_changes() {
    let a = file("k1.csv", b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n");
    let b = file("k2.csv", b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n");
    let mut cache: Cached<usize> = Cached::default();
    let both = || Ok(rows(&a)?.len() + rows(&b)?.len());
    assert_eq!(cache.get(&[&a, &b], both).unwrap(), (2, false));
    assert_eq!(
        cache.get(&[&a, &b], || panic!("nothing changed")).unwrap(),
        (2, true)
    );
    std::fs::write(
        &b,
        b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n2,PC2,7.0\n",
    )
    .unwrap();
    assert_eq!(
        cache
            .get(&[&a, &b], || Ok(rows(&a)?.len() + rows(&b)?.len()))
            .unwrap(),
        (3, false)
    );
}

#[test]
fn only_regular_files_are_read_and_lines_are_capped() {
    // A FIFO used to hang the check (open blocks until a writer comes); /dev/zero grew
    // without end. Both are refused at once, naming the file.
    let dir = std::env::temp_dir().join(format!("pd-inv-special-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("scan.csv");
    let _ = std::fs::remove_file(&fifo);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for p in [fifo.as_path(), Path::new("/dev/zero")] {
        let e = rows(p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: not a regular file (a FIFO, socket or device)",
                p.display()
            )),
            "{e}"
        );
    }
    let e = rows(&dir).unwrap_err().to_string();
    assert!(e.contains(": a folder: an export must be a file"), "{e}");

    // A 3 MiB header line: an error naming line 1, without reading it all into memory.
    let mut big = vec![b'A'; 3 * 1024 * 1024];
    big.extend_from_slice(b"\r\n1,PC,7.0\r\n");
    let p = file("long-header.csv", &big);
    assert_eq!(
        rows(&p).unwrap_err().to_string(),
        format!(
            "{}:1: line longer than 1024 KiB: not an export row",
            p.display()
        )
    );
    // A 2 MiB field on line 3.
    let mut text = b"ResourceID,Name0,LastWUAVersion\r\n1,PC1,7.0\r\n2,".to_vec();
    text.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    text.extend_from_slice(b",7.0\r\n");
    let p = file("long-row.csv", &text);
    assert_eq!(
        rows(&p).unwrap_err().to_string(),
        format!(
            "{}:3: line longer than 1024 KiB: not an export row",
            p.display()
        )
    );
}

#[test]
fn invalid_utf8_is_reported_on_its_own_line() {
    for eol in ["\r\n", "\n"] {
        let mut text = format!("ResourceID,Name0,LastWUAVersion{eol}1,PC1,7.0{eol}").into_bytes();
        text.extend_from_slice(b"2,PC\xff\xfe2,7.0");
        text.extend_from_slice(eol.as_bytes());
        let p = file("bad-utf8.csv", &text);
        let e = rows(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:3: not UTF-8 text", p.display())),
            "{eol:?}: {e}"
        );
    }
}

/// The export kit replaces a file by renaming a new one over it: a reader in the middle of
/// the old one notices and refuses (retry), never mixing the two.
#[test]
fn an_export_replaced_by_rename_while_read_is_refused() {
    let p = file(
        "r.csv",
        b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n2,PC2,7.0\n",
    );
    let mut replaced = false;
    let e = read(&p, COLS, |_| {
        if !replaced {
            let tmp = p.with_extension("tmp");
            std::fs::write(&tmp, b"ResourceID,Name0,LastWUAVersion\n9,PC9,7.6\n").unwrap();
            std::fs::rename(&tmp, &p).unwrap();
            replaced = true;
        }
        Ok(())
    })
    .unwrap_err();
    assert_eq!(e, ExportError::BeingWritten { path: p.clone() });
}

/// The manifest (exports.csv, written last by the runner): rows that disagree with the file
/// refuse it; a manifest older than the file (the next run renamed the file in, its manifest
/// is not written yet) is not used; without a manifest nothing is checked.
#[test]
fn the_manifest_counts_rows_and_a_stale_manifest_is_ignored() {
    let p = file(
        "scan_status.csv",
        b"ResourceID,Name0,LastWUAVersion\n1,PC1,7.0\n2,PC2,7.0\n",
    );
    assert_eq!(read(&p, COLS, |_| Ok(())).unwrap(), 2, "no manifest: read");
    let manifest = p.with_file_name("exports.csv");
    std::fs::write(
        &manifest,
        "File,Rows,TakenUtc,SiteCode,KitVersion\r\nscan_status.csv,3,2026-11-30 02:00:05,ABC,1\r\n",
    )
    .unwrap();
    let e = read(&p, COLS, |_| Ok(())).unwrap_err();
    assert!(
        e.to_string().starts_with("export incomplete: ")
            && e.to_string()
                .contains("has 2 rows, its manifest (exports.csv) says 3"),
        "{e}"
    );
    let entry = patchdeck_kit::exports::entry(&p).unwrap();
    assert_eq!(entry.rows, 3);
    assert_eq!(entry.site_code, "ABC");
    // The file renamed in after the manifest: the manifest is another run's.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(patchdeck_kit::exports::entry(&p), None);
    assert_eq!(read(&p, COLS, |_| Ok(())).unwrap(), 2);
}
