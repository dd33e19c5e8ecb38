//! One fabx command at a time changes a network: `up`, `deploy` and `down` hold an
//! exclusive lock on a file in the state directory. A second one waits (bounded, saying
//! who holds the lock) and then sees what the first left.
//!
//! The lock file is removed when the lock is released, and `down` removes the whole
//! directory, so a waiter can end up holding a lock on a file that is no longer there;
//! it then checks that the path still names the file it locked, and starts again if not.

use crate::network::error::{Error, Result};
use crate::support::reporter::{step_with, Reporter};
use crate::support::retry::{poll_until, Backoff, Poll};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file inside a state directory.
pub const LOCK_FILE: &str = ".fabx-lock";

/// How long a command waits for another one on the same network.
pub const LOCK_WAIT: Duration = Duration::from_secs(300);

/// Held while a command changes the network; released (and its file removed) on drop.
#[derive(Debug)]
pub struct StateLock {
    path: PathBuf,
    _file: File,
}

impl StateLock {
    /// Locks the state directory `root` (creating it, mode 0700, if needed) for
    /// `command`, waiting at most `wait` for another holder (reported as a step).
    pub async fn acquire(
        root: &Path,
        command: &str,
        wait: Duration,
        reporter: &dyn Reporter,
    ) -> Result<StateLock> {
        if let Some(lock) = StateLock::try_acquire(root, command)? {
            return Ok(lock);
        }
        let waiting = |id| async move {
            let acquired = poll_until(Backoff::new(wait), || async {
                let holder = std::fs::read_to_string(root.join(LOCK_FILE)).unwrap_or_default();
                reporter.step_detail(id, holder.trim());
                Ok::<_, Error>(match StateLock::try_acquire(root, command)? {
                    Some(lock) => Poll::Ready(lock),
                    None => Poll::NotYet(holder.trim().to_string()),
                })
            })
            .await?;
            match acquired {
                Poll::Ready(lock) => Ok(lock),
                Poll::NotYet(holder) => Err(Error::Locked {
                    path: root.join(LOCK_FILE),
                    holder,
                    waited: wait,
                }),
            }
        };
        step_with(reporter, WAIT_STEP, waiting).await
    }

    /// The lock if no one holds it, else None.
    fn try_acquire(root: &Path, command: &str) -> Result<Option<StateLock>> {
        let path = root.join(LOCK_FILE);
        loop {
            create_private_dir(root)?;
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|source| Error::io("open", &path, source))?;
            match file.try_lock() {
                Ok(()) if still_named(&path, &file) => {
                    let holder = format!("pid {} runs `fabx {command}`\n", std::process::id());
                    file.set_len(0)
                        .and_then(|_| file.write_all(holder.as_bytes()))
                        .map_err(|source| Error::io("write", &path, source))?;
                    return Ok(Some(StateLock { path, _file: file }));
                }
                // Locked a file that `down` or a releasing holder had just removed.
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(Error::io("lock", &path, source))
                }
            }
        }
    }
}

/// The step shown while another command holds the lock.
const WAIT_STEP: &str = "wait for another fabx command on this network";

impl Drop for StateLock {
    fn drop(&mut self) {
        // Removed while still held, so no one can lock this file after us; a waiter that
        // had it open sees it is gone and opens a new one.
        let _ = std::fs::remove_file(&self.path);
        // A command that created nothing leaves no empty directory behind (nor the
        // default `.fabx` parent); a directory with files in it stays.
        if let Some(root) = self.path.parent() {
            if std::fs::remove_dir(root).is_ok() {
                if let Some(parent) = root.parent().filter(|p| p.ends_with(".fabx")) {
                    let _ = std::fs::remove_dir(parent);
                }
            }
        }
    }
}

/// Creates `dir` (and missing parents) with mode 0700: crypto material lives there.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::io("create", dir, source))
}

fn still_named(path: &Path, file: &File) -> bool {
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(on_disk), Ok(ours)) => on_disk.ino() == ours.ino() && on_disk.dev() == ours.dev(),
        _ => false,
    }
}

/// What a state directory holds besides the lock file of the command that holds it.
pub(crate) fn entries_but_lock(root: &Path) -> Result<Vec<std::fs::DirEntry>> {
    Ok(root
        .read_dir()
        .map_err(|source| Error::io("read", root, source))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != LOCK_FILE)
        .collect())
}

/// Removes `entries` (files or whole directories).
pub(crate) fn remove_entries(entries: Vec<std::fs::DirEntry>) -> Result<()> {
    for entry in entries {
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|source| Error::io("remove", &path, source))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::reporter::Silent;

    #[tokio::test]
    async fn a_second_holder_waits_then_times_out_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        let first = StateLock::acquire(&root, "deploy", LOCK_WAIT, &Silent)
            .await
            .unwrap();
        let mode = std::fs::metadata(&root).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let second = StateLock::acquire(&root, "down", Duration::from_millis(300), &Silent).await;
        let message = second.unwrap_err().to_string();
        assert!(message.contains("fabx deploy"), "{message}");
        assert!(
            message.contains(&std::process::id().to_string()),
            "{message}"
        );
        drop(first);
        assert!(!root.join(LOCK_FILE).exists());
        StateLock::acquire(&root, "down", Duration::from_millis(300), &Silent)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_the_holder_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        let first = StateLock::acquire(&root, "up", LOCK_WAIT, &Silent)
            .await
            .unwrap();
        let waiter = {
            let root = root.clone();
            tokio::spawn(async move {
                StateLock::acquire(&root, "deploy", Duration::from_secs(20), &Silent).await
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished(), "the waiter must wait for the holder");
        // `down` removes the whole directory while holding the lock.
        std::fs::remove_dir_all(&root).unwrap();
        drop(first);
        let second = waiter.await.unwrap().unwrap();
        assert!(
            root.join(LOCK_FILE).is_file(),
            "the waiter locks a file that exists"
        );
        drop(second);
    }
}
