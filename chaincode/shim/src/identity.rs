//! The client identity of a transaction, as Go's `pkg/cid` reads it from the creator:
//! MSP ID, X.509 certificate, a unique ID, organizational units, and the attributes
//! Fabric CA writes into enrollment certificates.

use std::collections::BTreeMap;

use base64::Engine;
use prost::Message;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use crate::proto::msp::SerializedIdentity;
use crate::ShimError;

/// Fabric CA's attribute extension: its value is JSON `{"attrs":{"name":"value",...}}`.
pub const ATTRIBUTES_OID: &str = "1.2.3.4.5.6.7.8.1";

/// Who submitted the transaction (Go's `cid.ClientIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    msp_id: String,
    certificate: Vec<u8>,
    id: String,
    organizational_units: Vec<String>,
    attributes: BTreeMap<String, String>,
}

impl ClientIdentity {
    /// Reads an encoded `msp.SerializedIdentity` holding a PEM certificate, as a
    /// transaction's creator does.
    pub fn from_creator(creator: &[u8]) -> Result<Self, ShimError> {
        if creator.is_empty() {
            return Err(ShimError::Protocol(
                "the transaction has no creator (the peer sent no signed proposal)".into(),
            ));
        }
        let identity = SerializedIdentity::decode(creator).map_err(|source| ShimError::Decode {
            what: "the creator's SerializedIdentity",
            source,
        })?;
        let certificate = pem_certificate(&identity.id_bytes)?;
        let (_, cert) = X509Certificate::from_der(&certificate)
            .map_err(|e| invalid_certificate(format!("it does not parse: {e}")))?;
        let id = format!(
            "x509::{}::{}",
            distinguished_name(cert.subject()),
            distinguished_name(cert.issuer())
        );
        let organizational_units = cert
            .subject()
            .iter_organizational_unit()
            .filter_map(|ou| ou.as_str().ok().map(str::to_string))
            .collect();
        let attributes = attributes(&cert)?;
        Ok(ClientIdentity {
            msp_id: identity.mspid,
            id: base64::engine::general_purpose::STANDARD.encode(id),
            certificate,
            organizational_units,
            attributes,
        })
    }

    /// The MSP ID of the client's org (Go's `GetMSPID`).
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// An ID unique within the MSP (Go's `GetID`): base64 of
    /// `x509::<subject DN>::<issuer DN>`, the names written as Go writes them.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client's X.509 certificate, DER-encoded (Go's `GetX509Certificate`).
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The certificate subject's organizational units (the NodeOU role among them).
    pub fn organizational_units(&self) -> &[String] {
        &self.organizational_units
    }

    /// Whether the subject has organizational unit `ou` (Go's `HasOUValue`).
    pub fn has_ou_value(&self, ou: &str) -> bool {
        self.organizational_units.iter().any(|have| have == ou)
    }

    /// The value of attribute `name` in the certificate, if it has it (Go's
    /// `GetAttributeValue`).
    pub fn attribute_value(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// Every attribute of the certificate.
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }

    /// Ok if attribute `name` equals `value`; otherwise Go's `AssertAttributeValue` error.
    pub fn assert_attribute_value(&self, name: &str, value: &str) -> Result<(), ShimError> {
        match self.attribute_value(name) {
            None => Err(ShimError::AttributeMismatch(format!(
                "Attribute '{name}' was not found"
            ))),
            Some(have) if have != value => Err(ShimError::AttributeMismatch(format!(
                "Attribute '{name}' equals '{have}', not '{value}'"
            ))),
            Some(_) => Ok(()),
        }
    }
}

fn invalid_certificate(reason: String) -> ShimError {
    ShimError::Protocol(format!("the creator's certificate is not valid: {reason}"))
}

/// The DER of the first PEM block, which must be a certificate.
fn pem_certificate(id_bytes: &[u8]) -> Result<Vec<u8>, ShimError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(id_bytes).map_err(|_| {
        invalid_certificate("expecting a PEM-encoded X509 certificate; PEM block not found".into())
    })?;
    Ok(pem.contents)
}

/// Fabric CA's attributes; none when the certificate has no such extension.
fn attributes(cert: &X509Certificate<'_>) -> Result<BTreeMap<String, String>, ShimError> {
    #[derive(serde::Deserialize)]
    struct Attributes {
        #[serde(default)]
        attrs: BTreeMap<String, String>,
    }
    let Some(extension) = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ATTRIBUTES_OID)
    else {
        return Ok(BTreeMap::new());
    };
    serde_json::from_slice::<Attributes>(extension.value)
        .map(|a| a.attrs)
        .map_err(|e| invalid_certificate(format!("its attribute extension is not JSON: {e}")))
}

/// The types Go's `pkix.Name` keeps, in the order `ToRDNSequence` writes them;
/// `String()` then prints them last to first.
const NAME_TYPES: [(&str, &str); 9] = [
    ("2.5.4.6", "C"),
    ("2.5.4.8", "ST"),
    ("2.5.4.7", "L"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.17", "POSTALCODE"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.3", "CN"),
    ("2.5.4.5", "SERIALNUMBER"),
];

/// A distinguished name as Go's cid writes it: each known type's values joined by `+`,
/// types from SERIALNUMBER back to C joined by `,`; a type Go keeps one value of (CN,
/// SERIALNUMBER) has its last one; other types are left out, as a parsed `pkix.Name`
/// leaves them out.
pub(crate) fn distinguished_name(name: &X509Name<'_>) -> String {
    let mut values: Vec<Vec<String>> = vec![Vec::new(); NAME_TYPES.len()];
    for attribute in name.iter_attributes() {
        let oid = attribute.attr_type().to_id_string();
        let (Some(index), Ok(value)) = (
            NAME_TYPES.iter().position(|(id, _)| *id == oid),
            attribute.as_str(),
        ) else {
            continue;
        };
        let single = matches!(NAME_TYPES[index].1, "CN" | "SERIALNUMBER");
        if single {
            values[index].clear();
        }
        values[index].push(value.to_string());
    }
    let mut rdns = Vec::new();
    for (index, (_, label)) in NAME_TYPES.iter().enumerate().rev() {
        let single = matches!(*label, "CN" | "SERIALNUMBER");
        let absent = match single {
            true => values[index].iter().all(String::is_empty),
            false => values[index].is_empty(),
        };
        if absent {
            continue;
        }
        let rdn: Vec<String> = values[index]
            .iter()
            .map(|value| format!("{label}={}", escape(value)))
            .collect();
        rdns.push(rdn.join("+"));
    }
    rdns.join(",")
}

/// RFC 4514 escaping as Go's `RDNSequence.String` does it.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());
    for (index, c) in value.chars().enumerate() {
        let needs = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => index == 0 || index == last,
            '#' => index == 0,
            _ => false,
        };
        if needs {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests;
