//! TLS to the database, following the URL's `sslmode` as tokio-postgres reads it:
//!
//! - `disable`: no TLS is attempted (the connector is never used).
//! - `prefer` (tokio-postgres' default when the URL names none): TLS when the server
//!   offers it, else plain. As with libpq's `prefer`, the server's certificate is not
//!   checked: this mode guards against eavesdropping only, and insisting on a trusted
//!   certificate here would refuse the self-signed certificates many servers ship with
//!   while a plain connection to the same server would be accepted.
//! - `require`: TLS, and the server's certificate must chain to the system's trust
//!   store (where an operator installs a private CA) and name the host. That is
//!   libpq's `verify-full`: stricter than libpq's `require`, because an audit log's
//!   database connection must not be open to a man in the middle once TLS is asked
//!   for.
//!
//! rustls with the ring provider: no C or CMake build beyond ring's own.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector for `mode`; the system's certificates are read once, and only when
/// a `require` connection is made.
pub(crate) fn connector(mode: SslMode) -> Result<MakeRustlsConnect, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let config = match mode {
        SslMode::Require => builder.with_root_certificates(system_roots()).with_no_client_auth(),
        SslMode::Disable => builder.with_root_certificates(RootCertStore::empty()).with_no_client_auth(),
        _ => builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider))).with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for err in &found.errors {
                tracing::warn!(error = %err, "could not read a certificate of the system trust store");
            }
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(found.certs);
            Arc::new(roots)
        })
        .clone()
}

/// `prefer`'s verifier: any certificate is accepted, but the handshake's signatures
/// are still checked against it, so the session is encrypted to whoever holds its key.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
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
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
