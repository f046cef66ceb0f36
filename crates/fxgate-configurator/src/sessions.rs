//! Logged-in browser sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure
//! under TLS), a CSRF token per session that every change must carry, an idle and an absolute
//! time-out, and a bound on how many sessions exist.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fxgate_config::Role;
use parking_lot::Mutex;

/// The session cookie's name.
pub const COOKIE: &str = "fxgate_session";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after its login, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// Most sessions at once (the oldest goes first).
pub const MAX_SESSIONS: usize = 256;

/// What a session may do: the roles of its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's name.
    pub user: String,
    /// The user's roles.
    pub roles: Vec<Role>,
    /// The token every change must carry (form field `csrf` or header `x-csrf-token`).
    pub csrf: String,
}

impl Session {
    /// Whether the user has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

struct Entry {
    session: Session,
    created: Instant,
    used: Instant,
}

/// The sessions of the configurator.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

/// 32 random bytes from OpenSSL's CSPRNG, as hex.
pub fn token() -> String {
    let mut b = [0u8; 32];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        // OpenSSL's generator failed (it does not, once seeded): no predictable fallback;
        // an empty token matches nothing.
        tracing::error!("OpenSSL's random generator failed: no session token");
        return String::new();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Sessions {
    /// A new session for `user`; returns its cookie token.
    pub fn open(&self, user: &str, roles: Vec<Role>) -> Option<String> {
        let (id, csrf) = (token(), token());
        if id.is_empty() || csrf.is_empty() {
            return None;
        }
        let now = Instant::now();
        let mut map = self.map.lock();
        map.retain(|_, e| alive(e, now));
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), Entry { session: Session { user: user.to_string(), roles, csrf }, created: now, used: now });
        Some(id)
    }

    /// The live session of cookie token `id` (its idle time starts again).
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock();
        let e = map.get_mut(id)?;
        if !alive(e, now) {
            map.remove(id);
            return None;
        }
        e.used = now;
        Some(e.session.clone())
    }

    /// Ends the session of `id`.
    pub fn close(&self, id: &str) {
        self.map.lock().remove(id);
    }
}

fn alive(e: &Entry, now: Instant) -> bool {
    now.duration_since(e.used) < IDLE && now.duration_since(e.created) < ABSOLUTE
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && openssl::memcmp::eq(a.as_bytes(), b.as_bytes())
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_has_its_roles_and_csrf_and_ends_at_logout() {
        let s = Sessions::default();
        let id = s.open("op", vec![Role::Read]).expect("a token");
        assert_eq!(id.len(), 64);
        let got = s.get(&id).expect("live");
        assert!(got.has(Role::Read) && !got.has(Role::Configure));
        assert_eq!(got.csrf.len(), 64);
        assert_ne!(got.csrf, id);
        assert!(s.get("nope").is_none());
        s.close(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abcd", "abcd"));
        assert!(!same_token("abcd", "abce") && !same_token("abc", "abcd") && !same_token("", ""));
    }

    #[test]
    fn cookies_are_found_by_name() {
        assert_eq!(cookie("a=1; fxgate_session=xyz; b=2", COOKIE), Some("xyz"));
        assert_eq!(cookie("a=1", COOKIE), None);
    }

    #[test]
    fn the_oldest_session_goes_beyond_the_bound() {
        let s = Sessions::default();
        let first = s.open("u0", vec![]).expect("token");
        for i in 1..=MAX_SESSIONS {
            s.open(&format!("u{i}"), vec![]).expect("token");
        }
        assert!(s.get(&first).is_none());
        assert_eq!(s.map.lock().len(), MAX_SESSIONS);
    }
}
