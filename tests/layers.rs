//! The layers of `src/` depend only on the layers below them. Every path into the crate
//! (`crate::…`, in code, not comments) is checked against the table below, so an arrow
//! that points up fails this test. `fabx_fabric` is a crate of its own and cannot see
//! fabx at all: the compiler checks that one.

use std::path::{Path, PathBuf};

/// Each layer and the layers it may use (its own is always allowed).
const LAYERS: &[(&str, &[&str])] = &[
    ("support", &[]),
    ("topology", &[]),
    ("engine", &["support", "topology"]),
    ("artifacts", &["support", "topology"]),
    ("network", &["support", "topology", "engine", "artifacts"]),
    (
        "harness",
        &["support", "topology", "engine", "artifacts", "network"],
    ),
    (
        "ui",
        &["support", "topology", "engine", "artifacts", "network"],
    ),
    ("cli", &[]),
];

/// Items `lib.rs` re-exports at the crate root, by the layer that defines them.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Error", "network"),
    ("Result", "network"),
    ("Network", "network"),
    ("Layout", "artifacts"),
    ("DockerEngine", "engine"),
    ("Engine", "engine"),
    ("EngineChoice", "engine"),
    ("EngineError", "engine"),
    ("EngineKind", "engine"),
    ("EngineRef", "engine"),
    ("Reporter", "support"),
    ("reporter", "support"),
    ("profile", "support"),
    ("Topology", "topology"),
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The layer of a file under `src/` (None for lib.rs and main.rs, which wire layers).
fn layer_of(relative: &Path) -> Option<&'static str> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    LAYERS.iter().map(|(l, _)| *l).find(|l| *l == name)
}

/// The layers a line of code names through `crate::`.
fn named_layers(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    code.match_indices("crate::")
        .filter(|(at, _)| {
            // Not `fabx_fabric::…` or another crate's path ending in "crate".
            !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, m)| {
            let rest = &code[at + m.len()..];
            let item: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            match ROOT_ITEMS.iter().find(|(name, _)| *name == item) {
                Some((_, layer)) => layer.to_string(),
                None => item,
            }
        })
        .collect()
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut checked = 0;
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(layer) = layer_of(relative) else {
            continue;
        };
        let allowed = LAYERS.iter().find(|(l, _)| *l == layer).unwrap().1;
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for named in named_layers(line) {
                checked += 1;
                if named != layer && !allowed.contains(&named.as_str()) {
                    upward.push(format!(
                        "src/{}:{}: {layer} uses {named}: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} paths found: is src/ there?");
    assert!(
        upward.is_empty(),
        "paths that point up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_checker_sees_an_upward_path() {
    assert_eq!(named_layers("use crate::network::Network;"), ["network"]);
    assert_eq!(named_layers("    let e: crate::Error = x;"), ["network"]);
    assert!(named_layers("// crate::network in a comment").is_empty());
    assert!(named_layers("use fabx_fabric::cli;").is_empty());
    assert_eq!(layer_of(Path::new("engine/docker/mod.rs")), Some("engine"));
    assert_eq!(layer_of(Path::new("harness.rs")), Some("harness"));
    assert_eq!(layer_of(Path::new("lib.rs")), None);
}
