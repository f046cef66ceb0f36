//! The configuration loader: a TOML text to a validated configuration, exactly as
//! `fxgate check-config`, `fxgate run` and the configurator's upload read it.

use std::path::Path;

/// Parses and validates `data` as a whole configuration file. A refused text must be refused
/// with at least one error, each naming the file and a line inside the text.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Relative paths in the text resolve against a folder that does not exist: validation
    // reads the files a configuration names, it never writes.
    let dir = Path::new("/nonexistent/fxgate-fuzz");
    let file = Path::new("fuzz.toml");
    if let Err(errors) = fxgate::registry::check_text(text, file, dir) {
        assert!(!errors.is_empty(), "a refused configuration without an error");
        let lines = text.split('\n').count();
        for e in &errors {
            assert_eq!(e.file, file, "an error naming another file: {e:?}");
            assert!(e.line <= lines, "an error on line {} of a {lines}-line text: {e:?}", e.line);
        }
    }
}
