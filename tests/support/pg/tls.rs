//! A second throwaway cluster with TLS, for the connection tests: its own
//! certificates (made with rcgen at start) and a `pg_hba.conf` that makes
//! each authentication path reachable.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use super::binaries::find_client;
use super::client::stderr;
use super::cluster::init_cluster;
use super::daemon::chown_to_nobody;
use super::CONNECT_TIMEOUT_SECS;

/// The role on the TLS cluster that logs in with a password (`scram-sha-256`).
pub const TLS_PASSWORD_USER: &str = "dmig_scram";
/// Its password.
pub const TLS_PASSWORD: &str = "correct-horse-battery";
/// The role on the TLS cluster that logs in with a client certificate (`cert`).
pub const TLS_CERT_USER: &str = "dmig_cert";

/// A throwaway cluster with `ssl = on`, always started by the tests (even
/// with `DMIG_TEST_DATABASE_URL` set), once per test process, on a free port
/// of 127.0.0.1, and stopped by the same watchdog as the main cluster.
///
/// Its certificates are made with rcgen at start: a CA, a server
/// certificate for `localhost` and `127.0.0.1`, a client certificate for
/// [`TLS_CERT_USER`], and a second CA that signed nothing the server uses.
/// `pg_hba.conf`: [`TLS_CERT_USER`] only over TLS with `cert`,
/// [`TLS_PASSWORD_USER`] with `scram-sha-256`, everyone else `trust`.
pub struct TlsServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// PEM of the CA that signed the server and client certificates.
    pub ca_cert: PathBuf,
    /// PEM of an unrelated CA.
    pub other_ca_cert: PathBuf,
    /// PEM client certificate for [`TLS_CERT_USER`], signed by `ca_cert`.
    pub client_cert: PathBuf,
    /// Its PKCS#8 PEM key.
    pub client_key: PathBuf,
}

impl TlsServer {
    /// `postgres://user[:password]@host:port/postgres` followed by `query`
    /// (give it with its `?`).
    pub fn url(&self, host: &str, user: &str, password: Option<&str>, query: &str) -> String {
        let password = password.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "postgres://{user}{password}@{host}:{}/postgres{query}",
            self.port
        )
    }

    /// A path as a URL query value (percent-encoded).
    pub fn query_path(path: &Path) -> String {
        let mut out = String::new();
        for byte in path.display().to_string().bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
}

/// The TLS cluster, started on first use.
pub fn tls_server() -> &'static TlsServer {
    static TLS_SERVER: OnceLock<Result<TlsServer, String>> = OnceLock::new();
    match TLS_SERVER.get_or_init(start_tls_cluster) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

/// The PEM files of the TLS cluster, made with rcgen.
struct TlsFiles {
    ca_cert: String,
    other_ca_cert: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn make_tls_files() -> Result<TlsFiles, rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    fn ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        CertifiedIssuer::self_signed(params, KeyPair::generate()?)
    }
    let ca_issuer = ca("dmig test ca")?;
    let other_ca = ca("dmig unrelated ca")?;

    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &ca_issuer)?;

    let mut client = CertificateParams::new(Vec::new())?;
    client
        .distinguished_name
        .push(DnType::CommonName, TLS_CERT_USER);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    let client_cert = client.signed_by(&client_key, &ca_issuer)?;

    Ok(TlsFiles {
        ca_cert: ca_issuer.pem(),
        other_ca_cert: other_ca.pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    })
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    fs::write(path, text)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|error| format!("cannot write `{}`: {error}", path.display()))
}

fn start_tls_cluster() -> Result<TlsServer, String> {
    let started = Instant::now();
    let cluster = init_cluster("TLS ", "")?;
    let (bin, as_root, dir, data) = (&cluster.bin, cluster.as_root, &cluster.dir, &cluster.data);

    let files = make_tls_files().map_err(|error| format!("rcgen failed: {error}"))?;
    // The server's files sit beside the data dir; postgres wants its key
    // owned by the user it runs as, mode 0600.
    let server_cert = dir.join("server.crt");
    let server_key = dir.join("server.key");
    let server_ca = dir.join("ca.crt");
    write_file(&server_cert, &files.server_cert, 0o644)?;
    write_file(&server_key, &files.server_key, 0o600)?;
    write_file(&server_ca, &files.ca_cert, 0o644)?;
    if as_root {
        chown_to_nobody(&server_key)?;
    }
    let client_dir = dir.join("client");
    fs::create_dir(&client_dir)
        .map_err(|error| format!("cannot create `{}`: {error}", client_dir.display()))?;
    let ca_cert = client_dir.join("ca.crt");
    let other_ca_cert = client_dir.join("other-ca.crt");
    let client_cert = client_dir.join("client.crt");
    let client_key = client_dir.join("client.key");
    write_file(&ca_cert, &files.ca_cert, 0o644)?;
    write_file(&other_ca_cert, &files.other_ca_cert, 0o644)?;
    write_file(&client_cert, &files.client_cert, 0o644)?;
    write_file(&client_key, &files.client_key, 0o600)?;

    let quote = |path: &Path| path.display().to_string().replace('\'', "''");
    // `password_encryption`: PostgreSQL 13 still stores new passwords as md5
    // by default (14 changed that), and an md5 password cannot log in
    // through the `scram-sha-256` line of pg_hba.conf.
    let settings = format!(
        "max_connections = 50\n\
         password_encryption = 'scram-sha-256'\n\
         ssl = on\n\
         ssl_cert_file = '{}'\n\
         ssl_key_file = '{}'\n\
         ssl_ca_file = '{}'\n",
        quote(&server_cert),
        quote(&server_key),
        quote(&server_ca)
    );
    fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut conf| conf.write_all(settings.as_bytes()))
        .map_err(|error| format!("cannot write postgresql.conf: {error}"))?;
    // First match wins. Truncating keeps the file's owner (the server's user).
    let hba = format!(
        "local   all  all                        trust\n\
         hostssl all  {TLS_CERT_USER}      127.0.0.1/32  cert\n\
         host    all  {TLS_CERT_USER}      127.0.0.1/32  reject\n\
         host    all  {TLS_PASSWORD_USER}     127.0.0.1/32  scram-sha-256\n\
         host    all  all                127.0.0.1/32  trust\n"
    );
    fs::write(data.join("pg_hba.conf"), hba)
        .map_err(|error| format!("cannot write pg_hba.conf: {error}"))?;

    let port = cluster.start_on_free_port()?;

    let psql = find_client("psql", Some(bin.major))?;
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let sql = format!(
        "CREATE ROLE {TLS_PASSWORD_USER} LOGIN PASSWORD '{TLS_PASSWORD}'; \
         CREATE ROLE {TLS_CERT_USER} LOGIN;"
    );
    let out = Command::new(&psql)
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &admin,
            "-c",
            &sql,
        ])
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `{}`: {error}", psql.display()))?;
    if !out.status.success() {
        return Err(format!(
            "cannot create the roles of the TLS cluster: {}",
            stderr(&out)
        ));
    }
    eprintln!(
        "dmig tests: PostgreSQL {} TLS cluster on 127.0.0.1:{port} in {} (ready in {} ms)",
        bin.version,
        dir.display(),
        started.elapsed().as_millis()
    );
    Ok(TlsServer {
        port,
        ca_cert,
        other_ca_cert,
        client_cert,
        client_key,
    })
}
