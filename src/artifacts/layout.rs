//! Where generated files live on the host, and where they appear inside containers.
//!
//! Host side: one state directory per network (default `.fabx/<network>` in the current
//! directory). Container side: fixed paths under `/fabx`, bind-mounted read-only.

use crate::topology::{Node, NodeKind};
use std::path::{Path, PathBuf};

/// Paths inside the containers.
pub mod container {
    /// The node's own MSP and TLS material (`msp/`, `tls/`).
    pub const NODE: &str = "/fabx/node";
    /// The org admin's MSP, used by `peer` commands run with docker exec.
    pub const ADMIN_MSP: &str = "/fabx/admin/msp";
    /// Every organization's TLS CA certificate, `<domain>.pem`.
    pub const TLSCA: &str = "/fabx/tlsca";
    /// FABRIC_CFG_PATH of peers: the patched core.yaml.
    pub const PEER_CONFIG: &str = "/fabx/config";
    /// The external builder (bin/detect, bin/build, bin/release).
    pub const BUILDERS: &str = "/fabx/builders";
    /// Whole crypto tree, as configtx.yaml names it (Fabric's tools run elsewhere).
    pub const CRYPTO: &str = "/fabx/crypto";
    /// configtx.yaml, for Fabric's tools run by users.
    pub const CONFIGTX: &str = "/fabx/configtx";
    /// Chaincode packages fabx wrote (Docker only; see [`super::Layout::packages`]).
    pub const PACKAGES: &str = "/fabx/packages";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into() }
    }

    /// The default state directory of a network: `.fabx/<network>` under `base`.
    pub fn default_for(base: &Path, network: &str) -> Layout {
        Layout::new(base.join(".fabx").join(network))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn crypto(&self) -> PathBuf {
        self.root.join("crypto")
    }

    /// `crypto/peerOrganizations/<domain>` or `crypto/ordererOrganizations/<domain>`.
    pub fn org_dir(&self, kind: NodeKind, domain: &str) -> PathBuf {
        let group = match kind {
            NodeKind::Orderer => "ordererOrganizations",
            NodeKind::Peer => "peerOrganizations",
        };
        self.crypto().join(group).join(domain)
    }

    /// `.../peers/<host>` or `.../orderers/<host>`: holds `msp/` and `tls/`.
    pub fn node_dir(&self, node: &Node) -> PathBuf {
        let group = match node.kind {
            NodeKind::Orderer => "orderers",
            NodeKind::Peer => "peers",
        };
        self.org_dir(node.kind, &node.domain)
            .join(group)
            .join(&node.host)
    }

    /// `.../users/<user>@<domain>`: holds `msp/` and `tls/`.
    pub fn user_dir(&self, kind: NodeKind, domain: &str, user: &str) -> PathBuf {
        self.org_dir(kind, domain)
            .join("users")
            .join(format!("{user}@{domain}"))
    }

    pub fn admin_msp(&self, kind: NodeKind, domain: &str) -> PathBuf {
        self.user_dir(kind, domain, "Admin").join("msp")
    }

    /// Bundle directory with every org's TLS CA certificate as `<domain>.pem`.
    pub fn tlsca_bundle(&self) -> PathBuf {
        self.root.join("tlsca")
    }

    pub fn peer_config(&self) -> PathBuf {
        self.root.join("config")
    }

    /// The chaincode TLS CA and certificates (see [`crate::artifacts::chaincode_tls`]).
    pub fn chaincode_tls(&self) -> PathBuf {
        self.root.join("chaincode-tls")
    }

    pub fn builders(&self) -> PathBuf {
        self.root.join("builders")
    }

    pub fn configtx(&self) -> PathBuf {
        self.root.join("configtx")
    }

    /// Chaincode packages, mounted into every peer on Docker: an install reads its
    /// package there instead of one copied into the container first.
    pub fn packages(&self) -> PathBuf {
        self.root.join("packages")
    }

    /// Marker files of chaincode servers being restarted by `fabx dev --run`, one per
    /// package ID: a call that finds such a server down meanwhile asks again.
    pub fn restarting(&self) -> PathBuf {
        self.root.join("restarting")
    }

    /// The CouchDB admin credentials of the network's peers (mode 0600).
    pub fn couchdb_admin(&self) -> PathBuf {
        self.root.join("couchdb").join("admin.json")
    }

    /// An org's Fabric CA server: its TLS certificate (`tls/`), the bootstrap registrar's
    /// password (`registrar.json`) and enrollment (`registrar/msp`).
    pub fn fabric_ca(&self, domain: &str) -> PathBuf {
        self.root.join("fabric-ca").join(domain)
    }

    /// The bootstrap registrar's credentials of an org's Fabric CA server (mode 0600).
    pub fn fabric_ca_registrar(&self, domain: &str) -> PathBuf {
        self.fabric_ca(domain).join("registrar.json")
    }

    /// configtx.yaml of one channel (its member orgs), for Fabric's tools run by users.
    pub fn configtx_of(&self, channel: &str) -> PathBuf {
        self.configtx().join(channel)
    }

    /// The channel's genesis block, kept for applications and for `status`.
    pub fn channel_block(&self, channel: &str) -> PathBuf {
        self.root.join("channel").join(format!("{channel}.block"))
    }
}

/// The TLS CA certificate of an org inside containers.
pub fn container_tlsca(domain: &str) -> String {
    format!("{}/{domain}.pem", container::TLSCA)
}
