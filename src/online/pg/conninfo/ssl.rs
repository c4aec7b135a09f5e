//! The TLS settings, checked as libpq checks them, for dmig's own TLS
//! (`online::pg::tls`): tokio-postgres only learns whether TLS is off,
//! preferred or required.

use std::path::PathBuf;

use super::settings::{invalid, unsupported, Echo, Settings};
use super::{ConnInfoError, SslMode, SslNegotiation, SslRootCert, TlsVersion};

/// The TLS settings of a [`super::ConnInfo`].
pub(super) struct Ssl {
    pub(super) sslmode: Option<SslMode>,
    pub(super) sslrootcert: Option<SslRootCert>,
    pub(super) sslcert: Option<PathBuf>,
    pub(super) sslkey: Option<PathBuf>,
    pub(super) sslsni: bool,
    pub(super) sslnegotiation: SslNegotiation,
    pub(super) ssl_min_protocol_version: TlsVersion,
    pub(super) ssl_max_protocol_version: Option<TlsVersion>,
}

/// The TLS settings of `s`.
pub(super) fn ssl(s: &Settings) -> Result<Ssl, ConnInfoError> {
    let sslrootcert = s.nonempty("sslrootcert").map(|raw| {
        if raw.value == "system" {
            SslRootCert::System
        } else {
            SslRootCert::File(PathBuf::from(&raw.value))
        }
    });
    let sslmode_raw = s.get("sslmode");
    let sslmode = match sslmode_raw {
        Some(raw) => Some(SslMode::parse(&raw.value).ok_or_else(|| {
            invalid(
                raw,
                "sslmode",
                "disable, allow, prefer, require, verify-ca or verify-full",
            )
        })?),
        None => None,
    };
    let sslmode = match (sslmode, &sslrootcert, sslmode_raw) {
        // libpq strengthens its default for the system's roots.
        (None, Some(SslRootCert::System), _) => Some(SslMode::VerifyFull),
        (Some(mode), Some(SslRootCert::System), Some(raw)) if mode != SslMode::VerifyFull => {
            if raw.echo == Echo::Nothing {
                return Err(invalid(raw, "sslmode", ""));
            }
            return Err(ConnInfoError::WeakSslMode {
                mode,
                origin: raw.origin,
                with: "sslrootcert=system",
                instead: "verify-full",
            });
        }
        (mode, _, _) => mode,
    };
    let sslnegotiation = match s.get("sslnegotiation") {
        None => SslNegotiation::Postgres,
        Some(raw) => match raw.value.as_str() {
            "postgres" => SslNegotiation::Postgres,
            "direct" => {
                let strong = matches!(
                    sslmode,
                    Some(SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
                );
                let instead = "require, verify-ca or verify-full";
                match (sslmode, sslmode_raw) {
                    (_, Some(mode_raw)) if !strong && mode_raw.echo == Echo::Nothing => {
                        return Err(invalid(mode_raw, "sslmode", ""));
                    }
                    (Some(mode), Some(mode_raw)) if !strong => {
                        return Err(ConnInfoError::WeakSslMode {
                            mode,
                            origin: mode_raw.origin,
                            with: "sslnegotiation=direct",
                            instead,
                        });
                    }
                    _ if !strong => {
                        if raw.echo == Echo::Nothing {
                            return Err(invalid(raw, "sslnegotiation", ""));
                        }
                        return Err(ConnInfoError::NeedsSslMode {
                            with: "sslnegotiation=direct",
                            origin: raw.origin,
                            instead,
                        });
                    }
                    _ => {}
                }
                SslNegotiation::Direct
            }
            _ => return Err(invalid(raw, "sslnegotiation", "postgres or direct")),
        },
    };
    let sslsni = match s.get("sslsni") {
        None => true,
        Some(raw) => match raw.value.as_str() {
            "1" => true,
            "0" => false,
            _ => return Err(invalid(raw, "sslsni", "0 or 1")),
        },
    };
    let drop_client_cert = match s.get("sslcertmode") {
        None => false,
        Some(raw) => match raw.value.as_str() {
            "allow" => false,
            "disable" => true,
            "require" => {
                return Err(unsupported(
                    raw,
                    "sslcertmode",
                    "dmig cannot tell whether the server asked for a certificate",
                ))
            }
            _ => return Err(invalid(raw, "sslcertmode", "disable, allow or require")),
        },
    };
    let (sslcert, sslkey) = if drop_client_cert {
        (None, None)
    } else {
        (
            s.nonempty("sslcert").map(|raw| PathBuf::from(&raw.value)),
            s.nonempty("sslkey").map(|raw| PathBuf::from(&raw.value)),
        )
    };
    let tls_version = |name: &'static str| -> Result<Option<TlsVersion>, ConnInfoError> {
        match s.nonempty(name) {
            None => Ok(None),
            Some(raw) => TlsVersion::parse(&raw.value)
                .map(Some)
                .ok_or_else(|| invalid(raw, name, "TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3")),
        }
    };
    let ssl_min_protocol_version = match s.get("ssl_min_protocol_version") {
        // An empty value is no bound in libpq.
        Some(_) => tls_version("ssl_min_protocol_version")?.unwrap_or(TlsVersion::V1_0),
        None => TlsVersion::V1_2,
    };
    let ssl_max_protocol_version = tls_version("ssl_max_protocol_version")?;
    if ssl_max_protocol_version.is_some_and(|max| max < ssl_min_protocol_version) {
        return Err(ConnInfoError::TlsVersionRange);
    }
    let uses_tls = matches!(
        sslmode,
        Some(SslMode::Prefer | SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    );
    if uses_tls && ssl_max_protocol_version.is_some_and(|max| max < TlsVersion::V1_2) {
        if let Some(raw) = s.get("ssl_max_protocol_version") {
            return Err(unsupported(
                raw,
                "ssl_max_protocol_version",
                "rustls speaks TLS 1.2 and 1.3 only",
            ));
        }
    }

    Ok(Ssl {
        sslmode,
        sslrootcert,
        sslcert,
        sslkey,
        sslsni,
        sslnegotiation,
        ssl_min_protocol_version,
        ssl_max_protocol_version,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_env::*;
    use super::super::*;

    #[test]
    fn tls_settings_are_kept_for_dmigs_own_tls() {
        let info =
            parse("sslmode=verify-full sslrootcert=/ca.pem sslcert=/c.pem sslkey=/k.pem sslsni=0");
        assert_eq!(info.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(info.sslrootcert, Some(SslRootCert::File("/ca.pem".into())));
        assert!(!info.sslsni);
        assert!(info.allows_tls(TlsVersion::V1_2) && info.allows_tls(TlsVersion::V1_3));
        // sslrootcert=system strengthens the default, and refuses weaker modes.
        assert_eq!(
            parse("sslrootcert=system").sslmode,
            Some(SslMode::VerifyFull)
        );
        assert_eq!(
            error("sslrootcert=system sslmode=require"),
            "sslmode `require` in the connection string cannot be used with \
             sslrootcert=system: use verify-full"
        );
        assert_eq!(
            parse("sslmode=require sslnegotiation=direct").sslnegotiation,
            SslNegotiation::Direct
        );
        assert_eq!(
            error("sslnegotiation=direct"),
            "sslnegotiation=direct in the connection string needs sslmode require, verify-ca \
             or verify-full"
        );
        assert_eq!(
            error("sslnegotiation=direct sslmode=prefer"),
            "sslmode `prefer` in the connection string cannot be used with \
             sslnegotiation=direct: use require, verify-ca or verify-full"
        );
        // sslcertmode=disable drops the client certificate.
        let info = parse("sslcert=/c.pem sslkey=/k.pem sslcertmode=disable");
        assert_eq!((info.sslcert, info.sslkey), (None, None));
        assert_eq!(
            error("sslsni=2"),
            "invalid sslsni `2` in the connection string: expected 0 or 1"
        );
        assert_eq!(
            error(
                "sslmode=require ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1.1"
            ),
            "connection option `ssl_max_protocol_version` in the connection string is not \
             supported: rustls speaks TLS 1.2 and 1.3 only"
        );
        assert_eq!(
            error("ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=tlsv1.2"),
            "invalid TLS protocol version range: ssl_min_protocol_version is above \
             ssl_max_protocol_version"
        );
        assert_eq!(parse("").sslmode, None);
        assert_eq!(parse("").ssl_min_protocol_version, TlsVersion::V1_2);
    }
}
