//! `fabx new NAME`: a Rust chaincode crate on `fabx-shim`, ready for `fabx dev NAME`: an
//! asset contract (create, read, update, delete, a range query), its unit tests on the
//! shim's peer double, and an integration test on fabx's harness.
//!
//! The crate depends on `fabx-shim` and `fabx` by path, in the source tree this fabx was
//! built from (neither is published to a registry).

use std::path::{Path, PathBuf};

/// The fabx source tree this binary was built from.
const FABX_ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Each file of the crate: its path and its template.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("scaffold/Cargo.toml.in")),
    ("src/main.rs", include_str!("scaffold/main.rs.in")),
    ("src/contract.rs", include_str!("scaffold/contract.rs.in")),
    (
        "src/contract/tests.rs",
        include_str!("scaffold/contract_tests.rs.in"),
    ),
    (
        "tests/network.rs",
        include_str!("scaffold/network_test.rs.in"),
    ),
    ("README.md", include_str!("scaffold/README.md.in")),
    (".gitignore", "/target\n/.fabx\n"),
];

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("{name:?} cannot name a chaincode crate (use a letter, then letters and digits with single '-' or '_' between them, e.g. assets or asset-transfer)")]
    BadName { name: String },
    #[error("{} already exists and is not empty (choose another NAME, or --path to a new directory)", .dir.display())]
    NotEmpty { dir: PathBuf },
    #[error("fabx's source tree is not at {} (the new crate depends on its fabx-shim and fabx crates by path: run fabx built from its repository)", .root.display())]
    NoSourceTree { root: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether `name` is both a Fabric chaincode name and a cargo package name.
pub fn valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .split(['-', '_'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The crate's files, rendered: (path in the crate, contents).
pub fn render(name: &str, fabx_root: &Path) -> Vec<(PathBuf, String)> {
    let shim = fabx_root.join("chaincode").join("shim");
    FILES
        .iter()
        .map(|(path, template)| {
            let text = template
                .replace("{{name}}", name)
                .replace("{{shim}}", &shim.display().to_string())
                .replace("{{fabx}}", &fabx_root.display().to_string());
            (PathBuf::from(path), text)
        })
        .collect()
}

/// Writes the crate for chaincode `name` into `dir` (new, or empty): all of it or, on
/// failure, nothing. Returns the files written.
pub fn scaffold(name: &str, dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName { name: name.into() });
    }
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::NotEmpty { dir: dir.into() });
    }
    let root = PathBuf::from(FABX_ROOT);
    if !root.join("chaincode/shim/Cargo.toml").is_file() {
        return Err(ScaffoldError::NoSourceTree { root });
    }
    // Written beside the target and renamed into place whole.
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let write_error = |path: &Path, source| ScaffoldError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&parent).map_err(|e| write_error(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".fabx-new-")
        .tempdir_in(&parent)
        .map_err(|e| write_error(&parent, e))?;
    let mut written = Vec::new();
    for (path, text) in render(name, &root) {
        let full = staging.path().join(&path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
        }
        std::fs::write(&full, text).map_err(|e| write_error(&full, e))?;
        written.push(dir.join(path));
    }
    // An empty directory may stand where the crate goes.
    if dir.is_dir() {
        std::fs::remove_dir(dir).map_err(|e| write_error(dir, e))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        write_error(dir, e)
    })?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_fabric_and_cargo_names() {
        for good in ["assets", "asset-transfer", "asset_transfer", "cc2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "2cc", "a--b", "-a", "a b", "a.b", "ä"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        for (path, text) in render("assets", Path::new("/src/fabx")) {
            assert!(
                !text.contains("{{"),
                "{} keeps a placeholder",
                path.display()
            );
        }
        let files = render("assets", Path::new("/src/fabx"));
        let manifest = &files
            .iter()
            .find(|(p, _)| p == Path::new("Cargo.toml"))
            .unwrap()
            .1;
        assert!(manifest.contains(r#"name = "assets""#));
        assert!(manifest.contains(r#"fabx-shim = { path = "/src/fabx/chaincode/shim" }"#));
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn a_crate_is_written_whole_or_not_at_all() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("chaincode/assets");
        let written = scaffold("assets", &dir).unwrap();
        assert!(written.contains(&dir.join("src/contract/tests.rs")));
        assert!(dir.join("tests/network.rs").is_file());
        // A second time: the directory is not empty; nothing changes.
        let before = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        let err = scaffold("assets", &dir).unwrap_err();
        assert!(matches!(err, ScaffoldError::NotEmpty { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("src/main.rs")).unwrap(),
            before
        );
        // A bad name leaves nothing behind.
        let err = scaffold("2cc", &base.path().join("chaincode/2cc")).unwrap_err();
        assert!(matches!(err, ScaffoldError::BadName { .. }), "{err}");
        let left: Vec<_> = std::fs::read_dir(base.path().join("chaincode"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("assets")]);
    }
}
