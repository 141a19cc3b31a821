//! The watchdog: a call's deadline holds in the host too.
//!
//! The epoch deadline stops a plugin's own code, not a host function it
//! called: opening a FIFO in a granted directory blocks in open(2) until a
//! writer comes, which may be never. So every thread that runs a plugin
//! call publishes the call's deadline in its [`ThreadWatch`], counted in the
//! epoch ticker's [`Ticks`] as the epoch deadline is, and the ticker
//! ([`scan`], every tick) sends [`SIGNAL`] to each thread whose call has
//! passed it. The handler does nothing and is installed without
//! `SA_RESTART`, so the blocked system call returns `EINTR` (cap-std's
//! `openat2` and rustix do not retry it); the plugin gets an error, its next
//! epoch check traps, and the call, marked overdue, ends as a deadline
//! fault whatever it answered. WASI's filesystem runs on the calling thread
//! for this (`allow_blocking_current_thread`, see `Plugin::store`).
//!
//! A wait that no signal interrupts (an uninterruptible disk sleep) still
//! holds its thread: [`ThreadWatch::overdue`] lets shutdown see it and stop
//! waiting for that thread's batch.
//!
//! A call pays for this with four atomic stores and a thread-local look-up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

/// The signal that interrupts a call past its deadline. Its default action
/// is to ignore it, nothing else in switchyard uses it (Go's runtime
/// preempts goroutines with it for the same reason), and a standard signal
/// does not queue up while a thread stays stuck.
pub const SIGNAL: libc::c_int = libc::SIGURG;

/// Set in [`ThreadWatch::call`] once the watchdog has found the call past
/// its deadline.
const OVERDUE: u64 = 1 << 63;

/// What deadlines are counted from, in nanoseconds.
static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Every thread that has run a plugin call and is still alive.
static THREADS: Mutex<Vec<Arc<ThreadWatch>>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's entry in [`THREADS`], registered at its first call and
    /// removed when the thread exits.
    static THIS_THREAD: Registered = Registered::new();
}

/// The ticks of one runtime's epoch ticker, counted beside the engine's
/// epoch (which wasmtime does not let us read): a call's deadline in the
/// host is counted in the same ticks as its epoch deadline, so the watchdog
/// is never stricter than the epoch trap, even when the ticker lags.
#[derive(Default)]
pub struct Ticks(AtomicU64);

impl Ticks {
    /// Counts one tick; the epoch ticker calls it with each epoch increment.
    pub(crate) fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::AcqRel) + 1
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// What the watchdog knows of one thread: the call it runs, if any.
pub struct ThreadWatch {
    /// The thread, for `pthread_kill`; alive while it is in [`THREADS`].
    thread: libc::pthread_t,
    /// The tick of [`ThreadWatch::clock`] at which the call under way is
    /// past its deadline (at least 1), with [`OVERDUE`] set once the
    /// watchdog found it past; 0 between calls.
    call: AtomicU64,
    /// The address of the [`Ticks`] that `call` counts in; only compared.
    clock: AtomicUsize,
    /// When the watchdog first signalled the call under way, in wall-clock
    /// nanoseconds since [`ORIGIN`], for [`ThreadWatch::overdue`].
    wall: AtomicU64,
}

impl ThreadWatch {
    /// The watch of the calling thread.
    pub fn current() -> Arc<ThreadWatch> {
        THIS_THREAD.with(|registered| registered.0.clone())
    }

    /// How long ago the watchdog first signalled the call under way, found
    /// past its deadline (counted in ticks, so never before the epoch trap
    /// would fire, even when the ticker lags); `None` when the thread runs
    /// no call or the watchdog has not found it past.
    pub fn overdue(&self) -> Option<Duration> {
        if self.call.load(Ordering::Acquire) & OVERDUE == 0 {
            return None;
        }
        let signalled = Duration::from_nanos(self.wall.load(Ordering::Acquire));
        Some(ORIGIN.elapsed().saturating_sub(signalled))
    }
}

/// Owns the calling thread's registration: dropped when the thread exits,
/// which removes it from [`THREADS`] before `pthread_t` can be reused.
struct Registered(Arc<ThreadWatch>);

impl Registered {
    fn new() -> Registered {
        let watch = Arc::new(ThreadWatch {
            // SAFETY: pthread_self has no preconditions.
            thread: unsafe { libc::pthread_self() },
            call: AtomicU64::new(0),
            clock: AtomicUsize::new(0),
            wall: AtomicU64::new(0),
        });
        lock().push(watch.clone());
        Registered(watch)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock().retain(|watch| !Arc::ptr_eq(watch, &self.0));
    }
}

/// The registry; a panic while it was held cannot leave it inconsistent
/// (pushes and retains only), so a poisoned lock is used as it is.
fn lock() -> std::sync::MutexGuard<'static, Vec<Arc<ThreadWatch>>> {
    THREADS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A call under the watchdog's eye; ends with [`CallWatch::end`].
pub(crate) struct CallWatch {
    /// The calling thread's watch.
    watch: Arc<ThreadWatch>,
}

/// Puts the calling thread's call under watch: past its deadline once
/// `clock` has counted `ticks` more (the epoch deadline's count), which is
/// around `deadline` unless the ticker lags.
pub(crate) fn watch(clock: &Ticks, ticks: u64, deadline: Instant) -> CallWatch {
    let watch = ThreadWatch::current();
    let wall = deadline.saturating_duration_since(*ORIGIN).as_nanos() as u64;
    watch.wall.store(wall, Ordering::Relaxed);
    watch
        .clock
        .store(clock as *const Ticks as usize, Ordering::Relaxed);
    let due = clock.now().saturating_add(ticks);
    watch
        .call
        .store(due.clamp(1, OVERDUE - 1), Ordering::Release);
    CallWatch { watch }
}

impl CallWatch {
    /// Ends the watch; true if the call ran past its deadline and the
    /// watchdog signalled the thread.
    pub(crate) fn end(self) -> bool {
        let call = self.watch.call.swap(0, Ordering::AcqRel);
        let overdue = call & OVERDUE != 0;
        if overdue {
            // A signal sent for this call must not interrupt what the thread
            // does next. The watchdog signals while it holds the registry,
            // so once we hold it the signal is pending, and it is handled
            // when the next system call returns.
            drop(lock());
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
        }
        overdue
    }
}

/// Signals every thread whose call, counted in `clock`, is past its
/// deadline at tick `now`: on each tick of the epoch ticker, until the call
/// ends, in case a signal arrives just before the thread blocks.
pub(crate) fn scan(clock: &Ticks, now: u64) {
    let clock = clock as *const Ticks as usize;
    let threads = lock();
    for watch in threads.iter() {
        let call = watch.call.load(Ordering::Acquire);
        if call == 0 || now < call & !OVERDUE || watch.clock.load(Ordering::Relaxed) != clock {
            continue;
        }
        if call & OVERDUE == 0 {
            // When it was first signalled, written before the flag that
            // makes `overdue` read it.
            watch
                .wall
                .store(ORIGIN.elapsed().as_nanos() as u64, Ordering::Release);
            if watch
                .call
                .compare_exchange(call, call | OVERDUE, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                // The call ended (or another began) meanwhile.
                continue;
            }
        }
        // SAFETY: the thread is alive: it is in the registry, which it
        // leaves only at exit and only through this lock.
        unsafe { libc::pthread_kill(watch.thread, SIGNAL) };
    }
}

/// Installs the handler of [`SIGNAL`], once per process: it does nothing,
/// and without `SA_RESTART` a system call it interrupts fails with `EINTR`.
pub(crate) fn install() -> std::io::Result<()> {
    static INSTALL: Once = Once::new();
    let mut result = Ok(());
    INSTALL.call_once(|| {
        extern "C" fn interrupted(_: libc::c_int) {}
        // SAFETY: a zeroed sigaction is valid; the handler is
        // async-signal-safe (it does nothing).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = interrupted as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(SIGNAL, &action, std::ptr::null_mut()) != 0 {
                result = Err(std::io::Error::last_os_error());
            }
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_within_its_deadline_is_not_overdue() {
        install().unwrap();
        let clock = Ticks::default();
        let call = watch(&clock, 60_000, Instant::now() + Duration::from_secs(60));
        scan(&clock, clock.tick());
        assert_eq!(ThreadWatch::current().overdue(), None);
        assert!(!call.end());
    }

    #[test]
    fn a_blocking_system_call_past_the_deadline_is_interrupted() {
        install().unwrap();
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clock = Arc::new(Ticks::default());
        let (scanning, ticking) = (done.clone(), clock.clone());
        let call = watch(&clock, 20, Instant::now() + Duration::from_millis(20));
        let scanner = std::thread::spawn(move || {
            while !scanning.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                scan(&ticking, ticking.tick());
            }
        });
        let mut byte = 0u8;
        // SAFETY: reads one byte into `byte`; no one writes to the pipe.
        let read = unsafe { libc::read(fds[0], (&raw mut byte).cast(), 1) };
        let error = std::io::Error::last_os_error();
        assert!(ThreadWatch::current().overdue().is_some());
        assert!(call.end(), "the watchdog marked the call overdue");
        done.store(true, Ordering::Relaxed);
        assert_eq!(ThreadWatch::current().overdue(), None);
        assert_eq!((read, error.raw_os_error()), (-1, Some(libc::EINTR)));
        // SAFETY: closing the descriptors pipe(2) made.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        scanner.join().unwrap();
    }
}
