//! `dmig revision` and `dmig init`: files on disk, named the way diesel CLI
//! names them, so both tools can share one project.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{CONFIG_FILE_NAME, INIT_DIESEL_TOML};

/// What `revision` writes into a new `up.sql`.
pub const UP_TEMPLATE: &str = "-- Your SQL goes here\n";
/// What `revision` writes into a new `down.sql`.
pub const DOWN_TEMPLATE: &str = "-- This file should undo anything in `up.sql`\n";
/// What `revision --no-transaction` writes into `metadata.toml` (the key is
/// spelled out: Diesel reads a file without it as "no transaction" too, but
/// dmig warns about that form).
pub const NO_TRANSACTION_METADATA: &str = "run_in_transaction = false\n";

/// Errors creating files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    /// A file or directory could not be created.
    #[error("cannot create `{}`", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The message gives no usable name.
    #[error("revision message {message:?} has no letters or digits to name the directory")]
    EmptyName {
        /// The message as given.
        message: String,
    },
    /// The directory exists already (two revisions in the same second).
    #[error("`{}` already exists", path.display())]
    Exists {
        /// The directory.
        path: PathBuf,
    },
}

/// `create users` -> `create_users`: lowercase ASCII letters and digits,
/// everything else collapsed to single underscores.
pub fn slug(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// `%Y-%m-%d-%H%M%S` in UTC, the prefix `diesel migration generate` uses.
pub fn timestamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`), to avoid a date crate for one format string.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Create `<dir>/<timestamp>_<slug>/{up,down}.sql` (and `metadata.toml` when
/// `no_transaction`). Returns the new directory.
pub fn new_revision(
    migration_dir: &Path,
    message: &str,
    no_transaction: bool,
    now: SystemTime,
) -> Result<PathBuf, ScaffoldError> {
    let mut files = vec![("up.sql", UP_TEMPLATE), ("down.sql", DOWN_TEMPLATE)];
    if no_transaction {
        files.push(("metadata.toml", NO_TRANSACTION_METADATA));
    }
    write_revision(migration_dir, message, &files, now)
}

/// Create `<dir>/<timestamp>_<slug>/` holding `files` (name, contents), as
/// `revision --autogenerate` writes its up.sql and down.sql. A directory of
/// that name already there is an error, never overwritten. Returns the new
/// directory.
pub fn write_revision(
    migration_dir: &Path,
    message: &str,
    files: &[(&str, &str)],
    now: SystemTime,
) -> Result<PathBuf, ScaffoldError> {
    let name = slug(message);
    if name.is_empty() {
        return Err(ScaffoldError::EmptyName {
            message: message.to_string(),
        });
    }
    let dir = migration_dir.join(format!("{}_{name}", timestamp(now)));
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    fs::create_dir_all(migration_dir).map_err(io_err(migration_dir))?;
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ScaffoldError::Exists { path: dir })
        }
        Err(e) => return Err(io_err(&dir)(e)),
    }
    for (file, text) in files {
        let path = dir.join(file);
        fs::write(&path, text).map_err(io_err(&path))?;
    }
    Ok(dir)
}

/// What `init` did to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitAction {
    /// Created it.
    Created(PathBuf),
    /// It was there already and was left alone.
    Kept(PathBuf),
}

/// Create `diesel.toml`, `migrations/` and `sql-out/` under `root` where
/// absent; never overwrite.
pub fn init(root: &Path) -> Result<Vec<InitAction>, ScaffoldError> {
    let mut actions = Vec::new();
    let config = root.join(CONFIG_FILE_NAME);
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&config);
    match created {
        Ok(mut file) => {
            io::Write::write_all(&mut file, INIT_DIESEL_TOML.as_bytes()).map_err(|source| {
                ScaffoldError::Io {
                    path: config.clone(),
                    source,
                }
            })?;
            actions.push(InitAction::Created(config));
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            actions.push(InitAction::Kept(config))
        }
        Err(source) => {
            return Err(ScaffoldError::Io {
                path: config,
                source,
            })
        }
    }
    for dir in ["migrations", "sql-out"] {
        let path = root.join(dir);
        if path.is_dir() {
            actions.push(InitAction::Kept(path));
        } else {
            fs::create_dir_all(&path).map_err(|source| ScaffoldError::Io {
                path: path.clone(),
                source,
            })?;
            actions.push(InitAction::Created(path));
        }
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn slug_keeps_letters_and_digits() {
        assert_eq!(slug("create users"), "create_users");
        assert_eq!(slug("  Add index: users.email!! "), "add_index_users_email");
        assert_eq!(slug("ÄÖÜ"), "");
    }

    #[test]
    fn timestamp_matches_diesel_format_in_utc() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29T12:34:56Z
        assert_eq!(timestamp(t), "2024-02-29-123456");
    }

    #[test]
    fn new_revision_writes_files_and_refuses_to_overwrite() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let now = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        let dir = new_revision(tmp.path(), "create users", true, now).expect("create");
        assert!(dir.ends_with("2024-02-29-123456_create_users"));
        assert_eq!(
            fs::read_to_string(dir.join("up.sql")).expect("up"),
            UP_TEMPLATE
        );
        assert_eq!(
            fs::read_to_string(dir.join("metadata.toml")).expect("metadata"),
            NO_TRANSACTION_METADATA
        );
        let err = new_revision(tmp.path(), "create users", false, now).expect_err("exists");
        assert!(err.to_string().contains("already exists"), "{err}");
    }

    #[test]
    fn init_creates_missing_and_keeps_existing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join(CONFIG_FILE_NAME), "# mine\n").expect("write");
        let actions = init(tmp.path()).expect("init");
        assert_eq!(
            actions[0],
            InitAction::Kept(tmp.path().join(CONFIG_FILE_NAME))
        );
        assert_eq!(
            actions[1],
            InitAction::Created(tmp.path().join("migrations"))
        );
        assert_eq!(
            fs::read_to_string(tmp.path().join(CONFIG_FILE_NAME)).expect("read"),
            "# mine\n"
        );
    }
}
