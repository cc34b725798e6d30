//! The architecture's one rule that clippy cannot check (issue 24, issue 31.4): no circle
//! between the library's modules, neither between file modules nor between the top-level
//! modules (`config`, `engine`, `sandbox`, ...; a circle among files of two folders is one
//! between the folders). The other rules are clippy's, on the whole crate (`clippy.toml` and
//! `src/lib.rs`): fns of at most 80 lines, no `unreachable!`, the environment read by `config`
//! and `cli` only. A small lexer reads `src/` (comments, strings and char literals skipped, so a
//! word in a message is not code); no parser crate, and macro bodies are read as any code.
//!
//! # The module graph
//! - A node per file module of the library (`src/lib.rs` is the crate root, `a/mod.rs` and
//!   `a.rs` are `a`). `src/main.rs` is another crate and is left out, as are `#[cfg(test)]`
//!   modules and `use`s: the graph is the library as it ships.
//! - An edge A → B when A names a path into B: `crate::…`, `super::…`, `self::…`, a path that
//!   starts at one of A's child modules, or one through a name a `use` bound; `use` lists are
//!   read leaf by leaf. A path goes to the deepest file module it names; what is left of it is
//!   an item of that module.
//! - A `mod child;` declaration is not an edge (it places the child, it uses nothing): a child
//!   naming an item its parent defines is an edge child → parent, and a circle only when the
//!   parent's own code names the child too (an orchestrator in `mod.rs` whose children use the
//!   types it defines is one: move those types into a file of their own).
//! - A `pub use` (any `pub(…)` too) makes its module a facade for the names it re-exports: a
//!   path to `parent::Name` goes on to where `Name` is defined (followed through facades), so a
//!   child that imports through its parent's re-export names the module it really depends on.
//!   The re-export is an edge of the facade itself only when the facade's own code uses the
//!   name beyond the `pub use` (a facade that only passes names on depends on nothing).
//! - A `use` of a module itself (`use crate::api;`, `{self, …}`) binds a name and is no edge;
//!   the paths through that name are.
//! - Not seen: paths inside string literals (`#[serde(with = "…")]`), and items brought in by
//!   a glob from elsewhere than a module's own children.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use lexer::{Token, lex};

mod lexer;

#[test]
fn no_circle_between_modules() {
    let files = source_files();
    let circles = circles(&files);
    assert!(
        circles.is_empty(),
        "{} circle(s) between modules (A → B: A names a path into B):\n{}",
        circles.len(),
        circles.join("\n")
    );
}

#[test]
fn no_circle_between_top_level_modules() {
    let circles = top_level_circles(&source_files());
    assert!(
        circles.is_empty(),
        "{} circle(s) between top-level modules (A → B: a file of A names a path into B):\n{}",
        circles.len(),
        circles.join("\n")
    );
}

/// The checker itself: a circle hidden behind a parent's re-export is found and named, one
/// through a `use`d module name too, and a parent that only passes a child's names on, or a
/// child naming its parent, is none.
#[test]
fn the_checker_finds_circles_behind_facades() {
    let tree = |files: &[(&str, &str)]| -> Vec<(String, String)> {
        files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
    };
    // a/x uses a::Thing, which a re-exports from a/y; a/y uses a/x: x ↔ y.
    let hidden = tree(&[
        ("src/lib.rs", "pub mod a;\n"),
        ("src/a/mod.rs", "mod x;\nmod y;\npub use y::Thing;\npub use x::other;\n"),
        ("src/a/x.rs", "use super::Thing;\npub fn other() {}\n"),
        ("src/a/y.rs", "pub struct Thing;\nfn f() { super::x::other() }\n"),
    ]);
    let found = circles(&hidden);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a::x → a::y → a::x"), "{found:?}");
    assert!(found[0].contains("src/a/x.rs:1"), "{found:?}");
    // b uses a module name bound by a `use`; a names b's item: a ↔ b.
    let bound = tree(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        ("src/a.rs", "pub fn f() -> u8 { crate::b::G }\n"),
        (
            "src/b.rs",
            "use crate::a;\n// crate::nothing in a comment\npub const G: u8 = 1;\nfn g() { a::f(); }\n",
        ),
    ]);
    assert_eq!(circles(&bound).len(), 1, "{:?}", circles(&bound));
    // A facade and a child that names its parent's own item: no circle, nor from test modules.
    let fine = tree(&[
        ("src/lib.rs", "pub mod a;\npub use a::f;\npub fn top() {}\n"),
        (
            "src/a.rs",
            "pub fn f() { let _ = \"crate::top\"; }\n#[cfg(test)]\nmod tests { use crate::top; }\n",
        ),
    ]);
    assert!(circles(&fine).is_empty(), "{:?}", circles(&fine));
}

/// Two folders whose files name each other without a circle between files (a::x → b → a::y)
/// are a circle between the folders, and none between the files.
#[test]
fn the_checker_finds_circles_between_folders() {
    let files: Vec<(String, String)> = [
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        ("src/a/mod.rs", "pub mod x;\npub mod y;\n"),
        ("src/a/x.rs", "pub fn f() { crate::b::g() }\n"),
        ("src/a/y.rs", "pub fn h() {}\n"),
        ("src/b.rs", "pub fn g() {}\nfn k() { crate::a::y::h() }\n"),
    ]
    .iter()
    .map(|(p, t)| (p.to_string(), t.to_string()))
    .collect();
    assert!(circles(&files).is_empty(), "{:?}", circles(&files));
    let found = top_level_circles(&files);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a → b → a"), "{found:?}");
    assert!(found[0].contains("src/b.rs:2"), "{found:?}");
}

/// Every `.rs` file of the library, as (`src/…` path, text).
fn source_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut folders = vec![root.join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                files.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

// ---- the module graph ----

/// A module path from the crate root (`["import", "plan"]`; the root is empty).
type ModPath = Vec<String>;

/// A path as written, where it was written, and the module (inline ones included) it was
/// written in.
#[derive(Debug, Clone)]
struct Named {
    segments: Vec<String>,
    context: ModPath,
    line: usize,
}

/// One leaf of a `use` list.
#[derive(Debug, Clone)]
struct UseLeaf {
    named: Named,
    /// The name it binds (`as` included); `*` for a glob.
    binds: String,
    public: bool,
}

/// What one file says.
#[derive(Debug, Default)]
struct FileModule {
    file: String,
    uses: Vec<UseLeaf>,
    paths: Vec<Named>,
    inline: BTreeSet<ModPath>,
    /// How often each word appears outside `use` items (does a facade use its re-exports?).
    words: HashMap<String, usize>,
}

fn module_path(file: &str) -> Option<ModPath> {
    let inner = file.strip_prefix("src/")?.strip_suffix(".rs")?;
    if inner == "main" {
        return None;
    }
    let mut segments: ModPath = inner.split('/').map(str::to_string).collect();
    if matches!(segments.last().map(String::as_str), Some("mod" | "lib")) {
        segments.pop();
    }
    Some(segments)
}

/// `#[cfg(test)]` just before token `i` (other attributes may sit between).
fn after_cfg_test(tokens: &[Token], mut i: usize) -> bool {
    while i >= 1 && tokens[i - 1].is("]") {
        let Some(open) = (0..i - 1).rev().find(|&j| tokens[j].is("#")) else {
            return false;
        };
        let attribute: Vec<&str> = tokens[open..i].iter().map(|t| t.text.as_str()).collect();
        if attribute == ["#", "[", "cfg", "(", "test", ")", "]"] {
            return true;
        }
        i = open;
    }
    false
}

fn read_module(file: &str, text: &str, base: &ModPath) -> FileModule {
    let tokens = lex(text);
    let mut module = FileModule {
        file: file.to_string(),
        ..FileModule::default()
    };
    // Inline modules open here: (path, brace depth inside, a test module).
    let mut stack: Vec<(ModPath, usize, bool)> = vec![(base.clone(), 0, false)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let (context, _, in_test) = stack.last().cloned().unwrap();
        match token.text.as_str() {
            "{" => depth += 1,
            "}" => {
                if stack.len() > 1 && stack.last().unwrap().1 == depth {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t.is("{")) => {
                let mut path = context.clone();
                path.push(tokens[i + 1].text.clone());
                module.inline.insert(path.clone());
                stack.push((path, depth + 1, in_test || after_cfg_test(&tokens, i)));
            }
            "use" => {
                let end = (i..tokens.len()).find(|&j| tokens[j].is(";")).unwrap_or(tokens.len());
                if !in_test && !after_cfg_test(&tokens, visibility_start(&tokens, i)) {
                    let public = visibility_start(&tokens, i) < i;
                    let mut leaves = Vec::new();
                    use_tree(&tokens[i + 1..end], Vec::new(), &mut leaves);
                    for (segments, binds, line) in leaves {
                        module.uses.push(UseLeaf {
                            named: Named {
                                segments,
                                context: context.clone(),
                                line,
                            },
                            binds,
                            public,
                        });
                    }
                }
                i = end + 1;
                continue;
            }
            _ => {}
        }
        if token.word {
            *module.words.entry(token.text.clone()).or_default() += 1;
            let starts_path = tokens.get(i + 1).is_some_and(|t| t.is("::"))
                && !(i > 0 && (tokens[i - 1].is("::") || tokens[i - 1].is("$")));
            if starts_path && !in_test {
                let mut segments = vec![token.text.clone()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t.is("::")) && tokens.get(j + 1).is_some_and(|t| t.word) {
                    segments.push(tokens[j + 1].text.clone());
                    j += 2;
                }
                module.paths.push(Named {
                    segments,
                    context,
                    line: token.line,
                });
                i = j;
                continue;
            }
        }
        i += 1;
    }
    module
}

/// Where the visibility before `use` at `i` begins (`pub`, `pub(crate)`, …), or `i`.
fn visibility_start(tokens: &[Token], i: usize) -> usize {
    if i >= 1 && tokens[i - 1].is("pub") {
        return i - 1;
    }
    if i >= 1
        && tokens[i - 1].is(")")
        && let Some(open) = (0..i - 1).rev().find(|&j| tokens[j].is("("))
        && open >= 1
        && tokens[open - 1].is("pub")
    {
        return open - 1;
    }
    i
}

/// The leaves of a `use` tree (the tokens between `use` and `;`), each as its full path, the
/// name it binds and its line.
fn use_tree(tokens: &[Token], prefix: Vec<String>, leaves: &mut Vec<(Vec<String>, String, usize)>) {
    let mut path = prefix;
    let mut i = 0;
    // A leading `::` (an extern crate, spelled absolutely) is no path of ours.
    if tokens.first().is_some_and(|t| t.is("::")) {
        return;
    }
    while i < tokens.len() {
        let token = &tokens[i];
        match token.text.as_str() {
            "::" => i += 1,
            "*" => {
                leaves.push((path.clone(), "*".into(), token.line));
                return;
            }
            "{" => {
                let close = matching_brace(tokens, i).unwrap_or(tokens.len());
                // Split the group at its top-level commas.
                let (mut start, mut level) = (i + 1, 0);
                for j in i + 1..=close.min(tokens.len() - 1) {
                    match tokens[j].text.as_str() {
                        "{" => level += 1,
                        "}" if level > 0 => level -= 1,
                        "," | "}" if level == 0 => {
                            if start < j {
                                use_tree(&tokens[start..j], path.clone(), leaves);
                            }
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            "self" if i == 0 && !path.is_empty() => {
                // `{self, …}`: the group's own module, under its own name or an alias.
                let binds = alias(tokens, i + 1).unwrap_or_else(|| path.last().unwrap().clone());
                leaves.push((path.clone(), binds, token.line));
                return;
            }
            _ if token.word => {
                path.push(token.text.clone());
                if !tokens.get(i + 1).is_some_and(|t| t.is("::")) {
                    let binds = alias(tokens, i + 1).unwrap_or_else(|| token.text.clone());
                    leaves.push((path, binds, token.line));
                    return;
                }
                i += 1;
            }
            _ => return,
        }
    }
}

/// The name after `as` at `i`, if there is one.
fn alias(tokens: &[Token], i: usize) -> Option<String> {
    match (tokens.get(i), tokens.get(i + 1)) {
        (Some(as_), Some(name)) if as_.is("as") => Some(name.text.clone()),
        _ => None,
    }
}

/// The library's modules and how to resolve a path in them.
struct Crate {
    modules: BTreeMap<ModPath, FileModule>,
}

impl Crate {
    fn new(files: &[(String, String)]) -> Self {
        let modules = files
            .iter()
            .filter_map(|(file, text)| {
                let path = module_path(file)?;
                let module = read_module(file, text, &path);
                Some((path, module))
            })
            .collect();
        Crate { modules }
    }

    /// The file module a module path (perhaps an inline one) is written in.
    fn file_of(&self, context: &ModPath) -> &FileModule {
        (0..=context.len())
            .rev()
            .find_map(|n| self.modules.get(&context[..n]))
            .expect("the crate root")
    }

    /// Is there a module (file or inline) at `path`?
    fn is_module(&self, path: &ModPath) -> bool {
        self.modules.contains_key(path) || self.modules.values().any(|m| m.inline.contains(path))
    }

    /// `named` from the crate root, or `None` when it is not a path into the crate (`std::…`,
    /// a type's associated item).
    fn absolute(&self, named: &Named, depth: usize) -> Option<ModPath> {
        let (first, rest) = named.segments.split_first()?;
        let mut path = match first.as_str() {
            "crate" => Vec::new(),
            "self" => named.context.clone(),
            "super" => {
                let mut path = named.context.clone();
                path.pop()?;
                path
            }
            name => {
                let mut child = named.context.clone();
                child.push(name.to_string());
                if self.is_module(&child) {
                    child
                } else {
                    // A name a `use` of this module bound.
                    let leaf = self
                        .file_of(&named.context)
                        .uses
                        .iter()
                        .find(|leaf| leaf.binds == name && leaf.named.context == named.context)?;
                    if depth > 8 {
                        return None;
                    }
                    self.absolute(&leaf.named, depth + 1)?
                }
            }
        };
        let mut rest = rest.iter().peekable();
        while rest.peek().is_some_and(|s| *s == "super") {
            path.pop()?;
            rest.next();
        }
        path.extend(rest.cloned());
        Some(path)
    }

    /// The file module that `path` (from the root) names or names an item of, followed through
    /// re-exports; and whether it named the module itself.
    fn target(&self, path: &ModPath, depth: usize) -> Option<(ModPath, bool)> {
        let n = (0..=path.len())
            .rev()
            .find(|&n| self.modules.contains_key(&path[..n]))?;
        let node = path[..n].to_vec();
        let Some(item) = path.get(n) else {
            return Some((node, true));
        };
        let module = &self.modules[&node];
        let reexport = module
            .uses
            .iter()
            .find(|leaf| leaf.public && leaf.binds == *item && leaf.named.context == node);
        match reexport {
            Some(leaf) if depth < 8 => {
                let mut through = self.absolute(&leaf.named, 0)?;
                through.extend(path[n + 1..].iter().cloned());
                self.target(&through, depth + 1).or(Some((node, false)))
            }
            _ => Some((node, path.len() == n)),
        }
    }

    /// Every edge, with the first place that makes it: (from, to) → "file:line `path`".
    fn edges(&self) -> BTreeMap<(ModPath, ModPath), String> {
        let mut edges = BTreeMap::new();
        for (node, module) in &self.modules {
            let mut add = |named: &Named, module_itself_counts: bool| {
                let Some(path) = self.absolute(named, 0) else { return };
                let Some((to, itself)) = self.target(&path, 0) else {
                    return;
                };
                if &to == node || (itself && !module_itself_counts) {
                    return;
                }
                edges
                    .entry((node.clone(), to))
                    .or_insert_with(|| format!("{}:{} `{}`", module.file, named.line, named.segments.join("::")));
            };
            for leaf in &module.uses {
                let used_here = module.words.get(&leaf.binds).copied().unwrap_or(0) > 0;
                if leaf.binds == "*" {
                    add(&leaf.named, true);
                } else if !leaf.public || used_here {
                    add(&leaf.named, false);
                }
            }
            for named in &module.paths {
                add(named, true);
            }
        }
        edges
    }
}

fn show(path: &ModPath) -> String {
    if path.is_empty() {
        "crate".into()
    } else {
        path.join("::")
    }
}

/// Every circle between the file modules of `files`, each as `a → b → a` with where each arrow
/// is written.
fn circles(files: &[(String, String)]) -> Vec<String> {
    circles_between(files, |path| path.clone())
}

/// Every circle between the top-level modules of `files` (each file counted as the top-level
/// module it is in; the crate root is one of its own).
fn top_level_circles(files: &[(String, String)]) -> Vec<String> {
    circles_between(files, |path| path.iter().take(1).cloned().collect())
}

/// Every circle between the modules that `level` makes of the file modules.
fn circles_between(files: &[(String, String)], level: impl Fn(&ModPath) -> ModPath) -> Vec<String> {
    let krate = Crate::new(files);
    let mut edges: BTreeMap<(ModPath, ModPath), String> = BTreeMap::new();
    for ((from, to), evidence) in krate.edges() {
        let (from, to) = (level(&from), level(&to));
        if from != to {
            edges.entry((from, to)).or_insert(evidence);
        }
    }
    let nodes: BTreeSet<ModPath> = krate.modules.keys().map(&level).collect();
    let mut next: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let mut reported = Vec::new();
    let mut covered: BTreeSet<(ModPath, ModPath)> = BTreeSet::new();
    for start in &nodes {
        // The shortest way back to `start`, breadth first.
        let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut back = None;
        while let Some(at) = queue.pop_front() {
            for &to in next.get(at).into_iter().flatten() {
                if to == start {
                    back = Some(at);
                    break;
                }
                if !came_from.contains_key(to) {
                    came_from.insert(to, at);
                    queue.push_back(to);
                }
            }
            if back.is_some() {
                break;
            }
        }
        let Some(mut at) = back else { continue };
        let mut way = Vec::new();
        while at != start {
            way.push(at.clone());
            at = came_from[at];
        }
        way.reverse();
        let cycle: Vec<ModPath> = std::iter::once(start.clone())
            .chain(way)
            .chain(std::iter::once(start.clone()))
            .collect();
        let arrows: Vec<(ModPath, ModPath)> = cycle.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect();
        if arrows.iter().all(|arrow| covered.contains(arrow)) {
            continue;
        }
        covered.extend(arrows.iter().cloned());
        let names: Vec<String> = cycle.iter().map(show).collect();
        let evidence: Vec<String> = arrows
            .iter()
            .map(|(from, to)| {
                format!(
                    "    {} → {}: {}",
                    show(from),
                    show(to),
                    edges[&(from.clone(), to.clone())]
                )
            })
            .collect();
        reported.push(format!("  {}\n{}", names.join(" → "), evidence.join("\n")));
    }
    reported
}

/// The `}` that closes the `{` at `open`.
fn matching_brace(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        match t.text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}
