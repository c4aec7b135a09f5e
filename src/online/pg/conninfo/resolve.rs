//! From raw settings to a [`ConnInfo`]: every value checked as libpq checks
//! it, what dmig cannot honour refused by name, and the defaults filled in
//! (libpq's, and dmig's `application_name` and keepalives).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::keywords::is_space_char;
use super::settings::{invalid, unsupported, Settings, UNSUPPORTED};
use super::ssl::{ssl, Ssl};
use super::{
    passfile, ChannelBinding, ConnInfo, ConnInfoError, Environment, Host, Keepalives,
    LoadBalanceHosts, Origin, PasswordSource, TargetSessionAttrs, DEFAULT_APPLICATION_NAME,
    DEFAULT_PORT,
};

const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVES_COUNT: u32 = 3;

/// libpq's `pqParseIntParam`: blanks, an optional sign and digits, blanks;
/// a 32-bit integer.
pub(super) fn parse_int(value: &str) -> Option<i32> {
    let trimmed = value
        .trim_start_matches(is_space_char)
        .trim_end_matches(is_space_char);
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

/// libpq's `useKeepalives`: `strtol` that must consume the whole value, so
/// an empty value is 0 (off) and trailing blanks are an error.
fn parse_keepalives(value: &str) -> Option<bool> {
    if value.is_empty() {
        return Some(false);
    }
    let trimmed = value.trim_start_matches(is_space_char);
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().any(|b| b != b'0'))
}

fn parse_port(element: &str) -> Option<u16> {
    if element.is_empty() {
        return Some(DEFAULT_PORT);
    }
    parse_int(element)
        .and_then(|port| u16::try_from(port).ok())
        .filter(|port| *port != 0)
}

/// A positive number of seconds for the keepalive settings: libpq hands 0
/// (and negatives, made 0) to `setsockopt`, which Linux refuses.
fn keepalive_seconds(
    settings: &Settings,
    name: &'static str,
) -> Result<Option<i32>, ConnInfoError> {
    let Some(raw) = settings.get(name) else {
        return Ok(None);
    };
    match parse_int(&raw.value) {
        Some(value) if value >= 1 => Ok(Some(value)),
        _ => Err(invalid(raw, name, "a whole number, at least 1")),
    }
}

fn os_user(env: &Environment<'_>) -> String {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| (env.var)(name).filter(|user| !user.is_empty()))
        .unwrap_or_else(|| "postgres".to_owned())
}

/// The default host for `port`: the first socket directory that has the
/// port's socket, else `localhost`.
fn default_host(env: &Environment<'_>, port: u16) -> Host {
    env.socket_dirs
        .iter()
        .find(|dir| dir.join(format!(".s.PGSQL.{port}")).exists())
        .map_or_else(
            || Host::Tcp("localhost".to_owned()),
            |dir| Host::Unix(dir.clone()),
        )
}

/// libpq's `connectOptions2`, roughly: `settings` (the input and the
/// environment) checked and completed.
pub(super) fn resolve(
    settings: Settings,
    env: &Environment<'_>,
) -> Result<ConnInfo, ConnInfoError> {
    let s = &settings;
    // What dmig cannot do is refused first, so the message names it.
    refuse_unsupported(s)?;
    let Ssl {
        sslmode,
        sslrootcert,
        sslcert,
        sslkey,
        sslsni,
        sslnegotiation,
        ssl_min_protocol_version,
        ssl_max_protocol_version,
    } = ssl(s)?;
    let Session {
        connect_timeout,
        tcp_user_timeout,
        keepalives,
        target_session_attrs,
        channel_binding,
        load_balance_hosts,
        options,
        application_name,
    } = session(s)?;
    let Servers {
        user,
        dbname,
        hosts,
        hostaddrs,
        ports,
    } = servers(s, env)?;

    // The password: given (even by PGPASSWORD), else the password file.
    let mut secrets = settings.secrets.clone();
    let (password, password_source) = match s.nonempty("password") {
        Some(raw) => (
            Some(raw.value.clone()),
            Some(PasswordSource::Given(raw.origin)),
        ),
        None => match passfile::lookup(s, env, &hosts, &ports, &dbname, &user)? {
            Some((password, path)) => {
                secrets.push(password.clone());
                (Some(password), Some(PasswordSource::File(path)))
            }
            None => (None, None),
        },
    };
    secrets.retain(|secret| !secret.is_empty());
    secrets.sort();
    secrets.dedup();

    Ok(ConnInfo {
        hosts,
        hostaddrs,
        ports,
        user,
        dbname,
        password,
        password_source,
        sslmode,
        sslrootcert,
        sslcert,
        sslkey,
        sslsni,
        sslnegotiation,
        ssl_min_protocol_version,
        ssl_max_protocol_version,
        connect_timeout,
        application_name,
        options,
        keepalives,
        tcp_user_timeout,
        target_session_attrs,
        channel_binding,
        load_balance_hosts,
        secrets,
    })
}

/// Refuses what dmig cannot honour, naming the keyword or variable.
fn refuse_unsupported(s: &Settings) -> Result<(), ConnInfoError> {
    for (name, reason) in UNSUPPORTED {
        if let Some(raw) = s.nonempty(name) {
            return Err(unsupported(raw, name, reason));
        }
    }
    if let Some(raw) = s.nonempty("replication") {
        if !matches!(
            raw.value.to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        ) {
            return Err(unsupported(
                raw,
                "replication",
                "dmig does not open replication connections",
            ));
        }
    }
    if let Some(raw) = s.get("gssencmode") {
        match raw.value.as_str() {
            // Without GSSAPI, libpq's default `prefer` is plain text too.
            "disable" | "prefer" => {}
            "require" => {
                return Err(unsupported(
                    raw,
                    "gssencmode",
                    "dmig has no GSSAPI encryption",
                ))
            }
            _ => return Err(invalid(raw, "gssencmode", "disable, prefer or require")),
        }
    }
    if let Some(raw) = s.nonempty("client_encoding") {
        let name = raw.value.to_ascii_lowercase().replace(['-', '_'], "");
        if !matches!(name.as_str(), "utf8" | "unicode" | "auto") {
            return Err(unsupported(
                raw,
                "client_encoding",
                "dmig always talks UTF8, as Diesel does",
            ));
        }
    }
    if let Some(raw) = s.nonempty("min_protocol_version") {
        match raw.value.as_str() {
            "3.0" => {}
            "3.2" | "latest" => {
                return Err(unsupported(
                    raw,
                    "min_protocol_version",
                    "tokio-postgres speaks protocol 3.0 only",
                ))
            }
            _ => return Err(invalid(raw, "min_protocol_version", "3.0, 3.2 or latest")),
        }
    }
    if let Some(raw) = s.nonempty("max_protocol_version") {
        if !matches!(raw.value.as_str(), "3.0" | "3.2" | "latest") {
            return Err(invalid(raw, "max_protocol_version", "3.0, 3.2 or latest"));
        }
    }

    Ok(())
}

/// The session and socket settings of a [`ConnInfo`].
struct Session {
    connect_timeout: Option<Duration>,
    tcp_user_timeout: Option<Duration>,
    keepalives: Keepalives,
    target_session_attrs: TargetSessionAttrs,
    channel_binding: ChannelBinding,
    load_balance_hosts: LoadBalanceHosts,
    options: Option<String>,
    application_name: String,
}

fn session(s: &Settings) -> Result<Session, ConnInfoError> {
    let channel_binding = match s.get("channel_binding") {
        None => ChannelBinding::Prefer,
        Some(raw) => match raw.value.as_str() {
            "disable" => ChannelBinding::Disable,
            "prefer" => ChannelBinding::Prefer,
            "require" => ChannelBinding::Require,
            _ => {
                return Err(invalid(
                    raw,
                    "channel_binding",
                    "disable, prefer or require",
                ))
            }
        },
    };
    let target_session_attrs = match s.get("target_session_attrs") {
        None => TargetSessionAttrs::Any,
        Some(raw) => match raw.value.as_str() {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            "primary" | "standby" | "prefer-standby" => {
                return Err(unsupported(
                    raw,
                    "target_session_attrs",
                    "tokio-postgres knows any, read-write and read-only",
                ))
            }
            _ => {
                return Err(invalid(
                    raw,
                    "target_session_attrs",
                    "any, read-write, read-only, primary, standby or prefer-standby",
                ))
            }
        },
    };
    let load_balance_hosts = match s.get("load_balance_hosts") {
        None => LoadBalanceHosts::Disable,
        Some(raw) => match raw.value.as_str() {
            "disable" => LoadBalanceHosts::Disable,
            "random" => LoadBalanceHosts::Random,
            _ => return Err(invalid(raw, "load_balance_hosts", "disable or random")),
        },
    };
    let connect_timeout = match s.get("connect_timeout") {
        None => None,
        Some(raw) => match parse_int(&raw.value) {
            None => return Err(invalid(raw, "connect_timeout", "a whole number of seconds")),
            Some(seconds) if seconds <= 0 => None,
            // libpq waits at least 2 s: rounding could make 1 s hardly any time.
            Some(seconds) => Some(Duration::from_secs(seconds.max(2).unsigned_abs().into())),
        },
    };
    let tcp_user_timeout = match s.get("tcp_user_timeout") {
        None => None,
        Some(raw) => match parse_int(&raw.value) {
            None => {
                return Err(invalid(
                    raw,
                    "tcp_user_timeout",
                    "a whole number of milliseconds",
                ))
            }
            Some(millis) if millis <= 0 => None,
            Some(millis) => Some(Duration::from_millis(millis.unsigned_abs().into())),
        },
    };
    let enabled = match s.get("keepalives") {
        None => true,
        Some(raw) => parse_keepalives(&raw.value)
            .ok_or_else(|| invalid(raw, "keepalives", "an integer (0 is off)"))?,
    };
    let mut keepalives = Keepalives {
        enabled,
        idle: KEEPALIVES_IDLE,
        interval: KEEPALIVES_INTERVAL,
        count: KEEPALIVES_COUNT,
    };
    // libpq sets these only on sockets with keepalives on.
    if enabled {
        let seconds = |value: i32| Duration::from_secs(value.unsigned_abs().into());
        if let Some(idle) = keepalive_seconds(s, "keepalives_idle")? {
            keepalives.idle = seconds(idle);
        }
        if let Some(interval) = keepalive_seconds(s, "keepalives_interval")? {
            keepalives.interval = seconds(interval);
        }
        if let Some(count) = keepalive_seconds(s, "keepalives_count")? {
            keepalives.count = count.unsigned_abs();
        }
    }
    let options = s.nonempty("options").map(|raw| raw.value.clone());
    let application_name = s
        .nonempty("application_name")
        .or_else(|| s.nonempty("fallback_application_name"))
        .map_or_else(
            || DEFAULT_APPLICATION_NAME.to_owned(),
            |raw| raw.value.clone(),
        );

    Ok(Session {
        connect_timeout,
        tcp_user_timeout,
        keepalives,
        target_session_attrs,
        channel_binding,
        load_balance_hosts,
        options,
        application_name,
    })
}

/// Who connects where: user, database, and one host, hostaddr and port per
/// server, with libpq's defaults.
struct Servers {
    user: String,
    dbname: String,
    hosts: Vec<Host>,
    hostaddrs: Vec<IpAddr>,
    ports: Vec<u16>,
}

fn servers(s: &Settings, env: &Environment<'_>) -> Result<Servers, ConnInfoError> {
    let user = s
        .nonempty("user")
        .map_or_else(|| os_user(env), |raw| raw.value.clone());
    let dbname = s
        .nonempty("dbname")
        .map_or_else(|| user.clone(), |raw| raw.value.clone());
    let hostaddrs: Vec<IpAddr> = match s.nonempty("hostaddr") {
        None => Vec::new(),
        Some(raw) => raw
            .value
            .split(',')
            .map(|element| element.parse())
            .collect::<Result<_, _>>()
            .map_err(|_| invalid(raw, "hostaddr", "IP addresses separated by commas"))?,
    };
    let host_list: Vec<&str> = s
        .nonempty("host")
        .map(|raw| raw.value.split(',').collect())
        .unwrap_or_default();
    let count = if hostaddrs.is_empty() {
        host_list.len().max(1)
    } else {
        if !host_list.is_empty() && host_list.len() != hostaddrs.len() {
            return Err(ConnInfoError::HostaddrCount {
                hosts: host_list.len(),
                hostaddrs: hostaddrs.len(),
            });
        }
        hostaddrs.len()
    };
    let ports = match s.nonempty("port") {
        None => vec![DEFAULT_PORT; count],
        Some(raw) => {
            let ports = raw
                .value
                .split(',')
                .map(parse_port)
                .collect::<Option<Vec<u16>>>()
                .ok_or_else(|| invalid(raw, "port", "a number from 1 to 65535"))?;
            match ports.as_slice() {
                [port] => vec![*port; count],
                _ if ports.len() == count => ports,
                _ => {
                    return Err(ConnInfoError::PortCount {
                        ports: ports.len(),
                        hosts: count,
                        origin: raw.origin,
                    })
                }
            }
        }
    };
    let mut hosts = Vec::with_capacity(count);
    for (i, port) in ports.iter().enumerate() {
        let element = host_list.get(i).copied().unwrap_or_default();
        let host = if element.starts_with('/') {
            Host::Unix(PathBuf::from(element))
        } else if element.starts_with('@') {
            let reason = "tokio-postgres cannot reach an abstract Unix socket (`@name`)";
            return Err(match s.get("host") {
                Some(raw) => unsupported(raw, "host", reason),
                None => ConnInfoError::Unsupported {
                    keyword: "host",
                    origin: Origin::ConnString,
                    reason,
                },
            });
        } else if !element.is_empty() {
            Host::Tcp(element.to_owned())
        } else if let Some(hostaddr) = hostaddrs.get(i) {
            Host::Tcp(hostaddr.to_string())
        } else {
            default_host(env, *port)
        };
        hosts.push(host);
    }

    Ok(Servers {
        user,
        dbname,
        hosts,
        hostaddrs,
        ports,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_env::*;
    use super::super::*;

    #[test]
    fn every_environment_variable_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let passfile = dir.path().join("pgpass");
        write_private(&passfile, "*:*:*:*:from-file\n");
        let env = TestEnv::new()
            .var("PGHOST", "h1,h2")
            .var("PGHOSTADDR", "10.0.0.1,10.0.0.2")
            .var("PGPORT", "6000,6001")
            .var("PGUSER", "envuser")
            .var("PGDATABASE", "envdb")
            .var("PGSSLMODE", "verify-ca")
            .var("PGSSLROOTCERT", "/ca.pem")
            .var("PGSSLCERT", "/c.pem")
            .var("PGSSLKEY", "/k.pem")
            .var("PGSSLSNI", "0")
            .var("PGCONNECT_TIMEOUT", "7")
            .var("PGAPPNAME", "envapp")
            .var("PGOPTIONS", "-c search_path=x")
            .var("PGTARGETSESSIONATTRS", "read-write")
            .var("PGCHANNELBINDING", "require")
            .var("PGLOADBALANCEHOSTS", "random")
            .var("PGSSLMINPROTOCOLVERSION", "TLSv1.3")
            .var("PGGSSENCMODE", "disable")
            .var("PGCLIENTENCODING", "UTF8")
            .var("PGPASSFILE", passfile.to_str().unwrap());
        let info = env.ok("");
        assert_eq!(info.hosts, [tcp("h1"), tcp("h2")]);
        assert_eq!(
            info.hostaddrs,
            [
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]
        );
        assert_eq!(info.ports, [6000, 6001]);
        assert_eq!(info.user, "envuser");
        assert_eq!(info.dbname, "envdb");
        assert_eq!(info.sslmode, Some(SslMode::VerifyCa));
        assert_eq!(info.sslrootcert, Some(SslRootCert::File("/ca.pem".into())));
        assert_eq!(info.sslcert, Some(PathBuf::from("/c.pem")));
        assert_eq!(info.sslkey, Some(PathBuf::from("/k.pem")));
        assert!(!info.sslsni);
        assert_eq!(info.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(info.application_name, "envapp");
        assert_eq!(info.options.as_deref(), Some("-c search_path=x"));
        assert_eq!(info.target_session_attrs, TargetSessionAttrs::ReadWrite);
        assert_eq!(info.channel_binding, ChannelBinding::Require);
        assert_eq!(info.load_balance_hosts, LoadBalanceHosts::Random);
        assert_eq!(info.ssl_min_protocol_version, TlsVersion::V1_3);
        assert!(!info.allows_tls(TlsVersion::V1_2));
        assert!(info.allows_tls(TlsVersion::V1_3));
        assert_eq!(info.password.as_deref(), Some("from-file"));
        assert_eq!(info.password_source, Some(PasswordSource::File(passfile)));

        // PGPASSWORD comes before the file.
        let info = env.var("PGPASSWORD", "from-env").ok("");
        assert_eq!(info.password.as_deref(), Some("from-env"));
    }

    #[test]
    fn the_input_wins_over_the_environment() {
        let env = TestEnv::new()
            .var("PGHOST", "envhost")
            .var("PGPORT", "1")
            .var("PGUSER", "envuser")
            .var("PGPASSWORD", "envpw")
            .var("PGDATABASE", "envdb")
            .var("PGSSLMODE", "require")
            .var("PGAPPNAME", "envapp");
        let info = env.ok("postgres://u:pw@h:2/d?sslmode=disable&application_name=mine");
        assert_eq!(info.hosts, [tcp("h")]);
        assert_eq!(info.ports, [2]);
        assert_eq!(info.user, "u");
        assert_eq!(info.password.as_deref(), Some("pw"));
        assert_eq!(info.dbname, "d");
        assert_eq!(info.sslmode, Some(SslMode::Disable));
        assert_eq!(info.application_name, "mine");
    }

    #[test]
    fn invalid_environment_values_name_the_variable() {
        assert_eq!(
            TestEnv::new().var("PGPORT", "x").err("").to_string(),
            "invalid port `x` from PGPORT: expected a number from 1 to 65535"
        );
        assert_eq!(
            TestEnv::new().var("PGSSLMODE", "").err("").to_string(),
            "invalid sslmode `` from PGSSLMODE: expected disable, allow, prefer, require, \
             verify-ca or verify-full"
        );
        assert_eq!(
            TestEnv::new()
                .var("PGCONNECT_TIMEOUT", "soon")
                .err("")
                .to_string(),
            "invalid connect_timeout `soon` from PGCONNECT_TIMEOUT: expected a whole number \
             of seconds"
        );
        assert_eq!(
            TestEnv::new()
                .var("PGTARGETSESSIONATTRS", "primary")
                .err("")
                .to_string(),
            "connection option `target_session_attrs` from PGTARGETSESSIONATTRS is not \
             supported: tokio-postgres knows any, read-write and read-only"
        );
        assert_eq!(
            TestEnv::new().var("PGSERVICE", "prod").err("").to_string(),
            "definition of service `prod` not found: no service file (~/.pg_service.conf, or \
             the files PGSERVICEFILE and PGSYSCONFDIR name)"
        );
        assert_eq!(
            TestEnv::new()
                .var("PGCLIENTENCODING", "LATIN1")
                .err("")
                .to_string(),
            "connection option `client_encoding` from PGCLIENTENCODING is not supported: dmig \
             always talks UTF8, as Diesel does"
        );
        assert_eq!(
            TestEnv::new()
                .var("PGREQUIREAUTH", "scram-sha-256")
                .err("")
                .to_string(),
            "connection option `require_auth` from PGREQUIREAUTH is not supported: \
             tokio-postgres cannot restrict the authentication method"
        );
        // Unset-but-empty variables are harmless where libpq finds them so.
        let info = TestEnv::new()
            .var("PGHOST", "")
            .var("PGPORT", "")
            .var("PGSERVICE", "")
            .ok("");
        assert_eq!(
            info.target().to_string(),
            "localhost:5432/postgres as postgres"
        );
    }

    #[test]
    fn pgrequiressl_is_read_when_no_sslmode_is_set() {
        let env = TestEnv::new().var("PGREQUIRESSL", "1");
        assert_eq!(env.ok("").sslmode, Some(SslMode::Require));
        assert_eq!(env.ok("sslmode=disable").sslmode, Some(SslMode::Disable));
        let env = env.var("PGSSLMODE", "prefer");
        assert_eq!(env.ok("").sslmode, Some(SslMode::Prefer));
        assert_eq!(TestEnv::new().var("PGREQUIRESSL", "0").ok("").sslmode, None);
    }

    #[test]
    fn the_default_user_is_the_os_user() {
        assert_eq!(TestEnv::new().var("USER", "alice").ok("").user, "alice");
        assert_eq!(TestEnv::new().var("LOGNAME", "bob").ok("").user, "bob");
        assert_eq!(
            TestEnv::new()
                .var("USER", "alice")
                .var("LOGNAME", "bob")
                .ok("")
                .user,
            "alice"
        );
        let info = TestEnv::new().ok("");
        assert_eq!(info.user, "postgres");
        assert_eq!(info.dbname, "postgres");
        assert_eq!(TestEnv::new().var("USER", "carol").ok("").dbname, "carol");
    }

    #[test]
    fn the_default_host_is_a_socket_directory_that_has_the_socket() {
        let empty = tempfile::tempdir().unwrap();
        let with_socket = tempfile::tempdir().unwrap();
        fs::write(with_socket.path().join(".s.PGSQL.5432"), "").unwrap();
        let env = TestEnv::new()
            .socket_dir(empty.path())
            .socket_dir(with_socket.path());
        assert_eq!(
            env.ok("").hosts,
            [Host::Unix(with_socket.path().to_owned())]
        );
        // Another port has no socket there: localhost.
        assert_eq!(env.ok("port=5999").hosts, [tcp("localhost")]);
        assert_eq!(TestEnv::new().ok("").hosts, [tcp("localhost")]);
        // A hostaddr alone is the host.
        let info = TestEnv::new().ok("hostaddr=10.1.2.3");
        assert_eq!(info.hosts, [tcp("10.1.2.3")]);
        assert_eq!(info.target().host, "10.1.2.3");
    }

    #[test]
    fn dmig_defaults_application_name_and_keepalives() {
        let info = parse("");
        assert_eq!(info.application_name, "dmig");
        assert_eq!(
            info.keepalives,
            Keepalives {
                enabled: true,
                idle: Duration::from_secs(30),
                interval: Duration::from_secs(10),
                count: 3
            }
        );
        assert_eq!(
            parse("fallback_application_name=app").application_name,
            "app"
        );
        assert_eq!(
            parse("fallback_application_name=app application_name=mine").application_name,
            "mine"
        );
        assert_eq!(
            TestEnv::new()
                .var("PGAPPNAME", "env")
                .ok("fallback_application_name=app")
                .application_name,
            "env"
        );
        let info = parse("keepalives_idle=5 keepalives_interval=2 keepalives_count=9");
        assert_eq!(
            (
                info.keepalives.idle,
                info.keepalives.interval,
                info.keepalives.count
            ),
            (Duration::from_secs(5), Duration::from_secs(2), 9)
        );
        assert!(!parse("keepalives=0").keepalives.enabled);
        assert!(!parse("keepalives=").keepalives.enabled);
        assert!(parse("keepalives=2").keepalives.enabled);
        assert_eq!(
            error("keepalives=yes"),
            "invalid keepalives `yes` in the connection string: expected an integer (0 is off)"
        );
        assert_eq!(
            error("keepalives_idle=0"),
            "invalid keepalives_idle `0` in the connection string: expected a whole number, \
             at least 1"
        );
        // Off, the other settings do not matter (libpq never applies them).
        assert!(!parse("keepalives=0 keepalives_idle=0").keepalives.enabled);
    }

    #[test]
    fn numbers_are_read_as_libpq_reads_them() {
        assert_eq!(parse("port=' 6000 '").ports, [6000]);
        assert_eq!(
            parse("connect_timeout=1").connect_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(parse("connect_timeout=0").connect_timeout, None);
        assert_eq!(parse("connect_timeout=-5").connect_timeout, None);
        assert_eq!(
            parse("tcp_user_timeout=1500").tcp_user_timeout,
            Some(Duration::from_millis(1500))
        );
        for bad in ["port=0", "port=65536", "port=5e3", "port=", "port=1,,x"] {
            if bad == "port=" {
                assert_eq!(parse(bad).ports, [5432]);
                continue;
            }
            assert!(error(bad).starts_with("invalid port `"), "{bad}");
        }
        assert_eq!(
            error("postgres://db:x/app"),
            "invalid port `x` in the database URL: expected a number from 1 to 65535"
        );
        assert_eq!(
            error("host=a,b,c port=1,2"),
            "could not match 2 port numbers to 3 hosts in the connection string"
        );
        assert_eq!(
            error("host=a,b hostaddr=10.0.0.1"),
            "could not match 2 host names to 1 hostaddr values"
        );
        assert_eq!(
            error("hostaddr=db.internal"),
            "invalid hostaddr `db.internal` in the connection string: expected IP addresses \
             separated by commas"
        );
    }

    #[test]
    fn what_dmig_cannot_honour_is_refused_by_name() {
        for (input, keyword) in [
            ("sslcrl=/crl.pem", "sslcrl"),
            ("sslcrldir=/crl", "sslcrldir"),
            ("requirepeer=postgres", "requirepeer"),
            ("gssencmode=require", "gssencmode"),
            ("replication=database", "replication"),
            ("sslcertmode=require", "sslcertmode"),
            ("min_protocol_version=3.2", "min_protocol_version"),
            ("host=@abstract", "host"),
            ("postgres://db?sslpassword=k3y", "sslpassword"),
        ] {
            let message = error(input);
            assert!(
                message.starts_with(&format!("connection option `{keyword}` ")),
                "{input}: {message}"
            );
            assert!(!message.contains("k3y"), "{message}");
        }
        // Harmless values of those keywords pass, and so does what libpq ignores.
        parse(
            "gssencmode=prefer replication=off sslcompression=1 krbsrvname=x gsslib=gssapi \
             gssdelegation=1 client_encoding=utf-8 min_protocol_version=3.0 \
             max_protocol_version=latest sslcertmode=allow",
        );
    }
}
