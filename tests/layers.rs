//! The shape of the source: Lua stays in its binding. `mlua` may appear only in
//! `src/lua/` and the REPL (`src/repl.rs`); the job layer (`src/job/`), the engine and
//! everything under them know no Lua.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn mlua_appears_only_in_the_lua_binding_and_the_repl() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 20,
        "only {} files under {}",
        files.len(),
        src.display()
    );
    let allowed = |p: &Path| {
        let rel = p.strip_prefix(&src).unwrap();
        rel.starts_with("lua") || rel == Path::new("repl.rs")
    };
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| !allowed(p))
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("mlua"))
        .map(|p| p.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "mlua outside src/lua/ and src/repl.rs: {offenders:?}"
    );
    assert!(
        files
            .iter()
            .any(|p| p.strip_prefix(&src).unwrap().starts_with("job")),
        "no src/job/"
    );
}
