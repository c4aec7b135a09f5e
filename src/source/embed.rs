//! Revisions compiled into the binary, for applications that migrate at
//! startup without shipping a `migrations/` directory.
//!
//! [`embed_migrations!`](crate::embed_migrations) reads the directory at
//! compile time; [`revisions`] checks it by the same rules as
//! [`crate::source::discover`]. The application needs no dependency of its
//! own on `include_dir`:
//!
//! ```
//! static MIGRATIONS: dmig::embed::Dir<'static> =
//!     dmig::embed_migrations!("$CARGO_MANIFEST_DIR/migrations");
//!
//! # fn main() -> Result<(), dmig::error::SourceError> {
//! let revisions = dmig::embed::revisions(&MIGRATIONS)?;
//! assert_eq!(revisions[0].name, "2024-01-01-120000_create_users");
//! # Ok(())
//! # }
//! ```
//!
//! ### Warning
//! On stable Rust, cargo does not know the macro read those files: add a
//! `build.rs` with `println!("cargo:rerun-if-changed=migrations");` so a
//! changed revision is embedded again (diesel's `embed_migrations!` has the
//! same caveat).

use std::borrow::Cow;
use std::path::PathBuf;

pub use include_dir::{include_dir, Dir};

use super::{finish, revision, Discovery, Found};
use crate::error::SourceError;
use crate::model::{Revision, SqlSource};

/// What [`embed_migrations!`](crate::embed_migrations) expands against: the
/// `include_dir` crate, so that its macro's output (which names
/// `include_dir::Dir`) resolves in a crate that does not depend on it.
#[doc(hidden)]
pub use include_dir as __include_dir;

/// Embed a migrations directory: `dmig::embed_migrations!("$CARGO_MANIFEST_DIR/migrations")`
/// evaluates to a [`Dir`](crate::embed::Dir) for [`revisions`](crate::embed::revisions).
/// The path may use environment variables such as `$CARGO_MANIFEST_DIR`.
#[macro_export]
macro_rules! embed_migrations {
    // `tt`, not `literal`: a `literal` fragment reaches the proc macro
    // wrapped in an invisible group, which it refuses.
    ($($path:tt)+) => {{
        // The expansion names `include_dir::...`; bring the crate in under
        // that name so the caller needs no dependency of its own.
        use $crate::embed::__include_dir as include_dir;
        include_dir::include_dir!($($path)+)
    }};
}

/// The revisions of an embedded `migrations/` directory, checked by the same
/// rules as [`crate::source::discover`], in version order.
pub fn revisions(dir: &'static Dir<'static>) -> Result<Vec<Revision>, SourceError> {
    discover(dir).map(|discovery| discovery.revisions)
}

/// [`revisions`], with the warnings discovery found (see [`Discovery`]).
pub fn discover(dir: &'static Dir<'static>) -> Result<Discovery, SourceError> {
    let mut found = Vec::new();
    for sub in dir.dirs() {
        let path = sub.path();
        let name =
            path.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| SourceError::NotUtf8 {
                    path: path.to_path_buf(),
                })?;
        if !super::is_candidate(name) {
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
        let metadata =
            text("metadata.toml")?.map(|t| (Cow::Borrowed(t), path.join("metadata.toml")));
        found.push(revision(Found {
            name: name.to_owned(),
            path,
            has_entries: !sub.entries().is_empty(),
            up: text("up.sql")?.map(SqlSource::Embedded),
            down: text("down.sql")?.map(SqlSource::Embedded),
            metadata,
        })?);
    }
    finish(found, |r| PathBuf::from(&r.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SqlFile;
    use std::path::Path;

    static SAMPLE: Dir<'static> = crate::embed_migrations!("$CARGO_MANIFEST_DIR/migrations");

    #[test]
    fn embedded_sample_matches_the_directory_on_disk() {
        let embedded = discover(&SAMPLE).expect("embedded");
        let on_disk =
            crate::source::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
                .expect("discover");
        assert_eq!(embedded.revisions.len(), on_disk.revisions.len());
        assert_eq!(embedded.metadata_without_key, on_disk.metadata_without_key);
        for (e, d) in embedded.revisions.iter().zip(&on_disk.revisions) {
            assert_eq!(
                (&e.version, &e.name, e.run_in_transaction),
                (&d.version, &d.name, d.run_in_transaction)
            );
            assert_eq!(e.down.is_some(), d.down.is_some());
            let from_disk = d.read_sql(SqlFile::Up).expect("read");
            let embedded_sql = e.read_sql(SqlFile::Up).expect("read");
            assert_eq!(embedded_sql, from_disk);
        }
    }
}
