//! The live dashboard: terminal set-up and restore, the event sources, and the loop that
//! feeds `update` and draws with `view` only when something visible changed.

use crate::model::{Command, Look, Model, Msg, Snapshot, Source};
use crate::update::update;
use anyhow::Context;
use patchdeck_core::engine::Engine;
use patchdeck_core::scheduler::Scheduler;
use patchdeck_core::store::Store;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyModifiers, MouseButton,
    MouseEventKind,
};
use ratatui::crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Display options from the command line.
#[derive(Debug, Clone, Copy)]
pub struct TuiOptions {
    pub mouse: bool,
    pub no_color: bool,
    pub ascii: bool,
    pub no_links: bool,
}

/// Decides colour and symbols from flags and the environment: NO_COLOR and `--no-color`
/// turn colour off; `TERM=vt100`/`vt220`/`dumb` have no colour and, like the Linux console
/// (`TERM=linux`, whose fonts lack most symbols), get ASCII symbols.
pub fn look(opts: TuiOptions, term: Option<&str>, no_color_env: bool) -> Look {
    let term = term.unwrap_or("");
    let mono_term = term.starts_with("vt1") || term.starts_with("vt2") || term == "dumb";
    Look {
        color: !(opts.no_color || no_color_env || mono_term),
        ascii: opts.ascii || mono_term || term == "linux",
    }
}

/// Counts bytes written to the terminal, for the numbers in the issue notes.
struct Counting<W> {
    inner: W,
    bytes: Arc<AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

static MOUSE: AtomicBool = AtomicBool::new(false);
static RESTORED: AtomicBool = AtomicBool::new(true);

/// Puts the terminal back: raw mode off, main screen, cursor shown. Safe to call twice.
pub fn restore_terminal() {
    if RESTORED.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
}

fn setup_terminal(mouse: bool) -> anyhow::Result<()> {
    enable_raw_mode().context("cannot put the terminal in raw mode (is stdin a terminal?)")?;
    RESTORED.store(false, Ordering::SeqCst);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    let mut out = std::io::stdout();
    execute!(out, EnterAlternateScreen, cursor::Hide)?;
    if mouse {
        MOUSE.store(true, Ordering::SeqCst);
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// Seconds east of UTC of the local time zone now (TZ, else /etc/localtime), from jiff: no
/// unsafe libc call, and a daylight-saving change is picked up at the next call.
fn utc_offset() -> i64 {
    i64::from(
        jiff::tz::TimeZone::system()
            .to_offset(jiff::Timestamp::now())
            .seconds(),
    )
}

fn spawn_input(tx: mpsc::UnboundedSender<Msg>) {
    use std::io::{IsTerminal, Read};
    use std::sync::mpsc::RecvTimeoutError;
    // The terminal: stdin when it is one (as crossterm would), else /dev/tty.
    let mut source: Box<dyn Read + Send> = if std::io::stdin().is_terminal() {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open("/dev/tty") {
            Ok(f) => Box::new(f),
            Err(_) => {
                let _ = tx.send(Msg::InputClosed);
                return;
            }
        }
    };
    let (bytes_tx, bytes_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::Builder::new()
        .name("tty-read".into())
        .spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match source.read(&mut buf) {
                    // EOF / EIO: the terminal is gone (SSH dropped). Stop, never spin.
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if bytes_tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .expect("spawn tty reader thread");
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            let mut decoder = crate::input::Decoder::default();
            let mut events = Vec::new();
            // The last left click, to tell a double click (same cell, within 500 ms).
            let mut last_click: Option<(Instant, u16, u16)> = None;
            loop {
                // An incomplete escape sequence waits a moment for its next byte, never
                // longer: then it is dropped and what follows reads as keys again.
                let got = if decoder.pending() {
                    bytes_rx.recv_timeout(crate::input::SEQUENCE_TIMEOUT)
                } else {
                    bytes_rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                };
                match got {
                    Ok(bytes) => decoder.feed(&bytes, &mut events),
                    Err(RecvTimeoutError::Timeout) => decoder.timeout(&mut events),
                    Err(RecvTimeoutError::Disconnected) => {
                        let _ = tx.send(Msg::InputClosed);
                        return;
                    }
                }
                for ev in events.drain(..) {
                    let msg = match ev {
                        Event::Key(k) => Msg::Key(k),
                        // With --mouse: the wheel scrolls like the arrow keys.
                        Event::Mouse(m) => match m.kind {
                            MouseEventKind::ScrollUp => {
                                Msg::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE))
                            }
                            MouseEventKind::ScrollDown => {
                                Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE))
                            }
                            MouseEventKind::Down(MouseButton::Left) => {
                                let now = Instant::now();
                                let double = last_click.is_some_and(|(t, x, y)| {
                                    (x, y) == (m.column, m.row)
                                        && now.duration_since(t) < Duration::from_millis(500)
                                });
                                // A third click starts over.
                                last_click = (!double).then_some((now, m.column, m.row));
                                Msg::Click {
                                    x: m.column,
                                    y: m.row,
                                    double,
                                }
                            }
                            _ => continue,
                        },
                        _ => continue,
                    };
                    if tx.send(msg).is_err() {
                        return;
                    }
                }
            }
        })
        .expect("spawn input thread");
}

fn spawn_signals(tx: mpsc::UnboundedSender<Msg>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    for kind in [
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::interrupt(),
    ] {
        let mut s = signal(kind).context("cannot install signal handlers")?;
        let tx = tx.clone();
        tokio::spawn(async move {
            if s.recv().await.is_some() {
                let _ = tx.send(Msg::Terminate);
            }
        });
    }
    // The window's size changed (the input decoder reads keys only).
    let mut winch =
        signal(SignalKind::window_change()).context("cannot install signal handlers")?;
    tokio::spawn(async move {
        while winch.recv().await.is_some() {
            if let Ok((w, h)) = ratatui::crossterm::terminal::size()
                && tx.send(Msg::Resize(w, h)).is_err()
            {
                return;
            }
        }
    });
    Ok(())
}

fn spawn_store_watch(store: Store, tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut rx = store.subscribe();
        let mut last: Option<Snapshot> = None;
        while rx.changed().await.is_ok() {
            let snap = Snapshot::from_state_reusing(&store.read(), last.as_ref());
            last = Some(snap.clone());
            if tx.send(Msg::Data(snap)).is_err() {
                return;
            }
        }
    });
}

/// One tick per wall-clock second, at the turn of the second, so the clock is exact and
/// nothing else wakes the process.
fn spawn_clock(tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        loop {
            let now = SystemTime::now();
            let into = now
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos();
            let wait = Duration::from_nanos(u64::from(1_000_000_000 - into));
            tokio::time::sleep(wait).await;
            if tx.send(Msg::Tick(SystemTime::now())).is_err() {
                return;
            }
        }
    });
}

/// Who runs the probes the dashboard shows, and so who gets its `r`, `R` and `p`.
enum Control<'a> {
    /// This process's own engine (no serve runs for the config).
    Own(&'a Engine),
    /// A `serve` the dashboard is attached to.
    Attached(&'a crate::attach::Attached),
}

/// Runs the dashboard on its own engine until quit or a signal; the terminal is restored on
/// every path.
pub async fn run(engine: Engine, opts: TuiOptions) -> anyhow::Result<u8> {
    run_own(engine, opts, None).await
}

/// [`run`], with a word for the header from the start (why it runs its own probes although a
/// serve runs for the config).
pub async fn run_own(engine: Engine, opts: TuiOptions, note: Option<Source>) -> anyhow::Result<u8> {
    let started = Instant::now();
    let store = Store::new(engine.metas());
    // Transitions survive: what happened overnight is in the events view at start.
    let _recorder = patchdeck_core::history::attach(&store, &engine.config.settings);
    setup_terminal(opts.mouse)?;
    let site = engine.config.settings.site.clone();
    let result = run_inner(
        Control::Own(&engine),
        &store,
        site,
        None,
        opts,
        started,
        note,
    )
    .await;
    restore_terminal();
    let _ = tokio::time::timeout(Duration::from_secs(3), engine.shutdown()).await;
    result
}

/// Runs the dashboard attached to the `serve` at `socket`: it shows serve's results and sends
/// it the dashboard's actions; nothing here polls the site or writes history.
pub async fn run_attached(
    target: &str,
    site: Option<String>,
    opts: TuiOptions,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let (links_tx, links) = mpsc::unbounded_channel();
    let attached = if target.starts_with("http://") || target.starts_with("https://") {
        crate::attach::attach_url(target, links_tx).await?
    } else {
        crate::attach::attach(std::path::Path::new(target), links_tx).await?
    };
    tracing::info!(
        target,
        pid = attached.hello.pid,
        read_only = attached.read_only,
        "attached to serve"
    );
    setup_terminal(opts.mouse)?;
    let store = attached.store.clone();
    let result = run_inner(
        Control::Attached(&attached),
        &store,
        site,
        Some(links),
        opts,
        started,
        None,
    )
    .await;
    restore_terminal();
    result
}

/// "live from serve (pid 4242, since 13:05)", short "serve 4242": the header's word on
/// where results come from.
fn live_from(hello: &crate::attach::Hello) -> Source {
    let local = (hello.since as i64 + utc_offset()).rem_euclid(86_400);
    Source {
        long: format!(
            "live from serve (pid {}, since {:02}:{:02}){}",
            hello.pid,
            local / 3600,
            local / 60 % 60,
            if hello.config.starts_with("http") {
                ", read-only"
            } else {
                ""
            }
        ),
        short: format!("serve {}", hello.pid),
        alarm: false,
    }
}

fn look_for(opts: TuiOptions) -> Look {
    look(
        opts,
        std::env::var("TERM").ok().as_deref(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    )
}

async fn run_inner(
    control: Control<'_>,
    store: &Store,
    site: Option<String>,
    links: Option<mpsc::UnboundedReceiver<crate::attach::Link>>,
    opts: TuiOptions,
    started: Instant,
    note: Option<Source>,
) -> anyhow::Result<u8> {
    let look = look_for(opts);
    // OSC 8 where the terminal can show more than ASCII (the Linux console and VT100s get
    // ASCII and no links).
    let hyperlinks = !opts.no_links && !look.ascii;
    let bytes = Arc::new(AtomicU64::new(0));
    let writer = Counting {
        inner: std::io::stdout(),
        bytes: bytes.clone(),
    };
    let mut terminal = Terminal::new(CrosstermBackend::new(writer))?;
    let size = terminal.size()?;
    let mut model = Model::new(
        site,
        Snapshot::from_state(&store.read()),
        SystemTime::now(),
        (size.width, size.height),
        look,
    );
    model.utc_offset = utc_offset();
    if let Control::Attached(a) = &control {
        model.source = Some(live_from(&a.hello));
    }
    if note.is_some() {
        model.source = note;
    }
    // The last frame sent, to skip sending an identical one.
    let mut last: Option<Shown> = None;
    draw(&mut terminal, &mut model, &mut last, hyperlinks)?;
    tracing::info!(
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "first frame drawn"
    );
    // Debug builds only: a panic provoked from outside, for the test that the terminal is
    // restored (normal screen, cursor, tty modes) and the message printed after it.
    #[cfg(debug_assertions)]
    if std::env::var_os("PATCHDECK_DEBUG_PANIC").is_some() {
        panic!("PATCHDECK_DEBUG_PANIC is set: panicking after the first frame");
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_input(tx.clone());
    spawn_signals(tx.clone())?;
    spawn_store_watch(store.clone(), tx.clone());
    spawn_clock(tx.clone());
    if let Some(mut links) = links {
        let tx = tx.clone();
        tokio::spawn(async move {
            use crate::attach::Link;
            while let Some(l) = links.recv().await {
                tracing::info!(?l, "serve link");
                let clean = |s: String| patchdeck_core::sanitize::line(&s).into_owned();
                let source = match l {
                    Link::Live(h) => live_from(&h),
                    Link::Lost(why) => Source {
                        long: clean(format!("serve lost ({why}); attaching again")),
                        short: "serve lost".into(),
                        alarm: true,
                    },
                    Link::Notice(n) => Source {
                        short: if n.contains("reload refused") {
                            "serve: reload refused".into()
                        } else {
                            "serve: notice (see log)".into()
                        },
                        long: clean(format!("serve: {n}")),
                        alarm: true,
                    },
                };
                if tx.send(Msg::Source(Some(source))).is_err() {
                    return;
                }
            }
        });
    }
    let scheduler = match &control {
        Control::Own(engine) => Some(Scheduler::start(&engine.probes, store.clone())),
        Control::Attached(_) => None,
    };

    let mut draws = 0u64;
    while let Some(msg) = rx.recv().await {
        // Results are shown with the next clock tick (at most a second later), so a burst of
        // probe runs becomes one frame; keys and resizes are drawn at once.
        let mut now_please = !matches!(msg, Msg::Data(_));
        let mut tick = matches!(msg, Msg::Tick(_));
        let mut commands = update(&mut model, msg);
        // Coalesce whatever else is already queued into one frame.
        while let Ok(msg) = rx.try_recv() {
            now_please |= !matches!(msg, Msg::Data(_));
            tick |= matches!(msg, Msg::Tick(_));
            commands.extend(update(&mut model, msg));
        }
        // Once a second is enough to follow a daylight-saving change.
        if tick {
            model.utc_offset = utc_offset();
        }
        for c in commands {
            let c = match c {
                Command::Copy(text) => {
                    let said = copy_to_clipboard(terminal.backend_mut(), &text);
                    let _ = tx.send(Msg::Said(said));
                    continue;
                }
                Command::Write { name, text } => {
                    let said = match write_item(&name, &text) {
                        Ok(path) => {
                            tracing::info!(path = %path.display(), "item written");
                            // The file's name first: a long folder is what gets cut.
                            let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
                            let dir = path.parent().map(|d| {
                                let d = d.display().to_string();
                                match std::env::var("HOME") {
                                    Ok(h) if !h.is_empty() && d.starts_with(&h) => {
                                        format!("~{}", &d[h.len()..])
                                    }
                                    _ => d,
                                }
                            });
                            format!(
                                "written to {} in {}",
                                file.unwrap_or_default(),
                                dir.unwrap_or_default()
                            )
                        }
                        Err(e) => format!("not written: {e}"),
                    };
                    let _ = tx.send(Msg::Said(
                        patchdeck_core::sanitize::line(&said).into_owned(),
                    ));
                    continue;
                }
                c => c,
            };
            match (&scheduler, &control) {
                (Some(scheduler), _) => match c {
                    Command::RunNow(id) => {
                        scheduler.run_now(&id);
                    }
                    Command::RunAll => scheduler.run_all_now(),
                    Command::SetPaused(p) => scheduler.set_paused(p),
                    Command::Copy(_) | Command::Write { .. } => {}
                },
                (None, Control::Attached(a)) if a.read_only => {
                    let _ = tx.send(Msg::Said(
                        "read-only: attached over HTTP, r, R and p need serve's socket (--connect SOCKET)"
                            .into(),
                    ));
                }
                (None, Control::Attached(a)) => a.act(match c {
                    Command::RunNow(id) => crate::attach::Action::Run(id),
                    Command::RunAll => crate::attach::Action::RunAll(true),
                    Command::SetPaused(p) => crate::attach::Action::Pause(p),
                    Command::Copy(_) | Command::Write { .. } => continue,
                }),
                (None, Control::Own(_)) => {}
            }
        }
        if model.quit {
            break;
        }
        if model.dirty && now_please && draw(&mut terminal, &mut model, &mut last, hyperlinks)? {
            draws += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        bytes = bytes.load(Ordering::Relaxed),
        draws,
        seconds = secs,
        bytes_per_minute = bytes.load(Ordering::Relaxed) as f64 / secs * 60.0,
        "terminal output"
    );
    drop(rx);
    if let Some(scheduler) = scheduler {
        let _ = tokio::time::timeout(Duration::from_secs(3), scheduler.shutdown()).await;
    }
    Ok(0)
}

/// Text the clipboard takes at most through OSC 52 (terminals cap it; `w` has no limit).
const MAX_COPY_BYTES: usize = 64 * 1024;

/// Puts `text` on the terminal's clipboard with OSC 52 (xterm, tmux with set-clipboard, kitty,
/// iTerm2, Windows Terminal; over SSH too). Returns what to say in the footer.
fn copy_to_clipboard<W: Write>(out: &mut W, text: &str) -> String {
    let lines = text.lines().count();
    if text.len() > MAX_COPY_BYTES {
        return format!(
            "{lines} lines, too many for the clipboard ({} KB): w writes them to a file",
            text.len() / 1024
        );
    }
    let seq = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    match out.write_all(seq.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => format!(
            "copied {lines} line{} (OSC 52; if your terminal does not allow it, w writes a file)",
            if lines == 1 { "" } else { "s" }
        ),
        Err(e) => format!("not copied: {e}"),
    }
}

/// Standard base64 (RFC 4648) with padding, as OSC 52 wants it.
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Writes an item's text to `<state>/patchdeck/items/<name>-<time>.txt` (folder 0700, file
/// 0600, created new: never over an existing file or through a symlink) and returns the path.
fn write_item(name: &str, text: &str) -> anyhow::Result<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = patchdeck_core::config::state_dir()
        .ok_or_else(|| anyhow::anyhow!("neither HOME nor XDG_STATE_HOME is set"))?
        .join("items");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S");
    let path = dir.join(format!("{safe}-{stamp}.txt"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(text.as_bytes())?;
    Ok(path)
}

/// The frame last sent and the hyperlinks written on it.
struct Shown {
    buffer: ratatui::buffer::Buffer,
    links: Vec<crate::hyperlinks::Link>,
}

/// Draws a frame unless it would be identical to the last one drawn; returns whether it
/// drew. (An unchanged frame still costs a cursor hide, colour resets and the sync
/// brackets: bytes over SSH for nothing.) With `hyperlinks`, the whole URLs on screen get
/// OSC 8 links, written only when new or changed.
fn draw<W: Write>(
    terminal: &mut Terminal<CrosstermBackend<W>>,
    model: &mut Model,
    last: &mut Option<Shown>,
    hyperlinks: bool,
) -> anyhow::Result<bool> {
    use crate::hyperlinks as hl;
    use ratatui::backend::Backend;
    model.dirty = false;
    let area = terminal.size()?;
    let area = ratatui::layout::Rect::new(0, 0, area.width, area.height);
    let mut scratch = Terminal::new(ratatui::backend::TestBackend::new(area.width, area.height))?;
    let frame = scratch.draw(|f| crate::view::view(model, f))?;
    if last.as_ref().map(|s| &s.buffer) == Some(frame.buffer) {
        return Ok(false);
    }
    let rendered = frame.buffer.clone();
    let links = if hyperlinks {
        hl::find(&rendered)
    } else {
        Vec::new()
    };
    // Links of a frame of another size are gone: ratatui clears the screen on a resize.
    let before: &[hl::Link] = match last.as_ref() {
        Some(s) if s.buffer.area == rendered.area => &s.links,
        _ => &[],
    };
    let mut sent = rendered.clone();
    hl::hand_over(&mut sent, &links, before);
    let write: Vec<(u16, u16, ratatui::buffer::Cell)> =
        hl::to_write(&links, before, last.as_ref().map(|s| &s.buffer), &rendered)
            .into_iter()
            .flat_map(|l| hl::cells(l, &rendered))
            .collect();
    // Synchronized output (DEC mode 2026): terminals that know it show the frame at once;
    // others ignore the sequence.
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let mut resized = false;
    terminal.draw(|f| {
        // Send the frame already rendered; render again only if the terminal was resized
        // in between.
        if f.area() == rendered.area {
            f.buffer_mut().clone_from(&sent);
        } else {
            resized = true;
            crate::view::view(model, f);
        }
    })?;
    if resized {
        // Drawn by ratatui alone, without links: the next frame writes them all.
        *last = None;
    } else {
        if !write.is_empty() {
            let backend = terminal.backend_mut();
            backend.draw(write.iter().map(|(x, y, c)| (*x, *y, c)))?;
            Backend::flush(backend)?;
        }
        *last = Some(Shown {
            buffer: rendered,
            links,
        });
    }
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(no_color: bool, ascii: bool) -> TuiOptions {
        TuiOptions {
            mouse: false,
            no_color,
            ascii,
            no_links: false,
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain}");
        }
    }

    #[test]
    fn the_clipboard_gets_osc_52_and_a_huge_list_is_refused() {
        let mut out = Vec::new();
        let said = copy_to_clipboard(&mut out, "a\nb\n");
        assert_eq!(out, b"\x1b]52;c;YQpiCg==\x07");
        assert!(said.starts_with("copied 2 lines"), "{said}");
        let mut out = Vec::new();
        let said = copy_to_clipboard(&mut out, &"host\n".repeat(20_000));
        assert!(out.is_empty());
        assert!(said.contains("w writes them to a file"), "{said}");
    }

    #[test]
    fn look_follows_flags_term_and_no_color() {
        assert_eq!(
            look(opts(false, false), Some("xterm-256color"), false),
            Look {
                color: true,
                ascii: false
            }
        );
        assert_eq!(
            look(opts(false, false), Some("xterm"), true),
            Look {
                color: false,
                ascii: false
            }
        );
        assert_eq!(
            look(opts(true, false), Some("xterm"), false),
            Look {
                color: false,
                ascii: false
            }
        );
        assert_eq!(
            look(opts(false, true), Some("xterm"), false),
            Look {
                color: true,
                ascii: true
            }
        );
        assert_eq!(
            look(opts(false, false), Some("vt100"), false),
            Look {
                color: false,
                ascii: true
            }
        );
        assert_eq!(
            look(opts(false, false), Some("linux"), false),
            Look {
                color: true,
                ascii: true
            }
        );
        assert_eq!(
            look(opts(false, false), Some("dumb"), false),
            Look {
                color: false,
                ascii: true
            }
        );
    }
}
