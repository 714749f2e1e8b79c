//! The end of a run: the report printed and written into BENCHMARKS.md, and the
//! facts it names (the command as typed, the checkout it ran in).

use std::path::PathBuf;

use anyhow::Context as _;

use crate::machine::Machine;
use crate::report::{self, Run};
use crate::{Args, soak, soak_report};

/// Prints the run and, unless told not to, writes it into BENCHMARKS.md.
pub fn finish(run: &Run, args: &Args, repo: &std::path::Path) -> anyhow::Result<()> {
    println!("{}", run.markdown());
    if !args.no_write {
        let path = args.out.clone().unwrap_or_else(|| repo.join("BENCHMARKS.md"));
        report::write(&path, run).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("casetrail-bench: wrote {}", path.display());
    }
    Ok(())
}

/// Prints the soak's report, writes it into BENCHMARKS.md unless told not to, and
/// fails unless the soak passed.
pub fn finish_soak(
    figures: &soak_report::SoakFigures,
    args: &Args,
    repo: &std::path::Path,
    m: &Machine,
    secs: u64,
) -> anyhow::Result<()> {
    let head = soak_report::SoakHead {
        date: jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
        commit: m.commit.clone(),
        engine: if args.database_url.is_some() { " · PostgreSQL" } else { "" },
        command: command_line(),
        machine: format!("{} CPUs ({}), {:.1} GiB RAM, Linux {}", m.cpus, m.cpu_model, m.memory_gib, m.kernel),
        purge_every_secs: soak::purge_every(secs, args.soak_steady).as_secs(),
        export_every_secs: soak::export_every(secs).as_secs(),
    };
    let markdown = figures.markdown(&head);
    println!("{markdown}");
    if !args.no_write {
        let path = args.out.clone().unwrap_or_else(|| repo.join("BENCHMARKS.md"));
        report::write_section(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("casetrail-bench: wrote {}", path.display());
    }
    match figures.failure() {
        Some(why) => anyhow::bail!("the soak failed: {why}"),
        None => Ok(()),
    }
}

/// The checkout the command runs in: the git top level of the current directory (what
/// `cargo run` at the workspace root gives), else this crate's workspace.
pub fn workspace_root() -> PathBuf {
    std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The command as typed, in its cargo form.
pub fn command_line() -> String {
    let args: Vec<String> =
        std::env::args().skip(1).map(|a| if a.contains(' ') { format!("'{a}'") } else { a }).collect();
    format!("cargo run --release -p casetrail-bench -- {}", args.join(" ")).trim_end().to_string()
}
