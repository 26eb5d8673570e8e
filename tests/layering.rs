//! The house rules of `src/`, read from the source itself: layers import only the layers below
//! them (core ← io ← {langevin | images | series} ← app ← {web | bin}), the three domains never
//! import each other, and the modules form no import cycle (so a registry, which imports what it
//! lists, sits above it: a model that imported its registry would close a cycle). Each rule is
//! also run on a made-up file that breaks it, so the check is known to bite.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of a top-level module; `None` for the crate root.
fn rank(top: &str) -> Option<u8> {
    Some(match top {
        "core" => 0,
        "io" => 1,
        "langevin" | "images" | "series" => 2,
        "app" => 3,
        "web" | "bin" => 4,
        _ => return None,
    })
}

/// A source file's module path below the crate root: `src/images/ddpm.rs` → `images::ddpm`,
/// `src/web/mod.rs` → `web`, `src/bin/genlab/main.rs` → `bin::genlab::main`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source without its `#[cfg(test)]` modules and comments: tests may reach anywhere.
fn production_code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    body.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every crate-internal path a file names: `crate::a::b::C` (in the library) or
/// `genlab::a::b::C` (in the binary), expanded through one level of `{…}` groups.
fn named_paths(code: &str, root: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let prefix = format!("{root}::");
    let mut rest = code;
    while let Some(at) = rest.find(&prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let head: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let base: Vec<String> = head
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let after = &rest[head.len()..];
        if (head.is_empty() || head.ends_with("::")) && after.starts_with('{') {
            let group = &after[1..after.find('}').unwrap_or(after.len())];
            for item in group.split(',') {
                let mut path = base.clone();
                path.extend(
                    item.split("::")
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                );
                paths.push(path);
            }
        } else if !base.is_empty() {
            paths.push(base);
        }
    }
    paths
}

/// What one file breaks, as readable lines; `modules` resolves a path to the module it names.
fn violations(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> (Vec<String>, BTreeSet<Vec<String>>) {
    let mut problems = Vec::new();
    let mut targets = BTreeSet::new();
    let Some(own_top) = module.first() else {
        return (problems, targets);
    };
    let Some(own_rank) = rank(own_top) else {
        return (problems, targets);
    };
    let root = if own_top == "bin" { "genlab" } else { "crate" };
    let me = module.join("::");
    for path in named_paths(code, root) {
        let Some(top) = path.first() else { continue };
        let Some(their_rank) = rank(top) else {
            continue; // crate-root macros such as `crate::named_choice!`
        };
        let target = (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|candidate| modules.contains(candidate))
            .unwrap_or_else(|| vec![top.clone()]);
        let name = path.join("::");
        if top != own_top {
            if their_rank > own_rank {
                problems.push(format!(
                    "{me} (layer {own_rank}) imports {name} from the higher layer {top}"
                ));
            } else if their_rank == own_rank {
                problems.push(format!("{me} imports {name}: the domains {own_top} and {top} must not depend on each other"));
            }
        }
        if target != module {
            targets.insert(target);
        }
    }
    (problems, targets)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A cycle in the import graph, if any, as the modules along it.
fn find_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|n| n.join("::")).collect();
                    cycle.push(next.join("::"));
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn source_tree() -> Vec<(Vec<String>, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .iter()
        .map(|path| {
            let relative = path.strip_prefix(&src).expect("under src/");
            let text = std::fs::read_to_string(path).expect("a readable source file");
            (module_of(relative), production_code(&text))
        })
        .collect()
}

fn check(tree: &[(Vec<String>, String)]) -> Vec<String> {
    let modules: BTreeSet<Vec<String>> = tree.iter().map(|(m, _)| m.clone()).collect();
    let mut problems = Vec::new();
    let mut graph = BTreeMap::new();
    for (module, code) in tree {
        let (mut found, targets) = violations(module, code, &modules);
        problems.append(&mut found);
        graph.insert(module.clone(), targets);
    }
    if let Some(cycle) = find_cycle(&graph) {
        problems.push(format!("import cycle: {}", cycle.join(" → ")));
    }
    problems
}

#[test]
fn the_source_tree_keeps_its_layers() {
    let tree = source_tree();
    assert!(tree.len() > 30, "found only {} source files", tree.len());
    let problems = check(&tree);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The real tree plus one file changed to break a rule.
fn with_edit(module: &str, extra: &str) -> Vec<String> {
    let mut tree = source_tree();
    let path: Vec<String> = module.split("::").map(str::to_string).collect();
    let entry = tree
        .iter_mut()
        .find(|(m, _)| *m == path)
        .unwrap_or_else(|| panic!("no module {module}"));
    entry.1.push_str(extra);
    check(&tree)
}

#[test]
fn a_lower_layer_importing_a_higher_one_is_caught() {
    let problems = with_edit("core::rng", "\nuse crate::app::state::PageState;\n");
    assert!(
        problems.iter().any(|p| p.contains("higher layer app")),
        "{problems:?}"
    );
    let problems = with_edit(
        "io::npy",
        "\nlet x = crate::images::ddpm::DEFAULT_EMA_DECAY;\n",
    );
    assert!(
        problems.iter().any(|p| p.contains("higher layer images")),
        "{problems:?}"
    );
}

#[test]
fn one_domain_importing_another_is_caught() {
    let problems = with_edit(
        "series::csdi",
        "\nuse crate::{images::diffusion::BetaSchedule, core::rng::SeededRng};\n",
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("domains series and images")),
        "{problems:?}"
    );
}

#[test]
fn a_model_importing_its_registry_is_caught() {
    let problems = with_edit(
        "images::ddpm",
        "\nuse crate::images::registry::generators;\n",
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("import cycle") && p.contains("images::registry")),
        "{problems:?}"
    );
}

#[test]
fn an_import_cycle_is_caught() {
    let problems = with_edit("core::rng", "\nuse crate::core::init::seeded_linear;\n");
    assert!(
        problems.iter().any(|p| p.starts_with("import cycle")),
        "{problems:?}"
    );
}

#[test]
fn the_binary_is_read_through_the_library_name() {
    let problems = with_edit(
        "bin::genlab::main",
        "\nuse genlab::app::state::PageState;\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    let code = "use genlab::{core::rng::SeededRng, io::npy};";
    let paths = named_paths(code, "genlab");
    assert_eq!(paths.len(), 2, "{paths:?}");
}
