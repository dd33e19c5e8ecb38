//! Calling a deployed chaincode: invoke (endorsed by every org, waits for the commit)
//! and query (evaluated on one org's peer).

use crate::deploy::lifecycle::{ctor, ChaincodeCommand};
use crate::deploy::{chaincode_error, unquote};
use crate::error::{Error, Result};
use crate::network::{Check, Network};

/// What a committed invoke returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResult {
    pub status: u32,
    pub payload: String,
}

/// A chaincode call: the peer CLI's constructor JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call(pub String);

impl Call {
    /// `function` with its arguments, as `{"Args":[function, args...]}`.
    pub fn new(function: &str, args: &[String]) -> Call {
        Call(ctor(function, args))
    }

    /// The peer CLI's `-c` form, checked to be a JSON object with `Args` or `args`.
    pub fn from_ctor(json: &str) -> Result<Call> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::InvalidArgument {
                what: format!("--ctor {json:?}: {e}"),
                fix: r#"give JSON such as {"Args":["query","a"]}"#.into(),
            })?;
        if value
            .get("Args")
            .or_else(|| value.get("args"))
            .is_none_or(|a| !a.is_array())
        {
            return Err(Error::InvalidArgument {
                what: format!("--ctor {json:?}: no Args array"),
                fix: r#"give JSON such as {"Args":["query","a"]}"#.into(),
            });
        }
        Ok(Call(json.to_string()))
    }
}

impl Network {
    /// Invokes `name` on the topology's channel, endorsed by one peer of every org.
    pub async fn invoke(&self, name: &str, call: &Call) -> Result<InvokeResult> {
        let stderr = self
            .invoke_ctor(&self.topology.channel, name, &call.0, false)
            .await?;
        parse_invoke_result(&stderr).ok_or_else(|| {
            let peer = self.committing_peer().map(|p| p.host).unwrap_or_default();
            Error::unparseable(
                &self.topology.container_name(&peer),
                &format!("peer chaincode invoke -n {name} -c {}", call.0),
                "a line with `result: status:...`",
                &stderr,
            )
        })
    }

    /// Queries `name` on a peer of `org` (default: the first org); returns the payload.
    pub async fn query(&self, name: &str, call: &Call, org: Option<&str>) -> Result<String> {
        let peer = match org {
            Some(msp_id) => self.org_peer(msp_id)?,
            None => self.committing_peer()?,
        };
        let query = ChaincodeCommand::Query {
            channel: self.topology.channel.clone(),
            name: name.to_string(),
            ctor: call.0.clone(),
        };
        let output = self.peer_with(&peer, &query, Check::Unchecked).await?;
        if !output.success() {
            return Err(chaincode_error(name, &output.last_error_line()));
        }
        // The CLI prints the payload and a newline.
        let payload = output.stdout.strip_suffix('\n').unwrap_or(&output.stdout);
        Ok(payload.to_string())
    }
}

/// Reads `... result: status:200 payload:"80"` from the CLI's log output.
pub fn parse_invoke_result(stderr: &str) -> Option<InvokeResult> {
    let result = stderr
        .lines()
        .rev()
        .find_map(|l| l.split_once("result: ").map(|(_, r)| r))?;
    let status = result
        .split_once("status:")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let payload = result
        .split_once("payload:")
        .map(|(_, p)| unquote(p.trim()))
        .unwrap_or_default();
    Some(InvokeResult { status, payload })
}
