//! Where a script goes: stdout, a file, or a directory of scripts. Files are
//! written to a temporary sibling and renamed into place, so a failure (or
//! an interrupt, see [`write_script_until`]) never leaves half a script
//! behind. The file gets the mode a file written by the user's shell would
//! (the umask's), or keeps the mode of the file it replaces; a symbolic link
//! is followed, so its target is replaced and the link stays.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::script::{render, script_file_name, ScriptOptions};
use crate::error::RenderError;
use crate::plan::Plan;

/// Where a script goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// This file, replaced atomically.
    File(PathBuf),
    /// A file named by [`script_file_name`] inside this directory.
    Dir(PathBuf),
}

impl Output {
    /// `--out PATH`: an existing directory, or a path ending in `/`, is a
    /// directory; anything else is a file.
    pub fn from_arg(path: Option<&Path>) -> Output {
        match path {
            None => Output::Stdout,
            Some(p) if p.as_os_str() == "-" => Output::Stdout,
            Some(p) if p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/') => {
                Output::Dir(p.to_path_buf())
            }
            Some(p) => Output::File(p.to_path_buf()),
        }
    }
}

/// Render `plan` to `output`. Returns the path written, if any.
pub fn write_script(
    plan: &Plan<'_>,
    options: &ScriptOptions,
    output: &Output,
) -> Result<Option<PathBuf>, RenderError> {
    write_script_until(plan, options, output, &AtomicBool::new(false))
}

/// [`write_script`], stopping with [`RenderError::Interrupted`] at the first
/// write after `interrupted` is set (by a signal handler): a file output is
/// then not written at all, its temporary file removed.
pub fn write_script_until(
    plan: &Plan<'_>,
    options: &ScriptOptions,
    output: &Output,
    interrupted: &AtomicBool,
) -> Result<Option<PathBuf>, RenderError> {
    let path = match output {
        Output::Stdout => {
            let stdout = io::stdout();
            let out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            let mut out = Interruptible { out, interrupted };
            let result = render(plan, options, &mut out).and_then(|()| out.flush());
            return result
                .map(|()| None)
                .map_err(|source| failed(PathBuf::from("-"), source));
        }
        Output::File(path) => path.clone(),
        Output::Dir(dir) => dir.join(script_file_name(plan)),
    };
    let fail = |source| failed(path.clone(), source);
    // Replace what a symbolic link points to, not the link.
    let target = follow_links(&path).map_err(fail)?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(fail)?;
    let existing = fs::metadata(&target).ok();
    let mut builder = tempfile::Builder::new();
    builder.prefix(".dmig-").suffix(".sql.tmp");
    // 0666 less the umask (the kernel applies it), like a file a shell
    // redirection creates; tempfile's default is 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(&parent).map_err(fail)?;
    // Created with 0666 less the umask, the file's final mode; kept private
    // while it fills.
    let mode = final_permissions(temp.as_file(), existing.as_ref()).map_err(fail)?;
    {
        let out = io::BufWriter::with_capacity(64 * 1024, temp.as_file_mut());
        let mut out = Interruptible { out, interrupted };
        render(plan, options, &mut out)
            .and_then(|()| out.flush())
            .map_err(fail)?;
    }
    temp.as_file().sync_all().map_err(fail)?;
    if interrupted.load(Ordering::SeqCst) {
        return Err(failed(path, interrupted_error()));
    }
    if let Some(mode) = mode {
        temp.as_file().set_permissions(mode).map_err(fail)?;
    }
    temp.persist(&target).map_err(|e| fail(e.error))?;
    Ok(Some(path))
}

fn failed(path: PathBuf, source: io::Error) -> RenderError {
    if is_ours(&source) {
        RenderError::Interrupted { path }
    } else {
        RenderError::Write { path, source }
    }
}

/// The error [`Interruptible`] stops a render with. Not of kind
/// `Interrupted`: `write_all` retries those.
fn interrupted_error() -> io::Error {
    io::Error::other(Stopped)
}

fn is_ours(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<Stopped>())
}

/// The marker inside [`interrupted_error`], so no other error is taken for
/// an interrupt.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Stopped {}

/// A writer that fails once `interrupted` is set.
struct Interruptible<'a, W: Write> {
    out: W,
    interrupted: &'a AtomicBool,
}

impl<W: Write> Write for Interruptible<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(interrupted_error());
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(interrupted_error());
        }
        self.out.flush()
    }
}

/// `path` with symbolic links in its last component followed (a dangling
/// link gives the path it points to, which is then created).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // As many hops as Linux allows before ELOOP.
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other(format!(
        "too many levels of symbolic links at `{}`",
        path.display()
    )))
}

/// Make the fresh temp file private while it fills, and return the mode it
/// gets before it takes its place: the replaced file's, else the one it was
/// created with (the umask's). The replaced file's group is kept too where
/// the user may set it (best effort; the owner is kept only for root).
fn final_permissions(
    file: &fs::File,
    existing: Option<&fs::Metadata>,
) -> io::Result<Option<fs::Permissions>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let created = file.metadata()?.permissions();
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        let mode = match existing {
            Some(meta) => {
                let owner = std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()));
                if owner.is_err() {
                    let _ = std::os::unix::fs::fchown(file, None, Some(meta.gid()));
                }
                fs::Permissions::from_mode(meta.mode() & 0o777)
            }
            None => fs::Permissions::from_mode(created.mode() & 0o777),
        };
        Ok(Some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, existing);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_followed_to_their_last_target() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        fs::create_dir(dir.join("real")).expect("mkdir");
        std::os::unix::fs::symlink("real/a.sql", dir.join("one")).expect("link");
        std::os::unix::fs::symlink("one", dir.join("two")).expect("link");
        assert_eq!(
            follow_links(&dir.join("two")).expect("follow"),
            dir.join("real/a.sql")
        );
        assert_eq!(
            follow_links(&dir.join("plain")).expect("follow"),
            dir.join("plain")
        );
        std::os::unix::fs::symlink("loop", dir.join("loop")).expect("link");
        assert!(follow_links(&dir.join("loop")).is_err());
    }

    #[test]
    fn only_our_interrupt_counts() {
        assert!(is_ours(&interrupted_error()));
        assert!(!is_ours(&io::Error::from(io::ErrorKind::Interrupted)));
    }
}
