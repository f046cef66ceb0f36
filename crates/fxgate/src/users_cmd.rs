//! `fxgate users add|remove|list --config FILE`: the users of a configuration file from the
//! command line (the README's tour makes its `operator` this way). The file is changed with
//! the same code as the configurator's Users page: validated as a whole (`check-config`),
//! written atomically with the previous one kept as `.bak`. Passwords are read from standard
//! input and only their argon2id hashes are written.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use fxgate_config::users::{role_name, write_users};
use fxgate_config::{Role, UserConfig};

use fxgate_config::ConfigFile;

use crate::registry::Config;

/// Every role, for parsing `--roles`.
const ROLES: [Role; 5] = [Role::Read, Role::Write, Role::Configure, Role::ConnectionAdmin, Role::SecurityAdmin];

/// The users of the file at `path`, or the exit code of a message printed.
fn users_of(path: &Path) -> Result<Vec<UserConfig>, ExitCode> {
    if !path.exists() {
        eprintln!("error: {} does not exist: make it with `fxgate default-config > {}`", path.display(), path.display());
        return Err(ExitCode::from(2));
    }
    match fxgate_config::load::<Config>(path) {
        Ok(c) => Ok(c.gateway().users.to_vec()),
        Err(errs) => {
            for e in errs {
                eprintln!("error: {e}");
            }
            Err(ExitCode::from(2))
        }
    }
}

fn write(path: &Path, users: &[UserConfig]) -> ExitCode {
    match write_users(path, users, crate::registry::check_text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The argon2id hash of the password on the first line of standard input, or the exit code
/// of a message printed (`fxgate users hash` and `users add`).
pub fn password_hash_from_stdin() -> Result<String, ExitCode> {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("error: cannot read the password from standard input: {e}");
        return Err(ExitCode::from(1));
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!("error: empty password (give it on standard input)");
        return Err(ExitCode::from(2));
    }
    fxgate_pki::hash_password(password).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })
}

/// `fxgate users add NAME --roles r,… --config FILE` (password on standard input).
pub fn add(name: &str, roles: &[String], path: &Path) -> ExitCode {
    let mut parsed = Vec::new();
    for r in roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        match ROLES.iter().find(|x| role_name(**x) == r) {
            Some(x) if !parsed.contains(x) => parsed.push(*x),
            Some(_) => {}
            None => {
                eprintln!("error: unknown role `{r}`: use read, write, configure, connection_admin or security_admin");
                return ExitCode::from(2);
            }
        }
    }
    let mut users = match users_of(path) {
        Ok(u) => u,
        Err(code) => return code,
    };
    if users.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
        eprintln!("error: {} has a user `{name}` already", path.display());
        return ExitCode::from(2);
    }
    let hash = match password_hash_from_stdin() {
        Ok(h) => h,
        Err(code) => return code,
    };
    users.push(UserConfig { name: name.to_string(), password_hash: hash, certificate_thumbprint: String::new(), roles: parsed.clone() });
    let code = write(path, &users);
    if code == ExitCode::SUCCESS {
        let roles: Vec<&str> = parsed.iter().map(|r| role_name(*r)).collect();
        println!("added user `{name}` with roles [{}] to {}", roles.join(", "), path.display());
    }
    code
}

/// `fxgate users remove NAME --config FILE`.
pub fn remove(name: &str, path: &Path) -> ExitCode {
    let mut users = match users_of(path) {
        Ok(u) => u,
        Err(code) => return code,
    };
    let before = users.len();
    users.retain(|u| !u.name.eq_ignore_ascii_case(name));
    if users.len() == before {
        eprintln!("error: {} has no user `{name}`", path.display());
        return ExitCode::from(2);
    }
    let code = write(path, &users);
    if code == ExitCode::SUCCESS {
        println!("removed user `{name}` from {}", path.display());
    }
    code
}

/// `fxgate users list --config FILE`: name, roles, and how the user logs in.
pub fn list(path: &Path) -> ExitCode {
    let users = match users_of(path) {
        Ok(u) => u,
        Err(code) => return code,
    };
    for u in users {
        let roles: Vec<&str> = u.roles.iter().map(|r| role_name(*r)).collect();
        let how = match (u.password_hash.is_empty(), u.certificate_thumbprint.is_empty()) {
            (false, false) => "password, certificate",
            (false, true) => "password",
            (true, false) => "certificate",
            (true, true) => "cannot log in",
        };
        println!("{}\t[{}]\t{how}", u.name, roles.join(", "));
    }
    ExitCode::SUCCESS
}
