//! The one tar writer: archives made in memory with fixed metadata (mtime 0, owner 0:0),
//! so that the same files always give the same bytes (a chaincode package's ID is the
//! hash of its bytes).

use std::path::Path;

/// A file in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarFile {
    /// The path inside the archive.
    pub name: String,
    pub contents: Vec<u8>,
    pub mode: u32,
}

impl TarFile {
    pub fn new(name: impl Into<String>, contents: impl Into<Vec<u8>>, mode: u32) -> TarFile {
        TarFile {
            name: name.into(),
            contents: contents.into(),
            mode,
        }
    }
}

/// A tar archive of `files`, in their order.
pub fn tar_of(files: &[TarFile]) -> Vec<u8> {
    let mut writer = TarWriter::new(Vec::new());
    for file in files {
        writer
            .append(&file.name, file.mode, file.contents.as_slice())
            .expect("writing a tar archive to memory cannot fail");
    }
    writer
        .finish()
        .expect("writing a tar archive to memory cannot fail")
}

/// Writes an archive entry by entry into any writer (a file, a compressor), with the
/// same fixed metadata as [`tar_of`].
pub struct TarWriter<W: std::io::Write> {
    builder: tar::Builder<W>,
}

impl<W: std::io::Write> TarWriter<W> {
    pub fn new(out: W) -> TarWriter<W> {
        TarWriter {
            builder: tar::Builder::new(out),
        }
    }

    /// Appends a file read from `contents` (its whole length, known in advance).
    pub fn append(&mut self, name: &str, mode: u32, contents: &[u8]) -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        self.builder.append_data(&mut header, name, contents)
    }

    /// Ends the archive and gives the writer back.
    pub fn finish(self) -> std::io::Result<W> {
        self.builder.into_inner()
    }
}

/// A tar archive of the tree under `dir` as it is on disk (a build context), symlinks
/// kept as links.
pub fn tar_of_dir(dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir)?;
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_files_give_the_same_bytes_with_modes_kept() {
        let files = [
            TarFile::new("a/run", b"#!/bin/sh\n".to_vec(), 0o755),
            TarFile::new("b.json", b"{}".to_vec(), 0o600),
        ];
        let first = tar_of(&files);
        assert_eq!(first, tar_of(&files));
        let mut archive = tar::Archive::new(first.as_slice());
        let read: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [("a/run".into(), 0o755, 0), ("b.json".into(), 0o600, 0)]
        );
    }
}
