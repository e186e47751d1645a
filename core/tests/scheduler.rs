//! Scheduler timing rules on tokio's paused clock: no real sleeps, time jumps to the next
//! timer whenever every task is idle. The plugin is an in-memory fake that records when it
//! was called and holds each call's cancel flag.

use patchdeck_core::config::Isolation;
use patchdeck_core::engine::Probe;
use patchdeck_core::plugin::PluginInfo;
use patchdeck_core::runner::{BoxFuture, CallParams, Instance, Plugin, RunError};
use patchdeck_core::scheduler::Scheduler;
use patchdeck_core::store::{ProbeMeta, Store};
use patchdeck_probe_api::Status;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// tokio's timer resolution: a sleep ends on the first 1 ms tick at or after its deadline.
const TICK: f64 = 0.001;

#[derive(Clone)]
enum Step {
    /// Answer with this status after this much (virtual) time.
    Answer(Status, Duration),
    /// Fail (an UNKNOWN result).
    Fail,
}

#[derive(Default)]
struct Log {
    /// (start, end) of each call; end is None while running or abandoned.
    calls: Vec<(Instant, Option<Instant>)>,
    cancels: Vec<Arc<AtomicU32>>,
    destroyed: u32,
}

struct Fake {
    info: PluginInfo,
    script: Arc<Mutex<VecDeque<Step>>>,
    /// Used when the script is empty.
    fallback: Step,
    log: Arc<Mutex<Log>>,
}

struct FakeInstance {
    script: Arc<Mutex<VecDeque<Step>>>,
    fallback: Step,
    log: Arc<Mutex<Log>>,
}

impl Plugin for Fake {
    fn info(&self) -> &PluginInfo {
        &self.info
    }
    fn isolation(&self) -> Isolation {
        Isolation::InProcess
    }
    fn create(&self, _: &str, _: &str) -> BoxFuture<Result<Arc<dyn Instance>, RunError>> {
        let i = FakeInstance {
            script: self.script.clone(),
            fallback: self.fallback.clone(),
            log: self.log.clone(),
        };
        Box::pin(async move { Ok(Arc::new(i) as Arc<dyn Instance>) })
    }
    fn shutdown(&self) -> BoxFuture<()> {
        Box::pin(async {})
    }
}

impl Instance for FakeInstance {
    fn check(&self, call: CallParams) -> BoxFuture<Result<String, RunError>> {
        let step = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| self.fallback.clone());
        let log = self.log.clone();
        let index = {
            let mut l = log.lock().unwrap();
            l.calls.push((Instant::now(), None));
            l.cancels.push(call.cancel.clone());
            l.calls.len() - 1
        };
        Box::pin(async move {
            let out = match step {
                Step::Answer(status, after) => {
                    tokio::time::sleep(after).await;
                    Ok(format!(
                        r#"{{"status":"{}","summary":"fake"}}"#,
                        status.as_str()
                    ))
                }
                Step::Fail => Err(RunError::Failed("fake failure".to_owned())),
            };
            log.lock().unwrap().calls[index].1 = Some(Instant::now());
            out
        })
    }
    fn destroy(&self) -> BoxFuture<()> {
        self.log.lock().unwrap().destroyed += 1;
        Box::pin(async {})
    }
}

struct Rig {
    probe: Arc<Probe>,
    log: Arc<Mutex<Log>>,
    script: Arc<Mutex<VecDeque<Step>>>,
    store: Store,
    t0: Instant,
}

fn rig(interval: u64, timeout: u64, script: Vec<Step>, fallback: Step) -> Rig {
    let log = Arc::new(Mutex::new(Log::default()));
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let info = PluginInfo {
        kind: "fake".into(),
        version: "1".into(),
        abi_major: 1,
        abi_minor: 0,
        description: String::new(),
        config_schema: None,
        rules: Vec::new(),
    };
    let plugin = Arc::new(Fake {
        info,
        script: script.clone(),
        fallback,
        log: log.clone(),
    });
    let meta = ProbeMeta {
        id: "p".into(),
        kind: "fake".into(),
        plugin_version: "1".into(),
        isolation: Isolation::InProcess,
        interval: Duration::from_secs(interval),
        timeout: Duration::from_secs(timeout),
    };
    let store = Store::new([meta.clone()]);
    Rig {
        probe: Arc::new(Probe::new(meta, plugin, "{}".into())),
        log,
        script,
        store,
        t0: Instant::now(),
    }
}

impl Rig {
    /// Call start times, in seconds since the rig was made.
    fn starts(&self) -> Vec<f64> {
        self.log
            .lock()
            .unwrap()
            .calls
            .iter()
            .map(|(s, _)| (*s - self.t0).as_secs_f64())
            .collect()
    }

    /// Waits until the store has `n` results for the probe (an event, not a sleep).
    async fn results(&self, n: usize) {
        let mut rx = self.store.subscribe();
        loop {
            if self.store.read().probe("p").unwrap().history.len() >= n {
                return;
            }
            rx.changed().await.unwrap();
        }
    }
}

fn ok(after: u64) -> Step {
    Step::Answer(Status::Ok, Duration::from_secs(after))
}

#[tokio::test(start_paused = true)]
async fn first_run_at_start_then_every_interval_within_ten_percent() {
    let r = rig(10, 5, vec![], ok(0));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    r.results(20).await;
    let starts = r.starts();
    assert_eq!(starts[0], 0.0, "first run at start");
    for w in starts.windows(2) {
        let gap = w[1] - w[0];
        // Jitter is [0.9, 1.1) of the interval; tokio's timer rounds a deadline up to its
        // 1 ms tick, so a gap just under 11 s is seen as 11.000.
        assert!(
            (9.0..=11.0 + TICK).contains(&gap),
            "gap {gap} outside 10s +-10%: {starts:?}"
        );
    }
    let gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().any(|g| (g - gaps[0]).abs() > 0.01),
        "jitter never varied: {gaps:?}"
    );
    let next = r.store.read().probe("p").unwrap().next_run;
    assert!(next.is_some(), "next run is published for the UI");
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn timeout_gives_unknown_with_the_duration_and_sets_the_cancel_flag() {
    let r = rig(60, 10, vec![ok(3600)], ok(0));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    r.results(1).await;
    {
        let st = r.store.read();
        let latest = st.probe("p").unwrap().latest.clone().unwrap();
        assert_eq!(latest.status, Status::Unknown);
        assert_eq!(latest.error.as_deref(), Some("timed out after 10s"));
        assert_eq!(latest.summary, "timed out after 10s");
    }
    assert_eq!(
        r.log.lock().unwrap().cancels[0].load(Ordering::Relaxed),
        1,
        "cancel flag set on timeout"
    );
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn consecutive_unknowns_double_the_interval_up_to_eight_times_then_reset() {
    let script = vec![Step::Fail, Step::Fail, Step::Fail, Step::Fail, ok(0), ok(0)];
    let r = rig(10, 5, script, ok(0));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    r.results(7).await;
    let starts = r.starts();
    let gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    // After fail 1: 2x, fail 2: 4x, fail 3: 8x, fail 4: 8x (cap), then ok: 1x, 1x.
    let expected = [20.0, 40.0, 80.0, 80.0, 10.0, 10.0];
    for (g, e) in gaps.iter().zip(expected) {
        // [0.9, 1.1) of the interval, seen through the timer's 1 ms tick (rounded up).
        assert!(
            *g >= e * 0.9 && *g <= e * 1.1 + TICK,
            "gaps {gaps:?}, expected about {expected:?}"
        );
    }
    assert_eq!(r.store.read().probe("p").unwrap().consecutive_unknown, 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn runs_never_overlap_and_run_now_during_a_run_is_dropped() {
    // Runs take 5s, interval is the 1s floor: the next run waits for the previous one.
    let r = rig(1, 30, vec![], ok(5));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    r.results(1).await;
    assert!(s.run_now("p"));
    r.results(4).await;
    let calls = r.log.lock().unwrap().calls.clone();
    for w in calls.windows(2) {
        let prev_end = w[0].1.expect("finished");
        assert!(
            w[1].0 >= prev_end,
            "a run started before the previous one ended"
        );
    }
    s.shutdown().await;

    // Interval 60s, run 5s; a run-now during the run does not trigger an extra run.
    let r = rig(60, 30, vec![], ok(5));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        r.store.read().probe("p").unwrap().running,
        "first run in progress"
    );
    s.run_now("p");
    r.results(2).await;
    let starts = r.starts();
    assert!(
        starts[1] >= 54.0,
        "run-now during a run caused an extra run: {starts:?}"
    );
    // A run-now while idle runs at once.
    let before = r.starts().len();
    let at = Instant::now();
    s.run_now("p");
    r.results(3).await;
    let calls = r.log.lock().unwrap().calls.clone();
    assert_eq!(calls.len(), before + 1);
    assert_eq!(calls[before].0, at, "run-now while idle starts immediately");
    assert!(!s.run_now("nope"));
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pause_stops_timers_but_run_now_still_works() {
    let r = rig(10, 5, vec![], ok(0));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    r.results(1).await;
    s.set_paused(true);
    assert!(r.store.read().paused);
    tokio::time::sleep(Duration::from_secs(1000)).await;
    assert_eq!(r.starts().len(), 1, "no timer runs while paused");
    assert_eq!(
        r.store.read().probe("p").unwrap().next_run,
        None,
        "no next run shown while paused"
    );
    s.run_all_now();
    r.results(2).await;
    assert_eq!(r.starts().len(), 2);
    s.set_paused(false);
    r.results(4).await;
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_abandons_a_running_check_with_its_cancel_flag_and_destroys_instances() {
    let r = rig(60, 600, vec![ok(3600)], ok(0));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(r.store.read().probe("p").unwrap().running);
    s.shutdown().await;
    assert_eq!(r.log.lock().unwrap().cancels[0].load(Ordering::Relaxed), 1);
    r.probe.shutdown().await;
    assert_eq!(r.log.lock().unwrap().destroyed, 1);
    let _ = &r.script;
}

#[tokio::test(start_paused = true)]
async fn transitions_are_recorded_as_the_status_changes() {
    let script = vec![ok(0), Step::Answer(Status::Critical, Duration::ZERO), ok(0)];
    let r = rig(10, 5, script, ok(0));
    let s = Scheduler::start(std::slice::from_ref(&r.probe), r.store.clone());
    r.results(4).await;
    let t: Vec<_> = r
        .store
        .read()
        .transitions
        .iter()
        .map(|t| (t.from, t.to))
        .collect();
    assert_eq!(
        t,
        [
            (Some(Status::Ok), Status::Critical),
            (Some(Status::Critical), Status::Ok)
        ]
    );
    s.shutdown().await;
}
