//! A small tmpfs of a test's own, for filling a disk on purpose. Mounting needs root:
//! a test that uses it fails, never skips, when it does not run as root.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on `dir`; unmounted on drop.
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it, e.g. `8m`) on `dir`.
    pub fn mount(dir: &Path, size: &str) -> Tmpfs {
        let uid = std::fs::metadata("/proc/self").expect("read /proc/self").uid();
        assert_eq!(uid, 0, "this test mounts a small tmpfs to fill its disk, which needs root; run it as root");
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(out.status.success(), "mount a tmpfs: {}", String::from_utf8_lossy(&out.stderr));
        Tmpfs { dir: dir.to_path_buf() }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.dir).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Something still holds a file open in it: detach it now, freed once closed.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}
