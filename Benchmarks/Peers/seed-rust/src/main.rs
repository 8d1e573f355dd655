// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The seed's hot paths (SochDB's boot_fsm.rs, Rust), measured the way Benchmarks/Benchmarks/
// BootFSMBenchmarks measures the port's, so that `make bench` compares the two in one run: 10 warm-up
// iterations, then iterations until 1 s or 100,000 have passed, each iteration timing a batch of
// calls (1,000; 1,000,000 per thread for the two-thread case), one sample per iteration in
// nanoseconds per call. Prints `seed_<name>_ns` (p50), `seed_<name>_ns_p90` and `seed_<name>_ns_min`.
//
// scripts/bench.sh builds a copy of this folder in which src/boot_fsm.rs is the seed as it is
// (boot_fsm.rs here, a copy of ../shared/seed/boot_fsm.rs) with transition-deadlock.patch applied:
// without it a transition never returns. parking_lot, the seed's one dependency, comes from Debian's
// packaged crates (librust-parking-lot-dev), read offline through .cargo/config.toml.

#[allow(dead_code)]
mod boot_fsm;

use boot_fsm::{BootBudgets, BootPhase, BootStateMachine, PhaseProgress, RecoveryMode};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Keeps the optimizer from dropping a result (`std::hint::black_box` needs Rust 1.66; Debian 12's
/// rustc, which `make bench` installs where there is no other, is 1.63).
fn black_box<T>(value: T) -> T {
    // SAFETY: reads a value that exists, then forgets the original, so it is moved, not duplicated.
    unsafe {
        let kept = std::ptr::read_volatile(&value);
        std::mem::forget(value);
        kept
    }
}

/// A machine in the middle of a typical boot, as in BootFSMBenchmarks: in recover, with progress
/// and counters.
fn recovering_machine() -> BootStateMachine {
    let fsm = BootStateMachine::new(BootBudgets::for_kubernetes(3600));
    fsm.start_boot(RecoveryMode::Normal).unwrap();
    fsm.transition_to(BootPhase::Migrate).unwrap();
    fsm.metrics().migration_steps_completed.fetch_add(2, Ordering::Relaxed);
    fsm.metrics().checkpoint_bytes_scanned.fetch_add(1_048_576, Ordering::Relaxed);
    fsm.transition_to(BootPhase::Recover).unwrap();
    fsm.update_progress(PhaseProgress {
        message: "replaying WAL segment 7 of 12".to_string(),
        items_processed: 420_000,
        items_total: 1_000_000,
        bytes_processed: 27_000_000,
        bytes_total: 64_000_000,
        ..Default::default()
    });
    fsm.record_wal_progress(420_000, 27_000_000);
    fsm.record_page_recovered(1_234);
    fsm.record_txn_rollback(17);
    fsm
}

/// Runs `iteration` (which makes `calls` calls) as package-benchmark runs a benchmark and prints
/// the per-call percentiles.
fn measure(name: &str, calls: u64, mut iteration: impl FnMut()) {
    for _ in 0..10 {
        iteration();
    }
    let mut samples = Vec::with_capacity(100_000);
    let deadline = Instant::now() + Duration::from_secs(1);
    while samples.len() < 100_000 && Instant::now() < deadline {
        let start = Instant::now();
        iteration();
        samples.push(start.elapsed().as_nanos() as f64 / calls as f64);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!("seed_{name}_ns={}", at(0.5));
    println!("seed_{name}_ns_p90={}", at(0.9));
    println!("seed_{name}_ns_min={}", at(0.0));
}

/// Calls per measured iteration, as the port's benchmarks' scaling factors.
const KILO: u64 = 1_000;
const MEGA: u64 = 1_000_000;

/// `update_progress` with a new progress value each call, moved in. With a message (the port's
/// benchmark reports "replaying"), the seed's API takes an owned String, so each call allocates
/// one; with none, neither building nor dropping the value allocates: the seed's best case.
fn measure_progress(name: &str, message: Option<&str>) {
    let fsm = recovering_machine();
    let mut index = 0u64;
    measure(name, KILO, || {
        for _ in 0..KILO {
            index += 1;
            fsm.update_progress(PhaseProgress {
                message: message.map(str::to_string).unwrap_or_default(),
                items_processed: index,
                items_total: 1_000_000,
                bytes_processed: index.wrapping_mul(64),
                bytes_total: 64_000_000,
                ..Default::default()
            });
        }
    });
}

fn main() {
    let recorder = recovering_machine();
    measure("recordWALProgress", KILO, || {
        for _ in 0..KILO {
            recorder.record_wal_progress(1, 64);
        }
    });

    measure_progress("updateProgress", Some("replaying"));
    measure_progress("updateProgress.noMessage", None);

    let reporter = recovering_machine();
    measure("healthStatus.toJSON", KILO, || {
        for _ in 0..KILO {
            black_box(reporter.health_status().to_json());
        }
    });

    measure("bootCycle", KILO, || {
        for _ in 0..KILO {
            let fsm = BootStateMachine::with_defaults();
            fsm.start_boot(RecoveryMode::Normal).unwrap();
            fsm.transition_to(BootPhase::Migrate).unwrap();
            fsm.transition_to(BootPhase::Recover).unwrap();
            fsm.transition_to(BootPhase::Warmup).unwrap();
            fsm.transition_to(BootPhase::Ready).unwrap();
            black_box(&fsm);
        }
    });

    // Both threads record into one machine at once; the figure is wall time over one thread's calls.
    let shared = recovering_machine();
    measure("recordWALProgress.2threads", MEGA, || {
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..MEGA {
                        shared.record_wal_progress(1, 64);
                    }
                });
            }
        });
    });
}
