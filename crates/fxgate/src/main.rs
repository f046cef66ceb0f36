//! `fxgate`: the gateway binary.

#![warn(missing_docs)]

mod cli;
mod commands;
mod http;
mod https;
mod logging;
mod registry;
mod topology;
mod ui;
mod users_cmd;
#[cfg(test)]
mod tests;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    commands::dispatch(cli)
}
