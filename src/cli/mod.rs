//! The `dmig` command line: it parses ([`args`]), checks ([`settings`]),
//! hands the work to the library ([`commands`], one module per command) and
//! reports ([`report`]: text, JSON, progress). No migration logic lives here.

pub mod args;
mod commands;
mod layers;
pub mod output;
mod report;
mod settings;

use std::process::ExitCode;

pub use args::Cli;

/// Exit code when `check` finds pending revisions or drift.
pub const EXIT_PENDING: u8 = 3;
/// Exit code for bad usage (clap uses it too).
pub const EXIT_USAGE: u8 = 2;

/// A usage mistake clap cannot see; `main` exits 2 for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// How `--color` and the environment decide on colour, for everything dmig
/// writes to stderr (and clap's help and errors): `auto` colours a terminal
/// unless `NO_COLOR` is set.
pub fn set_color(choice: clap::ColorChoice) {
    anstream::ColorChoice::write_global(match choice {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    });
}

/// Whether stderr gets colour, as [`set_color`] decided.
pub fn stderr_has_color() -> bool {
    !matches!(
        anstream::AutoStream::choice(&std::io::stderr()),
        anstream::ColorChoice::Never
    )
}

/// Print `error` as the binary reports a failure.
pub fn print_error(error: &anyhow::Error) {
    report::error(format_args!("{error:#}"));
}

/// Print a warning as the binary does (for `main`'s own: `.env`, `DMIG_LOG`).
pub fn print_warning(message: impl std::fmt::Display) {
    report::warning(message);
}

/// Run a parsed command line; `matches`, the ones `cli` was built from, tell
/// an option typed on it (which beats `DMIG_*` and `dmig.toml`) from clap's
/// default (which does not). Returns the exit code for success paths
/// (0, or 3 from `check`); errors become exit 1 (or 2 for [`UsageError`]).
pub fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    let settings = settings::Settings::from_cli(cli, layers::Given::from_matches(matches))?;
    commands::run(settings)
}
