//! Discovery: `migrations/<version>_<name>/{up.sql,down.sql,metadata.toml}` read
//! exactly as Diesel reads it, plus the checks Diesel skips (duplicate versions,
//! empty directories, versions that would break SQL, non-UTF-8 files).
//!
//! Discovery only lists directories and reads `metadata.toml`; SQL files are
//! read later, and only for the revisions a plan needs, so `history` over
//! 10,000 revisions stays cheap and a bad file outside the range is no error.

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::SourceError;

/// Diesel's bookkeeping column is `VARCHAR(50)`.
const MAX_VERSION_LEN: usize = 50;

/// Where a revision's SQL lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlSource {
    /// A file on disk, read when needed.
    File(PathBuf),
    /// Text compiled into the binary (see [`crate::embed`]).
    Embedded(&'static str),
}

/// One revision: a `<version>_<name>` directory (or its embedded copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Directory name up to the first `_`, every `-` removed (Diesel's rule).
    pub version: String,
    /// The whole directory name, e.g. `2024-01-01-120000_create_users`.
    pub name: String,
    /// `up.sql`.
    pub up: SqlSource,
    /// `down.sql`, when present.
    pub down: Option<SqlSource>,
    /// From `metadata.toml`; `true` when the file is absent.
    pub run_in_transaction: bool,
}

/// Which of a revision's two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlFile {
    /// `up.sql`.
    Up,
    /// `down.sql`.
    Down,
}

impl SqlFile {
    /// The file name inside a revision directory.
    pub fn file_name(self) -> &'static str {
        match self {
            SqlFile::Up => "up.sql",
            SqlFile::Down => "down.sql",
        }
    }
}

impl Revision {
    /// The path (or embedded name) used in messages, e.g. `migrations/2024_x/up.sql`.
    pub fn display_path(&self, file: SqlFile) -> PathBuf {
        let source = match file {
            SqlFile::Up => Some(&self.up),
            SqlFile::Down => self.down.as_ref(),
        };
        match source {
            Some(SqlSource::File(path)) => path.clone(),
            _ => PathBuf::from(&self.name).join(file.file_name()),
        }
    }

    /// Read `up.sql` or `down.sql`, checked: UTF-8, lexable, and holding at least
    /// one statement (Diesel's two code paths disagree on comment-only files;
    /// dmig refuses them in both modes).
    pub fn read_sql(&self, file: SqlFile) -> Result<Cow<'static, str>, SourceError> {
        let source = match file {
            SqlFile::Up => &self.up,
            SqlFile::Down => self.down.as_ref().ok_or_else(|| SourceError::MissingDown {
                name: self.name.clone(),
            })?,
        };
        let text: Cow<'static, str> = match source {
            SqlSource::Embedded(text) => Cow::Borrowed(text),
            SqlSource::File(path) => {
                let bytes = fs::read(path).map_err(|source| SourceError::ReadFile {
                    path: path.clone(),
                    source,
                })?;
                Cow::Owned(
                    String::from_utf8(bytes)
                        .map_err(|_| SourceError::NotUtf8 { path: path.clone() })?,
                )
            }
        };
        let tail = crate::sql::tail(&text).map_err(|source| SourceError::Lex {
            path: self.display_path(file),
            source,
        })?;
        if tail.is_empty {
            return Err(SourceError::EmptySql {
                path: self.display_path(file),
            });
        }
        Ok(text)
    }
}

/// What discovery found: revisions in version order, plus things worth a warning.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Sorted by version as strings (Diesel's order).
    pub revisions: Vec<Revision>,
    /// Revisions whose `metadata.toml` lacks `run_in_transaction`: Diesel then runs
    /// them outside a transaction, which is rarely what the author meant.
    pub metadata_without_key: Vec<String>,
}

/// Diesel's version rule: the name up to the first `_`, every `-` removed.
pub fn version_from_name(name: &str) -> String {
    name.split('_').next().unwrap_or(name).replace('-', "")
}

/// Versions end up inside SQL string literals and comments of rendered scripts,
/// so only characters that cannot break either are allowed.
pub fn validate_version(version: &str) -> Result<(), &'static str> {
    if version.is_empty() {
        return Err("it is empty");
    }
    if version.len() > MAX_VERSION_LEN {
        return Err("it is longer than 50 characters, the width of Diesel's version column");
    }
    if !version.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("only ASCII letters and digits are allowed (no quotes, backslashes, whitespace or other symbols)");
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Metadata {
    run_in_transaction: Option<bool>,
}

/// Parse a `metadata.toml`: `Some(flag)` with the key, `None` without it.
pub fn parse_metadata(text: &str) -> Result<Option<bool>, toml::de::Error> {
    toml::from_str::<Metadata>(text).map(|m| m.run_in_transaction)
}

/// List the revisions in `dir`, in version order.
pub fn discover(dir: &Path) -> Result<Discovery, SourceError> {
    let entries = fs::read_dir(dir).map_err(|source| SourceError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut discovery = Discovery::default();
    for entry in entries {
        let entry = entry.map_err(|source| SourceError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| SourceError::NotUtf8 { path: path.clone() })?;
        // Diesel ignores dot-entries and plain files (READMEs, .gitkeep). The
        // entry's own type saves a stat per revision; only symlinks need one.
        let is_dir = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => path.is_dir(),
            Ok(kind) => kind.is_dir(),
            Err(_) => path.is_dir(),
        };
        if name.starts_with('.') || !is_dir {
            continue;
        }
        let (revision, missing_key) = read_revision(&path, name)?;
        if missing_key {
            discovery.metadata_without_key.push(revision.name.clone());
        }
        discovery.revisions.push(revision);
    }
    discovery
        .revisions
        .sort_unstable_by(|a, b| a.version.cmp(&b.version).then(a.name.cmp(&b.name)));
    check_unique(&discovery.revisions, |r| match &r.up {
        SqlSource::File(path) => path.parent().unwrap_or(path).to_path_buf(),
        SqlSource::Embedded(_) => PathBuf::from(&r.name),
    })?;
    discovery.metadata_without_key.sort_unstable();
    Ok(discovery)
}

/// Reject two revisions with one version; `revisions` must be sorted.
pub fn check_unique(
    revisions: &[Revision],
    location: impl Fn(&Revision) -> PathBuf,
) -> Result<(), SourceError> {
    for pair in revisions.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(SourceError::DuplicateVersion {
                version: pair[0].version.clone(),
                first: location(&pair[0]),
                second: location(&pair[1]),
            });
        }
    }
    Ok(())
}

/// `run_in_transaction` from an optional `metadata.toml` (its text and path),
/// and whether the file lacked the key (Diesel's quirk: that means `false`).
pub(crate) fn transaction_flag(
    metadata: Option<(&str, &Path)>,
) -> Result<(bool, bool), SourceError> {
    match metadata {
        None => Ok((true, false)),
        Some((text, path)) => match parse_metadata(text) {
            Ok(None) => Ok((false, true)),
            Ok(Some(flag)) => Ok((flag, false)),
            Err(source) => Err(SourceError::Metadata {
                path: path.to_path_buf(),
                source: Box::new(source),
            }),
        },
    }
}

/// Derive and check the version of a revision directory named `name`.
pub(crate) fn checked_version(name: &str, path: &Path) -> Result<String, SourceError> {
    let version = version_from_name(name);
    validate_version(&version).map_err(|reason| SourceError::InvalidVersion {
        version: version.clone(),
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(version)
}

fn read_revision(path: &Path, name: String) -> Result<(Revision, bool), SourceError> {
    let version = checked_version(&name, path)?;
    let (mut has_any, mut has_up, mut has_down, mut has_metadata) = (false, false, false, false);
    let files = fs::read_dir(path).map_err(|source| SourceError::ReadDir {
        path: path.to_path_buf(),
        source,
    })?;
    for file in files {
        let file = file.map_err(|source| SourceError::ReadDir {
            path: path.to_path_buf(),
            source,
        })?;
        let file_name = file.file_name();
        has_any = true;
        match file_name.to_str() {
            Some("up.sql") => has_up = true,
            Some("down.sql") => has_down = true,
            Some("metadata.toml") => has_metadata = true,
            _ => {}
        }
    }
    if !has_any {
        return Err(SourceError::EmptyDir {
            path: path.to_path_buf(),
        });
    }
    if !has_up {
        return Err(SourceError::MissingUp {
            path: path.to_path_buf(),
        });
    }
    let metadata = if has_metadata {
        let metadata_path = path.join("metadata.toml");
        let bytes = fs::read(&metadata_path).map_err(|source| SourceError::ReadFile {
            path: metadata_path.clone(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
            path: metadata_path.clone(),
        })?;
        Some((text, metadata_path))
    } else {
        None
    };
    let (run_in_transaction, missing_key) = transaction_flag(
        metadata
            .as_ref()
            .map(|(text, path)| (text.as_str(), path.as_path())),
    )?;
    let revision = Revision {
        version,
        up: SqlSource::File(path.join("up.sql")),
        down: has_down.then(|| SqlSource::File(path.join("down.sql"))),
        name,
        run_in_transaction,
    };
    Ok((revision, missing_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_strips_dashes_up_to_first_underscore() {
        assert_eq!(
            version_from_name("2024-01-01-120000_create_users"),
            "20240101120000"
        );
        assert_eq!(version_from_name("20170318181441_x_y"), "20170318181441");
        assert_eq!(
            version_from_name("2024-01-01-120000-0000_x"),
            "202401011200000000"
        );
        assert_eq!(
            version_from_name("00000000000000_diesel_initial_setup"),
            "00000000000000"
        );
    }

    #[test]
    fn version_of_name_without_underscore_is_whole_name() {
        assert_eq!(version_from_name("2024-01-02"), "20240102");
    }

    #[test]
    fn versions_that_would_break_sql_are_rejected() {
        assert!(validate_version("20240101120000").is_ok());
        assert!(validate_version("v2").is_ok());
        for bad in ["", "2024'01", "2024\\1", "2024 1", "2024\n1", "2024;1"] {
            assert!(validate_version(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(validate_version(&"1".repeat(51)).is_err());
        assert!(validate_version(&"1".repeat(50)).is_ok());
    }

    #[test]
    fn metadata_key_present_absent_and_malformed() {
        assert_eq!(
            parse_metadata("run_in_transaction = false").ok(),
            Some(Some(false))
        );
        assert_eq!(
            parse_metadata("run_in_transaction = true").ok(),
            Some(Some(true))
        );
        assert_eq!(parse_metadata("").ok(), Some(None));
        assert_eq!(parse_metadata("other = 1").ok(), Some(None));
        assert!(parse_metadata("run_in_transaction = \"no\"").is_err());
        assert!(parse_metadata("run_in_transaction = ").is_err());
    }

    fn write(dir: &Path, rel: &str, text: &[u8]) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    #[test]
    fn discover_sorts_as_strings_and_ignores_dot_entries_and_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "2024-01-01-120000_b/up.sql", b"select 1;");
        write(tmp.path(), "20170318181441_a/up.sql", b"select 1;");
        write(tmp.path(), "20170318181441_a/down.sql", b"select 1;");
        write(tmp.path(), ".hidden/up.sql", b"select 1;");
        write(tmp.path(), "README.md", b"notes");
        let found = discover(tmp.path()).expect("discover");
        let names: Vec<_> = found.revisions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["20170318181441_a", "2024-01-01-120000_b"]);
        assert!(found.revisions[0].down.is_some());
        assert!(found.revisions[1].down.is_none());
        assert!(found.revisions.iter().all(|r| r.run_in_transaction));
    }

    #[test]
    fn metadata_without_key_means_no_transaction_and_is_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "1_a/up.sql", b"select 1;");
        write(tmp.path(), "1_a/metadata.toml", b"# nothing\n");
        write(tmp.path(), "2_b/up.sql", b"select 1;");
        write(
            tmp.path(),
            "2_b/metadata.toml",
            b"run_in_transaction = false\n",
        );
        write(tmp.path(), "3_c/up.sql", b"select 1;");
        write(
            tmp.path(),
            "3_c/metadata.toml",
            b"run_in_transaction = true\n",
        );
        let found = discover(tmp.path()).expect("discover");
        let flags: Vec<_> = found
            .revisions
            .iter()
            .map(|r| r.run_in_transaction)
            .collect();
        assert_eq!(flags, [false, false, true]);
        assert_eq!(found.metadata_without_key, ["1_a"]);
    }

    #[test]
    fn discover_rejects_bad_directories_naming_them() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("1_a/x.txt", b"", "has no up.sql"),
            ("2024'1_a/up.sql", b"select 1;", "invalid version"),
            ("1_a/metadata.toml", b"run_in_transaction = 3", "invalid"),
        ];
        for (rel, text, expected) in cases {
            let tmp = tempfile::tempdir().expect("tempdir");
            write(tmp.path(), rel, text);
            if rel.ends_with("metadata.toml") {
                write(tmp.path(), "1_a/up.sql", b"select 1;");
            }
            let err = discover(tmp.path()).expect_err(rel).to_string();
            assert!(err.contains(expected), "{rel}: {err}");
            let dir = rel.split('/').next().expect("dir");
            assert!(err.contains(dir), "{rel}: {err}");
        }
    }

    #[test]
    fn discover_rejects_empty_directory_and_duplicate_versions() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(tmp.path().join("1_empty")).expect("mkdir");
        let err = discover(tmp.path()).expect_err("empty").to_string();
        assert!(err.contains("1_empty") && err.contains("empty"), "{err}");

        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "2024-01-01_a/up.sql", b"select 1;");
        write(tmp.path(), "20240101_b/up.sql", b"select 1;");
        let err = discover(tmp.path()).expect_err("dup").to_string();
        assert!(
            err.contains("duplicate version `20240101`")
                && err.contains("2024-01-01_a")
                && err.contains("20240101_b"),
            "{err}"
        );
    }

    #[test]
    fn read_sql_rejects_non_utf8_empty_and_comment_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "1_a/up.sql", b"select '\xff';");
        write(tmp.path(), "2_b/up.sql", b"");
        write(
            tmp.path(),
            "3_c/up.sql",
            b"-- only a comment\n/* and this */",
        );
        write(tmp.path(), "4_d/up.sql", b"select 1");
        let found = discover(tmp.path()).expect("discover");
        let errors: Vec<String> = found
            .revisions
            .iter()
            .map(|r| match r.read_sql(SqlFile::Up) {
                Ok(_) => "ok".to_string(),
                Err(e) => e.to_string(),
            })
            .collect();
        assert!(errors[0].contains("1_a") && errors[0].contains("not valid UTF-8"));
        assert!(errors[1].contains("2_b") && errors[1].contains("no SQL statement"));
        assert!(errors[2].contains("3_c") && errors[2].contains("no SQL statement"));
        assert_eq!(errors[3], "ok");
        let err = found.revisions[3]
            .read_sql(SqlFile::Down)
            .expect_err("no down");
        assert_eq!(
            err.to_string(),
            "revision `4_d` has no down.sql, so it cannot be reverted"
        );
    }
}
