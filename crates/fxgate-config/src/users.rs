//! Who may log in, as the running gateway knows it: the `[[users]]` and the anonymous access
//! (`[server] anonymous`, `anonymous_roles`) of the configuration, shared by the OPC UA
//! server's authenticator and the configurator, and changed at run time by the configurator
//! (which writes them back to the file first), so that a change applies without a restart.

use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

use crate::persist::{edit, EditError};
use crate::{CheckText, Role, UserConfig};

#[derive(Default)]
struct Identities {
    users: Vec<UserConfig>,
    anonymous: Option<Vec<Role>>,
}

/// The shared, changeable users and anonymous access.
#[derive(Clone, Default)]
pub struct UserDirectory(Arc<RwLock<Identities>>);

impl UserDirectory {
    /// The directory of `users`; `anonymous`: the roles of anonymous sessions, `None` when
    /// anonymous access is off.
    pub fn new(users: Vec<UserConfig>, anonymous: Option<Vec<Role>>) -> Self {
        Self(Arc::new(RwLock::new(Identities { users, anonymous })))
    }

    /// Every user now.
    pub fn all(&self) -> Vec<UserConfig> {
        self.0.read().users.clone()
    }

    /// The user named `name` (a password or certificate user).
    pub fn by_name(&self, name: &str) -> Option<UserConfig> {
        self.0.read().users.iter().find(|u| u.name == name).cloned()
    }

    /// The user whose `certificate_thumbprint` is `hex` (lowercase).
    pub fn by_thumbprint(&self, hex: &str) -> Option<UserConfig> {
        self.0.read().users.iter().find(|u| !u.certificate_thumbprint.is_empty() && u.certificate_thumbprint.eq_ignore_ascii_case(hex)).cloned()
    }

    /// Whether any user logs in with a password.
    pub fn has_password_users(&self) -> bool {
        self.0.read().users.iter().any(|u| !u.password_hash.is_empty())
    }

    /// Replaces the users (after the file was written).
    pub fn replace(&self, users: Vec<UserConfig>) {
        self.0.write().users = users;
    }

    /// The roles of anonymous sessions now; `None`: anonymous access is off.
    pub fn anonymous(&self) -> Option<Vec<Role>> {
        self.0.read().anonymous.clone()
    }

    /// Turns anonymous access on (with these roles) or off (after the file was written).
    pub fn set_anonymous(&self, roles: Option<Vec<Role>>) {
        self.0.write().anonymous = roles;
    }
}

/// Writes `[server] anonymous` and `anonymous_roles` (other keys and comments stay),
/// validated as a whole first.
pub fn write_anonymous(path: &Path, roles: Option<&[Role]>, check: CheckText) -> Result<(), EditError> {
    let mut entries = vec![("anonymous", value(roles.is_some()))];
    if let Some(roles) = roles {
        let mut list = Array::new();
        for r in roles {
            list.push(role_name(*r));
        }
        entries.push(("anonymous_roles", value(list)));
    }
    crate::persist::set_keys(path, check, "server", entries)
}

/// Writes `users` as the file's `[[users]]` tables (replacing the old ones, at the place of
/// the first; every other section and comment stays), validated as a whole first.
pub fn write_users(path: &Path, users: &[UserConfig], check: CheckText) -> Result<(), EditError> {
    edit(path, check, |doc: &mut DocumentMut| {
        let position = match doc.get("users") {
            Some(Item::ArrayOfTables(a)) => a.iter().filter_map(Table::position).min(),
            Some(Item::None) | None => None,
            Some(_) => return Err(EditError::Invalid("`users` is not written as [[users]] tables; change it in the file by hand".into())),
        };
        let mut tables = ArrayOfTables::new();
        for (i, u) in users.iter().enumerate() {
            let mut t = Table::new();
            t.insert("name", value(u.name.as_str()));
            if !u.password_hash.is_empty() {
                t.insert("password_hash", value(u.password_hash.as_str()));
            }
            if !u.certificate_thumbprint.is_empty() {
                t.insert("certificate_thumbprint", value(u.certificate_thumbprint.as_str()));
            }
            let mut roles = Array::new();
            for r in &u.roles {
                roles.push(role_name(*r));
            }
            t.insert("roles", value(roles));
            t.decor_mut().set_prefix("\n");
            // The tables keep the place of the old ones; new files get them at the end.
            t.set_position(position.map_or(usize::MAX / 2 + i, |p| p + i));
            tables.push(t);
        }
        doc.remove("users");
        if !tables.is_empty() {
            doc.insert("users", Item::ArrayOfTables(tables));
        }
        Ok(())
    })
}

/// The configuration's name of a role.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Read => "read",
        Role::Write => "write",
        Role::Configure => "configure",
        Role::ConnectionAdmin => "connection_admin",
        Role::SecurityAdmin => "security_admin",
    }
}
