//! Validation of a whole file: the gateway's own sections, then every protocol section
//! through [`Section`], then the generic checks over what the sections declared and claimed.
//! Names no protocol.

use std::collections::HashSet;
use std::path::Path;

use crate::error::Invalid;
use crate::file::ConfigFile;
use crate::section::{Check, Claims, Known};

/// Every problem in `config`; `config_dir` resolves relative file paths.
pub fn validate<C: ConfigFile>(config: &C, config_dir: &Path) -> Vec<Invalid> {
    let g = config.gateway();
    let sections = config.sections();
    let mut errs = Vec::new();
    crate::gateway::validate(g, config_dir, &mut errs);

    let mut known = Known::default();
    let mut claims = Claims::default();
    crate::gateway::claims(g, &mut claims);
    for (key, s) in &sections {
        s.declare(key, &mut known);
        s.claims(key, &mut claims);
    }
    {
        let mut cx = Check::new(config_dir, &known, g.line, g.users, &mut errs);
        for (key, s) in &sections {
            s.validate(key, &mut cx);
        }
    }
    // The generic checks come last and speak only of fields nothing else found wrong, so
    // that one mistake gives one message.
    let mut generic = Vec::new();
    crate::checks::sources(&known, &mut generic);
    crate::checks::resources(&claims, &mut generic);
    let taken: HashSet<String> = errs.iter().map(|e| e.field.clone()).collect();
    errs.extend(generic.into_iter().filter(|e| !taken.contains(&e.field)));
    errs
}
