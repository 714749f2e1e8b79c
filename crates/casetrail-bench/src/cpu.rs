//! Where the CPU time of a phase went, read from Linux's `/proc`: the server children,
//! PostgreSQL's processes (every process whose name is `postgres`: the backends, the
//! WAL writer, the checkpointer), this bench process (the HTTP clients), and the
//! machine as a whole. It tells whether a phase was limited by the cores it had or by
//! waiting (locks, fsync), which decides whether a second server can help.
//!
//! A process that ends during the phase takes its ticks with it; the servers' pools
//! keep their connections, so their backends live through a run.

/// A reading of every counter; two readings make a [`CpuUse`].
#[derive(Debug, Clone)]
pub struct CpuClock {
    machine_busy: u64,
    machine_all: u64,
    servers: u64,
    postgres: u64,
    bench: u64,
}

/// CPU seconds by kind of process over one phase, and how busy the machine was.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    /// Busy time over all time of every core (1.0: every core busy all the phase).
    pub machine_busy: f64,
    pub cores: usize,
    pub servers_secs: f64,
    pub postgres_secs: f64,
    pub bench_secs: f64,
}

impl CpuUse {
    /// CPU milliseconds of each kind per 1000 events: (servers, PostgreSQL, bench).
    pub fn per_thousand(&self, events: usize) -> (f64, f64, f64) {
        let k = (events as f64 / 1000.0).max(1e-9);
        (self.servers_secs * 1000.0 / k, self.postgres_secs * 1000.0 / k, self.bench_secs * 1000.0 / k)
    }
}

/// Clock ticks per second of `/proc`'s counters (`getconf CLK_TCK`; 100 when unknown).
fn ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// User plus system ticks of one process; 0 when it is gone or unreadable.
fn process_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    // The name, in parentheses, may hold spaces: count fields after its last `)`.
    // After it come state (field 3) … utime (14) and stime (15).
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// Ticks of every process named `postgres`.
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(process_ticks)
        .sum()
}

/// (busy, all) ticks of every core, from the first line of `/proc/stat`; idle and
/// iowait count as not busy.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let all: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (all.saturating_sub(idle), all)
}

impl CpuClock {
    pub fn read(server_pids: &[u32]) -> CpuClock {
        let (machine_busy, machine_all) = machine_ticks();
        CpuClock {
            machine_busy,
            machine_all,
            servers: server_pids.iter().map(|p| process_ticks(*p)).sum(),
            postgres: postgres_ticks(),
            bench: process_ticks(std::process::id()),
        }
    }

    /// What happened since `self`, with the server children of `server_pids`.
    pub fn since(&self, server_pids: &[u32]) -> CpuUse {
        let now = CpuClock::read(server_pids);
        let tick = ticks_per_sec();
        let secs = |a: u64, b: u64| b.saturating_sub(a) as f64 / tick;
        let all = now.machine_all.saturating_sub(self.machine_all) as f64;
        CpuUse {
            machine_busy: if all > 0.0 { now.machine_busy.saturating_sub(self.machine_busy) as f64 / all } else { 0.0 },
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            servers_secs: secs(self.servers, now.servers),
            postgres_secs: secs(self.postgres, now.postgres),
            bench_secs: secs(self.bench, now.bench),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn this_process_is_charged_for_the_work_it_does() {
        let me = std::process::id();
        let before = CpuClock::read(&[me]);
        // Spin until /proc itself says a quarter second of CPU went by (bounded by
        // wall time on a crowded machine), then both readings must show it.
        let started = Instant::now();
        let mut x = 0u64;
        while process_ticks(me) < before.bench + (ticks_per_sec() / 4.0) as u64 {
            assert!(started.elapsed() < Duration::from_secs(60), "no CPU time was charged in 60 s");
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let used = before.since(&[me]);
        assert!(used.servers_secs >= 0.25 && used.bench_secs >= 0.25, "{used:?}");
        let apart = (used.servers_secs - used.bench_secs).abs();
        assert!(apart <= 0.05, "the same process, read twice within a moment: {used:?}");
        assert!(used.machine_busy > 0.0 && used.machine_busy <= 1.0, "{used:?}");
    }
}
