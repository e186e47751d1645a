//! The store: the latest result of every probe, a ring of recent results, and the log of
//! state transitions. The TUI, `check` and exporters read it; the scheduler writes it.
//! Readers are told about changes through a watch channel (a version counter) and a
//! broadcast of events, never by polling.

use crate::config::Isolation;
use patchdeck_probe_api::{Report, Status};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, watch};

/// Results kept per probe for the status strip and sparkline.
pub const HISTORY_LEN: usize = 240;
/// Transitions kept for the events screen.
pub const TRANSITIONS_LEN: usize = 1000;

/// The outcome of one run of one probe.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub status: Status,
    /// The report's summary, or the UNKNOWN reason.
    pub summary: String,
    /// The validated report, when the plugin produced one.
    pub report: Option<Report>,
    /// Why there is no report (or why the run failed), in full.
    pub error: Option<String>,
    pub started_at: SystemTime,
    pub duration: Duration,
}

impl CheckResult {
    pub fn from_report(report: Report, started_at: SystemTime, duration: Duration) -> CheckResult {
        CheckResult {
            status: report.status,
            summary: report.summary.clone(),
            report: Some(report),
            error: None,
            started_at,
            duration,
        }
    }

    /// Replaces every registered secret ([`crate::sanitize::register_secrets`]) in all the
    /// text of the result: summary, error, and every string of the report.
    pub fn redact_secrets(&mut self) {
        self.for_each_text(&mut crate::sanitize::redact_in_place);
    }

    /// Calls `f` on every string of the result: summary, error, and every string of the
    /// report (redaction; a viewer's sanitising of a state it received).
    pub fn for_each_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        fn item(i: &mut patchdeck_probe_api::Item, f: &mut dyn FnMut(&mut String)) {
            for s in [&mut i.id, &mut i.title, &mut i.summary] {
                f(s);
            }
            for s in [&mut i.evidence, &mut i.fix].into_iter().flatten() {
                f(s);
            }
            for s in [&mut i.rule].into_iter().flatten() {
                f(s);
            }
            details(&mut i.details, f);
            for m in &mut i.metrics {
                f(&mut m.label);
            }
            for c in &mut i.items {
                item(c, f);
            }
        }
        fn details(ds: &mut [patchdeck_probe_api::Detail], f: &mut dyn FnMut(&mut String)) {
            for d in ds {
                f(&mut d.label);
                f(&mut d.value);
            }
        }
        f(&mut self.summary);
        if let Some(e) = &mut self.error {
            f(e);
        }
        if let Some(rep) = &mut self.report {
            f(&mut rep.summary);
            details(&mut rep.details, f);
            for m in &mut rep.metrics {
                f(&mut m.label);
            }
            for i in &mut rep.items {
                item(i, f);
            }
        }
    }

    /// The id of the worst item of the report (depth first, first of the worst): what a
    /// non-OK status is about ("DP04", "scan-errors"). `None` when OK or without items.
    pub fn cause(&self) -> Option<String> {
        if self.status == Status::Ok {
            return None;
        }
        fn worst(items: &[patchdeck_probe_api::Item]) -> Option<(u8, &str)> {
            let mut best: Option<(u8, &str)> = None;
            for i in items {
                if i.status == Status::Ok {
                    continue;
                }
                let sev = i.status.severity();
                if best.is_none_or(|(b, _)| sev > b) {
                    best = Some((sev, i.id.as_str()));
                }
            }
            best
        }
        self.report
            .as_ref()
            .and_then(|r| worst(&r.items))
            .map(|(_, id)| id.to_owned())
    }

    pub fn unknown(
        reason: impl Into<String>,
        started_at: SystemTime,
        duration: Duration,
    ) -> CheckResult {
        let reason = reason.into();
        CheckResult {
            status: Status::Unknown,
            summary: reason.clone(),
            report: None,
            error: Some(reason),
            started_at,
            duration,
        }
    }
}

/// A compact history entry.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    pub status: Status,
    pub started_at: SystemTime,
    pub duration: Duration,
}

/// A change of a probe's status, or of its cause at the same (non-OK) status. `from` is
/// `None` for a probe's first result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transition {
    pub at: SystemTime,
    pub probe: String,
    pub from: Option<Status>,
    pub to: Status,
    pub summary: String,
    /// The worst item's id (what is wrong: "DP04"), when the report names one.
    pub cause: Option<String>,
    /// Loaded from the history of an earlier run (shown as "before this start").
    pub earlier: bool,
}

/// What a probe is, for displays.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeMeta {
    pub id: String,
    pub kind: String,
    pub plugin_version: String,
    pub isolation: Isolation,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Everything known about one probe.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeState {
    pub meta: ProbeMeta,
    pub latest: Option<Arc<CheckResult>>,
    pub history: VecDeque<HistoryEntry>,
    pub running: bool,
    /// When the current run started (while `running`).
    pub running_since: Option<SystemTime>,
    pub next_run: Option<SystemTime>,
    /// Consecutive UNKNOWN results (drives the scheduler's backoff).
    pub consecutive_unknown: u32,
    /// Transitions of this probe since start (a counter: never reset, unlike the ring).
    pub transitions_total: u64,
    /// Bumped on every change to this probe's state: a reader that kept an earlier copy
    /// (the dashboard) knows it is still current without comparing it.
    pub revision: u64,
}

impl ProbeState {
    /// Status of the latest result; `None` while pending.
    pub fn status(&self) -> Option<Status> {
        self.latest.as_ref().map(|r| r.status)
    }

    /// How long the current run has taken, once it is long enough to be worth showing
    /// (a run of a few milliseconds would only flicker).
    pub fn slow_run(&self, now: SystemTime) -> Option<Duration> {
        let since = self.running_since.filter(|_| self.running)?;
        now.duration_since(since).ok().filter(|d| d.as_secs() >= 1)
    }
}

/// A snapshot-able view of the store. Serialised whole for `serve`'s viewers (the dashboards
/// attached to it), who [`Store::replace`] their copy with it.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub probes: Vec<ProbeState>,
    #[serde(skip)]
    index: HashMap<String, usize>,
    pub transitions: VecDeque<Transition>,
    /// Bumped whenever `transitions` changes.
    pub transitions_revision: u64,
    pub paused: bool,
}

impl State {
    /// Makes every string of a state received from elsewhere (a viewer's copy of `serve`'s)
    /// safe for a terminal, as the core's own report parsing does.
    pub fn sanitize(&mut self) {
        let mut clean = |s: &mut String| {
            if let std::borrow::Cow::Owned(c) = crate::sanitize::text(s) {
                *s = c;
            }
        };
        for p in &mut self.probes {
            for s in [&mut p.meta.id, &mut p.meta.kind, &mut p.meta.plugin_version] {
                clean(s);
            }
            if let Some(r) = &mut p.latest {
                Arc::make_mut(r).for_each_text(&mut clean);
            }
        }
        for t in &mut self.transitions {
            clean(&mut t.probe);
            clean(&mut t.summary);
            if let Some(c) = &mut t.cause {
                clean(c);
            }
        }
    }

    pub fn probe(&self, id: &str) -> Option<&ProbeState> {
        self.index.get(id).map(|&i| &self.probes[i])
    }

    /// Probes per status of their latest result (pending probes are not counted).
    pub fn counts(&self) -> [usize; 4] {
        let mut c = [0; 4];
        for p in &self.probes {
            if let Some(r) = &p.latest {
                c[r.status.code() as usize] += 1;
            }
        }
        c
    }
}

/// A probe not run yet.
fn fresh(meta: ProbeMeta) -> ProbeState {
    ProbeState {
        meta,
        latest: None,
        history: VecDeque::with_capacity(16),
        running: false,
        running_since: None,
        next_run: None,
        consecutive_unknown: 0,
        transitions_total: 0,
        revision: 0,
    }
}

/// A store event, broadcast to subscribers.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreEvent {
    Started { probe: String },
    Finished { probe: String, status: Status },
    Transition(Transition),
    Paused(bool),
}

struct Inner {
    state: RwLock<State>,
    version: watch::Sender<u64>,
    events: broadcast::Sender<StoreEvent>,
}

/// Shared handle to the store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("version", &*self.inner.version.borrow())
            .finish()
    }
}

impl Store {
    pub fn new(probes: impl IntoIterator<Item = ProbeMeta>) -> Store {
        let mut state = State::default();
        for meta in probes {
            state.index.insert(meta.id.clone(), state.probes.len());
            state.probes.push(fresh(meta));
        }
        Store {
            inner: Arc::new(Inner {
                state: RwLock::new(state),
                version: watch::channel(0).0,
                events: broadcast::channel(1024).0,
            }),
        }
    }

    /// Read access. Keep the guard short: writers wait for it.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver whose value changes (a version counter) whenever anything changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    /// A stream of individual events (results, transitions).
    pub fn events(&self) -> broadcast::Receiver<StoreEvent> {
        self.inner.events.subscribe()
    }

    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = {
            let mut st = self.inner.state.write().unwrap_or_else(|e| e.into_inner());
            f(&mut st)
        };
        self.inner.version.send_modify(|v| *v += 1);
        r
    }

    fn emit(&self, e: StoreEvent) {
        // No subscriber is fine.
        let _ = self.inner.events.send(e);
    }

    /// A config reload: the probes are now `probes`, in that order. Those whose ids are in
    /// `keep` (unchanged by the reload) keep their results, history and next run; the others
    /// start pending. Transitions stay (what happened before the reload happened).
    pub fn set_probes(
        &self,
        probes: impl IntoIterator<Item = ProbeMeta>,
        keep: &std::collections::HashSet<String>,
    ) {
        self.write(|st| {
            let mut old: HashMap<String, ProbeState> = st
                .probes
                .drain(..)
                .map(|p| (p.meta.id.clone(), p))
                .collect();
            st.index.clear();
            for meta in probes {
                let state = match old.remove(&meta.id) {
                    Some(mut p) if keep.contains(&meta.id) => {
                        p.meta = meta;
                        p.revision += 1;
                        p
                    }
                    _ => fresh(meta),
                };
                st.index.insert(state.meta.id.clone(), st.probes.len());
                st.probes.push(state);
            }
        });
    }

    /// Replaces the whole state with one received from elsewhere (a viewer's copy of `serve`'s
    /// store). Subscribers see one change; no events are emitted (the collector recorded them).
    pub fn replace(&self, mut state: State) {
        state.index = state
            .probes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.meta.id.clone(), i))
            .collect();
        self.write(|st| *st = state);
    }

    pub fn mark_running(&self, id: &str) {
        let found = self.write(|st| match st.index.get(id) {
            Some(&i) => {
                st.probes[i].running = true;
                st.probes[i].running_since = Some(SystemTime::now());
                st.probes[i].revision += 1;
                true
            }
            None => false,
        });
        if found {
            self.emit(StoreEvent::Started {
                probe: id.to_owned(),
            });
        }
    }

    /// Records a result; returns the number of consecutive UNKNOWN results including it.
    pub fn record(&self, id: &str, result: CheckResult, next_run: Option<SystemTime>) -> u32 {
        let status = result.status;
        let (unknowns, transition) = self.write(|st| {
            let Some(&i) = st.index.get(id) else {
                return (0, None);
            };
            let p = &mut st.probes[i];
            p.revision += 1;
            let from = p.latest.as_ref().map(|r| r.status);
            let old_cause = p.latest.as_ref().and_then(|r| r.cause());
            let cause = result.cause();
            p.running = false;
            p.running_since = None;
            p.next_run = next_run;
            p.consecutive_unknown = if status == Status::Unknown {
                p.consecutive_unknown + 1
            } else {
                0
            };
            if p.history.len() == HISTORY_LEN {
                p.history.pop_front();
            }
            p.history.push_back(HistoryEntry {
                status,
                started_at: result.started_at,
                duration: result.duration,
            });
            // A first OK result is not news; a first bad one is. At the same bad status, a
            // new cause is (CRITICAL because of DP04, then because of DP03).
            let changed = match from {
                Some(f) => f != status || (status != Status::Ok && old_cause != cause),
                None => status != Status::Ok,
            };
            let transition = changed.then(|| Transition {
                at: result.started_at + result.duration,
                probe: id.to_owned(),
                from,
                to: status,
                summary: result.summary.clone(),
                cause,
                earlier: false,
            });
            let unknowns = p.consecutive_unknown;
            p.latest = Some(Arc::new(result));
            if transition.is_some() {
                p.transitions_total += 1;
            }
            if let Some(t) = &transition {
                if st.transitions.len() == TRANSITIONS_LEN {
                    st.transitions.pop_front();
                }
                st.transitions.push_back(t.clone());
                st.transitions_revision += 1;
            }
            (unknowns, transition)
        });
        self.emit(StoreEvent::Finished {
            probe: id.to_owned(),
            status,
        });
        if let Some(t) = transition {
            self.emit(StoreEvent::Transition(t));
        }
        unknowns
    }

    pub fn set_next_run(&self, id: &str, next_run: Option<SystemTime>) {
        self.write(|st| {
            if let Some(&i) = st.index.get(id) {
                st.probes[i].next_run = next_run;
                st.probes[i].revision += 1;
            }
        });
    }

    /// Puts transitions of an earlier run (from the history file) before this run's, so the
    /// events view shows what happened overnight. Oldest first; marked `earlier`.
    pub fn preload_transitions(&self, earlier: Vec<Transition>) {
        self.write(|st| {
            let mut all: VecDeque<Transition> = earlier
                .into_iter()
                .map(|mut t| {
                    t.earlier = true;
                    t
                })
                .collect();
            all.extend(st.transitions.drain(..));
            while all.len() > TRANSITIONS_LEN {
                all.pop_front();
            }
            st.transitions = all;
            st.transitions_revision += 1;
        });
    }

    pub fn set_paused(&self, paused: bool) {
        self.write(|st| st.paused = paused);
        self.emit(StoreEvent::Paused(paused));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> ProbeMeta {
        ProbeMeta {
            id: id.into(),
            kind: "mock".into(),
            plugin_version: "0.1.0".into(),
            isolation: Isolation::Process,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        }
    }

    fn result(status: Status) -> CheckResult {
        CheckResult {
            status,
            summary: status.as_str().into(),
            report: None,
            error: None,
            started_at: SystemTime::UNIX_EPOCH,
            duration: Duration::from_millis(3),
        }
    }

    /// A reload keeps what an unchanged probe knows, starts a changed one over, drops a
    /// removed one and adds a new one, in the new order.
    #[test]
    fn set_probes_keeps_unchanged_probes_and_starts_the_rest_over() {
        let store = Store::new([meta("keep"), meta("changed"), meta("gone")]);
        for id in ["keep", "changed", "gone"] {
            store.record(id, result(Status::Critical), Some(SystemTime::UNIX_EPOCH));
        }
        let transitions = store.read().transitions.len();
        let keep = ["keep".to_owned()].into_iter().collect();
        store.set_probes([meta("new"), meta("keep"), meta("changed")], &keep);
        let st = store.read();
        let ids: Vec<&str> = st.probes.iter().map(|p| p.meta.id.as_str()).collect();
        assert_eq!(ids, ["new", "keep", "changed"]);
        assert_eq!(st.probe("keep").unwrap().status(), Some(Status::Critical));
        assert_eq!(
            st.probe("keep").unwrap().next_run,
            Some(SystemTime::UNIX_EPOCH)
        );
        assert_eq!(st.probe("changed").unwrap().status(), None);
        assert!(st.probe("gone").is_none());
        assert_eq!(st.transitions.len(), transitions);
    }

    /// A state received from serve goes through JSON and is made terminal-safe whole.
    #[test]
    fn a_received_state_round_trips_and_is_sanitised() {
        let store = Store::new([meta("a")]);
        let mut r = result(Status::Critical);
        r.summary = "evil \u{1b}]52;c;AAAA\u{7} \u{202e}text".into();
        store.record("a", r, None);
        let json = serde_json::to_string(&*store.read()).unwrap();
        let mut st: State = serde_json::from_str(&json).unwrap();
        st.sanitize();
        let viewer = Store::new([]);
        viewer.replace(st);
        let v = viewer.read();
        let summary = &v.probe("a").unwrap().latest.as_ref().unwrap().summary;
        assert!(
            !summary.chars().any(crate::sanitize::is_hostile),
            "{summary:?}"
        );
        assert!(
            !v.transitions[0]
                .summary
                .chars()
                .any(crate::sanitize::is_hostile)
        );
        assert_eq!(v.probe("a").unwrap().status(), Some(Status::Critical));
    }

    #[test]
    fn transitions_are_logged_only_on_change_and_first_bad_result() {
        let store = Store::new([meta("a"), meta("b")]);
        let mut events = store.events();
        store.record("a", result(Status::Ok), None);
        store.record("a", result(Status::Ok), None);
        store.record("a", result(Status::Critical), None);
        store.record("b", result(Status::Warning), None);
        let st = store.read();
        let t: Vec<_> = st
            .transitions
            .iter()
            .map(|t| (t.probe.as_str(), t.from, t.to))
            .collect();
        assert_eq!(
            t,
            [
                ("a", Some(Status::Ok), Status::Critical),
                ("b", None, Status::Warning)
            ]
        );
        assert_eq!(st.counts(), [0, 1, 1, 0]);
        drop(st);
        let mut finished = 0;
        while let Ok(e) = events.try_recv() {
            if matches!(e, StoreEvent::Finished { .. }) {
                finished += 1;
            }
        }
        assert_eq!(finished, 4);
    }

    fn with_items(status: Status, items: &[(&str, Status)]) -> CheckResult {
        let mut rep = Report::new(status, "r");
        rep.items = items
            .iter()
            .map(|(id, s)| patchdeck_probe_api::Item::new(*id, *id, *s, ""))
            .collect();
        CheckResult::from_report(rep, SystemTime::now(), Duration::from_millis(1))
    }

    #[test]
    fn a_new_cause_at_the_same_status_is_a_transition_and_earlier_ones_come_first() {
        let store = Store::new([meta("bits")]);
        let dp = |worst: &str| {
            with_items(
                Status::Critical,
                &[
                    ("DP01", Status::Ok),
                    (worst, Status::Critical),
                    ("DP09", Status::Unknown),
                ],
            )
        };
        store.record("bits", dp("DP04"), None);
        store.record("bits", dp("DP04"), None);
        store.record("bits", dp("DP03"), None);
        store.record(
            "bits",
            with_items(Status::Ok, &[("DP01", Status::Ok)]),
            None,
        );
        let earlier = Transition {
            at: SystemTime::UNIX_EPOCH,
            probe: "bits".into(),
            from: None,
            to: Status::Warning,
            summary: "last night".into(),
            cause: Some("DP07".into()),
            earlier: false,
        };
        store.preload_transitions(vec![earlier]);
        let st = store.read();
        let t: Vec<_> = st
            .transitions
            .iter()
            .map(|t| (t.from, t.to, t.cause.as_deref(), t.earlier))
            .collect();
        assert_eq!(
            t,
            [
                (None, Status::Warning, Some("DP07"), true),
                (None, Status::Critical, Some("DP04"), false),
                (
                    Some(Status::Critical),
                    Status::Critical,
                    Some("DP03"),
                    false
                ),
                (Some(Status::Critical), Status::Ok, None, false),
            ]
        );
    }

    #[test]
    fn history_is_a_bounded_ring_and_unknowns_are_counted() {
        let store = Store::new([meta("a")]);
        let version = store.subscribe();
        for _ in 0..HISTORY_LEN + 10 {
            store.record("a", result(Status::Ok), None);
        }
        assert_eq!(store.record("a", result(Status::Unknown), None), 1);
        assert_eq!(store.record("a", result(Status::Unknown), None), 2);
        assert_eq!(store.record("a", result(Status::Warning), None), 0);
        let st = store.read();
        let p = st.probe("a").unwrap();
        assert_eq!(p.history.len(), HISTORY_LEN);
        assert_eq!(p.history.back().unwrap().status, Status::Warning);
        assert!(version.has_changed().unwrap());
    }
}
