//! The scheduler: one tokio task per probe.
//!
//! Rules: the first run happens at start; then every `interval` +-10 % jitter (so probes of
//! one interval spread out instead of firing together), measured from the start of the
//! previous run; never two runs of one probe at once (a "run now" that arrives during a run
//! is dropped, as in gitui); after consecutive UNKNOWN results the interval doubles, up to
//! 8x, and resets on the first good result; pause stops the timers but "run now" still works.

use crate::engine::Probe;
use crate::store::Store;
use patchdeck_probe_api::Status;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Largest backoff multiplier after consecutive UNKNOWN results.
pub const MAX_BACKOFF_FACTOR: u32 = 8;

/// Interval multiplier after `unknowns` consecutive UNKNOWN results: 1, 2, 4, 8, 8, ...
pub fn backoff_factor(unknowns: u32) -> u32 {
    1u32 << unknowns.min(MAX_BACKOFF_FACTOR.trailing_zeros())
}

/// A small xorshift generator: jitter needs spread, not cryptographic quality.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }

    /// `base` scaled by a factor in [0.9, 1.1).
    pub fn apply(&mut self, base: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let unit = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(0.9 + 0.2 * unit)
    }
}

fn seed_for(id: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(id.as_bytes());
    h.finish()
}

struct ProbeTask {
    id: String,
    run_now: watch::Sender<u64>,
}

/// Running timers for a set of probes.
pub struct Scheduler {
    tasks: Vec<ProbeTask>,
    handles: Vec<JoinHandle<()>>,
    paused: watch::Sender<bool>,
    shutdown: watch::Sender<bool>,
    store: Store,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("probes", &self.tasks.len())
            .finish()
    }
}

impl Scheduler {
    /// Starts one task per probe; each runs at once, then on its timer.
    pub fn start(probes: &[Arc<Probe>], store: Store) -> Scheduler {
        Scheduler::start_keeping(probes, store, &Default::default())
    }

    /// [`Scheduler::start`] after a config reload: the probes in `keep` (unchanged) first run
    /// when the store says their next run is due, not at once: a reload does not poll the
    /// whole site again.
    pub fn start_keeping(
        probes: &[Arc<Probe>],
        store: Store,
        keep: &std::collections::HashSet<String>,
    ) -> Scheduler {
        let (paused, _) = watch::channel(false);
        let (shutdown, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut handles = Vec::new();
        for probe in probes {
            let first_at = keep
                .contains(&probe.meta.id)
                .then(|| store.read().probe(&probe.meta.id).and_then(|p| p.next_run))
                .flatten()
                .map(|at| Instant::now() + at.duration_since(SystemTime::now()).unwrap_or_default())
                .unwrap_or_else(Instant::now);
            let (run_now, run_now_rx) = watch::channel(0u64);
            tasks.push(ProbeTask {
                id: probe.meta.id.clone(),
                run_now,
            });
            handles.push(tokio::spawn(probe_loop(
                probe.clone(),
                store.clone(),
                run_now_rx,
                paused.subscribe(),
                shutdown.subscribe(),
                Jitter::new(seed_for(&probe.meta.id)),
                first_at,
            )));
        }
        Scheduler {
            tasks,
            handles,
            paused,
            shutdown,
            store,
        }
    }

    /// Asks for an immediate run of one probe; false when the id is unknown. Dropped if the
    /// probe is running now.
    pub fn run_now(&self, id: &str) -> bool {
        match self.tasks.iter().find(|t| t.id == id) {
            Some(t) => {
                t.run_now.send_modify(|n| *n += 1);
                true
            }
            None => false,
        }
    }

    /// Asks every probe for an immediate run.
    pub fn run_all_now(&self) {
        for t in &self.tasks {
            t.run_now.send_modify(|n| *n += 1);
        }
    }

    /// Pauses or resumes the timers (runs on request still happen).
    pub fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
        self.store.set_paused(paused);
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Stops every task. Runs in progress are abandoned (their cancel flags set).
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        for h in self.handles {
            let _ = h.await;
        }
    }
}

async fn probe_loop(
    probe: Arc<Probe>,
    store: Store,
    mut run_now: watch::Receiver<u64>,
    mut paused: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
    mut jitter: Jitter,
    first_at: Instant,
) {
    let id = probe.meta.id.clone();
    let mut next_at = first_at;
    let mut unknowns = 0u32;
    loop {
        let is_paused = *paused.borrow_and_update();
        let next_wall = (!is_paused)
            .then(|| SystemTime::now() + next_at.saturating_duration_since(Instant::now()));
        store.set_next_run(&id, next_wall);
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            changed = run_now.changed() => if changed.is_err() { return },
            changed = paused.changed() => {
                if changed.is_err() { return }
                continue;
            }
            _ = tokio::time::sleep_until(next_at), if !is_paused => {}
        }
        run_now.borrow_and_update();
        store.mark_running(&id);
        let started = Instant::now();
        let result = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            r = probe.run_once() => r,
        };
        unknowns = if result.status == Status::Unknown {
            unknowns + 1
        } else {
            0
        };
        let interval = probe.meta.interval * backoff_factor(unknowns);
        next_at = (started + jitter.apply(interval)).max(Instant::now());
        // Requests that arrived during the run are dropped: the result is fresh.
        run_now.borrow_and_update();
        let next_wall = (!*paused.borrow())
            .then(|| SystemTime::now() + next_at.saturating_duration_since(Instant::now()));
        store.record(&id, result, next_wall);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_eight() {
        let f: Vec<u32> = (0..6).map(backoff_factor).collect();
        assert_eq!(f, [1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_spreads() {
        let mut j = Jitter::new(42);
        let base = Duration::from_secs(60);
        let samples: Vec<Duration> = (0..10_000).map(|_| j.apply(base)).collect();
        assert!(
            samples
                .iter()
                .all(|d| *d >= base.mul_f64(0.9) && *d < base.mul_f64(1.1))
        );
        let min = samples.iter().min().unwrap();
        let max = samples.iter().max().unwrap();
        assert!(
            *max - *min > Duration::from_secs(10),
            "jitter does not spread: {min:?}..{max:?}"
        );
    }
}
