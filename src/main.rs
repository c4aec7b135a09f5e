//! The `dmig` binary: parse, run, turn errors into exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A .env file may hold DATABASE_URL; a missing one is fine.
    let _ = dotenvy::dotenv();
    init_tracing();
    let cli = dmig::cli::Cli::parse();
    match dmig::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            // A closed stdout (`dmig ... | head -1`) is no failure.
            if dmig::cli::output::report(&error) {
                return ExitCode::SUCCESS;
            }
            if error.downcast_ref::<dmig::cli::UsageError>().is_some() {
                ExitCode::from(dmig::cli::EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Logs go to stderr, filtered by `DMIG_LOG` (e.g. `DMIG_LOG=debug`), off by
/// default, with passwords masked (tokio-postgres logs each statement in full).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DMIG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(dmig::cli::output::MaskedStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
