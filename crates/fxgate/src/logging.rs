//! Logging (seed 000 §4.10): stderr, daily rolling files in `<data-dir>/logs`, and the
//! recent lines in memory for the configurator's Logs page.

use std::path::{Path, PathBuf};

use fxgate_config::LogConfig;
use fxgate_core::LogRing;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::ParseError;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};
use tracing_subscriber::{fmt, EnvFilter, Layer};

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

/// Installs the subscriber (stderr, files, and `recent`, which keeps the last lines for the
/// configurator); keep the guard alive until exit so file logs are flushed.
pub fn init(cfg: &LogConfig, data_dir: &Path, recent: LogRing) -> Result<Option<WorkerGuard>, LoggingError> {
    let filter = || match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v).map_err(LoggingError::RustLog),
        // The DA item API's internal client is configured without endpoints on purpose
        // (it connects by URL); async-opcua warns about that at every start.
        _ => EnvFilter::try_new(&cfg.level)
            .map(|f| match "opcua_client::config=error".parse() {
                Ok(d) if !cfg.level.contains("opcua_client") => f.add_directive(d),
                _ => f,
            })
            .map_err(LoggingError::Level),
    };
    // Colours only on a terminal (and not when NO_COLOR is set): a redirected log stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let stderr = fmt::layer().with_ansi(ansi).with_writer(std::io::stderr).with_filter(filter()?);
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
        let layer = fmt::layer()
            .with_ansi(false)
            .with_writer(writer)
            .with_filter(filter()?);
        (Some(layer), Some(guard))
    } else {
        (None, None)
    };
    let ring = fmt::layer().with_ansi(false).with_writer(RingWriter(recent)).with_filter(filter()?);
    tracing_subscriber::registry()
        .with(stderr)
        .with(ring)
        .with(file_layer)
        .try_init()
        .map_err(LoggingError::Install)?;
    Ok(guard)
}
