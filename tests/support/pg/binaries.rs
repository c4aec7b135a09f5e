//! Finding the PostgreSQL binaries and their major versions: the server's
//! (`initdb`, `pg_ctl`, `postgres`, which start every cluster the tests
//! start) and the clients' (`psql`, `pg_dump`).
//!
//! `DMIG_TEST_PG_BIN` and `DMIG_TEST_PG_CLIENT_BIN` name directories
//! explicitly, so the suite can run against another major than the one the
//! distribution installs; a named directory that lacks a binary, or whose
//! binary cannot run, is an error that says so, never a silent fallback.

use std::cmp::Reverse;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::client::stderr;
use super::daemon::{is_root, unprivileged_prefix};

/// The directory of the server binaries to use instead of the newest installed.
pub(super) const PG_BIN_ENV: &str = "DMIG_TEST_PG_BIN";
/// The directory of the client binaries to use whatever the server's major.
pub(super) const PG_CLIENT_BIN_ENV: &str = "DMIG_TEST_PG_CLIENT_BIN";
const INSTALL_HINT: &str = "install them with `apt-get install postgresql`, \
    set DMIG_TEST_PG_BIN (server) or DMIG_TEST_PG_CLIENT_BIN (client) to a directory \
    that has them, or set DMIG_TEST_DATABASE_URL to the admin URL of a running server";

/// A directory with `initdb`, `pg_ctl` and `postgres` of one release.
pub(super) struct ServerBinaries {
    pub(super) dir: PathBuf,
    pub(super) major: u32,
    /// As `postgres --version` gives it, e.g. `18.4` or `15.20`.
    pub(super) version: String,
}

/// The server binaries every cluster of this process is started with:
/// `DMIG_TEST_PG_BIN`'s, else the newest release installed. Looked up once,
/// so the shared, TLS and private clusters cannot differ.
pub(super) fn server_binaries() -> Result<&'static ServerBinaries, String> {
    static FOUND: OnceLock<Result<ServerBinaries, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| match env_dir(PG_BIN_ENV) {
            Some(dir) => configured_server_binaries(&dir),
            None => installed_server_binaries(),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The directory of the server binaries the tests start clusters with.
pub fn server_binaries_dir() -> PathBuf {
    server_binaries()
        .unwrap_or_else(|message| panic!("{message}"))
        .dir
        .clone()
}

/// The major version of the server binaries the tests start clusters with.
pub fn server_binaries_major() -> u32 {
    server_binaries()
        .unwrap_or_else(|message| panic!("{message}"))
        .major
}

/// A directory named by `var`, if it is set and not empty.
fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// `DMIG_TEST_PG_BIN`: all three binaries must be there, run, and be of one
/// major; as root, `nobody` (who runs the servers) must be able to run them.
fn configured_server_binaries(dir: &Path) -> Result<ServerBinaries, String> {
    const NAMES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
    let missing: Vec<&str> = NAMES
        .into_iter()
        .filter(|name| !is_executable(&dir.join(name)))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{PG_BIN_ENV}=`{}` has no executable {}: it must be the bin directory of one \
             PostgreSQL release, with initdb, pg_ctl and postgres",
            dir.display(),
            missing
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut versions = Vec::new();
    for name in NAMES {
        let path = dir.join(name);
        let version = run_version(Command::new(&path), &path)
            .map_err(|message| format!("{PG_BIN_ENV}=`{}`: {message}", dir.display()))?;
        versions.push((name, version));
    }
    let (_, version) = versions[2].clone();
    let major = major_of(&version)
        .ok_or_else(|| format!("cannot read a major version from postgres `{version}`"))?;
    if let Some((name, other)) = versions
        .iter()
        .find(|(_, other)| major_of(other) != Some(major))
    {
        return Err(format!(
            "{PG_BIN_ENV}=`{}` mixes releases: postgres is {version}, {name} is {other}",
            dir.display()
        ));
    }
    if is_root() {
        // The servers run as `nobody`; a dir under /root (mode 0700) would
        // otherwise fail later inside initdb with a puzzling message.
        let postgres = dir.join("postgres");
        let prefix = unprivileged_prefix();
        let mut as_nobody = Command::new(&prefix[0]);
        as_nobody.args(&prefix[1..]).arg(&postgres).current_dir("/");
        run_version(as_nobody, &postgres).map_err(|message| {
            format!(
                "as root the test servers run as `nobody`, who cannot run `{}` ({message}); \
                 put {PG_BIN_ENV} in a directory every user can read, not under /root",
                postgres.display()
            )
        })?;
    }
    Ok(ServerBinaries {
        dir: dir.to_path_buf(),
        major,
        version,
    })
}

/// The newest release whose `initdb`, `pg_ctl` and `postgres` sit together.
/// Symlinks (such as `/usr/local/bin/initdb`) are followed to the real
/// directory, because `pg_ctl` looks for `postgres` beside itself.
fn installed_server_binaries() -> Result<ServerBinaries, String> {
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
        let Some(version) = version(&initdb) else {
            continue;
        };
        let Some(major) = major_of(&version) else {
            continue;
        };
        if best.as_ref().is_none_or(|best| major > best.major) {
            best = Some(ServerBinaries {
                dir,
                major,
                version,
            });
        }
    }
    best.ok_or_else(|| {
        format!(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH \
             or under /usr/lib/postgresql/*/bin; {INSTALL_HINT}"
        )
    })
}

/// Finds client binary `name`: `DMIG_TEST_PG_CLIENT_BIN`'s, else
/// `DMIG_TEST_PG_BIN`'s when it has one, else an installed one: that of
/// `server_major`, else the closest newer, else (not for `pg_dump`, which
/// refuses newer servers) the newest with a warning; the newest when the
/// server's major is not known yet. Paths are kept as found, not
/// canonicalized: Debian's `/usr/bin/psql` is a link to `pg_wrapper`, which
/// dispatches on the name it was called by.
pub(super) fn find_client(name: &str, server_major: Option<u32>) -> Result<PathBuf, String> {
    if let Some(dir) = env_dir(PG_CLIENT_BIN_ENV) {
        let path = dir.join(name);
        if !is_executable(&path) {
            return Err(format!(
                "{PG_CLIENT_BIN_ENV}=`{}` has no executable `{name}`",
                dir.display()
            ));
        }
        run_version(Command::new(&path), &path)?;
        return Ok(path);
    }
    if let Some(dir) = env_dir(PG_BIN_ENV) {
        let path = dir.join(name);
        if is_executable(&path) {
            run_version(Command::new(&path), &path)?;
            return Ok(path);
        }
    }
    let found = installed_clients(name);
    // `min_by_key` keeps the first of equals, so a versioned dir beats a
    // PATH entry of the same release.
    let newest = found.iter().min_by_key(|(major, _)| Reverse(*major));
    let Some(server) = server_major else {
        return newest.map(|(_, path)| path.clone()).ok_or_else(|| {
            format!(
                "no PostgreSQL `{name}` found on PATH or under /usr/lib/postgresql/*/bin; \
                 {INSTALL_HINT}"
            )
        });
    };
    let same_or_newer = found
        .iter()
        .find(|(major, _)| *major == server)
        .or_else(|| {
            found
                .iter()
                .filter(|(major, _)| *major > server)
                .min_by_key(|(major, _)| *major)
        });
    if let Some((_, path)) = same_or_newer {
        return Ok(path.clone());
    }
    let older: Vec<String> = found
        .iter()
        .map(|(major, path)| format!("{} ({major})", path.display()))
        .collect();
    match newest {
        Some((major, path)) if name != "pg_dump" => {
            eprintln!(
                "dmig tests: no `{name}` of PostgreSQL {server} or newer; using {} of \
                 PostgreSQL {major} (set {PG_CLIENT_BIN_ENV} to a newer client's bin dir)",
                path.display()
            );
            Ok(path.clone())
        }
        _ => Err(format!(
            "no PostgreSQL `{name}` of major {server} or newer found on PATH or under \
             /usr/lib/postgresql/*/bin (found: {}; pg_dump refuses servers newer than \
             itself); install the client of PostgreSQL {server}, or set \
             {PG_CLIENT_BIN_ENV} to the bin dir of one",
            if older.is_empty() {
                "none".to_owned()
            } else {
                older.join(", ")
            }
        )),
    }
}

/// Every installed `name` with its major, versioned dirs (newest first)
/// before `PATH`, each real file once.
fn installed_clients(name: &str) -> Vec<(u32, PathBuf)> {
    let mut seen = Vec::new();
    let mut found = Vec::new();
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
        if let Some(major) = version(&path).as_deref().and_then(major_of) {
            found.push((major, path));
        }
    }
    found
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

/// The version from `<bin> --version`, e.g. `15.20` from
/// `psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` or `17devel`.
fn version(bin: &Path) -> Option<String> {
    run_version(Command::new(bin), bin).ok()
}

/// Runs `command` (`bin`, perhaps behind `runuser`) with `--version`; the
/// error says why it failed, such as a shared library the loader misses.
fn run_version(mut command: Command, bin: &Path) -> Result<String, String> {
    let out = command
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `{}`: {error}", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let token = text
        .split_whitespace()
        .find(|token| token.starts_with(|c: char| c.is_ascii_digit()));
    match token {
        Some(token) if out.status.success() => Ok(token.to_owned()),
        _ => Err(format!(
            "`{} --version` failed ({}): {}",
            bin.display(),
            out.status,
            stderr(&out)
        )),
    }
}

/// 15 from `15.20`, 17 from `17devel`.
fn major_of(version: &str) -> Option<u32> {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
