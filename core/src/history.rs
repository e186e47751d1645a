//! The transition history on disk: one JSON line per transition appended to
//! `<dir>/history.jsonl`, rotated by size to `history.jsonl.1`. Each line is written whole
//! and flushed, so a crash or power loss loses at most the line being written; a torn last
//! line is skipped on read (and logged). Read by the dashboard and `serve` at start, and by
//! `patchdeck events`.

use crate::store::{Store, StoreEvent, Transition};
use patchdeck_probe_api::Status;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const FILE: &str = "history.jsonl";
/// A line longer than this is not one of ours: skipped.
const MAX_LINE: usize = 64 * 1024;
/// The most bytes of a summary or cause a history line keeps (JSON escaping can grow a text
/// six-fold, so 8 KiB of text stays under MAX_LINE).
const MAX_TEXT: usize = 8 * 1024;

/// `s` cut to at most `max` bytes on a character boundary, with "…" when cut.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC.
    pub at: String,
    pub probe: String,
    pub from: Option<Status>,
    pub to: Status,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Record {
    pub fn from_transition(t: &Transition) -> Record {
        let ms =
            t.at.duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // Always three fraction digits: "13:45:12.290Z" beside "13:45:12.867Z", never ".29Z".
        let at = jiff::Timestamp::from_millisecond(ms)
            .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        // Every line the history writes it must be able to read back (lines over MAX_LINE
        // are skipped as torn): the texts are clipped well under it.
        Record {
            at,
            probe: clip(&t.probe, 256),
            from: t.from,
            to: t.to,
            summary: clip(&t.summary, MAX_TEXT),
            cause: t.cause.as_deref().map(|c| clip(c, MAX_TEXT)),
        }
    }

    pub fn time(&self) -> Option<SystemTime> {
        let ts: jiff::Timestamp = self.at.parse().ok()?;
        let ms = u64::try_from(ts.as_millisecond()).ok()?;
        Some(UNIX_EPOCH + Duration::from_millis(ms))
    }

    pub fn to_transition(&self) -> Option<Transition> {
        Some(Transition {
            at: self.time()?,
            probe: self.probe.clone(),
            from: self.from,
            to: self.to,
            summary: self.summary.clone(),
            cause: self.cause.clone(),
            earlier: true,
        })
    }
}

/// The state folder ([`crate::config::state_dir`]); a config's history is in a folder of its
/// own below it ([`crate::config::default_history_dir`]).
pub fn default_dir() -> Option<PathBuf> {
    crate::config::state_dir()
}

/// An open history file.
#[derive(Debug)]
pub struct History {
    dir: PathBuf,
    max_bytes: u64,
    file: Mutex<Option<File>>,
    /// `history.lock`, flock'ed exclusively while this writer lives: two writers on one
    /// folder renamed each other's live file at every rotation and lost most records.
    _lock: File,
}

/// The lock file next to the history; it holds the writer's pid.
const LOCK_FILE: &str = "history.lock";

/// Another process writes this history folder.
#[derive(Debug)]
pub struct Busy {
    pub dir: PathBuf,
    pub pid: Option<u32>,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "history folder {} is in use by {} (one writer per history: a second would destroy it at rotation)",
            self.dir.display(),
            self.pid
                .map_or("another process".to_owned(), |p| format!("pid {p}"))
        )
    }
}

/// Takes the folder's writer lock, or says who holds it.
fn lock(dir: &Path) -> std::io::Result<File> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::io::AsRawFd;
    let path = dir.join(LOCK_FILE);
    let mut f = crate::private_file::open_append("history lock file", &path)?;
    let mut waited = 0;
    loop {
        // SAFETY: flock on a descriptor we own, non-blocking.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let pid: Option<u32> = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse().ok());
            // Held under our own pid: an earlier writer of this process just closed it, and a
            // child forked meanwhile (a probe host, a test's helper) still shares the lock
            // until its exec closes it. That lasts moments; nothing signals it, so look again.
            if pid == Some(std::process::id()) && waited < 100 {
                waited += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            return Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                Busy {
                    dir: dir.to_owned(),
                    pid,
                }
                .to_string(),
            ));
        }
        return Err(e);
    }
    f.set_len(0)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(format!("{}\n", std::process::id()).as_bytes())?;
    Ok(f)
}

impl History {
    /// Opens (creating) `<dir>/history.jsonl` for appending.
    /// Fails with `WouldBlock` (naming the holder's pid) when another process writes `dir`.
    pub fn open(dir: &Path, max_mb: u64) -> std::io::Result<History> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        crate::private_file::check_folder("history folder", dir)?;
        let h = History {
            dir: dir.to_owned(),
            max_bytes: max_mb.max(1) * 1024 * 1024,
            file: Mutex::new(None),
            _lock: lock(dir)?,
        };
        let mut f = h.open_file()?;
        // A torn last line (the process died mid-write) is closed off, so the next line
        // starts clean instead of being glued to it and lost too.
        if ends_torn(&h.path()) {
            f.write_all(b"\n")?;
        }
        *h.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
        Ok(h)
    }

    fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Never through a symlink, never a file or folder someone else can write.
    fn open_file(&self) -> std::io::Result<File> {
        crate::private_file::open_append("history file", &self.path())
    }

    /// Appends one transition as one line, flushed; rotates first when the file is full.
    pub fn append(&self, t: &Transition) -> std::io::Result<()> {
        let mut line =
            serde_json::to_string(&Record::from_transition(t)).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let size = guard
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        if size + line.len() as u64 > self.max_bytes {
            *guard = None;
            std::fs::rename(self.path(), self.dir.join(format!("{FILE}.1")))?;
            *guard = Some(self.open_file()?);
        }
        let f = match guard.as_mut() {
            Some(f) => f,
            None => guard.insert(self.open_file()?),
        };
        // One write of the whole line: O_APPEND keeps it in one piece. When it fails (a full
        // disk), cut the file back to its last whole line: a partial record left there would
        // glue the next one to it and lose both.
        let before = f.metadata().map(|m| m.len());
        if let Err(e) = f.write_all(line.as_bytes()).and_then(|()| f.flush()) {
            if let Ok(len) = before {
                let _ = f.set_len(len);
            }
            return Err(e);
        }
        Ok(())
    }
}

/// True when the file is not empty and does not end with a line feed.
fn ends_torn(path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

/// Every record in `dir` (rotated file first), oldest first; torn or foreign lines are
/// skipped with a log line. Collects them all: for tests and small files; see [`for_each`].
pub fn read(dir: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    if let Err(e) = for_each(dir, |r| out.push(r)) {
        tracing::warn!("{e}");
    }
    out
}

/// Streams every record in `dir` (rotated file first), oldest first, to `f`: memory stays
/// bounded by one line ([`MAX_LINE`]) whatever the file's size; an overlong line is skipped
/// without being buffered.
/// A file that is a symlink, or that someone else can write (or whose folder they can), is
/// refused: its events could be forged.
pub fn for_each(dir: &Path, mut f: impl FnMut(Record)) -> Result<(), String> {
    for name in [format!("{FILE}.1"), FILE.to_owned()] {
        let path = dir.join(&name);
        let file = match crate::private_file::open_read("history file", &path) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(e) => return Err(e.to_string()),
        };
        let mut r = BufReader::new(file);
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            let read = (&mut r)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line);
            match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            n += 1;
            let complete = line.ends_with(b"\n");
            match serde_json::from_slice::<Record>(&line) {
                Ok(rec) if complete => f(rec),
                _ => {
                    tracing::warn!(
                        file = %path.display(),
                        line = n,
                        "history line skipped: {}",
                        if complete { "not a history record" } else { "torn (written while the process died?)" }
                    );
                    if !complete && line.len() > MAX_LINE {
                        skip_line(&mut r);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Skips to just after the next line feed without keeping what it skips.
fn skip_line(r: &mut impl BufRead) {
    loop {
        let (done, used) = match r.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buf) => match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (true, i + 1),
                None => (false, buf.len()),
            },
        };
        r.consume(used);
        if done {
            return;
        }
    }
}

/// Appends every transition of `store` to `history` until the store's event stream ends.
pub fn spawn_recorder(
    store: &Store,
    history: std::sync::Arc<History>,
) -> tokio::task::JoinHandle<()> {
    let mut events = store.events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(StoreEvent::Transition(t)) => {
                    if let Err(e) = history.append(&t) {
                        tracing::warn!("cannot append to the history: {e}");
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("history: {n} events missed (too many at once)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// How far back the dashboard and `serve` load the history at start.
pub const PRELOAD: Duration = Duration::from_secs(7 * 86_400);

/// [`attach`] for `serve`, the one writer: a history folder another process writes is an
/// error naming its pid, not a warning.
pub fn attach_exclusive(
    store: &Store,
    settings: &crate::config::Settings,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    attach_inner(store, settings, true)
}

/// Opens the history for a config's settings, loads its recent transitions into `store`
/// (marked as before this start) and records new ones. A history that cannot be opened
/// (another process's lock included) is logged and skipped: monitoring goes on without it.
pub fn attach(
    store: &Store,
    settings: &crate::config::Settings,
) -> Option<tokio::task::JoinHandle<()>> {
    attach_inner(store, settings, false).unwrap_or_default()
}

fn attach_inner(
    store: &Store,
    settings: &crate::config::Settings,
    exclusive: bool,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(dir) = settings.history_dir.clone().or_else(default_dir) else {
        tracing::warn!(
            "history disabled: neither HOME nor XDG_STATE_HOME is set (set history_dir in [settings])"
        );
        return Ok(None);
    };
    let history = match History::open(&dir, settings.history_max_mb) {
        Ok(h) => std::sync::Arc::new(h),
        Err(e) if exclusive && e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(e.to_string());
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "history disabled: {e}");
            return Ok(None);
        }
    };
    let since = SystemTime::now() - PRELOAD;
    // Only the newest the store keeps, whatever the file's size.
    let mut earlier = std::collections::VecDeque::new();
    let read = for_each(&dir, |r| {
        if let Some(t) = r.to_transition().filter(|t| t.at >= since) {
            if earlier.len() == crate::store::TRANSITIONS_LEN {
                earlier.pop_front();
            }
            earlier.push_back(t);
        }
    });
    if let Err(e) = read {
        tracing::warn!(dir = %dir.display(), "earlier history not loaded: {e}");
    }
    let earlier: Vec<Transition> = earlier.into();
    tracing::info!(dir = %dir.display(), loaded = earlier.len(), "history attached");
    store.preload_transitions(earlier);
    Ok(Some(spawn_recorder(store, history)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(probe: &str, to: Status, secs: u64) -> Transition {
        Transition {
            at: UNIX_EPOCH + Duration::from_secs(secs),
            probe: probe.into(),
            from: Some(Status::Ok),
            to,
            summary: format!("{probe} went {to}"),
            cause: Some("DP04".into()),
            earlier: false,
        }
    }

    /// A 1 MB summary (from a plugin) was written as a 1 MB line the reader then skipped as
    /// torn: the history clips what it stores, so every line it writes it reads back.
    #[test]
    fn record_times_always_have_three_fraction_digits() {
        let at = |ms: u64| {
            Record::from_transition(&Transition {
                at: UNIX_EPOCH + Duration::from_millis(ms),
                ..t("p", Status::Ok, 0)
            })
            .at
        };
        assert_eq!(at(1_795_182_312_290), "2026-11-20T13:45:12.290Z");
        assert_eq!(at(1_795_182_312_867), "2026-11-20T13:45:12.867Z");
        assert_eq!(at(1_795_182_312_000), "2026-11-20T13:45:12.000Z");
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_first() {
        let dir = std::env::temp_dir().join(format!("pd-history-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = History::open(&dir, 1).unwrap();
        let e = History::open(&dir, 1).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        assert!(
            e.to_string()
                .contains(&format!("is in use by pid {}", std::process::id())),
            "{e}"
        );
        drop(first);
        History::open(&dir, 1).expect("free again once the first writer is gone");
    }

    #[test]
    fn a_huge_summary_is_clipped_and_read_back() {
        let dir = std::env::temp_dir().join(format!("pd-history-big-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let h = History::open(&dir, 16).unwrap();
        let mut big = t("bits", Status::Critical, 1_795_182_312);
        big.summary = "\u{1b}x\"".repeat(400_000);
        h.append(&big).unwrap();
        let recs = read(&dir);
        assert_eq!(recs.len(), 1, "the record is read back");
        assert!(recs[0].summary.len() <= MAX_TEXT && recs[0].summary.ends_with('…'));
    }

    /// A full disk: the failed append leaves no partial record behind, so the next record
    /// (after space is freed) is whole and both the older and newer ones are read.
    #[test]
    fn a_failed_append_on_a_full_disk_leaves_no_partial_record() {
        let dir = std::env::temp_dir().join(format!("pd-history-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A 64 KiB tmpfs: a real ENOSPC (tests run as root; CI too).
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(mounted, "this test mounts a small tmpfs (needs root)");
        struct Unmount(PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let _guard = Unmount(dir.clone());
        let h = History::open(&dir, 16).unwrap();
        h.append(&t("ok-before", Status::Critical, 1_795_182_312))
            .unwrap();
        // Fill the disk, leaving less room than one record.
        let filler = dir.join("filler");
        let mut f = File::create(&filler).unwrap();
        let chunk = vec![b'x'; 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
        let mut long = t("lost", Status::Warning, 1_795_182_400);
        long.summary = "y".repeat(4096);
        assert!(h.append(&long).is_err(), "the disk is full");
        drop(f);
        std::fs::remove_file(&filler).unwrap();
        h.append(&t("ok-after", Status::Ok, 1_795_182_500)).unwrap();
        let probes: Vec<String> = read(&dir).into_iter().map(|r| r.probe).collect();
        assert_eq!(probes, ["ok-before", "ok-after"]);
    }

    #[test]
    fn records_round_trip_rotate_and_skip_a_torn_line() {
        let dir = std::env::temp_dir().join(format!("pd-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let h = History::open(&dir, 1).unwrap();
        h.append(&t("bits", Status::Critical, 1_795_182_312))
            .unwrap();
        let recs = read(&dir);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].at, "2026-11-20T13:45:12.000Z");
        assert_eq!(
            recs[0].to_transition().unwrap().at,
            t("bits", Status::Critical, 1_795_182_312).at
        );
        // A torn last line (the process died mid-write) is skipped, the rest kept.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(FILE))
            .unwrap();
        f.write_all(br#"{"at":"2026-11-20T13:46:00Z","probe":"bi"#)
            .unwrap();
        drop(f);
        assert_eq!(read(&dir).len(), 1);
        // Reopened after the crash: the next line is whole, not glued to the torn one.
        drop(h);
        let h = History::open(&dir, 1).unwrap();
        h.append(&t("msi", Status::Warning, 1_795_182_350)).unwrap();
        let recs = read(&dir);
        assert_eq!(recs.len(), 2, "{recs:?}");
        assert_eq!(recs[1].probe, "msi");
        // Fill past 1 MiB: the file rotates to .1 and both are read, oldest first.
        drop(h);
        let h = History::open(&dir, 1).unwrap();
        for i in 0..10_000 {
            h.append(&t("wua", Status::Warning, 1_795_182_400 + i))
                .unwrap();
        }
        assert!(dir.join(format!("{FILE}.1")).exists());
        assert!(std::fs::metadata(dir.join(FILE)).unwrap().len() <= 1024 * 1024);
        let all = read(&dir);
        assert!(all.len() > 1000, "{}", all.len());
        assert!(
            all.windows(2).all(|w| w[0].time() <= w[1].time()),
            "oldest first"
        );
        assert_eq!(all.last().unwrap().at, "2026-11-20T16:33:19.000Z");
    }
}
