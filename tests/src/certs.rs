//! Certificates for tests of the hub over TLS, made in-process (no `openssl` binary).

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// A throw-away CA and a server certificate it signed for `localhost` and 127.0.0.1, as
/// PEM files in a temp dir that is deleted on drop. The hub serves [`cert`](Self::cert)
/// and [`key`](Self::key) (its `tls` paths); a client trusts [`ca`](Self::ca), as a root
/// certificate or through `SSL_CERT_FILE`, so the leaf is checked as a real one would be.
pub struct TestCerts {
    /// The CA certificate (`ca.pem`).
    pub ca: PathBuf,
    /// The server certificate alone, no chain (`cert.pem`).
    pub cert: PathBuf,
    /// The server certificate's private key, PKCS#8 (`key.pem`).
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCerts {
    /// Makes a new CA and server certificate (ECDSA P-256) and writes them.
    pub fn generate() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::default();
        ca.distinguished_name = common_name("LunaSentri test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate().expect("server key");
        let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("subject alt names");
        leaf.distinguished_name = common_name("localhost");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf.signed_by(&key, &issuer).expect("server certificate");

        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap_or_else(|e| panic!("write {name}: {e}"));
            path
        };
        Self {
            ca: write("ca.pem", ca_cert.pem()),
            cert: write("cert.pem", leaf_cert.pem()),
            key: write("key.pem", key.serialize_pem()),
            _dir: dir,
        }
    }
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, cn);
    name
}
