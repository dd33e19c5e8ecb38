//! CouchDB index definitions shipped with a chaincode: `META-INF/statedb/couchdb/
//! indexes/*.json` (and `.../collections/<name>/indexes/*.json` for private data), put
//! into the package's code.tar.gz. fabx's builder copies them to the release directory,
//! where the peer reads them when the definition is committed and creates the indexes.
//! The peer only logs a malformed index; fabx refuses it before anything is deployed.

use crate::support::tar::TarFile;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where index definitions sit in a chaincode's META-INF.
pub const COUCHDB_DIR: &str = "statedb/couchdb";

#[derive(Debug, thiserror::Error)]
pub enum StatedbError {
    #[error("cannot read {path}: {source} (check the chaincode's META-INF directory)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a CouchDB index definition: {problem} (write e.g. {{\"index\": {{\"fields\": [\"owner\"]}}, \"ddoc\": \"indexOwnerDoc\", \"name\": \"indexOwner\", \"type\": \"json\"}})")]
    Invalid { path: PathBuf, problem: String },
}

/// The index definitions under `meta_inf` (a chaincode's META-INF directory) as package
/// entries `META-INF/statedb/couchdb/...`, sorted by path; none when it has none.
pub fn statedb_files(meta_inf: &Path) -> Result<Vec<TarFile>, StatedbError> {
    let root = meta_inf.join(COUCHDB_DIR);
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths = Vec::new();
    collect_json(&root, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let contents = std::fs::read(&path).map_err(|source| StatedbError::Read {
                path: path.clone(),
                source,
            })?;
            check_index(&contents).map_err(|problem| StatedbError::Invalid {
                path: path.clone(),
                problem,
            })?;
            let relative = path
                .strip_prefix(meta_inf)
                .expect("found under meta_inf")
                .to_string_lossy()
                .replace('\\', "/");
            Ok(TarFile::new(
                format!("META-INF/{relative}"),
                contents,
                0o644,
            ))
        })
        .collect()
}

/// Every `.json` file under `dir`, at any depth.
fn collect_json(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), StatedbError> {
    let read = |source| StatedbError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect_json(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
    Ok(())
}

/// CouchDB's index definition: `index.fields` a non-empty list of field names or
/// `{field: "asc"|"desc"}`; `ddoc` and `name` strings; `type` "json".
fn check_index(contents: &[u8]) -> Result<(), String> {
    let value: Value =
        serde_json::from_slice(contents).map_err(|e| format!("invalid JSON ({e})"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "index" | "ddoc" | "name" | "type" | "partitioned"
        ) {
            return Err(format!("unknown field {key:?}"));
        }
    }
    let fields = object
        .get("index")
        .and_then(|i| i.get("fields"))
        .and_then(Value::as_array)
        .ok_or("no \"index\": {\"fields\": [...]}")?;
    if fields.is_empty() {
        return Err("\"index.fields\" is empty".into());
    }
    for field in fields {
        let ok = match field {
            Value::String(name) => !name.is_empty(),
            Value::Object(sort) => {
                sort.len() == 1
                    && sort
                        .values()
                        .all(|d| d.as_str().is_some_and(|d| d == "asc" || d == "desc"))
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "field {field} is neither a name nor {{\"name\": \"asc\"|\"desc\"}}"
            ));
        }
    }
    for key in ["ddoc", "name"] {
        if object.get(key).is_some_and(|v| !v.is_string()) {
            return Err(format!("\"{key}\" is not a string"));
        }
    }
    if object.get("type").is_some_and(|t| t != "json") {
        return Err("\"type\" must be \"json\"".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, relative: &str, text: &str) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const OWNER: &str = r#"{"index":{"fields":["owner",{"value":"desc"}]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;

    #[test]
    fn indexes_become_package_entries_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "statedb/couchdb/indexes/owner.json", OWNER);
        write(
            dir.path(),
            "statedb/couchdb/collections/c12/indexes/a.json",
            OWNER,
        );
        write(
            dir.path(),
            "statedb/couchdb/indexes/README.md",
            "not an index",
        );
        let files = statedb_files(dir.path()).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "META-INF/statedb/couchdb/collections/c12/indexes/a.json",
                "META-INF/statedb/couchdb/indexes/owner.json"
            ]
        );
        assert_eq!(files[1].contents, OWNER.as_bytes());
        assert!(statedb_files(&dir.path().join("absent"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_malformed_index_names_its_file_and_the_problem() {
        for (text, problem) in [
            ("{not json", "invalid JSON"),
            (r#"["owner"]"#, "not a JSON object"),
            (r#"{"fields":["owner"]}"#, "unknown field \"fields\""),
            (r#"{"index":{}}"#, "no \"index\""),
            (r#"{"index":{"fields":[]}}"#, "is empty"),
            (r#"{"index":{"fields":[3]}}"#, "neither a name"),
            (r#"{"index":{"fields":[{"a":"up"}]}}"#, "neither a name"),
            (
                r#"{"index":{"fields":["a"]},"type":"text"}"#,
                "must be \"json\"",
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "statedb/couchdb/indexes/bad.json", text);
            let e = statedb_files(dir.path()).unwrap_err().to_string();
            assert!(
                e.contains("bad.json: not a CouchDB index definition"),
                "{e}"
            );
            assert!(e.contains(problem), "{text}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}
