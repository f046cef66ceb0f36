//! Users and roles (seed 000 §4.9.4): anonymous, username/password (argon2id hashes)
//! and X.509 user certificates trusted in `pki-user/`; each user holds roles
//! `read`, `write`, `configure`, enforced through the node access levels.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use fxgate_config::{Role, ServerConfig, UserDirectory};
use opcua::crypto::{SecurityPolicy, Thumbprint};
use opcua::server::address_space::AccessLevel;
use opcua::server::authenticator::{
    user_pass_security_policy_id, AuthManager, CoreServerPermissions, Password, UserToken,
};
use opcua::server::ServerEndpoint;
use opcua::types::{Error, NodeId, StatusCode, UAString, UserTokenPolicy, UserTokenType};
use parking_lot::RwLock;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::metrics::LoginLabel;

/// User token of anonymous sessions (async-opcua's fixed id).
pub const ANONYMOUS: &str = "ANONYMOUS";

/// Policy ids async-opcua checks identity tokens against.
const POLICY_ANONYMOUS: &str = "anonymous";
const POLICY_X509: &str = "x509";

/// A set of roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles {
    /// May read, browse, subscribe.
    pub read: bool,
    /// May write and call.
    pub write: bool,
    /// May change the configuration.
    pub configure: bool,
    /// May establish and close FX connections (OPC 10000-81 ConnectionAdmin).
    pub connection_admin: bool,
    /// May manage the server's certificate and trust list (GDS push, OPC 10000-12 §7.10).
    pub security_admin: bool,
}

impl Roles {
    /// Whether the set holds `role`.
    pub fn has(&self, role: Role) -> bool {
        match role {
            Role::Read => self.read,
            Role::Write => self.write,
            Role::Configure => self.configure,
            Role::ConnectionAdmin => self.connection_admin,
            Role::SecurityAdmin => self.security_admin,
        }
    }

    /// The set of the roles in `list`.
    pub fn from_list(list: &[Role]) -> Self {
        let mut r = Roles::default();
        for role in list {
            match role {
                Role::Read => r.read = true,
                Role::Write => r.write = true,
                Role::Configure => r.configure = true,
                Role::ConnectionAdmin => r.connection_admin = true,
                Role::SecurityAdmin => r.security_admin = true,
            }
        }
        r
    }
}

/// The gateway's [`AuthManager`].
pub struct Authenticator {
    /// The users (changed at run time by the configurator: read at each login).
    users: UserDirectory,
    certificate_roles: Roles,
    data_dir: PathBuf,
    /// Roles of every token handed out, for access checks.
    sessions: RwLock<HashMap<String, Roles>>,
    /// The server's extensions, which say which roles their methods need.
    extensions: crate::extension::Extensions,
    /// Refused logins by reason (`/metrics`).
    failures: Family<LoginLabel, Counter>,
}

impl Authenticator {
    /// From `[server]` (the certificate users' roles) and the user directory (the users and
    /// the anonymous access, both changeable at run time); `data_dir` holds `pki-user/`.
    pub fn new(server: &ServerConfig, users: UserDirectory, data_dir: PathBuf) -> Self {
        Self {
            users,
            certificate_roles: Roles::from_list(&server.certificate_roles),
            data_dir,
            sessions: RwLock::new(HashMap::new()),
            extensions: Default::default(),
            failures: Family::default(),
        }
    }

    /// Counting refused logins in `failures` (the server's `/metrics` family).
    pub fn with_failure_counter(mut self, failures: Family<LoginLabel, Counter>) -> Self {
        self.failures = failures;
        self
    }

    fn refuse(&self, reason: &'static str, msg: &str) -> Error {
        self.failures.get_or_create(&LoginLabel { reason }).inc();
        rejected(msg)
    }

    /// With the server's extensions, which name the roles their methods need.
    pub fn with_extensions(mut self, extensions: crate::extension::Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// Roles of a logged-in user token (none for an unknown token). Anonymous sessions have
    /// the anonymous roles as they are now (none once anonymous access is turned off).
    pub fn roles(&self, token: &UserToken) -> Roles {
        if token.0 == ANONYMOUS {
            return self.users.anonymous().map(|r| Roles::from_list(&r)).unwrap_or_default();
        }
        self.sessions.read().get(&token.0).copied().unwrap_or_default()
    }

    fn grant(&self, token: &str, roles: Roles) -> UserToken {
        self.sessions.write().insert(token.to_string(), roles);
        UserToken(token.to_string())
    }
}

fn rejected(msg: impl Into<String>) -> Error {
    Error::new(StatusCode::BadIdentityTokenRejected, msg.into())
}

/// The policy used to protect secrets on `endpoint`: its own, or Basic256Sha256 on a None endpoint.
fn token_policy(endpoint: &ServerEndpoint) -> SecurityPolicy {
    match endpoint.security_policy() {
        SecurityPolicy::None => SecurityPolicy::Basic256Sha256,
        p => p,
    }
}

#[async_trait]
impl AuthManager for Authenticator {
    async fn authenticate_anonymous_token(&self, _endpoint: &ServerEndpoint) -> Result<(), Error> {
        if self.users.anonymous().is_some() {
            Ok(())
        } else {
            tracing::warn!("anonymous login refused: anonymous access is disabled");
            Err(self.refuse("anonymous_disabled", "anonymous access is disabled"))
        }
    }

    async fn authenticate_username_identity_token(
        &self,
        _endpoint: &ServerEndpoint,
        username: &str,
        password: &Password,
    ) -> Result<UserToken, Error> {
        let Some(user) = self.users.by_name(username).filter(|u| !u.password_hash.is_empty()) else {
            tracing::warn!(user = username, "login refused: unknown user");
            return Err(self.refuse("unknown_user", "unknown user or wrong password"));
        };
        let hash = user.password_hash.clone();
        let roles = Roles::from_list(&user.roles);
        let pw = password.get().to_string();
        let ok = tokio::task::spawn_blocking(move || fxgate_pki::verify_password(&hash, &pw))
            .await
            .unwrap_or(false);
        if ok {
            tracing::info!(user = username, "user logged in");
            Ok(self.grant(username, roles))
        } else {
            tracing::warn!(user = username, "login refused: wrong password");
            Err(self.refuse("wrong_password", "unknown user or wrong password"))
        }
    }

    async fn authenticate_x509_identity_token(
        &self,
        _endpoint: &ServerEndpoint,
        signing_thumbprint: &Thumbprint,
    ) -> Result<UserToken, Error> {
        let hex = fxgate_pki::thumbprint_hex(signing_thumbprint);
        // A certificate the store holds is checked against pki-user's CAs and CRLs first.
        let (dir, thumb) = (self.data_dir.clone(), hex.clone());
        let checked = tokio::task::spawn_blocking(move || fxgate_pki::check_user_certificate(&dir, &thumb)).await;
        let held = match checked {
            Ok(Ok(fxgate_pki::UserCertCheck::Refused(r))) => {
                tracing::warn!(thumbprint = %hex, status = %r.status, "login refused: the user certificate's chain does not validate");
                return Err(self.refuse("user_certificate_chain", "user certificate refused"));
            }
            Ok(Err(e)) => {
                tracing::warn!(thumbprint = %hex, error = %e, "login refused: the user certificate cannot be checked");
                return Err(self.refuse("user_certificate_chain", "user certificate refused"));
            }
            Err(_) => return Err(self.refuse("user_certificate_chain", "user certificate refused")),
            Ok(Ok(fxgate_pki::UserCertCheck::Accepted(c))) => Some(c),
            Ok(Ok(fxgate_pki::UserCertCheck::NotInStore)) => None,
        };
        if let Some(u) = self.users.by_thumbprint(&hex) {
            tracing::info!(user = %u.name, thumbprint = %hex, "certificate user logged in");
            return Ok(self.grant(&u.name, Roles::from_list(&u.roles)));
        }
        match held {
            Some(c) => {
                tracing::info!(subject = %c.subject, thumbprint = %hex, "certificate user logged in");
                Ok(self.grant(&format!("x509:{hex}"), self.certificate_roles))
            }
            None => {
                tracing::warn!(thumbprint = %hex, "login refused: user certificate not trusted in pki-user/");
                Err(self.refuse("untrusted_user_certificate", "user certificate is not trusted"))
            }
        }
    }

    fn effective_user_access_level(
        &self,
        token: &UserToken,
        user_access_level: AccessLevel,
        _node_id: &NodeId,
    ) -> AccessLevel {
        let roles = self.roles(token);
        let mut level = user_access_level;
        if !roles.write {
            level.remove(AccessLevel::CURRENT_WRITE | AccessLevel::HISTORY_WRITE);
        }
        if !roles.read {
            level.remove(AccessLevel::CURRENT_READ | AccessLevel::HISTORY_READ);
        }
        level
    }

    /// Methods need the `write` role, except push management's (`security_admin`), and
    /// unless an extension owns the method and names other
    /// roles (the aggregation's run-time configuration methods need `configure`; the FX
    /// EstablishConnections and CloseConnections `connection_admin` or `configure`).
    fn is_user_executable(&self, token: &UserToken, method_id: &NodeId) -> bool {
        let roles = self.roles(token);
        if crate::gds::is_push_management_method(method_id) {
            return roles.security_admin;
        }
        match self.extensions.iter().find_map(|e| e.method_roles(method_id)) {
            Some(needed) => needed.iter().any(|r| roles.has(*r)),
            None => roles.write,
        }
    }

    fn user_token_policies(&self, endpoint: &ServerEndpoint) -> Vec<UserTokenPolicy> {
        let mut out = Vec::with_capacity(3);
        if self.users.anonymous().is_some() {
            out.push(UserTokenPolicy {
                policy_id: POLICY_ANONYMOUS.into(),
                token_type: UserTokenType::Anonymous,
                issued_token_type: UAString::null(),
                issuer_endpoint_url: UAString::null(),
                security_policy_uri: UAString::null(),
            });
        }
        if self.users.has_password_users() {
            let uri = if endpoint.security_policy() == SecurityPolicy::None {
                UAString::from(token_policy(endpoint).to_uri())
            } else {
                UAString::null()
            };
            out.push(UserTokenPolicy {
                policy_id: user_pass_security_policy_id(endpoint),
                token_type: UserTokenType::UserName,
                issued_token_type: UAString::null(),
                issuer_endpoint_url: UAString::null(),
                security_policy_uri: uri,
            });
        }
        out.push(UserTokenPolicy {
            policy_id: POLICY_X509.into(),
            token_type: UserTokenType::Certificate,
            issued_token_type: UAString::null(),
            issuer_endpoint_url: UAString::null(),
            security_policy_uri: UAString::from(token_policy(endpoint).to_uri()),
        });
        out
    }

    fn core_permissions(&self, token: &UserToken) -> CoreServerPermissions {
        CoreServerPermissions {
            read_diagnostics: self.roles(token).configure,
        }
    }
}

/// Shared handle, so the node manager can look roles up.
pub type SharedAuthenticator = Arc<Authenticator>;

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::MessageSecurityMode;

    fn config(text: &str) -> fxgate_config::Gateway {
        fxgate_config::parse::<fxgate_config::Gateway>(text, std::path::Path::new("t.toml"), std::path::Path::new(".")).unwrap()
    }

    #[test]
    fn roles_strip_access_levels() {
        let hash = fxgate_pki::hash_password("pw").unwrap();
        let cfg = config(&format!(
            "[[users]]\nname = \"w\"\npassword_hash = \"{hash}\"\nroles = [\"read\", \"write\"]\n"
        ));
        let auth = Authenticator::new(&cfg.server, UserDirectory::new(cfg.users.clone(), cfg.server.anonymous.then(|| cfg.server.anonymous_roles.clone())), std::env::temp_dir());
        let rw = AccessLevel::CURRENT_READ | AccessLevel::CURRENT_WRITE;
        let anon = UserToken(ANONYMOUS.into());
        let level = auth.effective_user_access_level(&anon, rw, &NodeId::null());
        assert_eq!(level.bits(), AccessLevel::CURRENT_READ.bits());
        let unknown = UserToken("nobody".into());
        assert_eq!(auth.effective_user_access_level(&unknown, rw, &NodeId::null()).bits(), 0);
        auth.grant("w", Roles::from_list(&cfg.users[0].roles));
        assert_eq!(auth.effective_user_access_level(&UserToken("w".into()), rw, &NodeId::null()).bits(), rw.bits());
    }

    #[tokio::test]
    async fn passwords_and_anonymous() {
        let hash = fxgate_pki::hash_password("right").unwrap();
        let cfg = config(&format!(
            "[server]\nanonymous = false\n[[users]]\nname = \"u\"\npassword_hash = \"{hash}\"\nroles = [\"read\"]\n"
        ));
        let failures = Family::<LoginLabel, Counter>::default();
        let auth = Authenticator::new(&cfg.server, UserDirectory::new(cfg.users.clone(), cfg.server.anonymous.then(|| cfg.server.anonymous_roles.clone())), std::env::temp_dir()).with_failure_counter(failures.clone());
        let ep = ServerEndpoint::new("/", SecurityPolicy::Basic256Sha256, MessageSecurityMode::SignAndEncrypt, &[]);
        assert!(auth.authenticate_anonymous_token(&ep).await.is_err());
        let wrong = auth.authenticate_username_identity_token(&ep, "u", &Password::new("wrong".into())).await;
        let unknown = auth.authenticate_username_identity_token(&ep, "x", &Password::new("right".into())).await;
        // The client cannot tell an unknown user from a wrong password; the counters can.
        let (Err(wrong), Err(unknown)) = (wrong, unknown) else { panic!("both refused") };
        assert_eq!((wrong.status(), wrong.to_string()), (unknown.status(), unknown.to_string()));
        for reason in ["anonymous_disabled", "wrong_password", "unknown_user"] {
            assert_eq!(failures.get_or_create(&LoginLabel { reason }).get(), 1, "{reason}");
        }
        let token = auth
            .authenticate_username_identity_token(&ep, "u", &Password::new("right".into()))
            .await
            .unwrap();
        assert_eq!(auth.roles(&token), Roles { read: true, write: false, configure: false, connection_admin: false, security_admin: false });
        let kinds: Vec<_> = auth.user_token_policies(&ep).iter().map(|p| p.token_type).collect();
        assert_eq!(kinds, vec![UserTokenType::UserName, UserTokenType::Certificate]);
    }

    #[test]
    fn role_names_map_to_roles() {
        let r = Roles::from_list(&[Role::Read, Role::ConnectionAdmin]);
        assert_eq!(r, Roles { read: true, write: false, configure: false, connection_admin: true, security_admin: false });
        let r = Roles::from_list(&[Role::Write, Role::Configure]);
        assert_eq!(r, Roles { read: false, write: true, configure: true, connection_admin: false, security_admin: false });
    }

    #[test]
    fn none_endpoint_protects_secrets_with_basic256sha256() {
        let cfg = config("[[users]]\nname = \"u\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$QxtwvTd7kimr0LChzO9Fxg$FZgcnzyEq7NkPM7PJOhV9oe1SYkqkMhGHMAeKSOdZEQ\"\nroles = [\"read\"]\n");
        let auth = Authenticator::new(&cfg.server, UserDirectory::new(cfg.users.clone(), cfg.server.anonymous.then(|| cfg.server.anonymous_roles.clone())), std::env::temp_dir());
        let mut ep = ServerEndpoint::new("/", SecurityPolicy::None, MessageSecurityMode::None, &[]);
        ep.password_security_policy = Some("Basic256Sha256".into());
        for p in auth.user_token_policies(&ep) {
            if p.token_type != UserTokenType::Anonymous {
                assert_eq!(p.security_policy_uri.as_ref(), SecurityPolicy::Basic256Sha256.to_uri());
            }
        }
    }
}
