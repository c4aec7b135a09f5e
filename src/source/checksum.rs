//! The checksums dmig records beside Diesel's version row: SHA-256 of
//! `up.sql` and `down.sql`, over the bytes that run.
//!
//! The hash is taken over the file's bytes as they are, with one exception:
//! a leading UTF-8 byte order mark is left out, as dmig leaves it out of
//! what it sends (see [`crate::source::SqlText`]). Adding or removing an
//! invisible mark is then no change, while every other byte counts (line
//! endings too: inside a string literal they are data). For a file without
//! a mark the checksum is what `sha256sum up.sql` prints.
//!
//! Hashing needs no valid SQL: `down.sql` is hashed when a revision is
//! applied, and a template `down.sql` that `downgrade` would refuse is fine.

use std::fs;

use sha2::{Digest, Sha256};

use crate::error::SourceError;
use crate::model::{Checksums, Revision, SqlFile, SqlSource};

/// UTF-8's byte order mark.
const BYTE_ORDER_MARK: &[u8] = b"\xef\xbb\xbf";

/// Lowercase hex SHA-256 of `bytes`, a leading byte order mark left out.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

impl Revision {
    /// The checksum of `file`; `None` when the revision has no such file.
    pub fn checksum(&self, file: SqlFile) -> Result<Option<String>, SourceError> {
        match self.source(file) {
            None => Ok(None),
            Some(SqlSource::Embedded(text)) => Ok(Some(sha256_hex(text.as_bytes()))),
            Some(SqlSource::File(path)) => fs::read(path)
                .map(|bytes| Some(sha256_hex(&bytes)))
                .map_err(|source| SourceError::ReadFile {
                    path: path.clone(),
                    source,
                }),
        }
    }

    /// Both files' checksums. `up`, when given, is `up.sql`'s text as
    /// [`Revision::read_sql`] returned it (its mark already left out), which
    /// saves reading the file again.
    pub fn checksums(&self, up: Option<&str>) -> Result<Checksums, SourceError> {
        let up = match up {
            Some(text) => sha256_hex(text.as_bytes()),
            None => self.checksum(SqlFile::Up)?.unwrap_or_default(),
        };
        Ok(Checksums {
            up,
            down: self.checksum(SqlFile::Down)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Version;

    #[test]
    fn checksums_are_sha256_of_the_bytes_without_a_byte_order_mark() {
        // sha256sum of an empty input and of "abc".
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), abc);
        assert_eq!(sha256_hex(b"\xef\xbb\xbfabc"), abc);
        assert_ne!(sha256_hex(b"abc\r\n"), sha256_hex(b"abc\n"));
    }

    #[test]
    fn up_text_already_read_hashes_as_the_file() {
        let revision = Revision {
            version: Version::from_dir_name("1_a"),
            name: "1_a".into(),
            up: SqlSource::Embedded("\u{feff}select 1;"),
            down: None,
            run_in_transaction: true,
        };
        let read = revision.read_sql(SqlFile::Up).expect("reads");
        let from_text = revision.checksums(Some(&read)).expect("hash");
        let from_file = revision.checksums(None).expect("hash");
        assert_eq!(from_text, from_file);
        assert_eq!(from_file.down, None);
    }
}
