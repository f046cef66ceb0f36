//! What each subcommand does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fxgate_config::ConfigError;

use crate::registry::Config;

use crate::cli::{Cli, Command, PkiAction, UsersAction};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run { config, data_dir } => run(config.as_deref(), &data_dir),
        Command::CheckConfig { file } => match fxgate_config::load::<Config>(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(errs) => config_errors(&errs),
        },
        Command::Pki { action, data_dir } => pki(action, &data_dir),
        Command::DefaultConfig => {
            print!("{}", crate::registry::DEFAULT_CONFIG);
            ExitCode::SUCCESS
        }
        Command::Users { action: UsersAction::Hash } => users_hash(),
        Command::Users { action: UsersAction::Add { name, roles, config } } => crate::users_cmd::add(&name, &roles, &config),
        Command::Users { action: UsersAction::Remove { name, config } } => crate::users_cmd::remove(&name, &config),
        Command::Users { action: UsersAction::List { config } } => crate::users_cmd::list(&config),
    }
}

fn config_errors(errs: &[ConfigError]) -> ExitCode {
    for e in errs {
        eprintln!("error: {e}");
    }
    ExitCode::from(2)
}

fn load(config: Option<&Path>) -> Result<(Config, PathBuf), Vec<ConfigError>> {
    match config {
        Some(path) => {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            fxgate_config::load(path).map(|c| (c, dir))
        }
        None => crate::registry::default_config().map(|c| (c, PathBuf::from("."))),
    }
}

fn run(config: Option<&Path>, data_dir: &Path) -> ExitCode {
    let (cfg, config_dir) = match load(config) {
        Ok(c) => c,
        Err(errs) => return config_errors(&errs),
    };
    if let Err(e) = std::fs::create_dir_all(data_dir) {
        eprintln!("error: cannot create data directory {}: {e}", data_dir.display());
        return ExitCode::from(1);
    }
    // async-opcua resolves certificate paths against the PKI directory, so a relative data
    // dir (the default `./fxgate-data`) must become absolute, or the server runs without
    // its certificate.
    let data_dir = &match std::fs::canonicalize(data_dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: data directory {}: {e}", data_dir.display());
            return ExitCode::from(1);
        }
    };
    let logs = fxgate_core::LogRing::default();
    let (_guard, level) = match crate::logging::init(&cfg.log, data_dir, logs.clone()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %config.map(|p| p.display().to_string()).unwrap_or_else(|| fxgate_config::DEFAULT_CONFIG_NAME.into()),
        data_dir = %data_dir.display(),
        "fxgate starting"
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(crate::topology::run(cfg, config.map(Path::to_path_buf), config_dir, data_dir.to_path_buf(), logs, std::sync::Arc::new(level))) {
        Ok(crate::topology::Ended::Stopped) => ExitCode::SUCCESS,
        Ok(crate::topology::Ended::Restart) => {
            // Every socket closed and every log line written before the new process starts.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
            drop(_guard);
            restart()
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Replaces this process with a new run of the same program and arguments (the same
/// process id, so a service manager sees no exit); returns only if that fails.
fn restart() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot restart: {e}");
            return ExitCode::from(1);
        }
    };
    let e = std::process::Command::new(&exe).args(std::env::args_os().skip(1)).exec();
    eprintln!("error: cannot restart {}: {e}", exe.display());
    ExitCode::from(1)
}

fn pki(action: PkiAction, data_dir: &Path) -> ExitCode {
    let result: Result<(), crate::pki_list::PkiCommandError> = match action {
        PkiAction::List => crate::pki_list::print(data_dir),
        PkiAction::Trust { thumbprint } => fxgate_pki::trust(data_dir, &thumbprint).map_err(Into::into).map(|moved| {
            for p in moved {
                println!("trusted: {}", p.display());
            }
        }),
        PkiAction::Reject { thumbprint } => fxgate_pki::reject(data_dir, &thumbprint).map_err(Into::into).map(|moved| {
            for p in moved {
                println!("rejected: {}", p.display());
            }
        }),
        PkiAction::AddIssuer { file, store } => crate::pki_list::add_issuer(data_dir, &file, &store),
        PkiAction::AddCrl { file, store } => crate::pki_list::add_crl(data_dir, &file, &store),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn users_hash() -> ExitCode {
    match crate::users_cmd::password_hash_from_stdin() {
        Ok(h) => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
