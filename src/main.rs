//! The `dmig` binary: `.env`, logging, parse, run, turn errors into exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // Colour first, so that clap's help and errors follow `--color` too.
    let color = color_from_args();
    dmig::cli::set_color(color);
    // Before anything reads the environment (clap's `env` values included).
    load_dotenv();
    init_tracing();
    let matches = dmig::cli::Cli::command().color(color).get_matches();
    let cli = match dmig::cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    match dmig::cli::run(cli, &matches) {
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

/// Read the nearest `.env` (here or in a parent directory), as dotenvy does:
/// variables already set win. A line that does not parse is a warning naming
/// the file and line, and the rest of the file still counts.
fn load_dotenv() {
    let Some(path) = find_upward(".env") else {
        return;
    };
    let items = match dotenvy::from_path_iter(&path) {
        Ok(items) => items,
        Err(error) => {
            dmig::cli::print_warning(format_args!("cannot read `{}`: {error}", path.display()));
            return;
        }
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    for item in items {
        match item {
            Ok((key, value)) => {
                if std::env::var_os(&key).is_none() {
                    std::env::set_var(key, value);
                }
            }
            Err(dotenvy::Error::LineParse(line, _)) => {
                let number = text
                    .lines()
                    .position(|l| l.contains(line.trim()))
                    .map_or_else(|| "?".to_owned(), |i| (i + 1).to_string());
                dmig::cli::print_warning(format_args!(
                    "`{}` line {number} is not `NAME=value`; it is ignored",
                    path.display()
                ));
            }
            Err(error) => dmig::cli::print_warning(format_args!("`{}`: {error}", path.display())),
        }
    }
}

/// `--color WHEN` as given (last wins), before clap has parsed anything.
fn color_from_args() -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next(),
            Some(other) => other.strip_prefix("--color=").map(Into::into),
            None => None,
        };
        match value.as_ref().and_then(|v| v.to_str()) {
            Some("always") => choice = clap::ColorChoice::Always,
            Some("never") => choice = clap::ColorChoice::Never,
            Some("auto") => choice = clap::ColorChoice::Auto,
            _ => {}
        }
    }
    choice
}

fn find_upward(name: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join(name))
        .find(|candidate| Path::is_file(candidate))
}

/// Logs go to stderr, filtered by `DMIG_LOG`. A bare level (`DMIG_LOG=debug`)
/// is for dmig's own events, its dependencies staying at `warn`; targets
/// (`DMIG_LOG=tokio_postgres=debug`) are taken as they are. Without
/// `DMIG_LOG`, dmig's warnings only. A value that does not parse is a warning.
/// Log lines have their passwords masked (tokio-postgres logs each
/// statement in full).
fn init_tracing() {
    let value = std::env::var("DMIG_LOG").ok();
    let filter = match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => tracing_subscriber::EnvFilter::new(DEFAULT_LOG),
        Some(value) => match tracing_subscriber::EnvFilter::try_new(directives(value)) {
            Ok(filter) => filter,
            Err(error) => {
                dmig::cli::print_warning(format_args!(
                    "ignoring DMIG_LOG={value:?}: {error}; use a level (error, warn, info, debug, trace) or target=level, e.g. DMIG_LOG=debug or DMIG_LOG=tokio_postgres=debug"
                ));
                tracing_subscriber::EnvFilter::new(DEFAULT_LOG)
            }
        },
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(dmig::cli::output::MaskedStderr)
        .with_ansi(dmig::cli::stderr_has_color())
        .with_target(false)
        .init();
}

const DEFAULT_LOG: &str = "warn,dmig=warn";

/// `DMIG_LOG` as filter directives: bare levels apply to dmig, the rest as given.
fn directives(value: &str) -> String {
    let levels = ["off", "error", "warn", "info", "debug", "trace"];
    let mut out = vec!["warn".to_owned()];
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if levels.contains(&directive.to_ascii_lowercase().as_str()) {
            out.push(format!("dmig={directive}"));
        } else {
            out.push(directive.to_owned());
        }
    }
    out.join(",")
}
