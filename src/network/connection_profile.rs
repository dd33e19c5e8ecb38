//! Connection profiles for applications: per peer org, `connection-<org>.json` and
//! `connection-<org>.yaml` in the org's directory of the cryptogen layout
//! (`crypto/peerOrganizations/<domain>/`), in the format fabric-samples' test-network
//! writes with `ccp-generate.sh` from `ccp-template.json`/`.yaml`.
//!
//! A profile names the org (`organizations.<Org1>.mspid`), every one of its peers at its
//! published host address (`peers.<host>.url` `grpcs://localhost:PORT`, the org's TLS CA
//! as `tlsCACerts.pem`, and the peer's host name as `ssl-target-name-override` and
//! `hostnameOverride`: the TLS certificate names it), and the org's CA.
//!
//! Without a Fabric CA server (the default), the entry in `certificateAuthorities` carries
//! the org's signing CA certificate (`ca/ca.<domain>-cert.pem`) and a `caName`, but no
//! `url`: an application uses the identities fabx made beside the profile,
//! `users/User1@<domain>/msp` (signcerts and keystore), a client of the org (or `Admin`, or
//! one `fabx identity add` made). With the org's CA server (`certificate_authorities`), the
//! entry has its `url` (`https://localhost:PORT`) and the org's TLS CA as `tlsCACerts`, so
//! an application registers and enrolls users as with test-network's `-ca`.

use super::Network;
use crate::network::error::{Error, Result};
use crate::topology::{ports, NodeKind, PeerOrg};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// One peer of the org as an application on the host reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePeer {
    /// Host name in the Docker network and in its TLS certificate (`peer0.org1.example.com`).
    pub host: String,
    /// `host:port` of its published listener (`localhost:7051`).
    pub address: String,
}

/// `org1` for `org1.example.com`: the profile's file names and `name` use it.
pub fn org_label(domain: &str) -> &str {
    domain.split('.').next().unwrap_or(domain)
}

/// `Org1` for `Org1MSP`: the org's key in `organizations` and `client.organization`.
fn org_key(msp_id: &str) -> &str {
    match msp_id.strip_suffix("MSP") {
        Some(name) if !name.is_empty() => name,
        _ => msp_id,
    }
}

/// One org's connection profile, as test-network's `connection-org1.json`: `peers` at
/// their addresses with the org's TLS CA certificate `tls_ca_pem`, and under
/// `certificateAuthorities` the org's CA server at `ca_url` (trusted through the TLS CA),
/// or without a server the org's CA certificate `ca_pem` and no `url`.
pub fn render(
    org: &PeerOrg,
    peers: &[ProfilePeer],
    tls_ca_pem: &str,
    ca_pem: &str,
    ca_url: Option<&str>,
) -> Value {
    let label = org_label(&org.domain);
    let key = org_key(&org.msp_id);
    let ca_host = format!("ca.{}", org.domain);
    let mut peer_entries = Map::new();
    for peer in peers {
        peer_entries.insert(
            peer.host.clone(),
            json!({
                "url": format!("grpcs://{}", peer.address),
                "tlsCACerts": { "pem": tls_ca_pem },
                "grpcOptions": {
                    "ssl-target-name-override": peer.host,
                    "hostnameOverride": peer.host,
                },
            }),
        );
    }
    json!({
        "name": format!("test-network-{label}"),
        "version": "1.0.0",
        "client": {
            "organization": key,
            "connection": { "timeout": { "peer": { "endorser": "300" } } },
        },
        "organizations": {
            key: {
                "mspid": org.msp_id,
                "peers": peers.iter().map(|p| p.host.as_str()).collect::<Vec<_>>(),
                "certificateAuthorities": [ca_host],
            },
        },
        "peers": peer_entries,
        "certificateAuthorities": {
            ca_host.clone(): match ca_url {
                None => json!({
                    "caName": format!("ca-{label}"),
                    "tlsCACerts": { "pem": [ca_pem] },
                }),
                Some(url) => json!({
                    "url": url,
                    "caName": format!("ca-{label}"),
                    "tlsCACerts": { "pem": [tls_ca_pem] },
                    "httpOptions": { "verify": true },
                }),
            },
        },
    })
}

impl Network {
    /// Writes `connection-<org>.json` and `.yaml` (see [`render`]) for every peer org into
    /// its directory of the cryptogen layout, with the peers' published host ports as
    /// Docker reports them (so the network must be up); returns the files written.
    ///
    /// The org's application identity is the cryptogen `users/User1@<domain>/msp` beside
    /// the profiles; an org with a Fabric CA server has its `url` in the CA entry.
    pub async fn write_connection_profiles(&self) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for org in &self.topology.orgs {
            let mut peers = Vec::new();
            for node in self.topology.peers() {
                if node.msp_id != org.msp_id {
                    continue;
                }
                peers.push(ProfilePeer {
                    address: self.published_address(&node, ports::PEER).await?,
                    host: node.host,
                });
            }
            let dir = self.layout.org_dir(NodeKind::Peer, &org.domain);
            let read = |path: PathBuf| {
                std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))
            };
            let tls_ca_pem = read(
                dir.join("tlsca")
                    .join(format!("tlsca.{}-cert.pem", org.domain)),
            )?;
            let ca_pem = read(dir.join("ca").join(format!("ca.{}-cert.pem", org.domain)))?;
            let ca_url = match self.topology.ca_of(&org.msp_id) {
                None => None,
                Some(ca) => {
                    let container = self.topology.container_name(&ca.host);
                    let address = self.engine.client_address(&container, ports::CA).await?;
                    Some(format!("https://{address}"))
                }
            };
            let profile = render(org, &peers, &tls_ca_pem, &ca_pem, ca_url.as_deref());

            let label = org_label(&org.domain);
            let json_path = dir.join(format!("connection-{label}.json"));
            let mut json_text =
                serde_json::to_string_pretty(&profile).expect("a JSON value serializes");
            json_text.push('\n');
            crate::artifacts::crypto::write_file(&json_path, &json_text, false)?;
            let yaml_path = dir.join(format!("connection-{label}.yaml"));
            let yaml_text = serde_norway::to_string(&profile).expect("a JSON value serializes");
            crate::artifacts::crypto::write_file(&yaml_path, &yaml_text, false)?;
            written.push(json_path);
            written.push(yaml_path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    const TLS_CA: &str = "-----BEGIN CERTIFICATE-----\nTLSCA\n-----END CERTIFICATE-----\n";
    const CA: &str = "-----BEGIN CERTIFICATE-----\nSIGNCA\n-----END CERTIFICATE-----\n";

    fn org1() -> PeerOrg {
        Topology::default_topology().orgs[0].clone()
    }

    fn peers() -> Vec<ProfilePeer> {
        vec![
            ProfilePeer {
                host: "peer0.org1.example.com".into(),
                address: "localhost:7051".into(),
            },
            ProfilePeer {
                host: "peer1.org1.example.com".into(),
                address: "localhost:49153".into(),
            },
        ]
    }

    #[test]
    fn profile_has_test_network_fields() {
        let p = render(&org1(), &peers(), TLS_CA, CA, None);
        assert_eq!(p["name"], "test-network-org1");
        assert_eq!(p["version"], "1.0.0");
        assert_eq!(p["client"]["organization"], "Org1");
        assert_eq!(
            p["client"]["connection"]["timeout"]["peer"]["endorser"],
            "300"
        );
        let org = &p["organizations"]["Org1"];
        assert_eq!(org["mspid"], "Org1MSP");
        assert_eq!(
            org["peers"],
            json!(["peer0.org1.example.com", "peer1.org1.example.com"])
        );
        assert_eq!(
            org["certificateAuthorities"],
            json!(["ca.org1.example.com"])
        );

        let peer0 = &p["peers"]["peer0.org1.example.com"];
        assert_eq!(peer0["url"], "grpcs://localhost:7051");
        assert_eq!(peer0["tlsCACerts"]["pem"], TLS_CA);
        assert_eq!(
            peer0["grpcOptions"]["ssl-target-name-override"],
            "peer0.org1.example.com"
        );
        assert_eq!(
            peer0["grpcOptions"]["hostnameOverride"],
            "peer0.org1.example.com"
        );
        let peer1 = &p["peers"]["peer1.org1.example.com"];
        assert_eq!(peer1["url"], "grpcs://localhost:49153");
        assert_eq!(
            peer1["grpcOptions"]["ssl-target-name-override"],
            "peer1.org1.example.com"
        );
        assert_eq!(p["peers"].as_object().unwrap().len(), 2);

        let ca = &p["certificateAuthorities"]["ca.org1.example.com"];
        assert_eq!(ca["caName"], "ca-org1");
        assert_eq!(ca["tlsCACerts"]["pem"], json!([CA]));
        assert!(ca.get("url").is_none(), "fabx runs no CA server: {ca}");
    }

    #[test]
    fn yaml_form_parses_to_the_same_value() {
        let p = render(&org1(), &peers(), TLS_CA, CA, None);
        let yaml = serde_norway::to_string(&p).unwrap();
        let back: Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back, p);
        // The PEMs stay multi-line, as in test-network's connection-org1.yaml.
        assert!(yaml.contains("TLSCA\n"), "{yaml}");
    }

    #[test]
    fn names_come_from_the_domain_and_msp_id() {
        assert_eq!(org_label("org1.example.com"), "org1");
        assert_eq!(org_label("localhost"), "localhost");
        assert_eq!(org_key("Org2MSP"), "Org2");
        assert_eq!(org_key("Acme"), "Acme");
        assert_eq!(org_key("MSP"), "MSP");
    }

    #[test]
    fn url_host_is_localhost_for_loopback_and_every_interface() {
        use crate::engine::spec::client_host as url_host;
        assert_eq!(url_host("127.0.0.1"), "localhost");
        assert_eq!(url_host("0.0.0.0"), "localhost");
        assert_eq!(url_host("::"), "localhost");
        assert_eq!(url_host("192.168.1.20"), "192.168.1.20");
        assert_eq!(url_host("fd00::1"), "[fd00::1]");
    }

    #[test]
    fn an_org_with_a_ca_server_gets_its_url_and_tls_ca() {
        let p = render(
            &org1(),
            &peers(),
            TLS_CA,
            CA,
            Some("https://localhost:7054"),
        );
        let ca = &p["certificateAuthorities"]["ca.org1.example.com"];
        assert_eq!(ca["url"], "https://localhost:7054");
        assert_eq!(ca["caName"], "ca-org1");
        assert_eq!(ca["tlsCACerts"]["pem"][0], TLS_CA);
        let without = render(&org1(), &peers(), TLS_CA, CA, None);
        let ca = &without["certificateAuthorities"]["ca.org1.example.com"];
        assert!(ca.get("url").is_none());
        assert_eq!(ca["tlsCACerts"]["pem"][0], CA);
    }
}
