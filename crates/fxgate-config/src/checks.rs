//! Generic checks that see every section alike (after Vector's `config/validation.rs`):
//! names, the source registry, and resources claimed twice. A leaf module: it imports no
//! protocol and no other validation module.

use std::collections::HashMap;

use crate::error::Invalid;
use crate::section::{Claims, Known, Resource};

/// Source and tag names: not empty, no `/` (the path separator), no control characters.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if name.contains('/') || name.chars().any(char::is_control) {
        return Err(NameError::Forbidden(name.to_string()));
    }
    Ok(())
}

/// Why a name is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty or blank.
    #[error("must not be empty")]
    Empty,
    /// Holds `/` or a control character.
    #[error("`{0}` must not contain `/` or control characters")]
    Forbidden(String),
}

impl From<NameError> for String {
    fn from(e: NameError) -> Self {
        e.to_string()
    }
}

/// Why a password hash is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not a PHC string.
    #[error("not a password hash from `fxgate users hash`: {0}")]
    Malformed(String),
    /// A PHC string of another algorithm.
    #[error("hash algorithm is `{0}`, only argon2id is accepted (`fxgate users hash`)")]
    Algorithm(String),
}

/// Checks an argon2id PHC string.
pub fn check_hash(phc: &str) -> Result<(), HashError> {
    let parsed = argon2::PasswordHash::new(phc).map_err(|e| HashError::Malformed(e.to_string()))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(HashError::Algorithm(parsed.algorithm.to_string()));
    }
    Ok(())
}

/// Why an `opc.tcp://` URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("`{0}` is not a URL: {1}")]
    Malformed(String, String),
    /// Another scheme.
    #[error("`{0}` must start with opc.tcp://")]
    Scheme(String),
    /// No host.
    #[error("`{0}` has no host")]
    NoHost(String),
}

/// Checks an `opc.tcp://host:port/…` URL.
pub fn check_opc_url(url: &str) -> Result<(), UrlError> {
    let parsed = url::Url::parse(url).map_err(|e| UrlError::Malformed(url.to_string(), e.to_string()))?;
    if parsed.scheme() != "opc.tcp" {
        return Err(UrlError::Scheme(url.to_string()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost(url.to_string()));
    }
    Ok(())
}

/// The folder the gateway keeps for itself under `Objects`.
pub const RESERVED_SOURCE: &str = "fxgate";

/// Source names are folder names under `Objects`: each at most once (compared without
/// case, as upstream folder names always were), and never `fxgate`. Names that fail
/// [`check_name`] are left to their section, which reports them.
pub fn sources(known: &Known, errs: &mut Vec<Invalid>) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for s in known.sources() {
        if check_name(&s.name).is_err() {
            continue;
        }
        let key = s.name.to_lowercase();
        if key == RESERVED_SOURCE || seen.contains_key(&key) {
            errs.push(Invalid::new(
                s.field.clone(),
                format!("a source named `{}` exists already (folder names under Objects are compared without case)", s.name),
            ));
        } else {
            seen.insert(key, &s.field);
        }
    }
}

/// No resource is claimed by two owners, and an exclusive claim by nobody else (Vector's
/// `check_resources`): a line carries one protocol, a port has one listener.
pub fn resources(claims: &Claims, errs: &mut Vec<Invalid>) {
    let all = claims.all();
    for (i, c) in all.iter().enumerate() {
        let clash = all[..i].iter().find(|p| {
            overlaps(&p.resource, &c.resource) && (p.owner != c.owner || p.exclusive || c.exclusive)
        });
        if let Some(p) = clash {
            let what = match &c.resource {
                Resource::Line(name) => format!("line `{name}`"),
                Resource::Listen(host, port) => format!("{host}:{port}"),
                Resource::Udp(host, port) => format!("UDP {host}:{port}"),
            };
            errs.push(Invalid::new(
                c.field.clone(),
                format!("{what} is used by the {} at {} already", p.owner, p.field),
            ));
        }
    }
}

/// Whether two claims are of the same thing: the same line, or the same port on
/// addresses that overlap (a wildcard overlaps every address of its family).
fn overlaps(a: &Resource, b: &Resource) -> bool {
    match (a, b) {
        (Resource::Line(x), Resource::Line(y)) => x == y,
        (Resource::Listen(h1, p1), Resource::Listen(h2, p2)) | (Resource::Udp(h1, p1), Resource::Udp(h2, p2)) => {
            let (h1, h2) = (listen_host(h1), listen_host(h2));
            p1 == p2 && (h1 == h2 || (is_any(&h1) && family(&h1) == family(&h2)) || (is_any(&h2) && family(&h1) == family(&h2)))
        }
        _ => false,
    }
}

/// A listen host in one spelling: wildcards as `0.0.0.0` / `::`, `localhost` as `127.0.0.1`.
pub fn listen_host(host: &str) -> String {
    let h = host.trim();
    if ["*", "ALL", "0.0.0.0"].iter().any(|w| h.eq_ignore_ascii_case(w)) {
        return "0.0.0.0".into();
    }
    if ["[*]", "[ALL]", "::", "[::]"].iter().any(|w| h.eq_ignore_ascii_case(w)) {
        return "::".into();
    }
    if h.eq_ignore_ascii_case("localhost") {
        return "127.0.0.1".into();
    }
    h.trim_start_matches('[').trim_end_matches(']').to_string()
}

fn is_any(h: &str) -> bool {
    h == "0.0.0.0" || h == "::"
}

fn family(h: &str) -> u8 {
    if h.contains(':') {
        6
    } else {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_of_one_owner_share_a_line_exclusive_ones_do_not() {
        let mut c = Claims::default();
        c.shared(Resource::Line("L".into()), "A client", "a[0].line".into());
        c.shared(Resource::Line("L".into()), "A client", "a[1].line".into());
        let mut errs = Vec::new();
        resources(&c, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        c.exclusive(Resource::Line("L".into()), "B server", "b[0].line".into());
        resources(&c, &mut errs);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "b[0].line");
        assert!(errs[0].message.contains("a[0].line"), "{}", errs[0].message);
    }

    #[test]
    fn ports_overlap_by_family() {
        let l = |h: &str, p| Resource::Listen(h.into(), p);
        assert!(overlaps(&l("*", 502), &l("127.0.0.1", 502)));
        assert!(overlaps(&l("localhost", 502), &l("127.0.0.1", 502)));
        assert!(!overlaps(&l("[*]", 502), &l("127.0.0.1", 502)));
        assert!(!overlaps(&l("*", 502), &l("*", 503)));
        assert!(!overlaps(&l("127.0.0.1", 502), &l("127.0.0.2", 502)));
    }

    #[test]
    fn sources_are_unique_without_case_and_fxgate_is_reserved() {
        let mut k = Known::default();
        k.source("Demo", "s[0].name".into());
        k.source("demo", "d[0].name".into());
        k.source("fxgate", "d[1].name".into());
        k.source("", "d[2].name".into());
        let mut errs = Vec::new();
        sources(&k, &mut errs);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["d[0].name", "d[1].name"]);
    }
}
