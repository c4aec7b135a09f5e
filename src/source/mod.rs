//! Revisions from Diesel's directory layout,
//! `migrations/<version>_<name>/{up.sql,down.sql,metadata.toml}`, read exactly
//! as Diesel reads it, plus the checks Diesel skips (duplicate versions, empty
//! directories, versions that would break SQL, non-UTF-8 files).
//!
//! Two readers feed the same rules: [`dir`] (a directory on disk) and
//! [`embed`] (a directory compiled into the binary). Each gathers what it
//! found per revision into a [`Found`] and hands it to [`revision`]; the set
//! is finished by [`finish`]. So both agree on what a revision is, and both
//! report the same warnings.
//!
//! Discovery only lists directories and reads `metadata.toml`; SQL files are
//! read later, and only for the revisions a plan needs, so `history` over
//! 10,000 revisions stays cheap and a bad file outside the range is no error.

pub mod checksum;
pub mod dir;
pub mod embed;

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

pub use dir::discover;

use crate::error::SourceError;
use crate::model::{Revision, SqlFile, SqlSource, Version};

/// Diesel's bookkeeping column is `VARCHAR(50)`.
const MAX_VERSION_LEN: usize = 50;

/// What discovery found: revisions in version order, plus things worth a warning.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Sorted by version as strings (Diesel's order).
    pub revisions: Vec<Revision>,
    /// Revisions whose `metadata.toml` lacks `run_in_transaction`: Diesel then runs
    /// them outside a transaction, which is rarely what the author meant.
    pub metadata_without_key: Vec<String>,
}

impl Discovery {
    /// The warning to show for [`Discovery::metadata_without_key`], if any.
    pub fn metadata_warning(&self) -> Option<String> {
        if self.metadata_without_key.is_empty() {
            return None;
        }
        let names: Vec<Cow<'_, str>> = self
            .metadata_without_key
            .iter()
            .map(|name| crate::model::printable(name))
            .collect();
        Some(format!(
            "metadata.toml without `run_in_transaction` in {}: Diesel (and so dmig) runs these outside a transaction; write `run_in_transaction = false` (or true) to say what you mean",
            names.join(", ")
        ))
    }
}

/// Whether a directory entry named `name` can be a revision: Diesel skips
/// dot-entries (`.git`, `.keep`).
pub fn is_candidate(name: &str) -> bool {
    !name.starts_with('.')
}

/// Versions end up inside SQL string literals and comments of rendered scripts,
/// so only characters that cannot break either are allowed.
pub fn validate_version(version: &Version) -> Result<(), &'static str> {
    let text = version.as_str();
    if text.is_empty() {
        return Err("it is empty");
    }
    if text.len() > MAX_VERSION_LEN {
        return Err("it is longer than 50 characters, the width of Diesel's version column");
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
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

/// What a reader found in one revision directory.
pub(crate) struct Found<'a> {
    /// The directory name.
    pub name: String,
    /// The directory, for messages.
    pub path: &'a Path,
    /// Whether it holds any entry at all.
    pub has_entries: bool,
    /// `up.sql`, when present.
    pub up: Option<SqlSource>,
    /// `down.sql`, when present.
    pub down: Option<SqlSource>,
    /// `metadata.toml`'s text and path, when present.
    pub metadata: Option<(Cow<'a, str>, PathBuf)>,
}

/// Apply Diesel's rules to one directory: the version, `up.sql` required,
/// `metadata.toml`'s flag. Returns the revision and whether its
/// `metadata.toml` lacked the key (Diesel's quirk: that means no transaction).
pub(crate) fn revision(found: Found<'_>) -> Result<(Revision, bool), SourceError> {
    let version = Version::from_dir_name(&found.name);
    validate_version(&version).map_err(|reason| SourceError::InvalidVersion {
        version: version.as_str().to_owned(),
        path: found.path.to_path_buf(),
        reason,
    })?;
    if !found.has_entries {
        return Err(SourceError::EmptyDir {
            path: found.path.to_path_buf(),
        });
    }
    let up = found.up.ok_or_else(|| SourceError::MissingUp {
        path: found.path.to_path_buf(),
    })?;
    let (run_in_transaction, missing_key) = match &found.metadata {
        None => (true, false),
        Some((text, path)) => match parse_metadata(text) {
            Ok(None) => (false, true),
            Ok(Some(flag)) => (flag, false),
            Err(source) => {
                return Err(SourceError::Metadata {
                    path: path.clone(),
                    source: Box::new(source),
                })
            }
        },
    };
    let revision = Revision {
        version,
        name: found.name,
        up,
        down: found.down,
        run_in_transaction,
    };
    Ok((revision, missing_key))
}

/// Sort what a reader found into Diesel's order and reject two revisions with
/// one version; `location` names a revision's directory in the message.
pub(crate) fn finish(
    mut found: Vec<(Revision, bool)>,
    location: impl Fn(&Revision) -> PathBuf,
) -> Result<Discovery, SourceError> {
    found.sort_unstable_by(|(a, _), (b, _)| a.version.cmp(&b.version).then(a.name.cmp(&b.name)));
    for pair in found.windows(2) {
        let (first, second) = (&pair[0].0, &pair[1].0);
        if first.version == second.version {
            return Err(SourceError::DuplicateVersion {
                version: first.version.as_str().to_owned(),
                first: location(first),
                second: location(second),
            });
        }
    }
    let mut discovery = Discovery::default();
    for (revision, missing_key) in found {
        if missing_key {
            discovery.metadata_without_key.push(revision.name.clone());
        }
        discovery.revisions.push(revision);
    }
    Ok(discovery)
}

/// A SQL file as read and checked by [`Revision::read_sql_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlText {
    /// The text, without a leading byte order mark.
    pub text: Cow<'static, str>,
    /// The file started with a UTF-8 byte order mark, which was left out:
    /// neither psql nor the server skips one, and the first statement would
    /// fail with the mark invisible in the message.
    pub byte_order_mark: bool,
}

impl Revision {
    /// Whether the revision can be reverted: it has a `down.sql` that holds
    /// a statement (the template `dmig revision` writes holds none, and
    /// `downgrade` refuses it).
    pub fn has_usable_down(&self) -> bool {
        self.down.is_some() && self.read_sql(SqlFile::Down).is_ok()
    }

    /// Read `up.sql` or `down.sql`, checked: UTF-8, no NUL byte, lexable, and
    /// holding at least one statement (Diesel's two code paths disagree on
    /// comment-only files; dmig refuses them in both modes). A leading byte
    /// order mark is left out (see [`Revision::read_sql_text`] to know).
    pub fn read_sql(&self, file: SqlFile) -> Result<Cow<'static, str>, SourceError> {
        self.read_sql_text(file).map(|sql| sql.text)
    }

    /// [`Revision::read_sql`], saying whether a byte order mark was left out.
    pub fn read_sql_text(&self, file: SqlFile) -> Result<SqlText, SourceError> {
        let source = self.source(file).ok_or_else(|| SourceError::MissingDown {
            name: self.name.clone(),
        })?;
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
        let (text, byte_order_mark) = match text {
            Cow::Borrowed(text) => match text.strip_prefix(BYTE_ORDER_MARK) {
                Some(rest) => (Cow::Borrowed(rest), true),
                None => (Cow::Borrowed(text), false),
            },
            Cow::Owned(mut text) if text.starts_with(BYTE_ORDER_MARK) => {
                text.drain(..BYTE_ORDER_MARK.len_utf8());
                (Cow::Owned(text), true)
            }
            owned => (owned, false),
        };
        if let Some(at) = text.find('\0') {
            let (line, column) = crate::sql::line_col(&text, at, 1);
            return Err(SourceError::NulByte {
                path: self.display_path(file),
                line,
                column,
            });
        }
        let tail = match crate::sql::tail(&text) {
            Ok(tail) => tail,
            Err(source) => {
                // The data lines of a `COPY ... FROM STDIN` are no SQL and
                // often do not lex: name the COPY, not the stray quote.
                for statement in crate::sql::split_prefix(&text) {
                    let facts = crate::sql::check::facts(statement.text);
                    check_statement(&self.display_path(file), &text, &statement, &facts)?;
                }
                return Err(SourceError::Lex {
                    path: self.display_path(file),
                    source,
                });
            }
        };
        if tail.is_empty {
            return Err(SourceError::EmptySql {
                path: self.display_path(file),
            });
        }
        Ok(SqlText {
            text,
            byte_order_mark,
        })
    }
}

/// U+FEFF at the start of a file: a UTF-8 byte order mark.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// Refuse a statement of `file` (at `path`) that cannot run the same way in
/// both modes: `COPY` with the client as one end, a psql meta-command.
/// `facts` are the statement's ([`crate::sql::check::facts`]).
pub(crate) fn check_statement(
    path: &Path,
    file: &str,
    statement: &crate::sql::Statement<'_>,
    facts: &crate::sql::check::Facts,
) -> Result<(), SourceError> {
    if let Some(copy) = facts.client_copy {
        let (line, column) = crate::sql::line_col(file, statement.offset, 1);
        return Err(SourceError::ClientCopy {
            path: path.to_path_buf(),
            line,
            column,
            copy,
        });
    }
    if let Some(at) = facts.meta_command {
        let (line, column) = crate::sql::line_col(file, statement.offset + at, 1);
        let command: String = statement.text[at..]
            .chars()
            .enumerate()
            .take_while(|(i, c)| *i == 0 || !(c.is_whitespace() || *c == '\\'))
            .map(|(_, c)| c)
            .take(24)
            .collect();
        return Err(SourceError::MetaCommand {
            path: path.to_path_buf(),
            line,
            column,
            command: crate::model::printable(&command).into_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_that_would_break_sql_are_rejected() {
        let check = |text: &str| validate_version(&Version::from_row(text.to_owned()));
        assert!(check("20240101120000").is_ok());
        assert!(check("v2").is_ok());
        for bad in ["", "2024'01", "2024\\1", "2024 1", "2024\n1", "2024;1"] {
            assert!(check(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(check(&"1".repeat(51)).is_err());
        assert!(check(&"1".repeat(50)).is_ok());
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

    #[test]
    fn the_metadata_warning_names_the_revisions() {
        let discovery = Discovery {
            revisions: Vec::new(),
            metadata_without_key: vec!["1_a".to_owned(), "2_b\n".to_owned()],
        };
        let warning = discovery.metadata_warning().expect("a warning");
        assert!(warning.starts_with("metadata.toml without `run_in_transaction` in 1_a, 2_b?:"));
        assert!(Discovery::default().metadata_warning().is_none());
    }
}
