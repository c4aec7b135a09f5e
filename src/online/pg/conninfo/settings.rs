//! Settings as given, before any check: libpq's keyword table, what each
//! parser and the environment store (with where it came from and how much of
//! it a message may show), and the errors that name a setting.

use std::collections::HashMap;

use super::{ConnInfoError, Environment, Origin};

// ---------------------------------------------------------------------------
// The keywords

/// One libpq connection keyword.
struct Spec {
    name: &'static str,
    /// The environment variable libpq falls back to.
    env: Option<&'static str>,
    /// Never echoed, always redacted.
    secret: bool,
}

impl Spec {
    const fn new(name: &'static str, env: Option<&'static str>) -> Spec {
        Spec {
            name,
            env,
            secret: false,
        }
    }

    const fn secret(name: &'static str, env: Option<&'static str>) -> Spec {
        Spec {
            name,
            env,
            secret: true,
        }
    }
}

/// libpq's keywords (`PQconninfoOptions`, PostgreSQL 18), with their
/// environment variables. `requiressl` is an alias handled on storing.
const SPECS: &[Spec] = &[
    Spec::new("service", Some("PGSERVICE")),
    Spec::new("user", Some("PGUSER")),
    Spec::secret("password", Some("PGPASSWORD")),
    Spec::new("passfile", Some("PGPASSFILE")),
    Spec::new("channel_binding", Some("PGCHANNELBINDING")),
    Spec::new("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    Spec::new("dbname", Some("PGDATABASE")),
    Spec::new("host", Some("PGHOST")),
    Spec::new("hostaddr", Some("PGHOSTADDR")),
    Spec::new("port", Some("PGPORT")),
    Spec::new("client_encoding", Some("PGCLIENTENCODING")),
    Spec::new("options", Some("PGOPTIONS")),
    Spec::new("application_name", Some("PGAPPNAME")),
    Spec::new("fallback_application_name", None),
    Spec::new("keepalives", None),
    Spec::new("keepalives_idle", None),
    Spec::new("keepalives_interval", None),
    Spec::new("keepalives_count", None),
    Spec::new("tcp_user_timeout", None),
    Spec::new("sslmode", Some("PGSSLMODE")),
    Spec::new("sslnegotiation", Some("PGSSLNEGOTIATION")),
    Spec::new("sslcompression", Some("PGSSLCOMPRESSION")),
    Spec::new("sslcert", Some("PGSSLCERT")),
    Spec::new("sslkey", Some("PGSSLKEY")),
    Spec::new("sslcertmode", Some("PGSSLCERTMODE")),
    Spec::secret("sslpassword", None),
    Spec::new("sslrootcert", Some("PGSSLROOTCERT")),
    Spec::new("sslcrl", Some("PGSSLCRL")),
    Spec::new("sslcrldir", Some("PGSSLCRLDIR")),
    Spec::new("sslsni", Some("PGSSLSNI")),
    Spec::new("sslkeylogfile", None),
    Spec::new("requirepeer", Some("PGREQUIREPEER")),
    Spec::new("require_auth", Some("PGREQUIREAUTH")),
    Spec::new("ssl_min_protocol_version", Some("PGSSLMINPROTOCOLVERSION")),
    Spec::new("ssl_max_protocol_version", Some("PGSSLMAXPROTOCOLVERSION")),
    Spec::new("min_protocol_version", Some("PGMINPROTOCOLVERSION")),
    Spec::new("max_protocol_version", Some("PGMAXPROTOCOLVERSION")),
    Spec::new("gssencmode", Some("PGGSSENCMODE")),
    Spec::new("krbsrvname", Some("PGKRBSRVNAME")),
    Spec::new("gsslib", Some("PGGSSLIB")),
    Spec::new("gssdelegation", Some("PGGSSDELEGATION")),
    Spec::new("replication", None),
    Spec::new("target_session_attrs", Some("PGTARGETSESSIONATTRS")),
    Spec::new("load_balance_hosts", Some("PGLOADBALANCEHOSTS")),
    Spec::new("oauth_issuer", None),
    Spec::new("oauth_client_id", None),
    Spec::secret("oauth_client_secret", None),
    Spec::new("oauth_scope", None),
    Spec::secret("scram_client_key", None),
    Spec::secret("scram_server_key", None),
];

/// Keywords dmig refuses whenever they have a value, and why: each asks for
/// a check or a feature dmig does not have, and ignoring it would connect
/// with less than the user asked for.
pub(super) const UNSUPPORTED: &[(&str, &str)] = &[
    ("sslpassword", "dmig reads only unencrypted PEM keys"),
    ("sslcrl", "dmig does not check certificate revocation lists"),
    (
        "sslcrldir",
        "dmig does not check certificate revocation lists",
    ),
    ("sslkeylogfile", "dmig does not write TLS key logs"),
    (
        "requirepeer",
        "dmig does not check the user of the server process",
    ),
    (
        "require_auth",
        "tokio-postgres cannot restrict the authentication method",
    ),
    ("oauth_issuer", "dmig has no OAuth support"),
    ("oauth_client_id", "dmig has no OAuth support"),
    ("oauth_client_secret", "dmig has no OAuth support"),
    ("oauth_scope", "dmig has no OAuth support"),
    (
        "scram_client_key",
        "dmig cannot authenticate with SCRAM keys",
    ),
    (
        "scram_server_key",
        "dmig cannot authenticate with SCRAM keys",
    ),
];

fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|spec| spec.name == name)
}

pub(super) fn is_secret(name: &str) -> bool {
    spec(name).is_some_and(|spec| spec.secret)
}

/// A name that is certainly not a password fragment: one of libpq's
/// keywords that holds no secret.
pub(super) fn is_plain_keyword(name: &str) -> bool {
    name == "requiressl" || spec(name).is_some_and(|spec| !spec.secret)
}

// ---------------------------------------------------------------------------
// Raw settings, as stored by the parsers and the environment

/// What messages may show of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Echo {
    /// Nothing, not even the keyword: it follows a password and may be part
    /// of it.
    Nothing,
    /// The keyword but not the value: a secret, or a URL whose user info is
    /// in doubt.
    Name,
    /// Keyword and value.
    All,
}

/// One setting as given.
pub(super) struct Raw {
    pub(super) value: String,
    pub(super) origin: Origin,
    pub(super) echo: Echo,
}

/// What the input and the environment gave, keyword by keyword.
#[derive(Default)]
pub(super) struct Settings {
    values: HashMap<&'static str, Raw>,
    /// Every form of every secret, for [`super::ConnInfo::secrets`].
    pub(super) secrets: Vec<String>,
}

impl Settings {
    /// libpq's `conninfo_storeval`: a later value replaces an earlier one.
    pub(super) fn store(
        &mut self,
        name: &str,
        value: String,
        origin: Origin,
        echo: Echo,
    ) -> Result<(), ConnInfoError> {
        // libpq's old spelling: requiressl=1 is sslmode=require, anything
        // else sslmode=prefer.
        let (name, value) = if name == "requiressl" {
            let mode = if value.starts_with('1') {
                "require"
            } else {
                "prefer"
            };
            ("sslmode", mode.to_owned())
        } else {
            (name, value)
        };
        let Some(spec) = spec(name) else {
            return Err(if echo == Echo::Nothing {
                ConnInfoError::AfterPassword {
                    problem: "unknown connection option",
                    origin,
                }
            } else {
                ConnInfoError::UnknownOption {
                    name: name.to_owned(),
                    origin,
                }
            });
        };
        if spec.secret && !value.is_empty() {
            self.secrets.push(value.clone());
        }
        self.values.insert(
            spec.name,
            Raw {
                value,
                origin,
                echo: if spec.secret {
                    echo.min(Echo::Name)
                } else {
                    echo
                },
            },
        );
        Ok(())
    }

    pub(super) fn get(&self, name: &str) -> Option<&Raw> {
        self.values.get(name)
    }

    pub(super) fn nonempty(&self, name: &str) -> Option<&Raw> {
        self.get(name).filter(|raw| !raw.value.is_empty())
    }

    /// libpq's `conninfo_add_defaults`: each keyword not given takes its
    /// environment variable when that is set, even to the empty string.
    pub(super) fn add_environment(&mut self, env: &Environment<'_>) {
        for spec in SPECS {
            let Some(var) = spec.env else { continue };
            if self.values.contains_key(spec.name) {
                continue;
            }
            if let Some(value) = (env.var)(var) {
                if spec.secret && !value.is_empty() {
                    self.secrets.push(value.clone());
                }
                self.values.insert(
                    spec.name,
                    Raw {
                        value,
                        origin: Origin::Env(var),
                        echo: if spec.secret { Echo::Name } else { Echo::All },
                    },
                );
            }
        }
        // The old PGREQUIRESSL: a value starting with 1 means require, when
        // no sslmode is set.
        if !self.values.contains_key("sslmode")
            && (env.var)("PGREQUIRESSL").is_some_and(|value| value.starts_with('1'))
        {
            self.values.insert(
                "sslmode",
                Raw {
                    value: "require".to_owned(),
                    origin: Origin::Env("PGREQUIRESSL"),
                    echo: Echo::All,
                },
            );
        }
    }
}

pub(super) fn invalid(raw: &Raw, keyword: &'static str, expected: &'static str) -> ConnInfoError {
    if raw.echo == Echo::Nothing {
        return ConnInfoError::AfterPassword {
            problem: "invalid value",
            origin: raw.origin,
        };
    }
    ConnInfoError::InvalidValue {
        keyword,
        value: (raw.echo == Echo::All).then(|| raw.value.clone()),
        origin: raw.origin,
        expected,
    }
}

pub(super) fn unsupported(raw: &Raw, keyword: &'static str, reason: &'static str) -> ConnInfoError {
    if raw.echo == Echo::Nothing {
        return ConnInfoError::AfterPassword {
            problem: "unsupported connection option",
            origin: raw.origin,
        };
    }
    ConnInfoError::Unsupported {
        keyword,
        origin: raw.origin,
        reason,
    }
}
