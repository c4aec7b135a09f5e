//! Revisions from a `migrations/` directory on disk.

use std::borrow::Cow;
use std::fs;
use std::path::Path;

use super::{finish, revision, Discovery, Found};
use crate::error::SourceError;
use crate::model::SqlSource;

/// List the revisions in `dir`, in version order.
pub fn discover(dir: &Path) -> Result<Discovery, SourceError> {
    let entries = fs::read_dir(dir).map_err(|source| SourceError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
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
        if !super::is_candidate(&name) {
            continue;
        }
        let is_dir = match entry.file_type() {
            Ok(kind) if !kind.is_symlink() => kind.is_dir(),
            // A link that points nowhere (or cannot be followed) may hide a
            // revision: Diesel skips it silently, dmig names it.
            _ => target_is_dir(&path)?,
        };
        if !is_dir {
            continue;
        }
        found.push((path, name));
    }
    // Each revision's directory read on its own (on several threads for
    // many revisions, see `crate::parallel`).
    let found = crate::parallel::try_map_in_order(&mut found, |(path, name)| {
        read_revision(path, std::mem::take(name))
    })?;
    finish(found, |r| match &r.up {
        SqlSource::File(path) => path.parent().unwrap_or(path).to_path_buf(),
        SqlSource::Embedded(_) => dir.join(&r.name),
    })
}

/// Whether the entry at `path`, followed if it is a symbolic link, is a
/// directory; an error naming it when it cannot be told.
fn target_is_dir(path: &Path) -> Result<bool, SourceError> {
    match fs::metadata(path) {
        Ok(metadata) => Ok(metadata.is_dir()),
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => match fs::read_link(path) {
            Ok(target) => Err(SourceError::DanglingLink {
                path: path.to_path_buf(),
                target,
            }),
            Err(_) => Err(SourceError::ReadEntry {
                path: path.to_path_buf(),
                source,
            }),
        },
        Err(source) => Err(SourceError::ReadEntry {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn read_revision(path: &Path, name: String) -> Result<(crate::model::Revision, bool), SourceError> {
    let (mut has_entries, mut has_up, mut has_down, mut has_metadata) =
        (false, false, false, false);
    let files = fs::read_dir(path).map_err(|source| SourceError::ReadDir {
        path: path.to_path_buf(),
        source,
    })?;
    for file in files {
        let file = file.map_err(|source| SourceError::ReadDir {
            path: path.to_path_buf(),
            source,
        })?;
        has_entries = true;
        match file.file_name().to_str() {
            Some("up.sql") => has_up = true,
            Some("down.sql") => has_down = true,
            Some("metadata.toml") => has_metadata = true,
            _ => {}
        }
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
        Some((Cow::Owned(text), metadata_path))
    } else {
        None
    };
    revision(Found {
        name,
        path,
        has_entries,
        up: has_up.then(|| SqlSource::File(path.join("up.sql"))),
        down: has_down.then(|| SqlSource::File(path.join("down.sql"))),
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SqlFile;

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
    fn dangling_symlinks_are_errors_naming_them_and_dot_entries_stay_ignored() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "1_a/up.sql", b"select 1;");
        std::os::unix::fs::symlink("1_a", tmp.path().join("2_b")).expect("symlink");
        std::os::unix::fs::symlink("nowhere", tmp.path().join(".hidden")).expect("symlink");
        let found = discover(tmp.path()).expect("a link to a revision is a revision");
        assert_eq!(found.revisions.len(), 2);

        std::os::unix::fs::symlink("../gone/3_c", tmp.path().join("3_c")).expect("symlink");
        let err = discover(tmp.path()).expect_err("dangling").to_string();
        assert!(
            err.ends_with("3_c` is a symbolic link to `../gone/3_c`, which does not exist"),
            "{err}"
        );
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
    fn read_sql_leaves_out_a_byte_order_mark_and_refuses_a_nul_byte() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "1_a/up.sql", "\u{feff}select 1;".as_bytes());
        write(tmp.path(), "2_b/up.sql", b"select 1;\nselect '\0';");
        write(tmp.path(), "3_c/up.sql", b"select 1;");
        let found = discover(tmp.path()).expect("discover");
        let bom = found.revisions[0].read_sql_text(SqlFile::Up).expect("read");
        assert_eq!(
            (bom.text.as_ref(), bom.byte_order_mark),
            ("select 1;", true)
        );
        let err = found.revisions[1].read_sql(SqlFile::Up).expect_err("nul");
        assert!(err.to_string().ends_with("2_b/up.sql:2:9: NUL byte: PostgreSQL cannot take one in SQL text (is the file binary, or UTF-16?)"), "{err}");
        let plain = found.revisions[2].read_sql_text(SqlFile::Up).expect("read");
        assert!(!plain.byte_order_mark);
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
