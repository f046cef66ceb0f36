//! Replays every stored input of every fuzz target on stable: the corpora fuzzing has grown
//! (`fuzz/corpus/<target>/`) and the inputs that once found a defect
//! (`fuzz/regressions/<target>/`). A panic names the file.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn replay(target: &str, dir: &Path) -> usize {
    let f = fxgate_fuzz::target(target).unwrap_or_else(|| panic!("no target {target}"));
    let inputs = files(&dir.join(target));
    for p in &inputs {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let run = std::panic::catch_unwind(|| f(&data));
        assert!(run.is_ok(), "fuzz target {target} panics on {}", p.display());
    }
    inputs.len()
}

#[test]
fn every_target_has_a_corpus_and_replays_it() {
    let corpus = repo().join("fuzz/corpus");
    for (name, _) in fxgate_fuzz::TARGETS {
        let n = replay(name, &corpus);
        assert!(n > 0, "fuzz/corpus/{name} is empty: run `cargo run -p fxgate-fuzz --bin fuzz-seeds`");
    }
}

#[test]
fn regressions_replay() {
    let dir = repo().join("fuzz/regressions");
    for (name, _) in fxgate_fuzz::TARGETS {
        replay(name, &dir);
    }
}

#[test]
fn generated_seeds_replay() {
    // The seeds as the code makes them now (new test configurations included), whether or
    // not they have been written to the corpus yet.
    let seeds = fxgate_fuzz::seeds::seeds(&repo());
    for (name, _) in fxgate_fuzz::TARGETS {
        assert!(seeds.iter().any(|(t, _)| t == name), "no seed for {name}");
    }
    for (target, data) in seeds {
        let f = fxgate_fuzz::target(target).unwrap_or_else(|| panic!("no target {target}"));
        let run = std::panic::catch_unwind(|| f(&data));
        assert!(run.is_ok(), "fuzz target {target} panics on its seed {}", fxgate_fuzz::seeds::file_name(&data));
    }
}

#[test]
fn known_async_opcua_defects_are_skipped() {
    // fuzz/known/<target>/: inputs that reach async-opcua 0.19's Argument decoder, which
    // allocates up to 8 GiB (see `upstream::holds_argument`). The targets must recognise and
    // skip every one of them, so that they can be replayed without aborting.
    let dir = repo().join("fuzz/known");
    let mut seen = 0;
    for target in std::fs::read_dir(&dir).expect("fuzz/known").flatten() {
        let name = target.file_name().to_string_lossy().into_owned();
        let f = fxgate_fuzz::target(&name).unwrap_or_else(|| panic!("fuzz/known/{name}: no such target"));
        for file in std::fs::read_dir(target.path()).expect("target dir").flatten() {
            let data = std::fs::read(file.path()).expect("readable");
            assert!(fxgate_fuzz::upstream::holds_argument(&data), "{} is not recognised", file.path().display());
            f(&data);
            seen += 1;
        }
    }
    assert!(seen >= 5, "only {seen} known inputs");
}
