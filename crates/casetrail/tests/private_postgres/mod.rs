//! A PostgreSQL server of the test's own, made with `initdb` in a temporary directory
//! and run with `pg_ctl` on a free port of 127.0.0.1, so a test may stop and start it
//! (the shared server on 5432 is never touched). `initdb` and the server refuse to run
//! as root, so they run as the `postgres` user; the test must therefore run as root,
//! and fails (never skips) when it does not.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// How long `pg_ctl` may take to start or stop the server.
const PG_CTL_WAIT_SECS: &str = "30";

/// The running private server; dropping it stops the server and removes its files.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// `initdb` a fresh cluster (trust authentication, user `postgres`, UTF-8) and start it.
    pub fn start() -> PrivatePostgres {
        let uid = std::fs::metadata("/proc/self").expect("read /proc/self").uid();
        assert_eq!(
            uid, 0,
            "this test runs its own PostgreSQL with initdb as the `postgres` user (through runuser), \
             which needs root; run it as root"
        );
        let bin = postgres_bin_dir();
        let dir = tempfile::Builder::new().prefix("casetrail-private-pg-").tempdir().expect("a temporary directory");
        let (user, group) = (id("-u"), id("-g"));
        std::os::unix::fs::chown(dir.path(), Some(user), Some(group)).expect("give the directory to postgres");
        let initdb = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(data_dir(dir.path()))
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .expect("run initdb");
        assert_ok("initdb", &initdb);
        let port = free_port();
        let server = PrivatePostgres { bin, dir, port };
        server.pg_ctl_start();
        server
    }

    /// The URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m fast`: open connections are ended, the server shuts down
    /// cleanly (everything committed is kept) and stops listening.
    pub fn stop(&self) {
        let stopped = self.pg_ctl(&["stop", "-m", "fast"]).output().expect("run pg_ctl stop");
        assert_ok("pg_ctl stop", &stopped);
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn start_again(&self) {
        self.pg_ctl_start();
    }

    fn pg_ctl_start(&self) {
        // Only TCP on 127.0.0.1, and its socket file in its own directory.
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k {}", self.port, self.dir.path().display());
        let log = self.dir.path().join("server.log");
        let log_arg = log.to_str().expect("a UTF-8 temporary path");
        let started = self.pg_ctl(&["start", "-l", log_arg, "-o", &options]).output().expect("run pg_ctl start");
        if !started.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("pg_ctl start failed: {}\n{}\nserver log:\n{log}", stdout_and_stderr(&started), options);
        }
    }

    /// `pg_ctl <args> -D <data> -w -t 30` as the `postgres` user.
    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut cmd = as_postgres(&self.bin.join("pg_ctl"));
        cmd.args(args).arg("-D").arg(data_dir(self.dir.path())).args(["-w", "-t", PG_CTL_WAIT_SECS]);
        cmd
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Also after a failed assertion: no server may outlive its test. Already
        // stopped is fine; `immediate` because nothing in it is worth keeping now.
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        // The directory (owned by postgres) goes with the `TempDir`.
    }
}

fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// `program` run as the `postgres` user, with nothing read from the terminal.
fn as_postgres(program: &Path) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program).stdin(Stdio::null());
    cmd
}

/// The `bin` directory of the newest PostgreSQL installed under /usr/lib/postgresql.
fn postgres_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's binaries under /usr/lib/postgresql")
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect("initdb and pg_ctl under /usr/lib/postgresql/<version>/bin")
}

/// The `postgres` user's uid (`-u`) or gid (`-g`).
fn id(which: &str) -> u32 {
    let out = Command::new("id").args([which, "postgres"]).output().expect("run id");
    assert_ok("id postgres", &out);
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("id prints a number")
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

fn assert_ok(what: &str, out: &Output) {
    assert!(out.status.success(), "{what} failed: {}", stdout_and_stderr(out));
}

fn stdout_and_stderr(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
