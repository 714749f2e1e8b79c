//! What a run is measured on: the machine, the commit, and how busy the machine was.

use std::path::Path;
use std::process::Command;

/// The machine and the code a run measured.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub commit: String,
}

impl Machine {
    pub fn detect(repo: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown")
            .to_string();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_gib: memory_kib / (1024.0 * 1024.0),
            kernel,
            commit: commit(repo),
        }
    }
}

/// `git rev-parse --short HEAD`, marked `+ uncommitted changes` when the tree is dirty
/// (the bench's own files aside).
fn commit(repo: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]).map(|h| h.trim().to_string()) else {
        return "unknown (not a git checkout)".to_string();
    };
    let dirty = git(&["status", "--porcelain"]).is_some_and(|s| {
        s.lines().any(|l| {
            let path = l.get(3..).unwrap_or("");
            !path.starts_with("crates/casetrail-bench") && path != "BENCHMARKS.md" && path != "Cargo.lock"
        })
    });
    if dirty { format!("{head} + uncommitted changes") } else { head }
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// How many compiler and linker processes are running now: the usual noise on this
/// shared machine.
pub fn compilers_running() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|comm| matches!(comm.trim(), "rustc" | "cc1" | "cc1plus" | "ld" | "ld.lld" | "mold" | "clippy-driver"))
        .count()
}

/// Noise seen while a phase ran: the most compilers at once and the load average.
#[derive(Debug, Clone, Default)]
pub struct Noise {
    pub max_compilers: usize,
    pub max_load: f64,
}

impl Noise {
    pub fn sample(&mut self) {
        self.max_compilers = self.max_compilers.max(compilers_running());
        self.max_load = self.max_load.max(load_average());
    }
}

/// A background sampler of [`Noise`], every half second while a phase runs.
#[derive(Debug)]
pub struct NoiseWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Noise>,
}

impl NoiseWatch {
    pub fn start() -> NoiseWatch {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut noise = Noise::default();
            // Bounded: at most two hours of samples.
            for _ in 0..14_400 {
                noise.sample();
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            noise
        });
        NoiseWatch { stop, handle }
    }

    pub fn finish(self) -> Noise {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// Waits until no compiler has run for five seconds in a row, at most `max`; answers
/// how long it waited.
pub fn wait_quiet(max: std::time::Duration) -> std::time::Duration {
    let started = std::time::Instant::now();
    let mut calm = 0;
    while calm < 5 && started.elapsed() < max {
        calm = if compilers_running() == 0 { calm + 1 } else { 0 };
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    if started.elapsed() > std::time::Duration::from_secs(6) {
        eprintln!("  waited {:.0} s for compilers to finish", started.elapsed().as_secs_f64());
    }
    started.elapsed()
}

/// The phases of a run: each waits for quiet first (up to `quiet`), and records the
/// noise seen while it ran under its name.
#[derive(Debug, Default)]
pub struct Phases {
    pub quiet: std::time::Duration,
    pub waited: std::time::Duration,
    pub noise: Vec<(String, Noise)>,
}

impl Phases {
    pub fn begin(&mut self) -> NoiseWatch {
        self.waited += wait_quiet(self.quiet);
        NoiseWatch::start()
    }

    pub fn end(&mut self, name: &str, watch: NoiseWatch) {
        self.noise.push((name.to_string(), watch.finish()));
    }
}
