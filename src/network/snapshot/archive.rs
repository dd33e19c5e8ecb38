//! The snapshot file: a gzip-compressed tar archive.
//!
//! Members, in order: `fabx-snapshot.json` (the [`Manifest`], first, so that a reader
//! learns the format version before anything else), `state/...` (the state directory,
//! modes kept: keys stay 0600), `ledgers/<host>.tar` (each node's ledger directory as
//! the engine gave it), `images/chaincode.tar` (with `--with-images`, Docker's save
//! format), and last `SHA256SUMS`, the digest of every member before it: an archive that
//! lacks it was cut short, one whose member does not match it is corrupt.

use crate::network::deployments::Deployment;
use crate::support::tar::TarWriter;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// The format this fabx writes and the newest it reads.
pub const FORMAT: u32 = 1;

pub const MANIFEST: &str = "fabx-snapshot.json";
pub const SUMS: &str = "SHA256SUMS";
pub const STATE_PREFIX: &str = "state/";
pub const LEDGER_PREFIX: &str = "ledgers/";
pub const IMAGES: &str = "images/chaincode.tar";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{} is not a fabx snapshot: {reason} (give a file `fabx snapshot` wrote)", .path.display())]
    NotASnapshot { path: PathBuf, reason: String },
    #[error("snapshot {} was written in format {found}, newer than this fabx reads ({FORMAT}); upgrade fabx to restore it", .path.display())]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("snapshot {} cannot be read: {reason} (it is truncated or corrupt; copy it again, or take a new snapshot)", .path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("snapshot {} is corrupt: {member} does not match its checksum (copy it again, or take a new snapshot)", .path.display())]
    Corrupt { path: PathBuf, member: String },
    #[error("cannot write snapshot {}: {source} (check the directory exists and has room)", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

type Result<T, E = SnapshotError> = std::result::Result<T, E>;

/// What a snapshot holds, besides the files themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The fabx that wrote it.
    pub fabx_version: String,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// The topology as the network ran it (YAML), and whether its host ports are the
    /// user's (a `--config` file) or preferences (the built-in topology).
    pub topology: String,
    pub host_ports_pinned: bool,
    /// Whether the topology is the built-in one (under its network name): later
    /// commands after a restore then need no `--config`.
    #[serde(default)]
    pub built_in: bool,
    /// The nodes whose ledgers it holds, by host name.
    pub ledgers: Vec<String>,
    pub deployments: Vec<Deployment>,
    /// Chaincode images in `images/chaincode.tar` (empty without `--with-images`).
    pub images: Vec<String>,
}

/// Writes a snapshot member by member, keeping each member's digest for [`SUMS`].
pub struct SnapshotWriter {
    path: PathBuf,
    tar: TarWriter<GzEncoder<std::fs::File>>,
    sums: Vec<(String, String)>,
}

impl SnapshotWriter {
    /// Starts the archive at `path` with its manifest.
    pub fn create(path: &Path, manifest: &Manifest) -> Result<SnapshotWriter> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| write_error(path, source))?;
        let gz = GzEncoder::new(file, flate2::Compression::fast());
        let mut writer = SnapshotWriter {
            path: path.to_path_buf(),
            tar: TarWriter::new(gz),
            sums: Vec::new(),
        };
        let json = serde_json::to_vec_pretty(manifest).expect("a manifest serializes");
        writer.append(MANIFEST, 0o644, &json)?;
        Ok(writer)
    }

    pub fn append(&mut self, name: &str, mode: u32, contents: &[u8]) -> Result<()> {
        self.sums
            .push((name.to_string(), hex::encode(Sha256::digest(contents))));
        self.tar
            .append(name, mode, contents)
            .map_err(|source| write_error(&self.path, source))
    }

    /// Every file under `dir` as `state/<relative path>` with its mode, but `skip`ped
    /// top-level names.
    pub fn append_dir(&mut self, dir: &Path, skip: &[&str]) -> Result<()> {
        let mut files = Vec::new();
        collect_files(dir, dir, skip, &mut files).map_err(|source| write_error(dir, source))?;
        files.sort();
        for relative in files {
            let path = dir.join(&relative);
            let contents = std::fs::read(&path).map_err(|source| write_error(&path, source))?;
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&path)
                    .map_err(|source| write_error(&path, source))?
                    .permissions(),
            ) & 0o777;
            let name = format!("{STATE_PREFIX}{}", relative.display());
            self.append(&name, mode, &contents)?;
        }
        Ok(())
    }

    /// Appends the checksums and closes the archive; returns its size in bytes.
    pub fn finish(mut self) -> Result<u64> {
        let sums: String = self
            .sums
            .iter()
            .map(|(name, sum)| format!("{sum}  {name}\n"))
            .collect();
        let path = self.path.clone();
        self.tar
            .append(SUMS, 0o644, sums.as_bytes())
            .map_err(|source| write_error(&path, source))?;
        let file = self
            .tar
            .finish()
            .and_then(|gz| gz.finish())
            .map_err(|source| write_error(&path, source))?;
        file.sync_all()
            .map_err(|source| write_error(&path, source))?;
        Ok(file
            .metadata()
            .map_err(|source| write_error(&path, source))?
            .len())
    }
}

fn collect_files(
    root: &Path,
    dir: &Path,
    skip: &[&str],
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in dir.read_dir()? {
        let entry = entry?;
        let path = entry.path();
        let relative = path.strip_prefix(root).expect("under root").to_path_buf();
        if dir == root && skip.iter().any(|s| entry.file_name() == **s) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(root, &path, skip, out)?;
        } else if kind.is_file() {
            out.push(relative);
        }
    }
    Ok(())
}

/// A snapshot read whole and checked, its members in a staging directory: `state/`,
/// `ledgers/<host>.tar`, `images/chaincode.tar`.
pub struct Staged {
    pub manifest: Manifest,
    pub dir: tempfile::TempDir,
}

impl Staged {
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn ledger(&self, host: &str) -> PathBuf {
        self.dir.path().join(format!("{LEDGER_PREFIX}{host}.tar"))
    }

    pub fn images(&self) -> Option<PathBuf> {
        Some(self.dir.path().join(IMAGES)).filter(|p| p.is_file())
    }
}

/// Reads the snapshot at `path` into a staging directory, checking every member against
/// its checksum; nothing outside the staging directory is written.
pub fn stage(path: &Path) -> Result<Staged> {
    let file = std::fs::File::open(path).map_err(|e| SnapshotError::NotASnapshot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let dir = tempfile::Builder::new()
        .prefix("fabx-restore-")
        .tempdir()
        .map_err(|source| write_error(&std::env::temp_dir(), source))?;
    let unreadable = |reason: String| SnapshotError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let mut archive = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(file)));
    let entries = archive.entries().map_err(|e| unreadable(e.to_string()))?;
    let mut manifest: Option<Manifest> = None;
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    let mut sums: Option<String> = None;
    for entry in entries {
        let mut entry = entry.map_err(|e| unreadable(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| unreadable(e.to_string()))?
            .display()
            .to_string();
        let mode = entry.header().mode().unwrap_or(0o600) & 0o777;
        let mut contents = Vec::new();
        entry
            .read_to_end(&mut contents)
            .map_err(|e| unreadable(e.to_string()))?;
        if sums.is_some() {
            return Err(unreadable(format!("{name} follows the checksums")));
        }
        match manifest {
            None => manifest = Some(read_manifest(path, &name, &contents)?),
            Some(_) if name == SUMS => {
                sums = Some(String::from_utf8_lossy(&contents).into_owned());
                continue;
            }
            Some(_) => {
                let target =
                    staged_path(dir.path(), &name).ok_or_else(|| SnapshotError::NotASnapshot {
                        path: path.to_path_buf(),
                        reason: format!("it holds an unexpected member {name}"),
                    })?;
                write_staged(&target, mode, &contents)
                    .map_err(|source| write_error(&target, source))?;
            }
        }
        digests.insert(name, hex::encode(Sha256::digest(&contents)));
    }
    // The rest of the stream too: the gzip trailer's CRC and length are checked there.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| unreadable(e.to_string()))?;
    let manifest = manifest.ok_or_else(|| SnapshotError::NotASnapshot {
        path: path.to_path_buf(),
        reason: "it is empty".into(),
    })?;
    let sums =
        sums.ok_or_else(|| unreadable("it ends before its checksums (cut short?)".into()))?;
    check_sums(path, &sums, &digests)?;
    let staged = Staged { manifest, dir };
    if let Some(host) = staged
        .manifest
        .ledgers
        .iter()
        .find(|h| !staged.ledger(h).is_file())
    {
        return Err(unreadable(format!("the ledger of {host} is missing")));
    }
    Ok(staged)
}

fn read_manifest(path: &Path, name: &str, contents: &[u8]) -> Result<Manifest> {
    let not = |reason: String| SnapshotError::NotASnapshot {
        path: path.to_path_buf(),
        reason,
    };
    if name != MANIFEST {
        return Err(not(format!("it starts with {name}, not {MANIFEST}")));
    }
    // The version first: a newer format may have changed everything else.
    let value: serde_json::Value = serde_json::from_slice(contents)
        .map_err(|e| not(format!("{MANIFEST} is not JSON: {e}")))?;
    let found = value
        .get("format")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| not(format!("{MANIFEST} has no format version")))?;
    if found > FORMAT as u64 {
        return Err(SnapshotError::NewerFormat {
            path: path.to_path_buf(),
            found: found.min(u32::MAX as u64) as u32,
        });
    }
    serde_json::from_value(value).map_err(|e| not(format!("{MANIFEST} cannot be read: {e}")))
}

fn check_sums(path: &Path, sums: &str, digests: &BTreeMap<String, String>) -> Result<()> {
    let listed: BTreeMap<&str, &str> = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sum, name)| (name, sum))
        .collect();
    for (name, digest) in digests {
        if listed.get(name.as_str()) != Some(&digest.as_str()) {
            return Err(SnapshotError::Corrupt {
                path: path.to_path_buf(),
                member: name.clone(),
            });
        }
    }
    if let Some(missing) = listed.keys().find(|n| !digests.contains_key(**n)) {
        return Err(SnapshotError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("{missing} is missing"),
        });
    }
    Ok(())
}

/// Where a member goes in the staging directory; None for a member a snapshot does not
/// have (or a path that would leave the directory).
fn staged_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let relative = Path::new(name);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let known = name == IMAGES
        || name.starts_with(STATE_PREFIX)
        || (name.starts_with(LEDGER_PREFIX)
            && name.ends_with(".tar")
            && !name[LEDGER_PREFIX.len()..].contains('/'));
    known.then(|| dir.join(relative))
}

fn write_staged(target: &Path, mode: u32, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(target.parent().expect("a member has a parent"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(target)?;
    file.write_all(contents)
}

fn write_error(path: &Path, source: std::io::Error) -> SnapshotError {
    SnapshotError::Write {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            fabx_version: "0.1.0".into(),
            created: 0,
            topology: "network: n\n".into(),
            host_ports_pinned: false,
            built_in: false,
            ledgers: vec!["peer0.org1.example.com".into()],
            deployments: vec![],
            images: vec![],
        }
    }

    /// A snapshot with one key file and one ledger, written as `fabx snapshot` does.
    fn write(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let state = dir.join("state-src");
        std::fs::create_dir_all(state.join("crypto")).unwrap();
        std::fs::write(state.join("crypto/priv_sk"), "key").unwrap();
        std::fs::set_permissions(
            state.join("crypto/priv_sk"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        std::fs::write(state.join(".fabx-lock"), "held").unwrap();
        let path = dir.join("snap.tar.gz");
        let mut writer = SnapshotWriter::create(&path, &manifest()).unwrap();
        writer.append_dir(&state, &[".fabx-lock"]).unwrap();
        writer
            .append("ledgers/peer0.org1.example.com.tar", 0o644, b"ledger")
            .unwrap();
        writer.finish().unwrap();
        path
    }

    #[test]
    fn a_snapshot_reads_back_whole_with_key_modes_and_without_the_lock() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let staged = stage(&write(dir.path())).unwrap();
        assert_eq!(staged.manifest, manifest());
        let key = staged.state().join("crypto/priv_sk");
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "key");
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!staged.state().join(".fabx-lock").exists());
        assert_eq!(
            std::fs::read(staged.ledger("peer0.org1.example.com")).unwrap(),
            b"ledger"
        );
        assert!(staged.images().is_none());
    }

    #[test]
    fn a_truncated_snapshot_is_an_error_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path());
        let bytes = std::fs::read(&path).unwrap();
        for keep in [bytes.len() - 8, bytes.len() / 2, 30] {
            std::fs::write(&path, &bytes[..keep]).unwrap();
            let e = stage(&path).err().expect("a cut archive fails").to_string();
            assert!(e.contains("truncated or corrupt"), "{keep}: {e}");
        }
    }

    #[test]
    fn a_changed_member_is_named_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.tar.gz");
        let mut writer = SnapshotWriter::create(&path, &manifest()).unwrap();
        writer
            .append("ledgers/peer0.org1.example.com.tar", 0o644, b"ledger")
            .unwrap();
        // A member whose digest the sums get wrong, as a flipped byte would.
        writer.sums[1].1 = hex::encode(Sha256::digest(b"other"));
        writer.finish().unwrap();
        let e = stage(&path).err().unwrap().to_string();
        assert!(
            e.contains("corrupt: ledgers/peer0.org1.example.com.tar does not match"),
            "{e}"
        );
    }

    #[test]
    fn a_newer_format_and_a_foreign_file_are_refused_before_anything_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.tar.gz");
        let mut newer = manifest();
        newer.format = FORMAT + 1;
        SnapshotWriter::create(&path, &newer)
            .unwrap()
            .finish()
            .unwrap();
        let e = stage(&path).err().unwrap().to_string();
        assert!(e.contains(&format!("format {}, newer", FORMAT + 1)), "{e}");
        assert!(e.contains("upgrade fabx"), "{e}");

        let other = dir.path().join("other.tar.gz");
        std::fs::write(&other, b"not gzip at all").unwrap();
        let e = stage(&other).err().unwrap().to_string();
        assert!(e.contains("cannot be read"), "{e}");
    }

    #[test]
    fn members_outside_the_layout_are_refused() {
        let dir = Path::new("/staging");
        assert!(staged_path(dir, "../etc/passwd").is_none());
        assert!(staged_path(dir, "state/../../x").is_none());
        assert!(staged_path(dir, "ledgers/a/b.tar").is_none());
        assert!(staged_path(dir, "other").is_none());
        assert_eq!(
            staged_path(dir, "state/crypto/k").unwrap(),
            Path::new("/staging/state/crypto/k")
        );
    }
}
