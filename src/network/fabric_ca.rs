//! A Fabric CA server per org that asks for one: started with the org's own CA key and
//! certificate (so everything `up` made stays valid), waited for through its REST API,
//! and used by `fabx identity add` to register and enroll users as applications do.

use crate::artifacts::crypto::{self, Role};
use crate::artifacts::fabric_ca::write_server_tls;
use crate::artifacts::layout::Layout;
use crate::engine::spec::WorkloadSpec;
use crate::network::credentials::Credentials;
use crate::network::error::{Error, Result};
use crate::network::up::READY_TIMEOUT;
use crate::network::Network;
use crate::support::retry::{poll_until, Backoff, Poll};
use crate::topology::{ports, CertificateAuthority};
use fabx_fabric::ca::{CaClient, Registrar, Registration};
use std::collections::BTreeMap;
use std::path::Path;

/// Writes what every CA server of the topology starts with (`up`, before the servers): its
/// TLS certificate and its bootstrap registrar, `admin` with a password made once per
/// network.
pub(super) fn write_ca_files(layout: &Layout, cas: &[CertificateAuthority]) -> Result<()> {
    for ca in cas {
        write_server_tls(layout, ca)?;
        Credentials::create(&layout.fabric_ca_registrar(&ca.domain), "admin")?;
    }
    Ok(())
}

impl Network {
    /// `ca`'s server as the engine creates it, with its registrar's password.
    pub(crate) fn ca_workload(&self, ca: &CertificateAuthority) -> Result<WorkloadSpec> {
        let registrar = Credentials::load(&self.layout.fabric_ca_registrar(&ca.domain))?;
        Ok(super::specs::ca_spec(
            &self.topology,
            &self.layout,
            ca,
            &registrar.password,
        ))
    }

    /// Creates and starts `ca`'s server and waits until it answers.
    pub(super) async fn run_ca(&self, ca: &CertificateAuthority) -> Result<()> {
        let spec = self.ca_workload(ca)?;
        self.engine.create(&spec).await?;
        self.engine.start(&spec.name).await?;
        self.await_ca(ca).await
    }

    /// Starts `ca`'s stopped server again (its registrations kept) and waits for it.
    pub(super) async fn restart_ca(&self, ca: &CertificateAuthority) -> Result<()> {
        let container = self.topology.container_name(&ca.host);
        self.engine.start(&container).await?;
        self.await_ca(ca).await
    }

    /// Waits until `ca` answers `cainfo`; a server that exits meanwhile is an error with
    /// its last log lines.
    async fn await_ca(&self, ca: &CertificateAuthority) -> Result<()> {
        let container = self.topology.container_name(&ca.host);
        let tls_ca = self.ca_tls_root(ca)?;
        let answered = poll_until(Backoff::new(READY_TIMEOUT), || async {
            // The client is made in the loop: a server that exited has no port.
            let asked = match self.ca_client_with(ca, &tls_ca).await {
                Ok(client) => client.cainfo().await.map_err(Error::from),
                Err(e) => Err(e),
            };
            let error = match asked {
                Ok(_) => return Ok(Poll::Ready(())),
                Err(e) => e,
            };
            if self.engine.state(&container).await?.as_deref() != Some("running") {
                let tail = self.engine.logs_tail(&container, 20).await?;
                return Err(Error::CaExited {
                    container: container.clone(),
                    tail,
                });
            }
            match &error {
                Error::Fabric(e) if !e.is_transient() => Err(error),
                _ => Ok(Poll::NotYet(error.to_string())),
            }
        })
        .await?;
        match answered {
            Poll::Ready(()) => Ok(()),
            Poll::NotYet(last) => Err(Error::BadInput {
                problem: format!(
                    "Fabric CA {} did not answer within {}s (last: {last})",
                    ca.host,
                    READY_TIMEOUT.as_secs()
                ),
                fix: format!("`fabx logs {}` shows what it printed", ca.host),
            }),
        }
    }

    /// A REST client of `ca` through its published port, trusting the org's TLS CA.
    pub(super) async fn ca_client(&self, ca: &CertificateAuthority) -> Result<CaClient> {
        self.ca_client_with(ca, &self.ca_tls_root(ca)?).await
    }

    /// The org's TLS CA certificate, which signed `ca`'s server certificate.
    fn ca_tls_root(&self, ca: &CertificateAuthority) -> Result<Vec<u8>> {
        let path = self
            .layout
            .tlsca_bundle()
            .join(format!("{}.pem", ca.domain));
        std::fs::read(&path).map_err(|source| Error::io("read", &path, source))
    }

    async fn ca_client_with(&self, ca: &CertificateAuthority, tls_ca: &[u8]) -> Result<CaClient> {
        let container = self.topology.container_name(&ca.host);
        let address = self.engine.reach(&container, ports::CA).await?;
        Ok(CaClient::new(address, &ca.host, &ca.name, tls_ca)?)
    }

    /// The registrar's enrollment, made on first use and kept beside its password.
    async fn registrar(&self, ca: &CertificateAuthority, client: &CaClient) -> Result<Registrar> {
        let msp = self
            .layout
            .fabric_ca(&ca.domain)
            .join("registrar")
            .join("msp");
        if !msp.join("keystore").join("priv_sk").is_file() {
            let secret = Credentials::load(&self.layout.fabric_ca_registrar(&ca.domain))?;
            enroll_into(client, &secret.user, &secret.password, &msp).await?;
        }
        Ok(Registrar::from_msp_dir(&msp)?)
    }

    /// Registers user `name` with `role` and `attributes` at the org's CA, enrolls it, and
    /// writes its MSP (and a TLS client certificate from the org's TLS CA) into `dir`.
    pub(super) async fn enroll_through_ca(
        &self,
        ca: &CertificateAuthority,
        name: &str,
        role: Role,
        attributes: &BTreeMap<String, String>,
        dir: &Path,
    ) -> Result<()> {
        let client = self.ca_client(ca).await?;
        let registrar = self.registrar(ca, &client).await?;
        let mut secret = [0u8; 16];
        getrandom::getrandom(&mut secret)
            .map_err(|e| Error::io("draw random bytes for", dir, e.into()))?;
        let registration = Registration {
            name: name.to_string(),
            secret: hex::encode(secret),
            kind: role.ou().to_string(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let secret = client.register(&registrar, &registration).await?;
        let secret = if secret.is_empty() {
            registration.secret
        } else {
            secret
        };
        enroll_into(&client, name, &secret, &dir.join("msp")).await?;
        crate::artifacts::identities::write_user_extras(&self.layout, &ca.domain, name, dir)?;
        Ok(())
    }
}

/// Enrolls `name` with a fresh key and writes `signcerts/<name>-cert.pem` and
/// `keystore/priv_sk` (0600) into `msp`.
async fn enroll_into(client: &CaClient, name: &str, secret: &str, msp: &Path) -> Result<()> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| {
        Error::BadInput {
            problem: format!("cannot make a key for {name}: {e}"),
            fix: "try again".into(),
        }
    })?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let csr = params
        .serialize_request(&key)
        .and_then(|csr| csr.pem())
        .map_err(|e| Error::BadInput {
            problem: format!("cannot make a certificate request for {name}: {e}"),
            fix: "try again".into(),
        })?;
    let enrollment = client.enroll(name, secret, &csr).await?;
    crypto::write_file(
        &msp.join("signcerts").join(format!("{name}-cert.pem")),
        &enrollment.cert_pem,
        false,
    )?;
    crypto::write_file(
        &msp.join("keystore").join("priv_sk"),
        &key.serialize_pem(),
        true,
    )?;
    Ok(())
}
