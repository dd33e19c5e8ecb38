//! What an org's Fabric CA server starts with besides the org's CA key and certificate
//! (which `up` already made, so the certificates it issues are the org's): a TLS server
//! certificate from the org's TLS CA for its host name, `localhost` and 127.0.0.1.

use crate::artifacts::crypto::{self, CryptoError};
use crate::artifacts::layout::Layout;
use crate::topology::{CertificateAuthority, NodeKind};

/// Writes `tls/server.crt` and `tls/server.key` (0600) of `ca`'s server.
pub fn write_server_tls(layout: &Layout, ca: &CertificateAuthority) -> Result<(), CryptoError> {
    let org = layout.org_dir(NodeKind::Peer, &ca.domain);
    let tlsca = crypto::load_ca(&org.join("tlsca"), &format!("tlsca.{}", ca.domain))?;
    let sans = [ca.host.clone(), "localhost".into(), "127.0.0.1".into()];
    let (cert, key) = crypto::issue_tls(&tlsca, &ca.host, &sans)?;
    let tls = layout.fabric_ca(&ca.domain).join("tls");
    crypto::write_file(&tls.join("server.crt"), &cert, false)?;
    crypto::write_file(&tls.join("server.key"), &key, true)
}
