//! Where a script goes: stdout, a file, or a directory of scripts. Files are
//! written to a temporary sibling and renamed into place, so a failure never
//! leaves half a script behind.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
    let path = match output {
        Output::Stdout => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            let result = render(plan, options, &mut out).and_then(|()| out.flush());
            return result.map(|()| None).map_err(|source| RenderError::Write {
                path: PathBuf::from("-"),
                source,
            });
        }
        Output::File(path) => path.clone(),
        Output::Dir(dir) => dir.join(script_file_name(plan)),
    };
    let fail = |source| RenderError::Write {
        path: path.clone(),
        source,
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(fail)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".dmig-")
        .suffix(".sql.tmp")
        .tempfile_in(&parent)
        .map_err(fail)?;
    {
        let mut out = io::BufWriter::with_capacity(64 * 1024, temp.as_file_mut());
        render(plan, options, &mut out)
            .and_then(|()| out.flush())
            .map_err(fail)?;
    }
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(&path).map_err(|e| fail(e.error))?;
    Ok(Some(path))
}
