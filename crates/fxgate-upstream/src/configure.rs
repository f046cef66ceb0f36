//! Run-time configuration of the upstreams (seed 000 §4.6): the methods
//! `Objects/fxgate/Configuration/AddServer` and `RemoveServer`. A change is first written to
//! the configuration file (atomically, re-validated as a whole, see
//! [`crate::config::persist::add_upstream`]) and then applied to the running gateway, so what runs is
//! always what a restart would run.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::persist::PersistError;
use fxgate_config::persist::EditError;
use crate::config::{UpstreamConfig, UpstreamMode, UpstreamPolicy};
use opcua::types::{StatusCode, Variant};

use crate::aggregator::Aggregator;
use crate::local::ConfigMethod;

/// Why a configuration method failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    /// The input arguments are missing, too many, or not Strings.
    #[error("{reason}")]
    Arguments {
        /// The call's status (BadArgumentsMissing, BadTooManyArguments, BadInvalidArgument).
        status: StatusCode,
        /// One status per input argument, when one of them is at fault.
        per_argument: Vec<StatusCode>,
        /// What is wrong.
        reason: String,
    },
    /// The gateway runs on the embedded default configuration: there is no file to write to.
    #[error("the gateway runs without a configuration file (started without --config); run-time changes could not survive a restart")]
    NoConfigFile,
    /// A password must not travel over a session that is not encrypted.
    #[error("a password is only accepted over a SignAndEncrypt session")]
    Insecure,
    /// An upstream of that name exists already.
    #[error("an upstream named `{0}` exists already")]
    Exists(String),
    /// No upstream of that name.
    #[error("no upstream named `{0}`")]
    NotFound(String),
    /// The configuration file could not be changed (invalid result, I/O, parse error).
    #[error("{0}")]
    Persist(PersistError),
    /// The server is not running yet.
    #[error("the server is not running")]
    NotRunning,
}

impl ConfigureError {
    /// The status code the method call returns.
    pub fn status(&self) -> StatusCode {
        match self {
            ConfigureError::Arguments { status, .. } => *status,
            ConfigureError::NoConfigFile => StatusCode::BadNotSupported,
            ConfigureError::Insecure => StatusCode::BadSecurityModeInsufficient,
            ConfigureError::Exists(_) => StatusCode::BadBrowseNameDuplicated,
            ConfigureError::NotFound(_) => StatusCode::BadNotFound,
            ConfigureError::Persist(PersistError::Edit(EditError::Invalid(_))) => StatusCode::BadInvalidArgument,
            ConfigureError::Persist(_) => StatusCode::BadConfigurationError,
            ConfigureError::NotRunning => StatusCode::BadInvalidState,
        }
    }
}

impl From<PersistError> for ConfigureError {
    fn from(e: PersistError) -> Self {
        match e {
            PersistError::Exists(n) => ConfigureError::Exists(n),
            PersistError::NotFound(n) => ConfigureError::NotFound(n),
            other => ConfigureError::Persist(other),
        }
    }
}

/// The String input arguments of `method`: a null String counts as empty.
fn strings(method: ConfigMethod, args: &[Variant]) -> Result<Vec<String>, ConfigureError> {
    let want = method.inputs().len();
    if args.len() < want {
        return Err(ConfigureError::Arguments {
            status: StatusCode::BadArgumentsMissing,
            per_argument: Vec::new(),
            reason: format!("{} needs {want} arguments, got {}", method.name(), args.len()),
        });
    }
    if args.len() > want {
        return Err(ConfigureError::Arguments {
            status: StatusCode::BadTooManyArguments,
            per_argument: Vec::new(),
            reason: format!("{} takes {want} arguments, got {}", method.name(), args.len()),
        });
    }
    let mut out = Vec::with_capacity(want);
    let mut per_argument = vec![StatusCode::Good; want];
    for (i, a) in args.iter().enumerate() {
        match a {
            Variant::String(s) => out.push(s.as_ref().to_string()),
            Variant::Empty => out.push(String::new()),
            _ => {
                per_argument[i] = StatusCode::BadTypeMismatch;
                out.push(String::new());
            }
        }
    }
    if per_argument.iter().any(|s| s.is_bad()) {
        return Err(ConfigureError::Arguments {
            status: StatusCode::BadInvalidArgument,
            per_argument,
            reason: format!("{}: every argument must be a String", method.name()),
        });
    }
    Ok(out)
}

fn bad_argument(method: ConfigMethod, index: usize, reason: String) -> ConfigureError {
    let mut per_argument = vec![StatusCode::Good; method.inputs().len()];
    per_argument[index] = StatusCode::BadInvalidArgument;
    ConfigureError::Arguments {
        status: StatusCode::BadInvalidArgument,
        per_argument,
        reason,
    }
}

/// The upstream `AddServer(name, endpointUrl, securityPolicy, securityMode, username,
/// password)` describes; empty policy and mode mean the defaults (Basic256Sha256,
/// SignAndEncrypt). `encrypted` tells whether the calling session is SignAndEncrypt.
pub fn add_server_config(args: &[Variant], encrypted: bool) -> Result<UpstreamConfig, ConfigureError> {
    let m = ConfigMethod::AddServer;
    let a = strings(m, args)?;
    let mut cfg = UpstreamConfig {
        name: a[0].trim().to_string(),
        endpoint_url: a[1].trim().to_string(),
        username: a[4].clone(),
        password: a[5].clone(),
        ..UpstreamConfig::default()
    };
    if !a[2].is_empty() {
        cfg.security_policy = UpstreamPolicy::parse(a[2].trim()).ok_or_else(|| {
            let names: Vec<_> = UpstreamPolicy::ALL.iter().map(|p| p.name()).collect();
            bad_argument(m, 2, format!("unknown security policy `{}`: use one of {}", a[2], names.join(", ")))
        })?;
    }
    if !a[3].is_empty() {
        cfg.security_mode = UpstreamMode::parse(a[3].trim())
            .ok_or_else(|| bad_argument(m, 3, format!("unknown security mode `{}`: use None, Sign or SignAndEncrypt", a[3])))?;
    }
    if cfg.name.is_empty() {
        return Err(bad_argument(m, 0, "the name is empty".into()));
    }
    if cfg.endpoint_url.is_empty() {
        return Err(bad_argument(m, 1, "the endpoint URL is empty".into()));
    }
    if !cfg.password.is_empty() && !encrypted {
        return Err(ConfigureError::Insecure);
    }
    Ok(cfg)
}

/// The name `RemoveServer(name)` asks for.
pub fn remove_server_name(args: &[Variant]) -> Result<String, ConfigureError> {
    let m = ConfigMethod::RemoveServer;
    let a = strings(m, args)?;
    let name = a[0].trim().to_string();
    if name.is_empty() {
        return Err(bad_argument(m, 0, "the name is empty".into()));
    }
    Ok(name)
}

/// Writes the new upstream to the configuration file, then starts it.
pub async fn add_server(agg: &Arc<Aggregator>, cfg: UpstreamConfig) -> Result<(), ConfigureError> {
    let path = config_file(agg)?;
    if agg.find(&cfg.name).is_some() {
        return Err(ConfigureError::Exists(cfg.name));
    }
    let to_write = cfg.clone();
    let check = agg.check();
    blocking(move || crate::config::persist::add_upstream(&path, &to_write, check)).await?;
    agg.add_running(cfg)
}

/// Removes the upstream from the configuration file, then stops it; its folder and
/// diagnostics disappear and its monitored values turn Bad_NodeIdUnknown. Its namespaces keep
/// their indexes in the persisted table (an upstream added again under the same name gets
/// them back).
pub async fn remove_server(agg: &Arc<Aggregator>, name: &str) -> Result<(), ConfigureError> {
    let path = config_file(agg)?;
    let Some(up) = agg.find(name) else {
        return Err(ConfigureError::NotFound(name.to_string()));
    };
    let n = up.name.clone();
    let check = agg.check();
    match blocking(move || crate::config::persist::remove_upstream(&path, &n, check)).await {
        // Not in the file (edited by hand since the start): it still goes away.
        Ok(()) | Err(ConfigureError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    agg.remove_running(&up.name);
    Ok(())
}

/// Changes the upstream named `name` to `cfg` (possibly renamed): written to the file in
/// place, then its session is ended and a new one made with the new settings.
pub async fn change_server(agg: &Arc<Aggregator>, name: &str, cfg: UpstreamConfig) -> Result<(), ConfigureError> {
    let path = config_file(agg)?;
    let Some(up) = agg.find(name) else {
        return Err(ConfigureError::NotFound(name.to_string()));
    };
    if !cfg.name.eq_ignore_ascii_case(&up.name) && agg.find(&cfg.name).is_some() {
        return Err(ConfigureError::Exists(cfg.name));
    }
    let (n, to_write, check) = (up.name.clone(), cfg.clone(), agg.check());
    blocking(move || crate::config::persist::replace_upstream(&path, &n, &to_write, check)).await?;
    agg.remove_running(&up.name);
    agg.add_running(cfg)
}

fn config_file(agg: &Aggregator) -> Result<PathBuf, ConfigureError> {
    agg.config_file().map(PathBuf::from).ok_or(ConfigureError::NoConfigFile)
}

async fn blocking(
    f: impl FnOnce() -> Result<(), PersistError> + Send + 'static,
) -> Result<(), ConfigureError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ConfigureError::from),
        Err(e) => Err(ConfigureError::Persist(PersistError::Edit(EditError::Invalid(format!("the writer task failed: {e}"))))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Variant {
        Variant::from(v)
    }

    #[test]
    fn add_server_arguments() {
        let args = [s("plc9"), s("opc.tcp://h:4840"), s(""), s("Sign"), s(""), Variant::Empty];
        let cfg = add_server_config(&args, false).expect("valid");
        assert_eq!(cfg.name, "plc9");
        assert_eq!(cfg.security_policy, UpstreamPolicy::Basic256Sha256);
        assert_eq!(cfg.security_mode, UpstreamMode::Sign);
        let uri = [s("a"), s("opc.tcp://h:1"), s(UpstreamPolicy::Aes128Sha256RsaOaep.uri()), s(""), s(""), s("")];
        assert_eq!(add_server_config(&uri, false).expect("uri").security_policy, UpstreamPolicy::Aes128Sha256RsaOaep);

        let short = [s("plc9")];
        assert_eq!(add_server_config(&short, true).map(|_| ()).unwrap_err().status(), StatusCode::BadArgumentsMissing);
        let mut wrong = args.clone().to_vec();
        wrong[1] = Variant::Int32(5);
        match add_server_config(&wrong, true) {
            Err(ConfigureError::Arguments { per_argument, .. }) => assert_eq!(per_argument[1], StatusCode::BadTypeMismatch),
            other => panic!("{other:?}"),
        }
        let mut policy = args.clone().to_vec();
        policy[2] = s("Basic999");
        match add_server_config(&policy, true) {
            Err(ConfigureError::Arguments { per_argument, .. }) => assert_eq!(per_argument[2], StatusCode::BadInvalidArgument),
            other => panic!("{other:?}"),
        }
        let mut pw = args.to_vec();
        pw[4] = s("u");
        pw[5] = s("secret");
        assert!(matches!(add_server_config(&pw, false), Err(ConfigureError::Insecure)));
        assert_eq!(add_server_config(&pw, true).expect("encrypted").password, "secret");
    }

    #[test]
    fn remove_server_arguments() {
        assert_eq!(remove_server_name(&[s(" plc1 ")]).expect("name"), "plc1");
        assert_eq!(remove_server_name(&[s("")]).unwrap_err().status(), StatusCode::BadInvalidArgument);
        assert_eq!(remove_server_name(&[s("a"), s("b")]).unwrap_err().status(), StatusCode::BadTooManyArguments);
    }
}
