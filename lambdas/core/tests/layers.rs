//! The core's layers, held against its `use` lines: each module imports only from its own layer
//! or the layers below, no two modules import each other in a circle, and every module is placed.
//!
//! Read from the source text (`crate::` and `super::` paths outside the unit-test module at the
//! end of a file), so the check needs no build tool beyond `cargo test`. A new module must be
//! given a layer here; an import that runs up a layer fails with the file and the name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. `families::helpers::*` is what families share, `families::*` every family (the
/// registry, `families` itself, is above them).
const LAYERS: &[(&str, &[&str])] = &[
    // What a finding, a rule, a plan and a run are, and the named errors: plain data, no AWS call.
    (
        "model",
        &[
            "error", "spec", "finding", "plan", "outcome", "state", "logs", "local", "ids",
        ],
    ),
    // The AWS context families act through (clients, member roles, declared actions) and keys.
    ("aws", &["aws", "keys"]),
    // What families share (the seam, the read kit, one service's readers): no family.
    ("family helpers", &["families::helpers", "families::helpers::*"]),
    // The families: read → assess → apply over the context; none knows the registry or config.
    ("families", &["families::*"]),
    // The registry binds families to the catalog; the config lays the user's choices over both.
    (
        "registry",
        &["families", "catalog", "catalog::*", "config", "config::*"],
    ),
    // Safety under traffic and the handlers' shared plumbing.
    (
        "run",
        &[
            "ledger",
            "breaker",
            "approvals",
            "metrics",
            "intake",
            "intake::*",
            "deps",
            "topic",
        ],
    ),
];

const MAX_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module of the crate, by path (`families::s3_acl`), with its file.
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(src()).unwrap().with_extension("");
            let name = rel.to_str().unwrap().replace('/', "::");
            let name = name.strip_suffix("::mod").unwrap_or(&name).to_string();
            // Unit tests kept in their own file (`foo/tests.rs`, `foo/properties.rs`) are tests, not layers.
            let test_file = name.ends_with("::tests") || name.ends_with("::properties");
            (name != "lib" && !test_file).then_some((name, p))
        })
        .collect()
}

/// The code a module runs: comments and the trailing unit-test module left out.
fn code(text: &str) -> String {
    let tests = ["#[cfg(test)]\nmod tests", "#[cfg(test)]\npub(crate) mod tests"];
    let text = match tests.iter().filter_map(|t| text.find(t)).min() {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a `crate::`/`super::` reference names: `crate::a::b`, `crate::{a, b::c}`, `crate::a::{b, c}`.
fn paths_after(rest: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> usize { s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len()) };
    let mut prefix = Vec::new();
    let mut s = rest;
    loop {
        if let Some(group) = s.strip_prefix('{') {
            // Split the group's top-level items and read each as a path under `prefix`.
            let (mut depth, mut start, mut out) = (0usize, 0usize, Vec::new());
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(group[start..i].to_string());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(group[start..i].to_string());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return out
                .iter()
                .flat_map(|item| paths_after(item.trim()))
                .map(|p| prefix.iter().cloned().chain(p).collect())
                .collect();
        }
        let n = ident(s);
        if n == 0 {
            return vec![prefix];
        }
        prefix.push(s[..n].to_string());
        match s[n..].strip_prefix("::") {
            Some(more) => s = more,
            None => return vec![prefix],
        }
    }
}

/// The modules `name`'s code imports.
fn imports(name: &str, file: &Path, all: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let text = code(&std::fs::read_to_string(file).unwrap());
    // `super` of `families::s3_acl` (and of `families/mod.rs`'s `families`) is one step up.
    let mut parent: Vec<&str> = name.split("::").collect();
    parent.pop();
    let mut out = BTreeSet::new();
    for (anchor, base) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut from = 0;
        while let Some(i) = text[from..].find(anchor) {
            let at = from + i;
            from = at + anchor.len();
            if anchor == "super::" && text[..at].ends_with("::") {
                continue;
            }
            for path in paths_after(&text[from..]) {
                let full: Vec<String> = base.iter().map(|s| s.to_string()).chain(path).collect();
                // The longest prefix that is a module.
                if let Some(m) = (1..=full.len())
                    .rev()
                    .map(|k| full[..k].join("::"))
                    .find(|m| all.contains_key(m))
                {
                    if m != name {
                        out.insert(m);
                    }
                }
            }
        }
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    // An exact name first (`families::helpers` is below `families::*`, `families` the registry), then a `parent::*`.
    let exact = LAYERS.iter().position(|(_, ms)| ms.contains(&module));
    exact.or_else(|| {
        LAYERS.iter().position(|(_, ms)| {
            ms.iter().any(|m| {
                m.strip_suffix("::*")
                    .is_some_and(|parent| module.strip_prefix(parent).is_some_and(|r| r.starts_with("::")))
            })
        })
    })
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let all = modules();
    all.iter().map(|(m, f)| (m.clone(), imports(m, f, &all))).collect()
}

#[test]
fn every_module_imports_only_its_own_layer_or_below() {
    let g = graph();
    let mut wrong = Vec::new();
    for (m, deps) in &g {
        let Some(lm) = layer_of(m) else {
            wrong.push(format!("{m}: placed in no layer (add it to LAYERS in tests/layers.rs)"));
            continue;
        };
        for d in deps {
            let ld = layer_of(d).unwrap_or(usize::MAX);
            if ld > lm {
                let name = |l: usize| LAYERS.get(l).map_or("none", |x| x.0);
                wrong.push(format!("{m} ({}) imports {d} ({})", name(lm), name(ld)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that run up a layer:\n{}", wrong.join("\n"));
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let g = graph();
    // Depth-first search; a back edge closes a circle, reported as its path.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == m) {
            circles.push(format!("{} -> {m}", path[i..].join(" -> ")));
            return;
        }
        if done.contains(m) {
            return;
        }
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            visit(d, g, path, done, circles);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let (mut done, mut circles) = (BTreeSet::new(), Vec::new());
    for m in g.keys() {
        visit(m, &g, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}

/// The check reads what it claims: known imports are found, and a planted upward import would be.
#[test]
fn the_reader_finds_known_imports_and_an_upward_one() {
    let g = graph();
    assert!(
        g["families::s3_acl"].contains("families::helpers::family"),
        "{:?}",
        g["families::s3_acl"]
    );
    assert!(g["catalog"].contains("families"), "{:?}", g["catalog"]);
    assert!(g["families"].contains("spec"), "{:?}", g["families"]);
    assert_eq!(
        paths_after("{self, family::{DynFamily, Erased}}; x"),
        vec![
            vec!["self".to_string()],
            vec!["family".into(), "DynFamily".into()],
            vec!["family".into(), "Erased".into()]
        ]
    );
    assert!(layer_of("families::s3_acl") < layer_of("families"));
    assert!(layer_of("families::helpers::kit") < layer_of("families::s3_acl"));
    assert_eq!(layer_of("ids"), Some(0));
    assert_eq!(layer_of("no_such_module"), None);
}

/// No file over 800 lines without a reason in its header (`Over 800 lines:` in the first 20 lines).
#[test]
fn no_file_over_800_lines_without_a_reason_in_its_header() {
    let mut long = Vec::new();
    for (m, f) in modules() {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines = text.lines().count();
        let header: String = text.lines().take(20).collect::<Vec<_>>().join("\n");
        if lines > MAX_LINES && !header.contains("Over 800 lines:") {
            long.push(format!("{m}: {lines} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines with no reason given:\n{}",
        long.join("\n")
    );
}
