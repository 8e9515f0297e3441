//! Run control shared by every long computation: a stop request (Ctrl-C on the command line,
//! `KeyboardInterrupt` in Python, or the caller's own flag), a wall-clock checkpoint schedule and
//! a progress callback.
//!
//! The library never installs signal handlers: the front end owns a [`StopFlag`] and sets it.
//! Drivers call [`RunControl::poll`] between steps (never inside one), so a stop or a checkpoint
//! always sees a complete, consistent state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A shareable stop request.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wrap an existing atomic (e.g. one registered with a signal handler).
    pub fn from_arc(flag: Arc<AtomicBool>) -> Self {
        StopFlag(flag)
    }

    /// The underlying atomic.
    pub fn arc(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    /// Request a stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once a stop was requested.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a driver should do after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Go on.
    Continue,
    /// Write a checkpoint, then go on.
    Checkpoint,
    /// Write a checkpoint and return [`crate::Error::Interrupted`].
    Stop,
}

/// Progress report of a run: a fraction in `[0, 1]` and a short message.
pub type ProgressFn = dyn Fn(f64, &str) + Send + Sync;

/// Stop flag, checkpoint schedule and progress callback of one run.
pub struct RunControl {
    stop: StopFlag,
    checkpoint_every: Mutex<Duration>,
    last_checkpoint: Mutex<Instant>,
    progress: Option<Box<ProgressFn>>,
}

impl Default for RunControl {
    fn default() -> Self {
        Self::new()
    }
}

impl RunControl {
    /// No stop request, checkpoints every five minutes, no progress output.
    pub fn new() -> Self {
        RunControl {
            stop: StopFlag::new(),
            checkpoint_every: Mutex::new(Duration::from_secs(300)),
            last_checkpoint: Mutex::new(Instant::now()),
            progress: None,
        }
    }

    /// Use `flag` as the stop request.
    pub fn with_stop_flag(mut self, flag: StopFlag) -> Self {
        self.stop = flag;
        self
    }

    /// Checkpoint at most every `seconds` of wall-clock time (0: after every step).
    pub fn with_checkpoint_every(self, seconds: f64) -> Self {
        self.set_checkpoint_every(seconds);
        self
    }

    /// Change the checkpoint interval (a run applies its `checkpoint_every` field).
    pub fn set_checkpoint_every(&self, seconds: f64) {
        let d = Duration::from_secs_f64(if seconds.is_finite() {
            seconds.max(0.0)
        } else {
            0.0
        });
        *self
            .checkpoint_every
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = d;
    }

    fn interval(&self) -> Duration {
        *self
            .checkpoint_every
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Report progress to `f(fraction, message)`.
    pub fn with_progress(mut self, f: Box<ProgressFn>) -> Self {
        self.progress = Some(f);
        self
    }

    /// The stop flag.
    pub fn stop_flag(&self) -> &StopFlag {
        &self.stop
    }

    /// True once a stop was requested.
    pub fn stop_requested(&self) -> bool {
        self.stop.is_set()
    }

    /// What to do now: stop if requested, checkpoint when the schedule says so. A
    /// `Checkpoint` answer restarts the schedule.
    pub fn poll(&self) -> Poll {
        if self.stop.is_set() {
            return Poll::Stop;
        }
        let mut last = self
            .last_checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= self.interval() {
            *last = Instant::now();
            Poll::Checkpoint
        } else {
            Poll::Continue
        }
    }

    /// A checkpoint schedule of its own (for one of several computations running in
    /// parallel, each checkpointing on its own clock), sharing this control's stop flag.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            stop: self.stop.clone(),
            every: self.interval(),
            last: std::cell::Cell::new(Instant::now()),
        }
    }

    /// Like [`RunControl::poll`] but never asks for a checkpoint (for computations that
    /// resume only at the granularity of whole sub-runs).
    pub fn poll_stop(&self) -> Poll {
        if self.stop.is_set() {
            Poll::Stop
        } else {
            Poll::Continue
        }
    }

    /// `Err(Interrupted)` once a stop was requested.
    pub fn check(&self) -> crate::Result<()> {
        if self.stop.is_set() {
            Err(crate::Error::Interrupted(String::new()))
        } else {
            Ok(())
        }
    }

    /// Report progress (`fraction` NaN: unknown, only the message counts).
    pub fn progress(&self, fraction: f64, message: &str) {
        if let Some(f) = &self.progress {
            f(
                if fraction.is_nan() {
                    fraction
                } else {
                    fraction.clamp(0.0, 1.0)
                },
                message,
            );
        }
    }
}

/// A per-computation checkpoint clock (see [`RunControl::schedule`]).
pub struct Schedule {
    stop: StopFlag,
    every: Duration,
    last: std::cell::Cell<Instant>,
}

impl Schedule {
    /// What to do now (as [`RunControl::poll`]).
    pub fn poll(&self) -> Poll {
        if self.stop.is_set() {
            Poll::Stop
        } else if self.last.get().elapsed() >= self.every {
            self.last.set(Instant::now());
            Poll::Checkpoint
        } else {
            Poll::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_wins_and_checkpoints_follow_the_clock() {
        let c = RunControl::new().with_checkpoint_every(0.0);
        assert_eq!(c.poll(), Poll::Checkpoint);
        let c = RunControl::new().with_checkpoint_every(1e6);
        assert_eq!(c.poll(), Poll::Continue);
        c.stop_flag().request();
        assert_eq!(c.poll(), Poll::Stop);
        assert!(c.check().is_err());
    }
}
