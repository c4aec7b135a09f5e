//! Where the CLI's own output goes, written so that a closed pipe or a
//! closed stderr never panics (`eprintln!` does) and nothing secret leaves.

use std::io::{self, Write};

/// Where log lines go (`DMIG_LOG`): stderr, each line with its passwords
/// masked ([`crate::sql::mask`]). Logs are where SQL shows in full:
/// tokio-postgres logs every statement it sends at `debug`, a revision's
/// `CREATE ROLE ... PASSWORD` included.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaskedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskedStderr {
    type Writer = MaskedLine;

    fn make_writer(&'a self) -> MaskedLine {
        MaskedLine(Vec::new())
    }
}

/// One log event, collected and then written masked when dropped (the
/// formatter writes an event in one go, so the mask sees all of it).
#[derive(Debug)]
pub struct MaskedLine(Vec<u8>);

impl Write for MaskedLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let masked = crate::sql::mask::mask_passwords(&text);
        // A closed stderr is nobody's loss: the log had nowhere to go.
        let _ = io::stderr().lock().write_all(masked.as_bytes());
    }
}
