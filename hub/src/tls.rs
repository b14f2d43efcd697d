//! Optional HTTPS: a rustls server configuration from PEM files.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context as _;

/// Loads a certificate chain and private key.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs = rustls_pemfile::certs(&mut BufReader::new(
        File::open(cert).with_context(|| format!("tls_cert: cannot open {}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .with_context(|| {
        format!(
            "tls_cert: {} is not a PEM certificate chain",
            cert.display()
        )
    })?;
    if certs.is_empty() {
        anyhow::bail!("tls_cert: {} holds no certificate", cert.display());
    }
    let key = rustls_pemfile::private_key(&mut BufReader::new(
        File::open(key).with_context(|| format!("tls_key: cannot open {}", key.display()))?,
    ))
    .with_context(|| format!("tls_key: {} is not a PEM private key", key.display()))?
    .with_context(|| format!("tls_key: {} holds no private key", key.display()))?;
    rustls::ServerConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .context("tls: protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("tls: certificate and key do not match")
}
