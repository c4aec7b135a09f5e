//! Where the CLI's own output goes, written so that a closed pipe or a
//! closed stderr never panics (`eprintln!` does), a closed stdout ends dmig
//! quietly as it ends other Unix tools, and nothing secret or raw leaves.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// `eprintln!` that never panics: on a closed stderr (`dmig upgrade 2>&1 |
/// head -1`) the line is lost and the command goes on, so a migration run is
/// never cut short by its progress output.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::stderr(format_args!($($arg)*), true)
    };
}

pub(crate) use say;

/// Write to stderr, ignoring a failure: there is nowhere left to report it.
/// Through anstream, so styles (`error:` in red) reach a terminal that wants
/// colour and are stripped everywhere else (see [`crate::cli::set_color`]).
pub(crate) fn stderr(args: fmt::Arguments<'_>, newline: bool) {
    let mut err = anstream::stderr().lock();
    let _ = err.write_fmt(args);
    if newline {
        let _ = err.write_all(b"\n");
    }
}

/// Stdout was closed by its reader (`dmig upgrade --sql | head -1`): `main`
/// ends quietly with status 0, as ripgrep and other Unix tools do.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// `error` as the CLI reports it: a closed stdout becomes [`StdoutClosed`].
pub(crate) fn stdout_error(error: io::Error) -> anyhow::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        error.into()
    }
}

/// Run `write` on a buffered stdout and flush it, a closed stdout becoming
/// [`StdoutClosed`].
pub(crate) fn to_stdout(
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Print a failed command's error on stderr as `error: {error:#}`, unless
/// stdout was closed (then nothing is wrong). Returns whether it was.
///
/// The text may quote values from the database or the server (names in
/// PostgreSQL's messages): control characters other than newline and tab
/// become `?`, so none can drive the terminal.
pub fn report(error: &anyhow::Error) -> bool {
    if error.downcast_ref::<StdoutClosed>().is_some() {
        return true;
    }
    let text = format!("{error:#}");
    crate::cli::report::error(crate::model::printable_lines(&text));
    false
}

/// SIGINT, SIGTERM and SIGHUP while dmig works: the first is noted, and a
/// second one kills dmig at once. During a render ([`Interrupts::catch`])
/// the render stops at its next write and the temp file is removed; during
/// an online run ([`Interrupts::catch_run`]) the run's [`Interrupts::cancel`]
/// token stops it, the running statement cancelled on the server first.
pub(crate) struct Interrupts {
    flag: Arc<AtomicBool>,
    /// Set: the next signal kills.
    armed: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Interrupts {
    /// Start noting signals; a second one kills.
    pub(crate) fn catch() -> io::Result<Interrupts> {
        let flag = Arc::new(AtomicBool::new(false));
        Interrupts::register(Arc::clone(&flag), flag)
    }

    /// Start noting signals for an online run: a second one kills once the
    /// run has acted on the first (sent the running statement's cancel, or
    /// stopped), so the server is always told before dmig goes.
    pub(crate) fn catch_run() -> io::Result<Interrupts> {
        let armed = Arc::new(AtomicBool::new(false));
        Interrupts::register(Arc::new(AtomicBool::new(false)), armed)
    }

    fn register(flag: Arc<AtomicBool>, armed: Arc<AtomicBool>) -> io::Result<Interrupts> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Registered first, so it sees `armed` as it was before this
            // signal (for a render, `armed` is the flag: set means a second
            // signal, which kills).
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&armed))?;
            signal_hook::flag::register(sig, Arc::clone(&flag))?;
            let number = usize::try_from(sig).unwrap_or_default();
            signal_hook::flag::register_usize(sig, Arc::clone(&signal), number)?;
        }
        Ok(Interrupts {
            flag,
            armed,
            signal,
        })
    }

    /// The token an online run stops on: it reads the flag and arms the
    /// second signal once it has acted.
    pub(crate) fn cancel(&self) -> crate::online::Cancel {
        crate::online::Cancel::with_flags(Arc::clone(&self.flag), Arc::clone(&self.armed))
    }

    /// The flag the render checks.
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    /// The exit code for the signal received, if one was: 128 + its number,
    /// as a shell reports a process killed by it.
    pub(crate) fn exit_code(&self) -> Option<u8> {
        if !self.flag.load(Ordering::SeqCst) {
            return None;
        }
        let number = self.signal.load(Ordering::SeqCst);
        Some(u8::try_from(128 + number).unwrap_or(130))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_stdout_is_told_apart() {
        let closed = stdout_error(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(closed.downcast_ref::<StdoutClosed>().is_some());
        let other = stdout_error(io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(other.downcast_ref::<StdoutClosed>().is_none());
    }
}
