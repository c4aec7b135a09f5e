//! TLS for PostgreSQL connections, with rustls (ring, no OpenSSL).
//!
//! `AsyncPgConnection::establish` always connects in plain text, and
//! tokio-postgres 0.7 knows only `sslmode=disable|prefer|require` and none
//! of libpq's certificate options. So dmig reads those options itself
//! ([`super::conninfo`], from the URL or the `PGSSL*` environment), tells
//! tokio-postgres only whether TLS is off, preferred or required, and does
//! the TLS here:
//!
//! | `sslmode`                   | TLS                        | server certificate                                   |
//! |-----------------------------|----------------------------|------------------------------------------------------|
//! | (none), `disable`, `allow`  | no                         |                                                      |
//! | `prefer`                    | when the server offers it  | not checked; the chain is checked when `sslrootcert` is given |
//! | `require`                   | yes                        | as `prefer`                                          |
//! | `verify-ca`                 | yes                        | chain, against `sslrootcert` or the system's roots   |
//! | `verify-full`               | yes                        | chain and host name                                  |
//!
//! Without `sslmode` dmig connects in plain text, as diesel-async does (libpq
//! would try TLS first). `sslrootcert=system` names the system's roots, as in
//! libpq 16. `sslcert` and `sslkey` (PEM) send a client certificate;
//! `sslsni=0` turns SNI off. `ssl_min_protocol_version` (default `TLSv1.2`)
//! and `ssl_max_protocol_version` bound the TLS versions; rustls speaks 1.2
//! and 1.3. libpq's default files under `~/.postgresql/` are not read: name
//! them in the URL or the environment.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::connect::lowercase_first;
use super::conninfo::SslRootCert;
use super::url::{Mode, TlsSettings};

/// A rustls error in words, with the roots we checked against.
pub(super) fn describe_tls_error(error: &rustls::Error, settings: &TlsSettings) -> String {
    let roots = match &settings.root_cert {
        Some(SslRootCert::File(path)) => format!("sslrootcert `{}`", path.display()),
        Some(SslRootCert::System) | None => "the system's root certificates".to_owned(),
    };
    match error {
        rustls::Error::InvalidCertificate(certificate) => {
            let what = match certificate {
                CertificateError::UnknownIssuer => format!(
                    "the server's certificate is not signed by a trusted certificate authority \
                     (checked against {roots})"
                ),
                CertificateError::BadSignature => {
                    "the server's certificate has a bad signature".to_owned()
                }
                CertificateError::NotValidForName => {
                    "the server's certificate is not valid for the host name".to_owned()
                }
                CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => {
                    let names = if presented.is_empty() {
                        "no names".to_owned()
                    } else {
                        presented
                            .iter()
                            .map(|name| presented_name(name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    format!(
                        "the server's certificate is not valid for host `{}` (it names {names}); \
                         connect by a name it holds, or use sslmode=verify-ca",
                        expected.to_str()
                    )
                }
                other => lowercase_first(&other.to_string()),
            };
            format!("certificate verification failed: {what}")
        }
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the handshake with alert `{alert:?}`")
        }
        other => lowercase_first(&other.to_string()),
    }
}

/// rustls lists a certificate's names as `DnsName("db")` or
/// `IpAddress(10.0.0.1)`; show `db` and `10.0.0.1`.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(name)
}

// ---------------------------------------------------------------------------
// TLS

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The rustls configuration for `settings`; the error is a message.
pub(super) fn client_config(settings: &TlsSettings) -> Result<ClientConfig, String> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match (settings.mode, &settings.root_cert) {
        (Mode::VerifyFull, roots) => web_pki_verifier(roots.as_ref(), &provider)?,
        (Mode::VerifyCa, roots) => {
            Arc::new(ChainOnly(web_pki_verifier(roots.as_ref(), &provider)?))
        }
        // libpq checks the chain whenever it has a root certificate.
        (_, Some(roots)) => Arc::new(ChainOnly(web_pki_verifier(Some(roots), &provider)?)),
        (_, None) => Arc::new(NoVerification(provider.signature_verification_algorithms)),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&settings.versions)
        .map_err(|error| lowercase_first(&error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => {
            let chain = read_certificates(cert, "sslcert")?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|error| format!("cannot read sslkey `{}`: {error}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| format!("cannot use sslcert and sslkey: {error}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.enable_sni = settings.sni;
    Ok(config)
}

fn web_pki_verifier(
    roots: Option<&SslRootCert>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, String> {
    let store = match roots {
        Some(SslRootCert::File(path)) => {
            let mut store = RootCertStore::empty();
            for certificate in read_certificates(path, "sslrootcert")? {
                store.add(certificate).map_err(|error| {
                    format!("cannot use sslrootcert `{}`: {error}", path.display())
                })?;
            }
            Arc::new(store)
        }
        Some(SslRootCert::System) | None => system_roots()?,
    };
    WebPkiServerVerifier::builder_with_provider(store, provider.clone())
        .build()
        .map_err(|error| format!("cannot build the certificate verifier: {error}"))
}

/// The PEM certificates in `path`; at least one.
fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let cannot =
        |error: &dyn fmt::Display| format!("cannot read {what} `{}`: {error}", path.display());
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| cannot(&error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| cannot(&error))?;
    if certificates.is_empty() {
        return Err(format!(
            "{what} `{}` holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certificates)
}

/// The platform's trusted roots, read once per process.
fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(loaded.certs);
            if store.is_empty() {
                Err(
                    "no trusted root certificates found on this system; install them \
                     (ca-certificates) or name the server's ca with sslrootcert=<file>"
                        .to_owned(),
                )
            } else {
                Ok(Arc::new(store))
            }
        })
        .clone()
}

/// `verify-ca`: the chain must lead to a trusted root, the host name may
/// differ. webpki checks the name last, after the chain.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` and `prefer` without a root certificate: encrypted, but any
/// certificate is accepted (libpq does the same). The handshake signatures
/// are still checked, so the server holds the certificate's key.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(presented_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(presented_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(presented_name("*.example.com"), "*.example.com");
    }
}
