//! `fuzz-seeds [REPO]`: writes the seed inputs of every fuzz target into
//! `REPO/fuzz/corpus/<target>/` (REPO defaults to the current directory). Existing files are
//! kept; a seed already there is not written twice.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let repo = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let mut written = 0;
    for (target, data) in fxgate_fuzz::seeds::seeds(&repo) {
        let dir = repo.join("fuzz/corpus").join(target);
        let path = dir.join(fxgate_fuzz::seeds::file_name(&data));
        if path.exists() {
            continue;
        }
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &data)) {
            eprintln!("fuzz-seeds: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        written += 1;
    }
    println!("fuzz-seeds: {written} new seed files under {}", repo.join("fuzz/corpus").display());
    ExitCode::SUCCESS
}
