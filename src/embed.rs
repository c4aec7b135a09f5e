//! Revisions compiled into the binary, for applications that migrate at
//! startup without shipping a `migrations/` directory.
//!
//! ```no_run
//! static MIGRATIONS: dmig::embed::Dir<'static> =
//!     dmig::embed::include_dir!("$CARGO_MANIFEST_DIR/migrations");
//!
//! # fn main() -> Result<(), dmig::error::SourceError> {
//! let revisions = dmig::embed::revisions(&MIGRATIONS)?;
//! # Ok(())
//! # }
//! ```
//!
//! ### Warning
//! On stable Rust, cargo does not know the macro read those files: add a
//! `build.rs` with `println!("cargo:rerun-if-changed=migrations");` so a
//! changed revision is embedded again (diesel's `embed_migrations!` has the
//! same caveat).

use std::path::Path;

pub use include_dir::{include_dir, Dir};

use crate::error::SourceError;
use crate::plan::source::{check_unique, checked_version, transaction_flag};
use crate::plan::{Revision, SqlSource};

/// The revisions of an embedded `migrations/` directory, checked by the same
/// rules as [`crate::plan::discover`], in version order.
pub fn revisions(dir: &'static Dir<'static>) -> Result<Vec<Revision>, SourceError> {
    let mut revisions = Vec::new();
    for sub in dir.dirs() {
        let path = sub.path();
        let name =
            path.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| SourceError::NotUtf8 {
                    path: path.to_path_buf(),
                })?;
        if name.starts_with('.') {
            continue;
        }
        let text = |file: &str| -> Result<Option<&'static str>, SourceError> {
            match sub.get_file(path.join(file)) {
                None => Ok(None),
                Some(f) => f
                    .contents_utf8()
                    .map(Some)
                    .ok_or_else(|| SourceError::NotUtf8 {
                        path: f.path().to_path_buf(),
                    }),
            }
        };
        if sub.entries().is_empty() {
            return Err(SourceError::EmptyDir {
                path: path.to_path_buf(),
            });
        }
        let version = checked_version(name, path)?;
        let up = text("up.sql")?.ok_or_else(|| SourceError::MissingUp {
            path: path.to_path_buf(),
        })?;
        let metadata_path = path.join("metadata.toml");
        let metadata = text("metadata.toml")?;
        let (run_in_transaction, _) =
            transaction_flag(metadata.map(|m| (m, metadata_path.as_path())))?;
        revisions.push(Revision {
            version,
            name: name.to_string(),
            up: SqlSource::Embedded(up),
            down: text("down.sql")?.map(SqlSource::Embedded),
            run_in_transaction,
        });
    }
    revisions.sort_unstable_by(|a, b| a.version.cmp(&b.version).then(a.name.cmp(&b.name)));
    check_unique(&revisions, |r| Path::new(&r.name).to_path_buf())?;
    Ok(revisions)
}

#[cfg(test)]
mod tests {
    use super::*;

    static SAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/migrations");

    #[test]
    fn embedded_sample_matches_the_directory_on_disk() {
        let embedded = revisions(&SAMPLE).expect("embedded");
        let on_disk =
            crate::plan::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
                .expect("discover")
                .revisions;
        assert_eq!(embedded.len(), on_disk.len());
        for (e, d) in embedded.iter().zip(&on_disk) {
            assert_eq!(
                (&e.version, &e.name, e.run_in_transaction),
                (&d.version, &d.name, d.run_in_transaction)
            );
            assert_eq!(e.down.is_some(), d.down.is_some());
            let from_disk = d.read_sql(crate::plan::SqlFile::Up).expect("read");
            let embedded_sql = e.read_sql(crate::plan::SqlFile::Up).expect("read");
            assert_eq!(embedded_sql, from_disk);
        }
    }
}
