//! Writing configuration changes made at run time (the aggregation's methods, the
//! configurator's pages) back to the configuration file.
//!
//! The file is edited with `toml_edit`, so the user's comments, formatting and every other
//! section survive byte for byte. The new text is validated as a whole configuration (the
//! registry's check, the same as `fxgate check-config`) before it replaces the file; nothing
//! is written when it is not valid. The previous text is kept as `<file>.bak`, and the file
//! is replaced atomically: a temporary file in the same directory, with the original's
//! permissions, is written, flushed to disk and renamed over it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use toml_edit::DocumentMut;

use crate::CheckText;

/// Why the file could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (the configuration, its backup or its temporary copy).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The configuration file is not valid TOML.
    #[error("{}:{line}:{column}: not valid TOML: {message}", path.display())]
    Parse {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line, 0 if unknown.
        line: usize,
        /// 1-based column, 0 if unknown.
        column: usize,
        /// What the TOML parser says.
        message: String,
    },
    /// The changed configuration would not be valid; the file was left as it was.
    #[error("the changed configuration would not be valid: {0}")]
    Invalid(String),
}

/// Serialises the read-modify-write cycles of this process, so two changes at the same
/// time cannot lose one another.
static LOCK: Mutex<()> = Mutex::new(());

/// Reads the file at `path`, applies `change` to its document, validates the result with
/// `check` and writes it back (keeping the previous text as `<file>.bak`). `change`'s own
/// error is returned as it is, and nothing is written.
pub fn edit<E: From<EditError>>(path: &Path, check: CheckText, change: impl FnOnce(&mut DocumentMut) -> Result<(), E>) -> Result<(), E> {
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| EditError::Io { path: p, source }
    };
    // Write through a symbolic link to the file it names, keeping the link.
    let target = fs::canonicalize(path).map_err(io_err(path))?;
    let text = fs::read_to_string(&target).map_err(io_err(path))?;
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, column) = e.span().map(|s| crate::line_col(&text, s.start)).unwrap_or((0, 0));
        let message = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
        EditError::Parse { path: path.to_path_buf(), line, column, message }
    })?;
    change(&mut doc)?;
    let mut new_text = doc.to_string();
    // New lines get the file's line ends when it uses CRLF throughout.
    if text.contains("\r\n") && !text.replace("\r\n", "").contains('\n') {
        new_text = crlf(&new_text);
    }
    // Relative paths in the file are resolved against its directory, as `load` does.
    let base = path.parent().unwrap_or(Path::new("."));
    if let Err(errs) = check(&new_text, path, base) {
        let all: Vec<String> = errs.iter().map(ToString::to_string).collect();
        return Err(EditError::Invalid(all.join("; ")).into());
    }
    let mut backup = target.clone().into_os_string();
    backup.push(".bak");
    write_atomic(Path::new(&backup), &target, text.as_bytes())?;
    write_atomic(&target, &target, new_text.as_bytes())?;
    Ok(())
}

/// Sets `key = value` in the top-level table `[table]` (made if missing) for each of
/// `entries`, every other key and comment kept; validated as a whole first.
pub fn set_keys(path: &Path, check: CheckText, table: &str, entries: Vec<(&str, toml_edit::Item)>) -> Result<(), EditError> {
    edit(path, check, |doc: &mut DocumentMut| {
        if !doc.contains_key(table) {
            doc.insert(table, toml_edit::Item::Table(toml_edit::Table::new()));
        }
        let Some(t) = doc.get_mut(table).and_then(toml_edit::Item::as_table_mut) else {
            return Err(EditError::Invalid(format!("`{table}` is not a [{table}] table; change it in the file by hand")));
        };
        for (k, v) in entries {
            t.insert(k, v);
        }
        Ok(())
    })
}

/// `text` with every bare `\n` made `\r\n`.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Replaces (or creates) `target` with `bytes` atomically, with the permissions of `like`.
fn write_atomic(target: &Path, like: &Path, bytes: &[u8]) -> Result<(), EditError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = target.parent().unwrap_or(Path::new("."));
    let file_name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| EditError::Io { path: p, source }
    };
    let permissions = fs::metadata(like).map_err(io_err(like))?.permissions();
    // A unique name: a temporary file left behind by a crash is never reused or read.
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{file_name}.{}.{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&tmp)(e)),
        }
    };
    // Permissions first: the text may hold passwords.
    let written = fs::set_permissions(&tmp, permissions)
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            fs::rename(&tmp, target)
        });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(&tmp)(e));
    }
    // Make the rename itself durable (directories cannot be opened this way on Windows).
    if cfg!(unix) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))?;
    }
    Ok(())
}
