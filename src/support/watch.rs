//! Watches a source directory and reports each burst of saves as one change.
//!
//! An editor's save is several events (a swap file, a rename, a write, metadata); a
//! `cargo fmt` or a branch switch is dozens. They are gathered until the directory has
//! been quiet for [`QUIET`], then reported together. Build output, version control and
//! editor scratch files are not source and are ignored.

use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the directory must be quiet before a burst of events counts as one change.
pub const QUIET: Duration = Duration::from_millis(150);

#[derive(Debug, thiserror::Error)]
#[error("cannot watch {dir}: {source}")]
pub struct WatchError {
    pub dir: PathBuf,
    #[source]
    pub source: notify::Error,
}

/// The files of one change, relative to the watched directory, sorted.
pub type Change = Vec<PathBuf>;

pub struct SourceWatcher {
    dir: PathBuf,
    events: mpsc::UnboundedReceiver<PathBuf>,
    // Dropping it stops the watch.
    _watcher: notify::RecommendedWatcher,
}

impl SourceWatcher {
    /// Watches `dir` and everything below it.
    pub fn new(dir: &Path) -> Result<SourceWatcher, WatchError> {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let fail = |source| WatchError {
            dir: dir.clone(),
            source,
        };
        let (sender, events) = mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if event.kind.is_access() {
                    return;
                }
                for path in event.paths {
                    let _ = sender.send(path);
                }
            })
            .map_err(fail)?;
        watcher
            .watch(&dir, RecursiveMode::Recursive)
            .map_err(fail)?;
        Ok(SourceWatcher {
            dir,
            events,
            _watcher: watcher,
        })
    }

    /// The watched directory, canonical.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits for the next change to source files: the first source event, then every
    /// event until [`QUIET`] passes without one. None once the watch has ended.
    pub async fn next_change(&mut self) -> Option<Change> {
        let mut changed = std::collections::BTreeSet::new();
        loop {
            let path = self.events.recv().await?;
            if let Some(relative) = self.source_path(&path) {
                changed.insert(relative);
                break;
            }
        }
        loop {
            match tokio::time::timeout(QUIET, self.events.recv()).await {
                Ok(Some(path)) => {
                    if let Some(relative) = self.source_path(&path) {
                        changed.insert(relative);
                    }
                }
                Ok(None) | Err(_) => return Some(changed.into_iter().collect()),
            }
        }
    }

    /// Events that arrived while the caller was busy (a build): dropped, except that
    /// the files they name are returned, so a save during a build is not lost.
    pub fn drain(&mut self) -> Change {
        let mut changed = std::collections::BTreeSet::new();
        while let Ok(path) = self.events.try_recv() {
            if let Some(relative) = self.source_path(&path) {
                changed.insert(relative);
            }
        }
        changed.into_iter().collect()
    }

    fn source_path(&self, path: &Path) -> Option<PathBuf> {
        let relative = path.strip_prefix(&self.dir).ok()?;
        is_source(relative).then(|| relative.to_path_buf())
    }
}

/// Whether a path (relative to the watched directory) is source: not build output
/// (`target/`), version control, or an editor's scratch file (vim's swap files and its
/// `4913` probe, emacs' `#name#` and `.#name` locks, backups ending in `~`).
pub fn is_source(relative: &Path) -> bool {
    if relative.as_os_str().is_empty() {
        return false;
    }
    let ignored_dir = relative.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some("target" | ".git" | ".hg" | ".svn" | ".idea" | ".vscode" | "node_modules")
        )
    });
    let name = relative
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // Cargo writes Cargo.lock itself when it builds: the loop's own build must not
    // count as the next change.
    let scratch = name == "4913"
        || (name == "Cargo.lock" && relative.parent() == Some(Path::new("")))
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swo", ".swx", ".tmp"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
    !ignored_dir && !scratch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_version_control_and_editor_scratch_are_not_source() {
        for ignored in [
            "target/debug/examplecc",
            ".git/index",
            "src/.main.rs.swp",
            "src/4913",
            "src/main.rs~",
            "src/#main.rs#",
            "src/.#main.rs",
            "node_modules/x/index.js",
            "Cargo.lock",
        ] {
            assert!(!is_source(Path::new(ignored)), "{ignored}");
        }
        for source in [
            "src/main.rs",
            "Cargo.toml",
            "META-INF/statedb/couchdb/indexes/owner.json",
            "collections_config.json",
            "targets.rs",
        ] {
            assert!(is_source(Path::new(source)), "{source}");
        }
    }

    #[tokio::test]
    async fn a_burst_of_saves_is_one_change_and_scratch_files_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        let mut watcher = SourceWatcher::new(dir.path()).unwrap();
        // Build output alone is no change.
        std::fs::write(dir.path().join("target/out"), "x").unwrap();
        std::fs::write(dir.path().join("src/.lib.rs.swp"), "x").unwrap();
        let nothing = tokio::time::timeout(QUIET * 4, watcher.next_change()).await;
        assert!(nothing.is_err(), "ignored files made a change: {nothing:?}");
        // A save as an editor does it: write a temporary file, rename it into place,
        // and touch a second file.
        std::fs::write(dir.path().join("src/lib.rs.tmp"), "fn a() {}").unwrap();
        std::fs::rename(
            dir.path().join("src/lib.rs.tmp"),
            dir.path().join("src/lib.rs"),
        )
        .unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        let change = tokio::time::timeout(Duration::from_secs(5), watcher.next_change())
            .await
            .expect("a change within 5 s")
            .unwrap();
        assert_eq!(
            change,
            vec![PathBuf::from("Cargo.toml"), PathBuf::from("src/lib.rs")]
        );
        // Nothing more is pending.
        assert!(watcher.drain().is_empty());
    }
}
