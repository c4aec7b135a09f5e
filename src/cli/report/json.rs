//! `--format json`: one document on stdout.

use std::io::Write;

use serde::Serialize;

/// Print `document` as pretty JSON and a newline.
pub(crate) fn print(document: &impl Serialize) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, document)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}
