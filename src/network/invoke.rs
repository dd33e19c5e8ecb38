//! Calling a deployed chaincode: invoke (endorsed by every org, waits for the commit)
//! and query (evaluated on one org's peer).

use crate::network::error::{Error, Result};
use crate::network::Network;
use fabx_fabric::cli::lifecycle::ctor;
use fabx_fabric::Invocation;

/// What a committed invoke returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResult {
    pub status: u32,
    pub payload: String,
    /// The committed transaction's ID (`fabx tx` shows it).
    pub tx_id: String,
    /// The event the chaincode set, as the transaction emitted it.
    pub event: Option<fabx_fabric::ledger::ChaincodeEvent>,
}

/// A chaincode call: the peer CLI's constructor JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call(pub String);

impl Call {
    /// `function` with its arguments, as `{"Args":[function, args...]}`.
    pub fn new(function: &str, args: &[String]) -> Call {
        Call(ctor(function, args))
    }

    /// The peer CLI's `-c` form, checked to be a JSON object with an `Args` (or `args`)
    /// array of strings.
    pub fn from_ctor(json: &str) -> Result<Call> {
        ctor_args(json)?;
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
    /// Act as this user of the submitting (or queried) peer's org, made with `fabx
    /// identity add`; default the org's admin.
    pub identity: Option<String>,
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

    pub fn identity(mut self, name: &str) -> Self {
        self.identity = Some(name.to_string());
        self
    }

    pub fn transient(mut self, key: &str, value: &str) -> Self {
        self.transient.push((key.to_string(), value.to_string()));
        self
    }

    /// Transient data as the proposal carries it: values as bytes.
    fn transient_map(&self) -> std::collections::HashMap<String, Vec<u8>> {
        self.transient
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
            .collect()
    }

    fn invocation(&self, name: &str, call: &Call) -> Result<Invocation> {
        Ok(Invocation {
            chaincode: name.to_string(),
            args: ctor_args(&call.0)?,
            is_init: false,
            transient: self.transient_map(),
        })
    }
}

/// The arguments of a constructor JSON (`{"Args":[...]}`, or `args`) as bytes.
pub fn ctor_args(json: &str) -> Result<Vec<Vec<u8>>> {
    let bad = |problem: &str| Error::BadInput {
        problem: format!("--ctor {json:?} cannot be used: {problem}"),
        fix: r#"give JSON such as {"Args":["query","a"]}"#.into(),
    };
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let object = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
    // As the peer CLI reads it (Go's JSON: keys in any case): `Function`, if given,
    // goes before `Args`.
    let field = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let args = field("args")
        .and_then(|a| a.as_array())
        .ok_or_else(|| bad("no Args array"))?;
    let function = match field("function") {
        None => None,
        Some(f) => Some(f.as_str().ok_or_else(|| bad("Function must be a string"))?),
    };
    let args: Vec<&str> = args
        .iter()
        .map(|a| {
            a.as_str()
                .ok_or_else(|| bad("every argument must be a string"))
        })
        .collect::<Result<_>>()?;
    Ok(function
        .into_iter()
        .filter(|f| !f.is_empty())
        .chain(args)
        .map(|a| a.as_bytes().to_vec())
        .collect())
}

/// `KEY=VALUE` of `--transient`.
pub fn parse_transient(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(Error::BadInput {
            problem: format!("--transient {text:?} is not KEY=VALUE"),
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
        let invocation = options.invocation(name, call)?;
        self.submit(
            &endorsers,
            &channel,
            &invocation,
            options.identity.as_deref(),
        )
        .await
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
        let payload = self
            .evaluate(
                &peer,
                &channel,
                &options.invocation(name, call)?,
                options.identity.as_deref(),
            )
            .await?;
        Ok(String::from_utf8_lossy(&payload).into_owned())
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
