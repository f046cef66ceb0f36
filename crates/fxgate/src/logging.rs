//! Logging (seed 000 §4.10): stderr, daily rolling files in `<data-dir>/logs`, and the
//! recent lines in memory for the configurator's Logs page.

use std::path::{Path, PathBuf};

use fxgate_config::LogConfig;
use fxgate_core::LogRing;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::ParseError;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `RUST_LOG` is not a valid filter.
    #[error("RUST_LOG: {0}")]
    RustLog(#[source] ParseError),
    /// `log.level` is not a valid filter.
    #[error("log.level: {0}")]
    Level(#[source] ParseError),
    /// `<data-dir>/logs` could not be created.
    #[error("cannot create log directory {}: {source}", .dir.display())]
    CreateDir {
        /// The log directory.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The rolling log files could not be opened.
    #[error("cannot open log files in {}: {source}", .dir.display())]
    OpenFiles {
        /// The log directory.
        dir: PathBuf,
        /// The appender's error.
        source: tracing_appender::rolling::InitError,
    },
    /// A global subscriber was installed already.
    #[error("logging: {0}")]
    Install(#[source] TryInitError),
}

/// Writes each formatted event into the ring of recent lines.
#[derive(Clone)]
struct RingWriter(LogRing);

/// One event's text, pushed to the ring when the formatter is done with it.
struct RingLine(LogRing, Vec<u8>);

impl std::io::Write for RingLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RingLine {
    fn drop(&mut self) {
        self.0.push(&String::from_utf8_lossy(&self.1));
    }
}

impl<'a> fmt::MakeWriter<'a> for RingWriter {
    type Writer = RingLine;
    fn make_writer(&'a self) -> RingLine {
        RingLine(self.0.clone(), Vec::with_capacity(256))
    }
}

/// The log filter of `level` (`log.level`'s syntax: `info`, `warn,fxgate_modbus=debug`), with
/// the DA item API's start-up warning of async-opcua kept quiet: its internal client is
/// configured without endpoints on purpose (it connects by URL) and warns at every start.
fn level_filter(level: &str) -> Result<EnvFilter, ParseError> {
    EnvFilter::try_new(level).map(|f| match "opcua_client::config=error".parse() {
        Ok(d) if !level.contains("opcua_client") => f.add_directive(d),
        _ => f,
    })
}

/// The log level of the running gateway, changed by the configurator's General page.
pub struct LevelControl {
    handle: reload::Handle<EnvFilter, Registry>,
    current: std::sync::Mutex<String>,
}

impl fxgate_configurator::LogFilter for LevelControl {
    fn current(&self) -> String {
        self.current.lock().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set(&self, level: &str) -> Result<(), fxgate_configurator::FilterError> {
        let filter = level_filter(level).map_err(|e| fxgate_configurator::FilterError(e.to_string()))?;
        self.handle.reload(filter).map_err(|e| fxgate_configurator::FilterError(e.to_string()))?;
        *self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = level.to_string();
        Ok(())
    }
}

/// Installs the subscriber (stderr, files, and `recent`, which keeps the last lines for the
/// configurator); keep the guard alive until exit so file logs are flushed. `RUST_LOG`, when
/// set, wins over `log.level`; the returned control changes the level at run time.
pub fn init(cfg: &LogConfig, data_dir: &Path, recent: LogRing) -> Result<(Option<WorkerGuard>, LevelControl), LoggingError> {
    let (filter, level) = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => (EnvFilter::try_new(&v).map_err(LoggingError::RustLog)?, v),
        _ => (level_filter(&cfg.level).map_err(LoggingError::Level)?, cfg.level.clone()),
    };
    let (filter, handle) = reload::Layer::new(filter);
    // Colours only on a terminal (and not when NO_COLOR is set): a redirected log stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let stderr = fmt::layer().with_ansi(ansi).with_writer(std::io::stderr);
    let (file_layer, guard) = if cfg.file {
        let dir = data_dir.join("logs");
        std::fs::create_dir_all(&dir)
            .map_err(|source| LoggingError::CreateDir { dir: dir.clone(), source })?;
        let appender = tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("fxgate")
            .filename_suffix("log")
            .max_log_files(14)
            .build(&dir)
            .map_err(|source| LoggingError::OpenFiles { dir: dir.clone(), source })?;
        // The default queue of 128k lines preallocates ~4 MB; 8k lines are plenty between
        // two flushes of the writer thread (lines beyond that are dropped, not blocked on).
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .buffered_lines_limit(8192)
            .finish(appender);
        (Some(fmt::layer().with_ansi(false).with_writer(writer)), Some(guard))
    } else {
        (None, None)
    };
    let ring = fmt::layer().with_ansi(false).with_writer(RingWriter(recent));
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(ring)
        .with(file_layer)
        .try_init()
        .map_err(LoggingError::Install)?;
    Ok((guard, LevelControl { handle, current: std::sync::Mutex::new(level) }))
}
