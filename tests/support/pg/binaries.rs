//! Finding the PostgreSQL binaries and their major versions: the server's
//! (`initdb`, `pg_ctl`, `postgres`, which start every cluster the tests
//! start) and the clients' (`psql`, `pg_dump`).

use std::cmp::Reverse;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const INSTALL_HINT: &str = "install them with `apt-get install postgresql`, \
    or set DMIG_TEST_DATABASE_URL to the admin URL of a running server";

/// A directory with `initdb`, `pg_ctl` and `postgres` of one release.
pub(super) struct ServerBinaries {
    pub(super) dir: PathBuf,
    pub(super) major: u32,
}

/// The newest release whose `initdb`, `pg_ctl` and `postgres` sit together.
/// Symlinks (such as `/usr/local/bin/initdb`) are followed to the real
/// directory, because `pg_ctl` looks for `postgres` beside itself.
pub(super) fn server_binaries() -> Result<ServerBinaries, String> {
    let mut best: Option<ServerBinaries> = None;
    let mut seen = Vec::new();
    for dir in versioned_dirs().into_iter().chain(path_dirs()) {
        let Ok(initdb) = fs::canonicalize(dir.join("initdb")) else {
            continue;
        };
        let Some(dir) = initdb.parent().map(Path::to_path_buf) else {
            continue;
        };
        if seen.contains(&dir) {
            continue;
        }
        seen.push(dir.clone());
        if !["pg_ctl", "postgres"]
            .iter()
            .all(|name| is_executable(&dir.join(name)))
        {
            continue;
        }
        let Some(major) = major_version(&initdb) else {
            continue;
        };
        if best.as_ref().is_none_or(|best| major > best.major) {
            best = Some(ServerBinaries { dir, major });
        }
    }
    best.ok_or_else(|| {
        format!(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH \
             or under /usr/lib/postgresql/*/bin; {INSTALL_HINT}"
        )
    })
}

/// Finds client binary `name`: the one of `server_major`, else the closest
/// newer, else the newest. Paths are kept as found, not canonicalized:
/// Debian's `/usr/bin/psql` is a link to `pg_wrapper`, which dispatches on
/// the name it was called by.
pub(super) fn find_client(name: &str, server_major: Option<u32>) -> Result<PathBuf, String> {
    let mut seen = Vec::new();
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    for dir in versioned_dirs().into_iter().chain(path_dirs()) {
        let path = dir.join(name);
        if !is_executable(&path) {
            continue;
        }
        let real = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        if let Some(major) = major_version(&path) {
            found.push((major, path));
        }
    }
    // `min_by_key` keeps the first of equals, so a versioned dir beats a
    // PATH entry of the same release.
    let newest = || found.iter().min_by_key(|(major, _)| Reverse(*major));
    let pick = match server_major {
        Some(server) => found
            .iter()
            .find(|(major, _)| *major == server)
            .or_else(|| {
                found
                    .iter()
                    .filter(|(major, _)| *major > server)
                    .min_by_key(|(major, _)| *major)
            })
            .or_else(newest),
        None => newest(),
    };
    pick.map(|(_, path)| path.clone()).ok_or_else(|| {
        format!(
            "no PostgreSQL `{name}` found on PATH or under /usr/lib/postgresql/*/bin; \
             {INSTALL_HINT}"
        )
    })
}

/// `bin` dirs of installed releases, newest first: Debian's
/// `/usr/lib/postgresql/<ver>/bin` and PGDG RPM's `/usr/pgsql-<ver>/bin`.
fn versioned_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(Vec<u32>, PathBuf)> = Vec::new();
    let roots: [(&str, &str, &str); 2] = [
        ("/usr/lib/postgresql", "", "bin"),
        ("/usr", "pgsql-", "bin"),
    ];
    for (root, prefix, bin) in roots {
        let Ok(entries) = fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(version) = name.strip_prefix(prefix) else {
                continue;
            };
            let Ok(version) = version
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
            else {
                continue;
            };
            dirs.push((version, entry.path().join(bin)));
        }
    }
    dirs.sort_by(|a, b| b.0.cmp(&a.0));
    dirs.into_iter().map(|(_, dir)| dir).collect()
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// `name` on PATH or in the sbin dirs, which a non-login root PATH may lack.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    path_dirs()
        .into_iter()
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The major version from `<bin> --version`, e.g. 15 from
/// `psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` or 17 from `17devel`.
fn major_version(bin: &Path) -> Option<u32> {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let token = text
        .split_whitespace()
        .find(|token| token.starts_with(|c: char| c.is_ascii_digit()))?;
    let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
