//! Reading a database URL for connecting: what to connect to (for
//! tokio-postgres), the TLS settings dmig handles itself, where it points (for
//! messages) and every form of its password (to scrub from foreign messages).
//! Never panics, never echoes a password.
//!
//! The "URL" is anything libpq takes: a `postgres://` URL, a keyword string
//! (`host=db dbname=app`), or nothing at all, for the `PG*` environment
//! alone. [`super::conninfo`] reads it as libpq does, the environment and
//! the password file included; this module turns what it read into dmig's
//! settings.

use std::path::PathBuf;

use super::connect::{error_chain, ConnectError};
use super::conninfo::{
    self, ConnInfo, ConnectTarget, Environment, Origin, SslMode, SslRootCert, TlsVersion,
};

/// Passwords shorter than this are not scrubbed from foreign messages:
/// replacing every `a` of a message is no protection and ruins the message.
const MIN_SCRUB_LEN: usize = 3;

/// Hides the passwords of a database URL or keyword string:
/// `postgres://u:***@h/db`, `password=***`, and likewise `sslpassword` and
/// libpq's other secret keywords ([`conninfo::redact`], the one
/// implementation).
///
/// Never panics, and never echoes what may be password: when it is unclear
/// where a password ends (an unencoded `@`, `/` or `&` in a URL, an unquoted
/// blank or an unterminated quote in a keyword string), the rest is hidden.
///
/// # Examples
///
/// ```
/// use dmig::online::pg::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db.internal:5433/app?sslmode=require"),
///     "postgres://app:***@db.internal:5433/app?sslmode=require"
/// );
/// assert_eq!(redact_url("host=db password=s3cret"), "host=db password=***");
/// ```
pub fn redact_url(url: &str) -> String {
    conninfo::redact(url)
}

/// Parses host, port, database and user out of `url` for messages; what it
/// leaves out comes from the `PG*` environment, then libpq's defaults (a
/// local socket directory or `localhost`, port 5432, the OS user, database =
/// user).
pub fn target(url: &str) -> Result<ConnectTarget, ConnectError> {
    Ok(parse(url)?.target)
}

/// `url` (a URL or a keyword string) pointing at `database` instead, on the
/// same server as the same user with the same settings: a `dbname` is added
/// after everything it says, and libpq's rule (the last `dbname` wins) does
/// the rest. How dmig reaches the throwaway databases it creates through an
/// admin URL.
///
/// # Examples
///
/// ```
/// use dmig::online::pg::with_database;
/// assert_eq!(
///     with_database("postgres://admin:pw@db:5433/postgres?sslmode=require", "scratch 1").unwrap(),
///     "postgres://admin:pw@db:5433/postgres?sslmode=require&dbname=scratch%201"
/// );
/// assert_eq!(
///     with_database("host=db dbname=postgres", "it's").unwrap(),
///     "host=db dbname=postgres dbname='it\\'s'"
/// );
/// ```
pub fn with_database(url: &str, database: &str) -> Result<String, ConnectError> {
    // Checked as it will be read: an unusable URL fails here, not later.
    parse(url)?;
    let is_uri = url.starts_with("postgres://") || url.starts_with("postgresql://");
    // A later `dbname` wins over the path and over an earlier one, in both
    // forms (libpq's rule), so what the URL says stays untouched.
    if is_uri {
        let mut encoded = String::with_capacity(database.len());
        for byte in database.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                encoded.push(char::from(byte));
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        let separator = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{separator}dbname={encoded}"))
    } else {
        let quoted = database.replace('\\', "\\\\").replace('\'', "\\'");
        Ok(format!("{url} dbname='{quoted}'"))
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// What `sslmode` asks for, after our reading of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Plain,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What dmig's own TLS ([`super::tls`]) needs to know.
#[derive(Debug, Clone)]
pub(super) struct TlsSettings {
    pub(super) mode: Mode,
    pub(super) root_cert: Option<SslRootCert>,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
    pub(super) sni: bool,
    /// The TLS versions `ssl_min_protocol_version` and
    /// `ssl_max_protocol_version` allow (by default 1.2 and 1.3).
    pub(super) versions: Vec<&'static rustls::SupportedProtocolVersion>,
}

/// A URL read and checked, ready to connect.
pub(super) struct Parsed {
    /// Everything read; [`Parsed::config`] is what tokio-postgres gets.
    pub(super) info: ConnInfo,
    pub(super) tls: TlsSettings,
    pub(super) target: ConnectTarget,
    /// The password as written and as decoded, to scrub from foreign messages.
    pub(super) secrets: Vec<String>,
    /// Where a password could have come from, for
    /// [`ConnectError::PasswordMissing`].
    pub(super) password_places: &'static str,
}

impl Parsed {
    /// The tokio-postgres configuration to connect with.
    pub(super) fn config(&self) -> tokio_postgres::Config {
        self.info.to_tokio_config()
    }

    /// The same settings without `connect_timeout`: tokio-postgres applies
    /// it with tokio's timer, which panics in a runtime that has none.
    /// tokio-postgres's `Config` can set a timeout but never unset one, so
    /// this works on what it is built from.
    pub(super) fn without_connect_timeout(mut self) -> Parsed {
        self.info.connect_timeout = None;
        self
    }

    /// The same server, user and settings, another database (the
    /// maintenance database, to create or drop the one the URL names).
    pub(super) fn with_database(mut self, database: &str) -> Parsed {
        self.info.dbname = database.to_owned();
        self.target.database = database.to_owned();
        self
    }
}

/// Reads `url` with this process's environment.
pub(super) fn parse(url: &str) -> Result<Parsed, ConnectError> {
    parse_in(url, &Environment::system())
}

/// [`parse`] with the environment `env`.
pub(super) fn parse_in(url: &str, env: &Environment<'_>) -> Result<Parsed, ConnectError> {
    let invalid = |reason: String| ConnectError::InvalidUrl {
        url: redact_url(url),
        reason,
    };
    // ConnInfoError's messages never hold a password (conninfo checks it).
    let info = ConnInfo::parse_with(url, env).map_err(|error| invalid(error_chain(&error)))?;
    let tls = TlsSettings {
        mode: match info.sslmode {
            None | Some(SslMode::Disable | SslMode::Allow) => Mode::Plain,
            Some(SslMode::Prefer) => Mode::Prefer,
            Some(SslMode::Require) => Mode::Require,
            Some(SslMode::VerifyCa) => Mode::VerifyCa,
            Some(SslMode::VerifyFull) => Mode::VerifyFull,
        },
        root_cert: info.sslrootcert.clone(),
        cert: info.sslcert.clone(),
        key: info.sslkey.clone(),
        sni: info.sslsni,
        versions: [
            (TlsVersion::V1_2, &rustls::version::TLS12),
            (TlsVersion::V1_3, &rustls::version::TLS13),
        ]
        .into_iter()
        .filter(|(version, _)| info.allows_tls(*version))
        .map(|(_, version)| version)
        .collect(),
    };
    // libpq would fall back to ~/.postgresql/postgresql.{crt,key}; dmig reads
    // no default files, so half a pair is a mistake.
    if tls.mode != Mode::Plain && tls.cert.is_some() != tls.key.is_some() {
        return Err(invalid(
            "sslcert and sslkey go together: give both or neither".to_owned(),
        ));
    }
    let password_places = match Origin::of_input(url) {
        Some(Origin::Url) => "the URL, PGPASSWORD or a password file",
        Some(_) => "the connection string, PGPASSWORD or a password file",
        None => "PGPASSWORD or a password file",
    };
    Ok(Parsed {
        target: info.target(),
        secrets: info.secrets(),
        tls,
        info,
        password_places,
    })
}

/// `text` with every password in `secrets` replaced by `***`.
pub(super) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    let mut secrets: Vec<&String> = secrets
        .iter()
        .filter(|secret| secret.len() >= MIN_SCRUB_LEN)
        .collect();
    // Longest first, so a decoded form inside the raw one goes too.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    for secret in secrets {
        text = text.replace(secret.as_str(), "***");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio_postgres::config::SslMode as TokioSslMode;

    /// No variable, no home, no socket directory: these tests never read
    /// the real environment.
    fn hermetic() -> Environment<'static> {
        fn unset(_: &str) -> Option<String> {
            None
        }
        Environment {
            var: &unset,
            home: None,
            socket_dirs: Vec::new(),
            sysconf_dirs: Vec::new(),
        }
    }

    fn parse(url: &str) -> Result<Parsed, ConnectError> {
        parse_in(url, &hermetic())
    }

    fn target(url: &str) -> Result<ConnectTarget, ConnectError> {
        Ok(parse(url)?.target)
    }

    #[test]
    fn with_database_names_another_database_and_keeps_the_rest() {
        let reads = |url: &str, db: &str| {
            let with = with_database(url, db).expect("url");
            parse(&with).expect("it parses")
        };
        let parsed = reads("postgres://u:p@h:5433/app?sslmode=require", "s");
        assert_eq!(parsed.target.database, "s");
        assert_eq!(
            (parsed.target.host.as_str(), parsed.target.port),
            ("h", 5433)
        );
        assert_eq!(parsed.info.password.as_deref(), Some("p"));
        assert_eq!(reads("postgres://h", "s").target.database, "s");
        let parsed = reads(
            "postgresql://u@[::1]:5432/?dbname=app&application_name=x",
            "a b'c",
        );
        assert_eq!(parsed.target.database, "a b'c");
        assert_eq!(parsed.info.application_name, "x");
        let parsed = reads("host=h dbname=app user=u", "o'ther db");
        assert_eq!(parsed.target.database, "o'ther db");
        assert_eq!(parsed.target.user, "u");
        assert!(with_database("mysql://h/app", "s").is_err());
    }

    #[test]
    fn redact_url_hides_the_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5433/app"),
            "postgres://app:***@db:5433/app"
        );
        assert_eq!(
            redact_url("postgresql://app:s3cret@db/app?sslmode=require"),
            "postgresql://app:***@db/app?sslmode=require"
        );
    }

    #[test]
    fn redact_url_keeps_a_url_without_password() {
        for url in [
            "postgres://app@db/app",
            "postgres://db/app",
            "postgres://",
            "postgres:///app?host=/var/run/postgresql",
            "postgres://db/app?application_name=a@b",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn redact_url_hides_password_query_parameters() {
        // What follows a password parameter may be the rest of it (an
        // unencoded `&`), so it is hidden too.
        assert_eq!(
            redact_url("postgres://db/app?user=app&password=s3cret&sslmode=require"),
            "postgres://db/app?user=app&password=***&***"
        );
        assert_eq!(
            redact_url("postgres://db/app?pass%77ord=s3cret&sslpassword=k3y"),
            "postgres://db/app?pass%77ord=***&***"
        );
        assert_eq!(
            redact_url("postgres://db/app?sslmode=require&password=s3cret"),
            "postgres://db/app?sslmode=require&password=***"
        );
    }

    #[test]
    fn redact_url_hides_passwords_with_unencoded_delimiters() {
        for (url, password) in [
            ("postgres://app:p@ss@db/app", "p@ss"),
            ("postgres://app:p/ss@db/app", "p/ss"),
            ("postgres://app:p?ss@db/app", "p?ss"),
            ("postgres://app:p?s@s@db/app?x=y@z", "p?s@s"),
            ("postgres://user:pa ss@[bad", "pa ss"),
            ("postgres://app:12/34@db/app", "12/34"),
        ] {
            let redacted = redact_url(url);
            assert!(
                !redacted.contains(password),
                "{url} -> {redacted} shows the password"
            );
            assert!(redacted.starts_with("postgres://"), "{redacted}");
        }
        assert_eq!(
            redact_url("postgres://app:p@ss@db/app"),
            "postgres://app:***@db/app"
        );
    }

    #[test]
    fn redact_url_shows_nothing_secret_of_what_is_not_a_postgres_url() {
        // A keyword string is a database URL too now; anything else shows
        // no more than what provably holds no password.
        for (input, shown) in [
            ("", ""),
            ("app:s3cret@db", "***"),
            ("host=db password=s3cret", "host=db password=***"),
            ("mysql://app:s3cret@db/app", "mysql://app:***@db/app"),
            ("\u{0}\u{ffff}", "***"),
        ] {
            assert_eq!(redact_url(input), shown, "{input:?}");
        }
    }

    #[test]
    fn redact_url_survives_odd_input() {
        for odd in [
            "postgres://@",
            "postgres://:@",
            "postgres://?",
            "postgres://a:b@?password",
            "postgres://a:b@h/?=&&=&password=",
            "postgres://é:ü@ø/æ?password=ß",
            "postgres://%:%@%/%?%=%",
        ] {
            let redacted = redact_url(odd);
            assert!(redacted.starts_with("postgres://"), "{odd} -> {redacted}");
        }
        assert_eq!(redact_url("postgres://é:ü@ø/æ"), "postgres://é:***@ø/æ");
    }

    #[test]
    fn target_fills_in_libpq_defaults() {
        assert_eq!(
            target("postgres://app@db.internal/shop").unwrap(),
            ConnectTarget {
                host: "db.internal".into(),
                port: 5432,
                database: "shop".into(),
                user: "app".into()
            }
        );
        let defaults = target("postgres://").unwrap();
        assert_eq!(defaults.host, "localhost");
        assert_eq!(defaults.port, 5432);
        assert_eq!(defaults.database, defaults.user);
        assert!(!defaults.user.is_empty());
    }

    #[test]
    fn target_displays_host_port_database_and_user() {
        for (url, shown) in [
            (
                "postgres://app:pw@127.0.0.1:5999/app",
                "127.0.0.1:5999/app as app",
            ),
            ("postgres://app@[::1]:6000/db", "[::1]:6000/db as app"),
            (
                "postgres://app@%2Fvar%2Frun%2Fpostgresql/db",
                "/var/run/postgresql:5432/db as app",
            ),
            ("host=db port=6000 user=app", "db:6000/app as app"),
        ] {
            assert_eq!(target(url).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn a_keyword_string_or_the_environment_alone_is_a_database_url() {
        let parsed = parse("host=db dbname='my db' user=app password='it\\'s'").unwrap();
        assert_eq!(parsed.target.to_string(), "db:5432/my db as app");
        assert_eq!(parsed.config().get_password(), Some(&b"it's"[..]));
        let var = |name: &str| match name {
            "PGHOST" => Some("envhost".to_owned()),
            "PGPORT" => Some("6543".to_owned()),
            "PGUSER" => Some("envuser".to_owned()),
            _ => None,
        };
        let env = Environment {
            var: &var,
            home: None,
            socket_dirs: Vec::new(),
            sysconf_dirs: Vec::new(),
        };
        let parsed = parse_in("", &env).unwrap();
        assert_eq!(parsed.target.to_string(), "envhost:6543/envuser as envuser");
    }

    #[test]
    fn an_unencoded_at_sign_after_the_user_info_is_refused_without_the_password() {
        // libpq ends the user info at the first `@` and would connect to host
        // `ss@db` with password `p`; dmig refuses and says how to write it.
        let error = parse("postgres://app:p@ss@db/app").err().expect("refused");
        assert!(
            matches!(error, ConnectError::InvalidUrl { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "invalid database URL `postgres://app:***@db/app`: the database URL has an `@` \
             that is not percent-encoded after its user info, so part of it would be read as \
             host or database name; write `@` as `%40` and `/` as `%2F` in the user name, \
             password and database name"
        );
        for shown in [format!("{error:?}"), format!("{error:#}")] {
            assert!(!shown.contains("p@ss"), "{shown}");
        }
        let parsed = parse("postgres://app:p%40ss@db/app").unwrap();
        assert_eq!(parsed.config().get_password(), Some(&b"p@ss"[..]));
        assert_eq!(parsed.target.host, "db");
        let parsed = parse("postgres://db/app?application_name=a@b").unwrap();
        assert_eq!(parsed.target.host, "db");
        assert_eq!(parsed.config().get_application_name(), Some("a@b"));
    }

    #[test]
    fn ssl_parameters_are_ours_and_the_rest_goes_to_tokio_postgres() {
        let parsed = parse(
            "postgres://app@db/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem\
             &application_name=dmig&sslsni=0&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(parsed.tls.mode, Mode::VerifyFull);
        assert_eq!(
            parsed.tls.root_cert,
            Some(SslRootCert::File("/etc/ca.pem".into()))
        );
        assert!(!parsed.tls.sni);
        let config = parsed.config();
        assert_eq!(config.get_ssl_mode(), TokioSslMode::Require);
        assert_eq!(config.get_application_name(), Some("dmig"));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(3)));

        let modes = [
            ("", Mode::Plain, TokioSslMode::Disable),
            ("?sslmode=disable", Mode::Plain, TokioSslMode::Disable),
            ("?sslmode=allow", Mode::Plain, TokioSslMode::Disable),
            ("?sslmode=prefer", Mode::Prefer, TokioSslMode::Prefer),
            ("?sslmode=require", Mode::Require, TokioSslMode::Require),
            ("?sslmode=verify-ca", Mode::VerifyCa, TokioSslMode::Require),
        ];
        for (query, mode, ssl_mode) in modes {
            let parsed = parse(&format!("postgres://db/app{query}")).unwrap();
            assert_eq!(parsed.tls.mode, mode, "{query}");
            assert_eq!(parsed.config().get_ssl_mode(), ssl_mode, "{query}");
        }
        assert_eq!(
            parse("postgres://db?sslrootcert=system&sslmode=verify-full")
                .unwrap()
                .tls
                .root_cert,
            Some(SslRootCert::System)
        );
    }

    #[test]
    fn tls_versions_follow_the_protocol_version_bounds() {
        let versions = |url: &str| parse(url).unwrap().tls.versions;
        assert_eq!(
            versions("postgres://db?sslmode=require"),
            [&rustls::version::TLS12, &rustls::version::TLS13]
        );
        assert_eq!(
            versions("postgres://db?sslmode=require&ssl_min_protocol_version=TLSv1.3"),
            [&rustls::version::TLS13]
        );
        assert_eq!(
            versions("postgres://db?sslmode=require&ssl_max_protocol_version=TLSv1.2"),
            [&rustls::version::TLS12]
        );
    }

    #[test]
    fn password_places_follow_the_form_of_the_input() {
        for (url, places) in [
            (
                "postgres://app@db/app",
                "the URL, PGPASSWORD or a password file",
            ),
            (
                "host=db user=app",
                "the connection string, PGPASSWORD or a password file",
            ),
            ("", "PGPASSWORD or a password file"),
            (" \t", "PGPASSWORD or a password file"),
        ] {
            assert_eq!(parse(url).unwrap().password_places, places, "{url:?}");
        }
    }

    #[test]
    fn invalid_urls_say_why_without_the_password() {
        let cases = [
            ("postgres://user:pa ss@[bad", "host"),
            ("postgres://app:s3cret@db/app?sslmode=bogus", "sslmode"),
            ("postgres://app:s3cret@db/app?sslsni=2", "sslsni"),
            ("postgres://app:s3cret@db/app?frobnicate=1", "frobnicate"),
            ("postgres://app:s3cret@db:port/app", "port"),
            (
                "postgres://app:s3cret@db/app?sslmode=require&sslcert=/c.pem",
                "sslkey",
            ),
            ("postgres://app:s3cret@db/app?oops", "no `=value`"),
            ("mysql://app:s3cret@db/app", "postgres://"),
            ("host=db password='s3cret", "unterminated quoted string"),
            ("host=db password=s3cret frobnicate=1", "after the password"),
        ];
        for (url, mentions) in cases {
            let error = parse(url).err().unwrap_or_else(|| panic!("{url} parsed"));
            assert!(
                matches!(error, ConnectError::InvalidUrl { .. }),
                "{error:?}"
            );
            for shown in [
                error.to_string(),
                format!("{error:#}"),
                format!("{error:?}"),
            ] {
                assert!(shown.contains(mentions), "{url}: {shown}");
                assert!(!shown.contains("s3cret"), "{url}: {shown}");
                assert!(!shown.contains("pa ss"), "{url}: {shown}");
            }
        }
    }

    #[test]
    fn scrub_replaces_every_form_of_the_password() {
        let secrets = parse("postgres://app:p%40ss%20word@db/app?password=other")
            .unwrap()
            .secrets;
        let text = scrub("a p@ss word b p%40ss%20word c other", &secrets);
        assert_eq!(text, "a *** b *** c ***");
        // Too short to scrub without ruining the message.
        assert_eq!(scrub("a b", &["a".to_owned()]), "a b");
    }
}
