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

/// Where a call goes and what it carries besides its arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Default: the topology's default channel.
    pub channel: Option<String>,
    /// Peers by host name (`peer0.org1.example.com`) or org MSP ID (its first peer). An
    /// invoke is endorsed by all of them and submitted by the first; a query runs on the
    /// first. Default: one peer of every org on the channel (a query: the first org's).
    pub peers: Vec<String>,
    /// Transient data (`--transient KEY=VALUE`): seen by the endorsing chaincode, never
    /// written to the ledger.
    pub transient: Vec<(String, String)>,
}

impl CallOptions {
    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = Some(channel.to_string());
        self
    }

    pub fn peer(mut self, peer: &str) -> Self {
        self.peers.push(peer.to_string());
        self
    }

    pub fn transient(mut self, key: &str, value: &str) -> Self {
        self.transient.push((key.to_string(), value.to_string()));
        self
    }

    /// The peer CLI's `--transient` JSON: values are bytes, so base64 in JSON.
    fn transient_json(&self) -> Option<String> {
        use base64::Engine as _;
        (!self.transient.is_empty()).then(|| {
            let map: serde_json::Map<String, serde_json::Value> = self
                .transient
                .iter()
                .map(|(k, v)| {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(v);
                    (k.clone(), serde_json::Value::String(encoded))
                })
                .collect();
            serde_json::Value::Object(map).to_string()
        })
    }
}

/// `KEY=VALUE` of `--transient`.
pub fn parse_transient(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(Error::InvalidArgument {
            what: format!("--transient {text:?}"),
            fix: "give KEY=VALUE, e.g. --transient value=secret".into(),
        }),
    }
}

impl Network {
    /// Invokes `name` on the default channel, endorsed by one peer of every org on it.
    pub async fn invoke(&self, name: &str, call: &Call) -> Result<InvokeResult> {
        self.invoke_with(name, call, &CallOptions::default()).await
    }

    /// Invokes `name` as `options` say, and waits for the commit.
    pub async fn invoke_with(
        &self,
        name: &str,
        call: &Call,
        options: &CallOptions,
    ) -> Result<InvokeResult> {
        let channel = self.topology.channel_or_default(options.channel.as_deref());
        let endorsers = if options.peers.is_empty() {
            self.default_endorsers(&channel)?
        } else {
            self.named_peers(&options.peers)?
        };
        let stderr = self
            .invoke_ctor(
                &channel,
                name,
                &call.0,
                false,
                &endorsers,
                options.transient_json(),
            )
            .await?;
        parse_invoke_result(&stderr).ok_or_else(|| {
            let peer = endorsers
                .first()
                .map(|p| p.host.clone())
                .unwrap_or_default();
            Error::unparseable(
                &self.topology.container_name(&peer),
                &format!("peer chaincode invoke -C {channel} -n {name} -c {}", call.0),
                "a line with `result: status:...`",
                &stderr,
            )
        })
    }

    /// Queries `name` on the default channel on a peer of `org` (default: the channel's
    /// first org); returns the payload.
    pub async fn query(&self, name: &str, call: &Call, org: Option<&str>) -> Result<String> {
        let options = CallOptions {
            peers: org.map(|o| vec![o.to_string()]).unwrap_or_default(),
            ..CallOptions::default()
        };
        self.query_with(name, call, &options).await
    }

    /// Queries `name` as `options` say (on the first of `peers`); returns the payload.
    pub async fn query_with(
        &self,
        name: &str,
        call: &Call,
        options: &CallOptions,
    ) -> Result<String> {
        let channel = self.topology.channel_or_default(options.channel.as_deref());
        let peer = match options.peers.first() {
            Some(name) => self.find_peer(name)?,
            None => self.committing_peer(&channel)?,
        };
        self.check_on_channel(&peer, &channel)?;
        let query = ChaincodeCommand::Query {
            channel,
            name: name.to_string(),
            ctor: call.0.clone(),
            transient: options.transient_json(),
        };
        let output = self.peer_with(&peer, &query, Check::Unchecked).await?;
        if !output.success() {
            return Err(chaincode_error(name, &output.last_error_line()));
        }
        // The CLI prints the payload and a newline.
        let payload = output.stdout.strip_suffix('\n').unwrap_or(&output.stdout);
        Ok(payload.to_string())
    }

    /// Peers by host name or MSP ID, each once.
    fn named_peers(&self, names: &[String]) -> Result<Vec<crate::topology::Node>> {
        let mut peers: Vec<crate::topology::Node> = Vec::new();
        for name in names {
            let peer = self.find_peer(name)?;
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
        Ok(peers)
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
