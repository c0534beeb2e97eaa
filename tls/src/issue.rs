//! A local certificate authority for test networks (`lianrong testnet --tls`) and tests:
//! a CA, server certificates for the addresses a node answers at, client certificates.
//! A real network's certificates come from the organisations' own PKI.

use std::net::IpAddr;
use std::path::Path;

use chrono::Datelike;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::TlsError;

/// How long issued certificates stay valid, in years from today.
const VALID_YEARS: i32 = 1;

/// A certificate and its private key, as PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

impl Issued {
    /// Writes the certificate to `cert` and the key to `key` (owner-only on Unix).
    pub fn write(&self, cert: &Path, key: &Path) -> std::io::Result<()> {
        std::fs::write(cert, &self.cert_pem)?;
        write_private(key, self.key_pem.as_bytes())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn failed(what: &str, e: rcgen::Error) -> TlsError {
    TlsError::Config(format!("issuing {what}: {e}"))
}

/// A CA made on the spot; its key lives in memory only.
pub struct LocalCa {
    key: KeyPair,
    cert: rcgen::Certificate,
}

/// Parameters valid from yesterday for [`VALID_YEARS`], named `common_name`.
fn params(common_name: &str, alt_names: &[String]) -> Result<CertificateParams, TlsError> {
    let mut p = CertificateParams::default();
    p.subject_alt_names = alt_names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|e| failed(n, e)),
        })
        .collect::<Result<_, _>>()?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    p.distinguished_name = dn;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let today = chrono::DateTime::from_timestamp(i64::try_from(now).unwrap_or(0), 0)
        .unwrap_or_default()
        .date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    p.not_before = rcgen::date_time_ymd(yesterday.year(), month(&yesterday), day(&yesterday));
    // Day 28 at most, so the date exists in every month of the expiry year.
    p.not_after = rcgen::date_time_ymd(
        today.year() + VALID_YEARS,
        month(&today),
        day(&today).min(28),
    );
    Ok(p)
}

fn month(d: &chrono::NaiveDate) -> u8 {
    u8::try_from(d.month()).unwrap_or(1)
}

fn day(d: &chrono::NaiveDate) -> u8 {
    u8::try_from(d.day()).unwrap_or(1)
}

impl LocalCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Result<Self, TlsError> {
        let key = KeyPair::generate().map_err(|e| failed("the CA key", e))?;
        let mut p = params(name, &[])?;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = p.self_signed(&key).map_err(|e| failed("the CA", e))?;
        Ok(LocalCa { key, cert })
    }

    /// The CA certificate (what clients and servers are told to trust).
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    fn issue(
        &self,
        name: &str,
        alt_names: &[String],
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<Issued, TlsError> {
        let key = KeyPair::generate().map_err(|e| failed(name, e))?;
        let mut p = params(name, alt_names)?;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![usage];
        let cert = p
            .signed_by(&key, &self.cert, &self.key)
            .map_err(|e| failed(name, e))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A server certificate for `hosts` (IP addresses or DNS names clients connect to).
    pub fn server(&self, name: &str, hosts: &[String]) -> Result<Issued, TlsError> {
        self.issue(name, hosts, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate named `name`.
    pub fn client(&self, name: &str) -> Result<Issued, TlsError> {
        self.issue(name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }
}
