//! Files patchdeck writes for itself (history, the dashboard's log) and reads back: never
//! through a planted symlink, never in a folder or file someone else can write. Root's
//! `serve` appending to a symlink another user planted would write where that user chose;
//! a history file in a shared folder could be swapped for forged events.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, message)
}

/// The folder holding a private file: owned by us (or root) and writable by nobody else.
/// `what`: "history folder", "log folder".
pub fn check_folder(what: &str, dir: &Path) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let meta = std::fs::symlink_metadata(dir)?;
    let meta = if meta.file_type().is_symlink() {
        // A symlinked folder is fine when what it points to passes.
        std::fs::metadata(dir)?
    } else {
        meta
    };
    if !meta.is_dir() {
        return Err(refused(format!("{what} {} is not a folder", dir.display())));
    }
    let mode = meta.mode() & 0o7777;
    if meta.uid() != me && meta.uid() != 0 {
        return Err(refused(format!(
            "refused: {what} {} is owned by uid {}, not by you (uid {me}) or root: another user could replace its files",
            dir.display(),
            meta.uid()
        )));
    }
    if mode & 0o022 != 0 {
        return Err(refused(format!(
            "refused: {what} {} is writable by group or others (mode {mode:04o}): another user could replace its files; `chmod go-w {}` or choose a private folder",
            dir.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// The file itself, once open: a regular file owned by us, writable by nobody else.
fn check_file(what: &str, path: &Path, f: &File) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(refused(format!(
            "refused: {what} {} is not a regular file",
            path.display()
        )));
    }
    if meta.uid() != me {
        return Err(refused(format!(
            "refused: {what} {} is owned by uid {}, not by you (uid {me})",
            path.display(),
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refused(format!(
            "refused: {what} {} is writable by group or others (mode {mode:04o}); `chmod go-w {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

fn nofollow_error(what: &str, path: &Path, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        refused(format!(
            "refused: {what} {} is a symbolic link (it could point anywhere another user chose)",
            path.display()
        ))
    } else {
        io::Error::new(
            e.kind(),
            format!("cannot open {what} {}: {e}", path.display()),
        )
    }
}

/// Creates `dir` (mode 0700) if missing, checks it, and opens `dir/name` for appending:
/// created 0600, never through a symlink, refused when someone else can write it.
pub fn open_append(what: &str, path: &Path) -> io::Result<File> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    check_folder(&format!("{what}'s folder"), dir)?;
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| nofollow_error(what, path, e))?;
    check_file(what, path, &f)?;
    Ok(f)
}

/// Opens `path` to read it back, with the same rules as [`open_append`] (a root-owned file is
/// accepted too: root may have written it). `Ok(None)` when it does not exist.
pub fn open_read(what: &str, path: &Path) -> io::Result<Option<File>> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(nofollow_error(what, path, e)),
    };
    check_folder(&format!("{what}'s folder"), dir)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let meta = f.metadata()?;
    if meta.uid() == 0 && me != 0 && meta.is_file() && meta.mode() & 0o022 == 0 {
        return Ok(Some(f));
    }
    check_file(what, path, &f)?;
    Ok(Some(f))
}

/// A log file that rotates itself: past `max_bytes`, `name` becomes `name.1` (replacing the
/// previous one) and a fresh file is opened, with [`open_append`]'s rules. At most twice
/// `max_bytes` on disk, whatever a flood writes.
#[derive(Debug)]
pub struct RotatingFile {
    what: &'static str,
    path: std::path::PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
}

impl RotatingFile {
    pub fn open(what: &'static str, path: &Path, max_bytes: u64) -> io::Result<RotatingFile> {
        let file = open_append(what, path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            what,
            path: path.to_owned(),
            file,
            size,
            max_bytes: max_bytes.max(4096),
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old)?;
        self.file = open_append(self.what, &self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl io::Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.max_bytes {
            // A failed rotation keeps writing to the current file rather than losing lines.
            let _ = self.rotate();
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pd-private-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::DirBuilder::new().mode(0o700).create(&d).unwrap();
        d
    }

    #[test]
    fn a_log_flood_rotates_and_stays_bounded() {
        use std::io::Write;
        let d = scratch("rotate");
        let p = d.join("patchdeck.log");
        let mut f = RotatingFile::open("log file", &p, 64 * 1024).unwrap();
        let line = [b'x'; 99];
        for _ in 0..10_000 {
            f.write_all(&line).unwrap();
            f.write_all(b"\n").unwrap();
        }
        let cur = std::fs::metadata(&p).unwrap().len();
        let old = std::fs::metadata(d.join("patchdeck.log.1")).unwrap().len();
        assert!(cur <= 64 * 1024 && old <= 64 * 1024, "{cur} {old}");
        assert!(cur > 0 && old > 60 * 1024, "{cur} {old}");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_planted_symlink_is_refused_and_its_target_untouched() {
        let d = scratch("link");
        let target = d.join("target");
        std::fs::write(&target, "mine\n").unwrap();
        std::os::unix::fs::symlink(&target, d.join("history.jsonl")).unwrap();
        let e = open_append("history file", &d.join("history.jsonl")).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
        let e = open_read("history file", &d.join("history.jsonl")).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
    }

    #[test]
    fn a_shared_folder_or_file_is_refused() {
        let d = scratch("shared");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = open_append("history file", &d.join("history.jsonl")).unwrap_err();
        assert!(
            e.to_string()
                .contains("is writable by group or others (mode 0777)"),
            "{e}"
        );
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        let f = d.join("history.jsonl");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = open_append("history file", &f).unwrap_err();
        assert!(e.to_string().contains("history file"), "{e}");
        assert!(e.to_string().contains("(mode 0666)"), "{e}");
        // A private one opens, created 0600 in a 0700 folder.
        let sub = d.join("new/deeper");
        let p = sub.join("patchdeck.log");
        open_append("log file", &p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&sub).unwrap().mode() & 0o777, 0o700);
        assert!(open_read("log file", &d.join("absent")).unwrap().is_none());
    }
}
