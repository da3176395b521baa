//! TLS for the API listener: a certificate chain and its private key (PEM)
//! read into a rustls acceptor. rustls uses aws-lc-rs, the one crypto
//! provider shared with reqwest (the CLI) and sqlx (PostgreSQL `sslmode`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Reads `cert` (a PEM chain, leaf first) and `key` (a PEM private key:
/// PKCS#8, PKCS#1 or SEC1) into an acceptor speaking HTTP/1.1.
///
/// # Errors
/// A file that cannot be read, holds no certificate or key, or a key that
/// does not match the certificate; the message names the file.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let cert_pem = std::fs::read(cert)
        .with_context(|| format!("--tls-cert: cannot read {}", cert.display()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--tls-cert: {} is not PEM: {e}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("--tls-cert: {} holds no certificate", cert.display());
    }
    let key_pem =
        std::fs::read(key).with_context(|| format!("--tls-key: cannot read {}", key.display()))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| anyhow::anyhow!("--tls-key: {} holds no private key: {e}", key.display()))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .with_context(|| {
            format!(
                "--tls-key: {} does not fit the certificate {}",
                key.display(),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
