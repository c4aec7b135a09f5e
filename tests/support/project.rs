//! A throwaway project directory for CLI tests:
//! `project("name").migration("1_a", "up", Some("down")).build()`.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The versions of the repository's bundled `migrations/`, oldest first.
pub const SAMPLE_VERSIONS: [&str; 5] = [
    "20240101120000",
    "20240102090000",
    "20240103100000",
    "20240104080000",
    "20240105000000",
];

/// libpq's environment variables, which dmig reads as libpq does: a
/// developer's `PGHOST` or `PGSSLMODE` must not steer the tests.
pub const PG_VARS: [&str; 41] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGSSLMODE",
    "PGREQUIRESSL",
    "PGSSLNEGOTIATION",
    "PGSSLCOMPRESSION",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLCERTMODE",
    "PGSSLROOTCERT",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLSNI",
    "PGREQUIREPEER",
    "PGREQUIREAUTH",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGMINPROTOCOLVERSION",
    "PGMAXPROTOCOLVERSION",
    "PGGSSENCMODE",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGGSSDELEGATION",
    "PGCONNECT_TIMEOUT",
    "PGCLIENTENCODING",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
    "PGCHANNELBINDING",
    "PGDATESTYLE",
    "PGTZ",
    "PGGEQO",
    "PGSYSCONFDIR",
];

/// A project on disk, removed on drop.
pub struct Project {
    dir: tempfile::TempDir,
}

/// Builds a [`Project`].
pub struct ProjectBuilder {
    files: Vec<(PathBuf, Vec<u8>)>,
    dirs: Vec<PathBuf>,
    links: Vec<(PathBuf, PathBuf)>,
}

/// Start a project; `name` only helps reading failures.
pub fn project(_name: &str) -> ProjectBuilder {
    ProjectBuilder {
        files: Vec::new(),
        dirs: vec![PathBuf::from("migrations")],
        links: Vec::new(),
    }
}

impl ProjectBuilder {
    /// A file at `path` (relative to the project root).
    pub fn file(mut self, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Self {
        self.files
            .push((path.as_ref().to_path_buf(), contents.as_ref().to_vec()));
        self
    }

    /// An (empty) directory.
    pub fn folder(mut self, path: impl AsRef<Path>) -> Self {
        self.dirs.push(path.as_ref().to_path_buf());
        self
    }

    /// A symbolic link at `path` (relative to the project root) to `target`
    /// (as given: relative links resolve from the link's directory).
    pub fn symlink(mut self, path: impl AsRef<Path>, target: impl AsRef<Path>) -> Self {
        self.links
            .push((path.as_ref().to_path_buf(), target.as_ref().to_path_buf()));
        self
    }

    /// A revision `migrations/<name>/` with up.sql and optional down.sql.
    pub fn migration(self, name: &str, up: &str, down: Option<&str>) -> Self {
        let with_up = self.file(format!("migrations/{name}/up.sql"), up);
        match down {
            Some(down) => with_up.file(format!("migrations/{name}/down.sql"), down),
            None => with_up,
        }
    }

    /// A revision that runs outside a transaction.
    pub fn migration_no_tx(self, name: &str, up: &str, down: Option<&str>) -> Self {
        self.migration(name, up, down).file(
            format!("migrations/{name}/metadata.toml"),
            "run_in_transaction = false\n",
        )
    }

    /// A copy of the repository's bundled `migrations/`.
    pub fn sample(mut self) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for entry in walk(&root) {
            let rel = entry.strip_prefix(&root).expect("below root");
            let contents = fs::read(&entry).expect("read sample");
            self.files
                .push((Path::new("migrations").join(rel), contents));
        }
        self
    }

    /// Write it all out.
    pub fn build(self) -> Project {
        let dir = tempfile::Builder::new()
            .prefix("dmig-project-")
            .tempdir()
            .expect("tempdir");
        for d in &self.dirs {
            fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        for (path, contents) in &self.files {
            let full = dir.path().join(path);
            fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            fs::write(full, contents).expect("write");
        }
        for (path, target) in &self.links {
            std::os::unix::fs::symlink(target, dir.path().join(path)).expect("symlink");
        }
        Project { dir }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

impl Project {
    /// The project root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `dmig` run in the project root with a clean environment for the
    /// variables dmig reads (libpq's `PG*` ones included).
    pub fn dmig(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("dmig"));
        cmd.current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("MIGRATION_DIRECTORY")
            .env_remove("DIESEL_CONFIG_FILE")
            .env_remove("DMIG_LOG");
        for var in PG_VARS {
            cmd.env_remove(var);
        }
        // dmig's own settings (`DMIG_LOCK_TIMEOUT`, ...) come from the test.
        for key in dmig::settings_file::DmigSettings::KEYS {
            cmd.env_remove(dmig::settings_file::env_name(key));
        }
        cmd
    }

    /// Render an offline command (`args`, e.g. `["upgrade", "--sql"]`) to
    /// `script.sql` in the project; panics when dmig fails.
    pub fn render(&self, args: &[&str]) -> PathBuf {
        let out = self.path().join("script.sql");
        self.dmig()
            .args(args)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        out
    }

    /// Read a file of the project as text.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        fs::read_to_string(self.path().join(rel)).expect("read project file")
    }

    /// Names of the entries of a project directory, sorted.
    pub fn list(&self, rel: impl AsRef<Path>) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path().join(rel))
            .map(|entries| {
                entries
                    .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}
