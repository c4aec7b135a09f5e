//! What the unit tests of every file of this module share: an environment
//! of their own (they never read the real one) and a few shorthands.

pub(super) use std::collections::HashMap;
pub(super) use std::fs;
pub(super) use std::net::IpAddr;
pub(super) use std::os::unix::fs::PermissionsExt;
pub(super) use std::path::{Path, PathBuf};
pub(super) use std::time::Duration;

use super::{ConnInfo, ConnInfoError, Environment, Host};

/// An environment of its own for each test: no variable set, no home,
/// no socket directory, unless the test says so.
#[derive(Default)]
pub(super) struct TestEnv {
    vars: HashMap<String, String>,
    home: Option<PathBuf>,
    socket_dirs: Vec<PathBuf>,
    sysconf_dirs: Vec<PathBuf>,
}

impl TestEnv {
    pub(super) fn new() -> TestEnv {
        TestEnv::default()
    }

    pub(super) fn var(mut self, name: &str, value: &str) -> TestEnv {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    pub(super) fn home(mut self, home: &Path) -> TestEnv {
        self.home = Some(home.to_owned());
        self
    }

    pub(super) fn socket_dir(mut self, dir: &Path) -> TestEnv {
        self.socket_dirs.push(dir.to_owned());
        self
    }

    pub(super) fn sysconf_dir(mut self, dir: &Path) -> TestEnv {
        self.sysconf_dirs.push(dir.to_owned());
        self
    }

    pub(super) fn parse(&self, input: &str) -> Result<ConnInfo, ConnInfoError> {
        let lookup = |name: &str| self.vars.get(name).cloned();
        let env = Environment {
            var: &lookup,
            home: self.home.clone(),
            socket_dirs: self.socket_dirs.clone(),
            sysconf_dirs: self.sysconf_dirs.clone(),
        };
        ConnInfo::parse_with(input, &env)
    }

    pub(super) fn ok(&self, input: &str) -> ConnInfo {
        match self.parse(input) {
            Ok(info) => info,
            Err(error) => panic!("{input:?}: {error}"),
        }
    }

    pub(super) fn err(&self, input: &str) -> ConnInfoError {
        match self.parse(input) {
            Ok(info) => panic!("{input:?} parsed: {info:?}"),
            Err(error) => error,
        }
    }
}

pub(super) fn parse(input: &str) -> ConnInfo {
    TestEnv::new().ok(input)
}

pub(super) fn error(input: &str) -> String {
    TestEnv::new().err(input).to_string()
}

pub(super) fn tcp(name: &str) -> Host {
    Host::Tcp(name.to_owned())
}

pub(super) fn unix(dir: &str) -> Host {
    Host::Unix(PathBuf::from(dir))
}

pub(super) fn write_private(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// Every substring of `secret` of 3 or more bytes that `text` holds.
pub(super) fn leaks(text: &str, secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    let mut found = Vec::new();
    for start in 0..chars.len() {
        for end in start + 3..=chars.len() {
            let part: String = chars[start..end].iter().collect();
            if text.contains(&part) {
                found.push(part);
            }
        }
    }
    found
}
