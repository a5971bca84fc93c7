//! A clock that keeps counting while the machine is suspended.
//!
//! `std::time::Instant` (and tokio's) reads `CLOCK_MONOTONIC` on Linux,
//! which stops while the system or its VM is suspended: a leader suspended
//! for a minute would wake believing a moment had passed and write with a
//! lease its successor already holds. `CLOCK_BOOTTIME` is the same clock
//! plus the time spent suspended (clock_gettime(2)), so a deadline judged
//! on it passes during a suspend as it does for every other replica.

use std::time::Duration;

/// Time since boot, suspended time included, where the platform has such a
/// clock (Linux's `CLOCK_BOOTTIME`); elsewhere, time since this process
/// first asked (a monotonic clock that may stop while suspended).
pub fn boot_time() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec for the call's
        // duration, and CLOCK_BOOTTIME exists on every kernel since 2.6.39.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) };
        if rc == 0 {
            return Duration::new(
                u64::try_from(now.tv_sec).unwrap_or(0),
                u32::try_from(now.tv_nsec).unwrap_or(0),
            );
        }
    }
    fallback()
}

fn fallback() -> Duration {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_time_moves_forward() {
        let before = boot_time();
        std::thread::sleep(Duration::from_millis(20));
        let after = boot_time();
        assert!(
            after >= before + Duration::from_millis(20),
            "{before:?} {after:?}"
        );
    }
}
