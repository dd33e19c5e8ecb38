//! The asset contract: functions by name, arguments as strings, JSON answers.

use std::time::UNIX_EPOCH;

use fabx_shim::{Chaincode, KeyEndorsementPolicy, Response, RoleType, ShimError, Stub};
use serde::{Deserialize, Serialize};

/// The attribute (and value) a caller needs to read history.
pub const AUDITOR: (&str, &str) = ("role", "auditor");

/// The event a transfer emits.
pub const TRANSFERRED: &str = "AssetTransferred";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: String,
    pub value: String,
    /// The MSP ID of the org that owns it: its peers must endorse any change.
    pub owner: String,
    /// When it was created: the creating transaction's timestamp, seconds since 1970.
    pub created: u64,
}

pub struct AssetContract;

impl Chaincode for AssetContract {
    async fn init(&self, _stub: &Stub) -> Response {
        Response::success(Vec::new())
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, args) = stub.function_and_parameters();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = match (function.as_str(), args.as_slice()) {
            ("Create", [id, value]) => create(stub, id, value).await,
            ("Read", [id]) => read(stub, id).await.and_then(|a| json(&a)),
            ("Update", [id, value]) => update(stub, id, value).await,
            ("Transfer", [id, owner]) => transfer(stub, id, owner).await,
            ("Owners", [id]) => owners(stub, id).await,
            ("History", [id]) => history(stub, id).await,
            ("WhoAmI", []) => who_am_i(stub),
            ("CallOther", [chaincode, call @ ..]) if !call.is_empty() => {
                call_other(stub, chaincode, call).await
            }
            _ => Err(Failure(format!(
                "unknown function {function} with {} arguments; use Create ID VALUE, Read ID, \
                 Update ID VALUE, Transfer ID MSPID, Owners ID, History ID, WhoAmI, \
                 CallOther CHAINCODE FUNCTION [ARGS...]",
                args.len()
            ))),
        };
        match result {
            Ok(payload) => Response::success(payload),
            Err(Failure(message)) => Response::error(message),
        }
    }
}

/// The chaincode's error message.
#[derive(Debug)]
pub struct Failure(pub String);

impl From<ShimError> for Failure {
    fn from(e: ShimError) -> Self {
        Failure(e.to_string())
    }
}

type Answer = Result<Vec<u8>, Failure>;

fn json(value: &impl Serialize) -> Answer {
    serde_json::to_vec(value).map_err(|e| Failure(format!("cannot write JSON: {e}")))
}

async fn read(stub: &Stub, id: &str) -> Result<Asset, Failure> {
    let bytes = stub
        .get_state(id)
        .await?
        .ok_or_else(|| Failure(format!("asset {id} does not exist")))?;
    serde_json::from_slice(&bytes).map_err(|e| Failure(format!("asset {id} is not an asset: {e}")))
}

/// Writes `asset` and makes its owner org the only one whose peers may endorse a change.
async fn save(stub: &Stub, asset: &Asset) -> Result<(), Failure> {
    stub.put_state(&asset.id, json(asset)?).await?;
    let mut policy = KeyEndorsementPolicy::default();
    policy.add_orgs(RoleType::Peer, &[&asset.owner]);
    stub.set_state_validation_parameter(&asset.id, policy.policy())
        .await?;
    Ok(())
}

async fn create(stub: &Stub, id: &str, value: &str) -> Answer {
    if stub.get_state(id).await?.is_some() {
        return Err(Failure(format!("asset {id} already exists")));
    }
    let created = stub
        .tx_timestamp()?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let asset = Asset {
        id: id.to_string(),
        value: value.to_string(),
        owner: stub.client_identity()?.msp_id().to_string(),
        created,
    };
    save(stub, &asset).await?;
    json(&asset)
}

async fn update(stub: &Stub, id: &str, value: &str) -> Answer {
    let mut asset = read(stub, id).await?;
    asset.value = value.to_string();
    stub.put_state(id, json(&asset)?).await?;
    json(&asset)
}

async fn transfer(stub: &Stub, id: &str, owner: &str) -> Answer {
    let mut asset = read(stub, id).await?;
    if asset.owner == owner {
        return Err(Failure(format!("asset {id} is already owned by {owner}")));
    }
    let from = std::mem::replace(&mut asset.owner, owner.to_string());
    save(stub, &asset).await?;
    let event = serde_json::json!({ "id": id, "from": from, "to": owner });
    stub.set_event(TRANSFERRED, event.to_string().into_bytes())?;
    json(&asset)
}

async fn owners(stub: &Stub, id: &str) -> Answer {
    let policy = stub.get_state_validation_parameter(id).await?;
    json(&KeyEndorsementPolicy::new(&policy)?.list_orgs())
}

/// One committed change of an asset, for auditors.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    pub tx_id: String,
    /// The transaction's timestamp, seconds since 1970.
    pub timestamp: u64,
    pub is_delete: bool,
    pub asset: Option<Asset>,
}

async fn history(stub: &Stub, id: &str) -> Answer {
    let (attribute, value) = AUDITOR;
    if let Err(refusal) = stub
        .client_identity()?
        .assert_attribute_value(attribute, value)
    {
        return Err(Failure(format!(
            "only callers with attribute {attribute}={value} may read the history of asset \
             {id} ({refusal})"
        )));
    }
    let changes: Vec<Change> = stub
        .get_history_for_key(id)
        .await?
        .into_iter()
        .map(|m| Change {
            timestamp: m
                .timestamp
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            asset: serde_json::from_slice(&m.value).ok(),
            tx_id: m.tx_id,
            is_delete: m.is_delete,
        })
        .collect();
    json(&changes)
}

fn who_am_i(stub: &Stub) -> Answer {
    let identity = stub.client_identity()?;
    json(&serde_json::json!({
        "msp_id": identity.msp_id(),
        "id": identity.id(),
        "organizational_units": identity.organizational_units(),
        "attributes": identity.attributes(),
    }))
}

async fn call_other(stub: &Stub, chaincode: &str, call: &[&str]) -> Answer {
    let args: Vec<&[u8]> = call.iter().map(|a| a.as_bytes()).collect();
    let response = stub.invoke_chaincode(chaincode, &args, "").await?;
    if response.is_error() {
        return Err(Failure(format!(
            "calling {chaincode} failed ({}): {}",
            response.status, response.message
        )));
    }
    Ok(response.payload)
}

#[cfg(test)]
mod tests;
