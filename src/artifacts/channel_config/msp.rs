//! An organization's MSP as the channel configuration holds it, read from a
//! cryptogen-layout `msp/` directory exactly as Fabric's `msp.GetVerifyingMspConfig`
//! reads it: whole PEM files in file-name order, NodeOUs from `config.yaml`, SHA2/SHA256.

use super::ConfigError;
use fabx_fabric::protos::msp::{
    FabricCryptoConfig, FabricMspConfig, FabricNodeOUs, FabricOuIdentifier, MspConfig,
};
use prost::Message;
use serde::Deserialize;
use std::path::Path;

/// The MSP value of an org: `MSPConfig{type: FABRIC, config: FabricMSPConfig}`.
pub fn verifying_msp_config(dir: &Path, msp_id: &str) -> Result<MspConfig, ConfigError> {
    let root_certs = pem_files(&dir.join("cacerts"))?;
    if root_certs.is_empty() {
        return Err(ConfigError::Msp {
            dir: dir.to_path_buf(),
            problem: "no CA certificate in cacerts/".into(),
        });
    }
    let config = FabricMspConfig {
        name: msp_id.to_string(),
        root_certs,
        intermediate_certs: pem_files(&dir.join("intermediatecerts"))?,
        admins: pem_files(&dir.join("admincerts"))?,
        revocation_list: pem_files(&dir.join("crls"))?,
        signing_identity: None,
        organizational_unit_identifiers: vec![],
        crypto_config: Some(FabricCryptoConfig {
            signature_hash_family: "SHA2".into(),
            identity_identifier_hash_function: "SHA256".into(),
        }),
        tls_root_certs: pem_files(&dir.join("tlscacerts"))?,
        tls_intermediate_certs: pem_files(&dir.join("tlsintermediatecerts"))?,
        fabric_node_ous: node_ous(dir)?,
    };
    Ok(MspConfig {
        r#type: 0, // FABRIC
        config: config.encode_to_vec(),
    })
}

/// Every PEM file in `dir`, whole, in file-name order; a missing directory is empty.
fn pem_files(dir: &Path) -> Result<Vec<Vec<u8>>, ConfigError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(vec![]);
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            if !String::from_utf8_lossy(&bytes).contains("-----BEGIN") {
                return Err(ConfigError::Msp {
                    dir: dir.to_path_buf(),
                    problem: format!("{} holds no PEM", path.display()),
                });
            }
            Ok(bytes)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MspYaml {
    #[serde(rename = "NodeOUs")]
    node_ous: Option<NodeOusYaml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NodeOusYaml {
    enable: bool,
    #[serde(rename = "ClientOUIdentifier")]
    client: Option<OuYaml>,
    #[serde(rename = "PeerOUIdentifier")]
    peer: Option<OuYaml>,
    #[serde(rename = "AdminOUIdentifier")]
    admin: Option<OuYaml>,
    #[serde(rename = "OrdererOUIdentifier")]
    orderer: Option<OuYaml>,
}

#[derive(Deserialize)]
struct OuYaml {
    #[serde(rename = "Certificate", default)]
    certificate: String,
    #[serde(rename = "OrganizationalUnitIdentifier", default)]
    identifier: String,
}

fn node_ous(dir: &Path) -> Result<Option<FabricNodeOUs>, ConfigError> {
    let path = dir.join("config.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let yaml: MspYaml = serde_norway::from_str(&text).map_err(|e| ConfigError::Msp {
        dir: dir.to_path_buf(),
        problem: format!("config.yaml: {e}"),
    })?;
    let Some(ous) = yaml.node_ous.filter(|o| o.enable) else {
        return Ok(None);
    };
    let ou = |ou: Option<OuYaml>| -> Result<Option<FabricOuIdentifier>, ConfigError> {
        let Some(ou) = ou.filter(|o| !o.identifier.is_empty()) else {
            return Ok(None);
        };
        let certificate = if ou.certificate.is_empty() {
            vec![]
        } else {
            let path = dir.join(&ou.certificate);
            std::fs::read(&path).map_err(|source| ConfigError::Read { path, source })?
        };
        Ok(Some(FabricOuIdentifier {
            certificate,
            organizational_unit_identifier: ou.identifier,
        }))
    };
    Ok(Some(FabricNodeOUs {
        enable: true,
        client_ou_identifier: ou(ous.client)?,
        peer_ou_identifier: ou(ous.peer)?,
        admin_ou_identifier: ou(ous.admin)?,
        orderer_ou_identifier: ou(ous.orderer)?,
    }))
}
