//! Connection settings read the way libpq reads them, so that a
//! `DATABASE_URL` (or no URL at all) that works with `psql` reaches the same
//! server, database and role with dmig, with the same password.
//!
//! The input is a `postgres://` / `postgresql://` URL or a `keyword=value`
//! connection string (libpq's two forms, parsed by libpq's rules: percent
//! decoding, `[v6]` hosts, host lists, quoting and backslash escapes). Every
//! setting it does not give comes from the service file's group it names
//! (`service`, `PGSERVICE`), then libpq's environment variable
//! (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, ...), then the password file
//! (`PGPASSFILE`, else `~/.pgpass`), then libpq's defaults. The environment
//! is read through an [`Environment`], so tests never touch the real one.
//!
//! Where dmig departs from libpq, it is on purpose:
//!
//! - No `sslmode` anywhere leaves [`ConnInfo::sslmode`] `None`; dmig's
//!   connect layer then talks plain text, as diesel-async does (libpq would
//!   try TLS first).
//! - `application_name` defaults to `dmig` (libpq sends none), and TCP
//!   keepalives to 30 s idle, 10 s interval, 3 probes (libpq: the system's,
//!   two hours idle on Linux). A migration can sit in a lock wait for a long
//!   time, and a dead peer should be noticed within a minute.
//! - What dmig cannot honour (`require_auth`, revocation
//!   lists, GSSAPI encryption, ...) is an error naming the keyword or the
//!   environment variable, never silently ignored.
//! - A URL with a raw `@` after its user info is refused. libpq ends the user
//!   info at the first `@` (unless a `/` comes first), so for
//!   `postgres://u:p@ss@db/app` it would take `ss@db` as the host name, and
//!   whatever it reported would show part of the password.
//! - The default user is `USER`, else `LOGNAME`, else `postgres` (libpq asks
//!   the password database for the effective uid's name).
//!
//! No error message, `Debug` output or [`redact`]ed string holds any part of
//! a password: values are echoed only where they provably cannot be part of
//! one. After a password in a connection string (or a URL's query) not even
//! keywords are named, since an unquoted password with a space swallows
//! them.

//!
//! The files: `uri.rs` and `keywords.rs` read the two syntaxes into raw
//! settings (`settings.rs`, which also holds libpq's keyword table and adds
//! the environment); `resolve.rs` checks them and fills in the defaults, with
//! `ssl.rs` for the TLS settings and `passfile.rs` for the password file;
//! `service.rs` reads the service file before the environment is added;
//! `redact.rs` hides passwords in what messages show; `error.rs` holds
//! [`ConnInfoError`].

mod error;
mod keywords;
mod passfile;
mod redact;
mod resolve;
mod service;
mod settings;
mod ssl;
#[cfg(test)]
mod test_env;
mod uri;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use tokio_postgres::config::{
    ChannelBinding, Host, LoadBalanceHosts, SslNegotiation, TargetSessionAttrs,
};

pub use error::ConnInfoError;
pub use redact::redact;

use settings::Settings;

/// libpq's default port.
pub const DEFAULT_PORT: u16 = 5432;

/// Where the server's Unix socket is looked for when no host is given:
/// Debian's directory, then upstream PostgreSQL's. The first that holds
/// `.s.PGSQL.<port>` is the default host; with none, it is `localhost`.
pub const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// The `application_name` dmig sends unless `application_name`,
/// `PGAPPNAME` or `fallback_application_name` says otherwise.
pub const DEFAULT_APPLICATION_NAME: &str = "dmig";

/// Environment variables that say where to connect. With one of them set
/// and no URL, dmig connects the way `psql` does with no arguments.
pub const LOCATION_VARS: [&str; 6] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGSERVICE",
];

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// `disable`: plain text.
    Disable,
    /// `allow`: plain text first, TLS if the server insists. dmig connects in
    /// plain text.
    Allow,
    /// `prefer`: TLS when the server offers it.
    Prefer,
    /// `require`: TLS, without checking the certificate (unless `sslrootcert`
    /// is given, as in libpq).
    Require,
    /// `verify-ca`: TLS, the certificate chain checked.
    VerifyCa,
    /// `verify-full`: TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The keyword value: `disable`, `verify-full`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sslrootcert`: a PEM file, or the system's roots (`sslrootcert=system`,
/// as in libpq 16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslRootCert {
    /// Certificates from this file.
    File(PathBuf),
    /// The operating system's trusted roots.
    System,
}

/// A TLS protocol version, for `ssl_min_protocol_version` and
/// `ssl_max_protocol_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// `TLSv1`
    V1_0,
    /// `TLSv1.1`
    V1_1,
    /// `TLSv1.2`
    V1_2,
    /// `TLSv1.3`
    V1_3,
}

impl TlsVersion {
    fn parse(value: &str) -> Option<TlsVersion> {
        // libpq compares these case-insensitively.
        Some(match value.to_ascii_lowercase().as_str() {
            "tlsv1" => TlsVersion::V1_0,
            "tlsv1.1" => TlsVersion::V1_1,
            "tlsv1.2" => TlsVersion::V1_2,
            "tlsv1.3" => TlsVersion::V1_3,
            _ => return None,
        })
    }
}

/// Where a setting came from, as messages say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The `postgres://` URL.
    Url,
    /// The `keyword=value` connection string.
    ConnString,
    /// An environment variable, such as `PGPORT`.
    Env(&'static str),
    /// The group of the service file that `service` (or `PGSERVICE`) names.
    ServiceFile,
}

impl Origin {
    /// The form of `input`, as [`ConnInfo::parse`] reads it: [`Origin::Url`]
    /// for a `postgres://` URL, [`Origin::ConnString`] for anything else that
    /// is not blank, `None` for a blank input (the environment alone).
    pub fn of_input(input: &str) -> Option<Origin> {
        if uri::split_postgres_scheme(input).is_some() {
            Some(Origin::Url)
        } else if input.chars().all(keywords::is_space_char) {
            None
        } else {
            Some(Origin::ConnString)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Url => f.write_str("in the database URL"),
            Origin::ConnString => f.write_str("in the connection string"),
            Origin::Env(name) => write!(f, "from {name}"),
            Origin::ServiceFile => f.write_str("in the service file"),
        }
    }
}

/// Where the password came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The URL, the connection string or `PGPASSWORD`.
    Given(Origin),
    /// A matching line of this password file.
    File(PathBuf),
}

/// TCP keepalive settings (libpq's `keepalives*` keywords).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalives {
    /// `keepalives`: send keepalive probes at all.
    pub enabled: bool,
    /// `keepalives_idle`: quiet time before the first probe.
    pub idle: Duration,
    /// `keepalives_interval`: time between unanswered probes.
    pub interval: Duration,
    /// `keepalives_count`: unanswered probes before the connection is dead.
    pub count: u32,
}

/// Where a connection goes, for messages: `host:port/database as user`.
///
/// The one type for it: [`crate::online::pg::ConnectTarget`] is this, and
/// every [`crate::online::pg::ConnectError`] that names a server holds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// Host name, IP address, or Unix socket directory (the first host of a list).
    pub host: String,
    /// TCP port (also the socket file's number for a Unix socket).
    pub port: u16,
    /// Database name.
    pub database: String,
    /// Role name.
    pub user: String,
}

impl fmt::Display for ConnectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An IPv6 address needs brackets before `:port`.
        if self.host.contains(':') && !self.host.starts_with('/') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        write!(f, ":{}/{} as {}", self.port, self.database, self.user)
    }
}

/// The environment as libpq sees it: variables, the home directory (for
/// `~/.pgpass`) and where a local server's socket may be.
pub struct Environment<'a> {
    /// Reads one environment variable; `None` when it is not set.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The home directory, for `~/.pgpass`.
    pub home: Option<PathBuf>,
    /// Directories searched, in order, for `.s.PGSQL.<port>` when no host is
    /// given ([`DEFAULT_SOCKET_DIRS`]). A host equal to one of them matches
    /// `localhost` in the password file.
    pub socket_dirs: Vec<PathBuf>,
    /// Directories searched, in order, for the system-wide
    /// `pg_service.conf` when `PGSYSCONFDIR` is not set
    /// ([`DEFAULT_SYSCONF_DIRS`]).
    pub sysconf_dirs: Vec<PathBuf>,
}

/// Where libpq builds look for the system-wide `pg_service.conf`
/// (`pg_config --sysconfdir`): Debian and Ubuntu, the PGDG RPMs, a build
/// from source.
pub const DEFAULT_SYSCONF_DIRS: &[&str] = &[
    "/etc/postgresql-common",
    "/etc/sysconfig/pgsql",
    "/usr/local/pgsql/etc",
];

fn system_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Environment<'static> {
    /// This process's environment: its variables, `HOME` (else the password
    /// database's entry, as libpq), and [`DEFAULT_SOCKET_DIRS`].
    pub fn system() -> Environment<'static> {
        #[allow(deprecated)] // deprecated before Rust 1.86 for Windows only
        let home = system_var("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
            .or_else(std::env::home_dir);
        Environment {
            var: &system_var,
            home,
            socket_dirs: DEFAULT_SOCKET_DIRS.iter().map(PathBuf::from).collect(),
            sysconf_dirs: DEFAULT_SYSCONF_DIRS.iter().map(PathBuf::from).collect(),
        }
    }
}

impl Environment<'_> {
    /// Whether one of [`LOCATION_VARS`] is set (and not empty): then an empty
    /// connection string says where to go, as for `psql` without arguments.
    pub fn names_a_server(&self) -> bool {
        LOCATION_VARS
            .iter()
            .any(|name| (self.var)(name).is_some_and(|value| !value.is_empty()))
    }
}

/// Connection settings, complete: what the input gave, else the
/// environment, else the password file, else libpq's defaults (and dmig's).
#[derive(Clone)]
pub struct ConnInfo {
    /// The servers to try, in order, one per element of `host` (or of
    /// `hostaddr`); never empty. A default host is the first of the
    /// [`Environment::socket_dirs`] holding the port's socket, else
    /// `localhost`; a host given only by `hostaddr` is that address.
    pub hosts: Vec<Host>,
    /// `hostaddr`: the IP address to reach each host at, skipping name
    /// lookup; empty, or one per host.
    pub hostaddrs: Vec<IpAddr>,
    /// The port of each host (`port`, `PGPORT`, else 5432); one per host.
    pub ports: Vec<u16>,
    /// The role (`user`, `PGUSER`, else `USER`, `LOGNAME`, `postgres`).
    pub user: String,
    /// The database (`dbname`, `PGDATABASE`, else the user name).
    pub dbname: String,
    /// The password: given, else `PGPASSWORD`, else the password file's for
    /// the first host that has a line. Never shown by `Debug`.
    pub password: Option<String>,
    /// Where [`ConnInfo::password`] came from.
    pub password_source: Option<PasswordSource>,
    /// `sslmode`, `PGSSLMODE` or `PGREQUIRESSL`; `verify-full` when only
    /// `sslrootcert=system` is given (as libpq). `None` when nothing says:
    /// libpq would `prefer` TLS, dmig connects in plain text.
    pub sslmode: Option<SslMode>,
    /// `sslrootcert` / `PGSSLROOTCERT`.
    pub sslrootcert: Option<SslRootCert>,
    /// `sslcert` / `PGSSLCERT`: the client certificate (PEM). Dropped by
    /// `sslcertmode=disable`.
    pub sslcert: Option<PathBuf>,
    /// `sslkey` / `PGSSLKEY`: the client certificate's key (PEM, unencrypted).
    pub sslkey: Option<PathBuf>,
    /// `sslsni` / `PGSSLSNI`: send the host name in the TLS handshake (default on).
    pub sslsni: bool,
    /// `sslnegotiation` / `PGSSLNEGOTIATION`: `postgres` (the default) or
    /// `direct` TLS (PostgreSQL 17+).
    pub sslnegotiation: SslNegotiation,
    /// `ssl_min_protocol_version` (default `TLSv1.2`, as libpq).
    pub ssl_min_protocol_version: TlsVersion,
    /// `ssl_max_protocol_version`; `None` for no upper bound.
    pub ssl_max_protocol_version: Option<TlsVersion>,
    /// `connect_timeout` / `PGCONNECT_TIMEOUT`, per connection attempt; at
    /// least 2 s as in libpq; `None` (0 or negative) waits as long as TCP does.
    pub connect_timeout: Option<Duration>,
    /// `application_name`, `PGAPPNAME`, `fallback_application_name`, else `dmig`.
    pub application_name: String,
    /// `options` / `PGOPTIONS`: command-line options for the server, such as
    /// `-c statement_timeout=0`.
    pub options: Option<String>,
    /// TCP keepalives: on, 30 s idle, 10 s interval, 3 probes unless the
    /// `keepalives*` keywords say otherwise.
    pub keepalives: Keepalives,
    /// `tcp_user_timeout` (milliseconds in libpq); `None` for the system's.
    pub tcp_user_timeout: Option<Duration>,
    /// `target_session_attrs` / `PGTARGETSESSIONATTRS` (`any`, `read-write`,
    /// `read-only`).
    pub target_session_attrs: TargetSessionAttrs,
    /// `channel_binding` / `PGCHANNELBINDING` (default `prefer`).
    pub channel_binding: ChannelBinding,
    /// `load_balance_hosts` / `PGLOADBALANCEHOSTS` (default `disable`).
    pub load_balance_hosts: LoadBalanceHosts,
    /// Every form of every secret seen (as written and decoded).
    secrets: Vec<String>,
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written out so the password (and the secrets) can never show.
        f.debug_struct("ConnInfo")
            .field("hosts", &self.hosts)
            .field("hostaddrs", &self.hostaddrs)
            .field("ports", &self.ports)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_source", &self.password_source)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("sslcert", &self.sslcert)
            .field("sslkey", &self.sslkey)
            .field("sslsni", &self.sslsni)
            .field("sslnegotiation", &self.sslnegotiation)
            .field("ssl_min_protocol_version", &self.ssl_min_protocol_version)
            .field("ssl_max_protocol_version", &self.ssl_max_protocol_version)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("keepalives", &self.keepalives)
            .field("tcp_user_timeout", &self.tcp_user_timeout)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("channel_binding", &self.channel_binding)
            .field("load_balance_hosts", &self.load_balance_hosts)
            .finish_non_exhaustive()
    }
}

impl ConnInfo {
    /// Reads `input` (a `postgres://` URL or a `keyword=value` string; empty
    /// means "all from the environment") with this process's environment.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use dmig::online::pg::conninfo::ConnInfo;
    /// let info = ConnInfo::parse("host=db.internal dbname=shop user=app")?;
    /// assert_eq!(info.target().to_string(), "db.internal:5432/shop as app");
    /// # Ok::<(), dmig::online::pg::conninfo::ConnInfoError>(())
    /// ```
    pub fn parse(input: &str) -> Result<ConnInfo, ConnInfoError> {
        ConnInfo::parse_with(input, &Environment::system())
    }

    /// [`ConnInfo::parse`] with the environment `env`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dmig::online::pg::conninfo::{ConnInfo, Environment};
    /// let var = |name: &str| (name == "PGPORT").then(|| "5433".to_owned());
    /// let env = Environment { var: &var, home: None, socket_dirs: Vec::new(), sysconf_dirs: Vec::new() };
    /// let info = ConnInfo::parse_with("postgres://app@db/shop", &env)?;
    /// assert_eq!(info.ports, [5433]);
    /// # Ok::<(), dmig::online::pg::conninfo::ConnInfoError>(())
    /// ```
    pub fn parse_with(input: &str, env: &Environment<'_>) -> Result<ConnInfo, ConnInfoError> {
        let mut settings = Settings::default();
        match uri::split_postgres_scheme(input) {
            Some((_, rest)) => uri::parse_uri(rest, &mut settings)?,
            None => {
                uri::refuse_other_urls(input)?;
                keywords::parse_keywords(input, &mut settings)?;
            }
        }
        service::apply(&mut settings, env)?;
        settings.add_environment(env);
        resolve::resolve(settings, env)
    }

    /// A tokio-postgres configuration with everything tokio-postgres
    /// understands. TLS verification (`sslrootcert`, `sslcert`, `sslkey`,
    /// `sslsni`, the protocol versions) is the caller's: tokio-postgres only
    /// learns whether TLS is off (`disable`, `allow`, none), preferred or
    /// required.
    pub fn to_tokio_config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        for host in &self.hosts {
            match host {
                Host::Tcp(name) => config.host(name.as_str()),
                Host::Unix(path) => config.host_path(path),
            };
        }
        for hostaddr in &self.hostaddrs {
            config.hostaddr(*hostaddr);
        }
        for port in &self.ports {
            config.port(*port);
        }
        config.user(&self.user).dbname(&self.dbname);
        if let Some(password) = &self.password {
            config.password(password);
        }
        if let Some(options) = &self.options {
            config.options(options);
        }
        config.application_name(&self.application_name);
        config.ssl_mode(match self.sslmode {
            None | Some(SslMode::Disable | SslMode::Allow) => {
                tokio_postgres::config::SslMode::Disable
            }
            Some(SslMode::Prefer) => tokio_postgres::config::SslMode::Prefer,
            Some(SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull) => {
                tokio_postgres::config::SslMode::Require
            }
        });
        config.ssl_negotiation(self.sslnegotiation);
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        if let Some(timeout) = self.tcp_user_timeout {
            config.tcp_user_timeout(timeout);
        }
        config
            .keepalives(self.keepalives.enabled)
            .keepalives_idle(self.keepalives.idle)
            .keepalives_interval(self.keepalives.interval)
            .keepalives_retries(self.keepalives.count)
            .target_session_attrs(self.target_session_attrs)
            .channel_binding(self.channel_binding)
            .load_balance_hosts(self.load_balance_hosts);
        config
    }

    /// Where the connection goes (the first host), for messages.
    pub fn target(&self) -> ConnectTarget {
        let host = match self.hosts.first() {
            Some(Host::Tcp(name)) => name.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        ConnectTarget {
            host,
            port: self.ports.first().copied().unwrap_or(DEFAULT_PORT),
            database: self.dbname.clone(),
            user: self.user.clone(),
        }
    }

    /// Every form of every secret (the password as written and decoded,
    /// from the input, `PGPASSWORD` or the password file), to scrub from
    /// messages dmig did not write, such as a server's or a driver's.
    pub fn secrets(&self) -> Vec<String> {
        self.secrets.clone()
    }

    /// Whether the TLS protocol `version` is within
    /// `ssl_min_protocol_version` .. `ssl_max_protocol_version`.
    pub fn allows_tls(&self, version: TlsVersion) -> bool {
        version >= self.ssl_min_protocol_version
            && self
                .ssl_max_protocol_version
                .is_none_or(|max| version <= max)
    }
}

#[cfg(test)]
mod tests {
    use super::test_env::*;
    use super::*;

    #[test]
    fn the_form_of_the_input_is_url_connection_string_or_none() {
        assert_eq!(Origin::of_input("postgres://db"), Some(Origin::Url));
        assert_eq!(Origin::of_input("postgresql://"), Some(Origin::Url));
        assert_eq!(Origin::of_input("host=db"), Some(Origin::ConnString));
        // libpq refuses these as connection strings; they are not URLs.
        assert_eq!(Origin::of_input(" postgres://db"), Some(Origin::ConnString));
        assert_eq!(Origin::of_input("mysql://db"), Some(Origin::ConnString));
        assert_eq!(Origin::of_input(""), None);
        assert_eq!(Origin::of_input(" \t\n\x0b"), None);
    }

    #[test]
    fn names_a_server_looks_at_the_location_variables() {
        let check = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let lookup = |name: &str| vars.get(name).cloned();
            Environment {
                var: &lookup,
                home: None,
                socket_dirs: Vec::new(),
                sysconf_dirs: Vec::new(),
            }
            .names_a_server()
        };
        assert!(!check(&[]));
        assert!(!check(&[("PGPASSWORD", "x"), ("PGSSLMODE", "require")]));
        assert!(!check(&[("PGHOST", "")]));
        for var in LOCATION_VARS {
            assert!(check(&[(var, "x")]), "{var}");
        }
    }

    #[test]
    fn to_tokio_config_carries_what_tokio_postgres_understands() {
        use tokio_postgres::config::SslMode as TokioSslMode;
        let info = parse(
            "postgres://app:pw@h1:1,%2Fsock:2/shop?options=-c%20a%3Db&connect_timeout=5\
             &tcp_user_timeout=250&target_session_attrs=read-only&channel_binding=disable\
             &load_balance_hosts=random&keepalives_idle=40&sslmode=verify-full",
        );
        let config = info.to_tokio_config();
        assert_eq!(
            config.get_hosts(),
            [tcp("h1"), Host::Unix(PathBuf::from("/sock"))]
        );
        assert_eq!(config.get_ports(), [1, 2]);
        assert_eq!(config.get_user(), Some("app"));
        assert_eq!(config.get_password(), Some(&b"pw"[..]));
        assert_eq!(config.get_dbname(), Some("shop"));
        assert_eq!(config.get_options(), Some("-c a=b"));
        assert_eq!(config.get_application_name(), Some("dmig"));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(5)));
        assert_eq!(
            config.get_tcp_user_timeout(),
            Some(&Duration::from_millis(250))
        );
        assert_eq!(config.get_ssl_mode(), TokioSslMode::Require);
        assert!(config.get_keepalives());
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(40));
        assert_eq!(
            config.get_keepalives_interval(),
            Some(Duration::from_secs(10))
        );
        assert_eq!(config.get_keepalives_retries(), Some(3));
        assert_eq!(
            config.get_target_session_attrs(),
            TargetSessionAttrs::ReadOnly
        );
        assert_eq!(config.get_channel_binding(), ChannelBinding::Disable);
        assert_eq!(config.get_load_balance_hosts(), LoadBalanceHosts::Random);

        for (mode, expected) in [
            ("", TokioSslMode::Disable),
            ("sslmode=disable", TokioSslMode::Disable),
            ("sslmode=allow", TokioSslMode::Disable),
            ("sslmode=prefer", TokioSslMode::Prefer),
            ("sslmode=require", TokioSslMode::Require),
            ("sslmode=verify-ca", TokioSslMode::Require),
        ] {
            assert_eq!(
                parse(mode).to_tokio_config().get_ssl_mode(),
                expected,
                "{mode}"
            );
        }
        let config = parse("hostaddr=127.0.0.1 host=db.internal").to_tokio_config();
        assert_eq!(config.get_hosts(), [tcp("db.internal")]);
        assert_eq!(
            config.get_hostaddrs(),
            ["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(parse("").to_tokio_config().get_password(), None);
    }

    #[test]
    fn no_message_shows_any_part_of_the_password() {
        let cases = [
            ("postgres://u:P@ss:w/rd@host/db", "P@ss:w/rd"),
            ("postgres://app:Zq@9x@db/app", "Zq@9x"),
            ("postgres://app:Kv/8mQ@db/app", "Kv/8mQ"),
            ("postgres://app:Kv/8mQ?x@db/app", "Kv/8mQ?x"),
            ("postgres://app:12345/9mQz?x=1@db", "12345/9mQz?x=1"),
            ("postgres://u:12345/9mQz?port=Wp3@db", "12345/9mQz?port=Wp3"),
            ("postgres://app:Kq9/Wx@db:5432/app", "Kq9/Wx"),
            ("postgres://u:Zq%zz9@db", "Zq%zz9"),
            ("postgres://u:Zq9 Wx@[bad", "Zq9 Wx"),
            ("postgres://u:Zq9Wx@db/app?sslmode=bogus", "Zq9Wx"),
            ("postgres://u:Zq9Wx@db:port/app", "Zq9Wx"),
            ("postgres://u:Zq9Wx@db,,h2:x/app", "Zq9Wx"),
            ("postgres://u:Zq9Wx@db/app?frobnicate=1", "Zq9Wx"),
            ("postgres://u:Zq9Wx@db/app?oops", "Zq9Wx"),
            ("postgres://db/app?password=Zq9&Wx7", "Zq9&Wx7"),
            ("postgres://db/app?password=Zq9&Wx7=1", "Zq9&Wx7=1"),
            ("postgres://db/app?password=Zq9&port=Wx7", "Zq9&port=Wx7"),
            ("postgres://u:Zq@9x@db/app?password=Kv8", "Zq@9x"),
            ("postgres://db/app?password=Zq%zz", "Zq%zz"),
            ("postgres://u:Zq9:Wx@", "Zq9:Wx"),
            ("postgres://u:Zq9#Wx@db/app", "Zq9#Wx"),
            ("mysql://u:Zq9Wx@db/app", "Zq9Wx"),
            (" postgres://u:Zq9Wx@db", "Zq9Wx"),
            ("host=db password=Zq9 Wx7", "Zq9 Wx7"),
            ("host=db password=Zq9 Wx7=1", "Zq9 Wx7=1"),
            ("host=db password='Zq9 Wx7", "Zq9 Wx7"),
            ("host=db password='Kq'v_Zq9'", "Kq'v_Zq9"),
            (r"password=Zq9\ Wx7 port=Kq4", r"Zq9 Wx7 port=Kq4"),
            (
                "user=app password=Zq9Wx7 sslmode=bogus",
                "Zq9Wx7 sslmode=bogus",
            ),
            ("password=Zq9Wx7 Qx4kv", "Zq9Wx7 Qx4kv"),
            ("password=Zq9 sslmode='Wx7", "Zq9 sslmode='Wx7"),
            ("host=db Zq9Wx7", "Zq9Wx7"),
            ("host=db pasword=Zq9Wx7", "Zq9Wx7"),
            ("Zq9Wx7", "Zq9Wx7"),
            ("host=db password=Zq9Wx7 port=1,2", "Zq9Wx7"),
            ("host=db sslpassword=Zq9Wx7", "Zq9Wx7"),
        ];
        for (input, password) in cases {
            let mut shown = vec![redact(input)];
            match TestEnv::new().parse(input) {
                Err(error) => {
                    shown.push(error.to_string());
                    shown.push(format!("{error:#}"));
                    shown.push(format!("{error:?}"));
                }
                Ok(info) => {
                    shown.push(format!("{info:?}"));
                    shown.push(format!("{info:#?}"));
                    shown.push(info.target().to_string());
                }
            }
            for text in shown {
                let found = leaks(&text, password);
                assert!(found.is_empty(), "{input:?} shows {found:?} in {text:?}");
            }
        }
    }

    #[test]
    fn debug_never_shows_the_password_but_secrets_has_every_form() {
        let info = parse("postgres://u:Zq9%40Wx@db/app");
        let debug = format!("{info:?}");
        assert!(debug.contains("password: Some(\"***\")"), "{debug}");
        assert!(leaks(&debug, "Zq9@Wx").is_empty(), "{debug}");
        assert_eq!(info.secrets(), ["Zq9%40Wx", "Zq9@Wx"]);
        let info = TestEnv::new().var("PGPASSWORD", "Kv8mQz").ok("");
        assert!(!format!("{info:?}").contains("Kv8mQz"));
        assert_eq!(info.secrets(), ["Kv8mQz"]);
    }
}
