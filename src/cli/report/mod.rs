//! How the CLI reports: [`text`] listings for people, [`json`] documents
//! (the shapes live in [`crate::report`]), [`progress`] on stderr while
//! a run goes on, and [`autogen`] for `revision --autogenerate`, `check
//! --schema` and `verify`.

pub(crate) mod autogen;
pub(crate) mod json;
pub(crate) mod progress;
pub(crate) mod text;

use std::fmt::Display;

use anstyle::{AnsiColor, Style};

/// The colour of `error:`.
const ERROR: Style = AnsiColor::Red.on_default().bold();
/// The colour of `warning:`.
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

/// `error: <message>` on stderr, coloured where `--color` allows (anstream
/// strips the style when stderr is not a terminal, under `NO_COLOR`, or with
/// `--color never`); a closed stderr loses the line, never panics.
pub(crate) fn error(message: impl Display) {
    crate::cli::output::stderr(format_args!("{ERROR}error:{ERROR:#} {message}"), true);
}

/// `warning: <message>` on stderr, coloured likewise.
pub(crate) fn warning(message: impl Display) {
    crate::cli::output::stderr(format_args!("{WARNING}warning:{WARNING:#} {message}"), true);
}
