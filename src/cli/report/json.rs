//! `--format json`: one document on stdout.

use serde::Serialize;

/// Print `document` as pretty JSON and a newline.
pub(crate) fn print(document: &impl Serialize) -> anyhow::Result<()> {
    crate::cli::output::to_stdout(|out| {
        serde_json::to_writer_pretty(&mut *out, document).map_err(std::io::Error::from)?;
        writeln!(out)
    })
}
