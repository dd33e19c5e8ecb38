//! Validation of a whole topology: every problem names its file, its field and a fix.

use super::{parse_duration_ms, Topology, TopologyError};
use std::collections::HashSet;

impl Topology {
    /// Checks the whole topology; `file` names its source in errors.
    pub fn validate(&self, file: &str) -> Result<(), TopologyError> {
        let bad = |field: String, problem: String, fix: &str| TopologyError::Invalid {
            file: file.to_string(),
            field,
            problem,
            fix: fix.to_string(),
        };
        if !is_docker_name(&self.network) {
            return Err(bad(
                "network".into(),
                format!("{:?} is not a valid Docker network name", self.network),
                "use letters, digits, '_', '.' or '-', starting with a letter or digit",
            ));
        }
        if !self.container_prefix.is_empty() && !is_docker_name(&self.container_prefix) {
            return Err(bad(
                "container_prefix".into(),
                format!(
                    "{:?} is not valid in a container name",
                    self.container_prefix
                ),
                "use letters, digits, '_', '.' or '-'",
            ));
        }
        if let Some(ip) = &self.host_ip {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(bad(
                    "host_ip".into(),
                    format!("{ip:?} is not an IP address"),
                    "give an address of this host such as 127.0.0.1 (the default), or 0.0.0.0 for every interface",
                ));
            }
        }
        let images = [
            ("images.peer", Some(&self.images.peer)),
            ("images.orderer", Some(&self.images.orderer)),
            ("images.couchdb", self.images.couchdb.as_ref()),
            ("images.ca", self.images.ca.as_ref()),
        ];
        for (field, image) in images.into_iter().filter_map(|(f, i)| Some((f, i?))) {
            if image.trim().is_empty() || image.contains(char::is_whitespace) {
                return Err(bad(
                    field.into(),
                    format!("{image:?} is not an image reference"),
                    "give a name such as hyperledger/fabric-peer:2.5",
                ));
            }
        }
        if self.orderer_org.orderers.is_empty() {
            return Err(bad(
                "orderer_org.orderers".into(),
                "no orderer".into(),
                "list at least one orderer, e.g. - { name: orderer }",
            ));
        }
        let consensus = self.orderer.consensus;
        if self.orderer_org.orderers.len() < consensus.min_orderers() {
            return Err(bad(
                "orderer_org.orderers".into(),
                format!(
                    "orderer.type bft needs at least 4 orderers (3f+1 to survive f faults), found {}",
                    self.orderer_org.orderers.len()
                ),
                "list 4 orderers or more, or use orderer.type etcdraft",
            ));
        }
        if self.orgs.is_empty() {
            return Err(bad(
                "orgs".into(),
                "no peer organization".into(),
                "list at least one org with msp_id, domain and peers",
            ));
        }
        let mut msp_ids = HashSet::new();
        let mut domains = HashSet::new();
        let orgs = std::iter::once((
            "orderer_org".to_string(),
            &self.orderer_org.msp_id,
            &self.orderer_org.domain,
        ))
        .chain(
            self.orgs
                .iter()
                .enumerate()
                .map(|(i, o)| (format!("orgs[{i}]"), &o.msp_id, &o.domain)),
        );
        for (at, msp_id, domain) in orgs {
            if !is_msp_id(msp_id) {
                return Err(bad(
                    format!("{at}.msp_id"),
                    format!("{msp_id:?} is not a valid MSP ID"),
                    "use letters, digits, '.', '_' or '-', e.g. Org3MSP",
                ));
            }
            if !msp_ids.insert(msp_id.clone()) {
                return Err(bad(
                    format!("{at}.msp_id"),
                    format!("MSP ID {msp_id:?} is used twice"),
                    "give each organization its own msp_id",
                ));
            }
            if !is_domain(domain) {
                return Err(bad(
                    format!("{at}.domain"),
                    format!("{domain:?} is not a valid domain"),
                    "use lowercase DNS labels separated by dots, e.g. org3.example.com",
                ));
            }
            if !domains.insert(domain.clone()) {
                return Err(bad(
                    format!("{at}.domain"),
                    format!("domain {domain:?} is used twice"),
                    "give each organization its own domain",
                ));
            }
        }
        let named = self
            .orderer_org
            .orderers
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("orderer_org.orderers[{i}]"), &o.name))
            .chain(self.orgs.iter().enumerate().flat_map(|(i, org)| {
                if org.peers.is_empty() {
                    return vec![(format!("orgs[{i}].peers"), &org.msp_id)];
                }
                org.peers
                    .iter()
                    .enumerate()
                    .map(move |(j, p)| (format!("orgs[{i}].peers[{j}]"), &p.name))
                    .collect()
            }));
        for (at, name) in named {
            if at.ends_with(".peers") {
                return Err(bad(
                    at,
                    format!("organization {name} has no peer"),
                    "list at least one peer, e.g. - { name: peer0 }",
                ));
            }
            if !is_dns_label(name) {
                return Err(bad(
                    format!("{at}.name"),
                    format!("{name:?} is not a valid host name"),
                    "use lowercase letters, digits and '-', e.g. peer1",
                ));
            }
        }
        let oo = &self.orderer_org;
        let mut given = oo
            .orderers
            .iter()
            .flat_map(|o| [(&o.name, o.host_port), (&o.name, o.admin_host_port)])
            .chain(
                self.orgs
                    .iter()
                    .flat_map(|org| org.peers.iter().map(|p| (&p.name, p.host_port))),
            );
        if let Some((name, _)) = given.find(|(_, port)| *port == Some(0)) {
            return Err(bad(
                format!("{name} host port"),
                "host port 0 is not a port".into(),
                "give a port number, or leave it out to let Docker choose one",
            ));
        }
        let mut hosts = HashSet::new();
        let mut host_ports = HashSet::new();
        for node in self.nodes() {
            if !hosts.insert(node.host.clone()) {
                return Err(bad(
                    "orgs".into(),
                    format!("host {} appears twice", node.host),
                    "give each node of an organization its own name",
                ));
            }
            // Host port 0 in a node is one Docker chooses (the topology gave none).
            for (_, port) in &node.host_ports {
                if *port != 0 && !host_ports.insert(*port) {
                    return Err(bad(
                        format!("{} host port", node.host),
                        format!("host port {port} is zero or used twice"),
                        "give every published port its own non-zero number, or leave it out",
                    ));
                }
            }
        }
        for (i, org) in self.orgs.iter().enumerate() {
            let couchdb = self.state_database_of(&org.msp_id) == super::StateDatabase::Couchdb;
            for (j, peer) in org.peers.iter().enumerate() {
                let Some(port) = peer.couchdb_host_port else {
                    continue;
                };
                let at = format!("orgs[{i}].peers[{j}].couchdb_host_port");
                if !couchdb {
                    return Err(bad(
                        at,
                        format!("{} keeps its state in LevelDB: it has no CouchDB to publish", org.msp_id),
                        "set state_database: couchdb (for the network or the org), or leave couchdb_host_port out",
                    ));
                }
                if port == 0 || !host_ports.insert(port) {
                    return Err(bad(
                        at,
                        format!("host port {port} is zero or used twice"),
                        "give every published port its own non-zero number, or leave it out",
                    ));
                }
            }
        }
        for (i, org) in self.orgs.iter().enumerate() {
            let Some(port) = org.ca_host_port else {
                continue;
            };
            let at = format!("orgs[{i}].ca_host_port");
            if self.ca_of(&org.msp_id).is_none() {
                return Err(bad(
                    at,
                    format!("{} runs no Fabric CA server to publish", org.msp_id),
                    "set certificate_authorities: true (or certificate_authority: true in the org), or leave ca_host_port out",
                ));
            }
            if port == 0 || !host_ports.insert(port) {
                return Err(bad(
                    at,
                    format!("host port {port} is zero or used twice"),
                    "give every published port its own non-zero number, or leave it out",
                ));
            }
        }
        self.validate_channels(&bad)?;
        let o = &self.orderer;
        for (field, value) in [
            ("orderer.batch_timeout", &o.batch_timeout),
            ("orderer.tick_interval", &o.tick_interval),
        ] {
            if parse_duration_ms(value).is_none_or(|ms| ms == 0) {
                return Err(bad(
                    field.into(),
                    format!("{value:?} is not a positive duration"),
                    "write a Go duration such as 100ms or 2s",
                ));
            }
        }
        if o.max_message_count == 0 || o.election_tick == 0 {
            return Err(bad(
                "orderer".into(),
                "max_message_count and election_tick must be positive".into(),
                "use e.g. max_message_count: 10, election_tick: 10",
            ));
        }
        Ok(())
    }
}

impl Topology {
    /// `channel` alone, or `channels` with known, distinct member orgs; every org on
    /// some channel (a peer on none would serve nothing).
    fn validate_channels(
        &self,
        bad: &dyn Fn(String, String, &str) -> TopologyError,
    ) -> Result<(), TopologyError> {
        const NAME_FIX: &str = "use lowercase letters, digits, '.' and '-', starting with a letter";
        if self.channels.is_empty() {
            if self.channel.is_empty() {
                return Err(bad(
                    "channel".into(),
                    "no channel".into(),
                    "give `channel: NAME` (every org on it) or `channels:` with name and orgs",
                ));
            }
            if !is_channel_name(&self.channel) {
                return Err(bad(
                    "channel".into(),
                    format!("{:?} is not a valid channel name", self.channel),
                    NAME_FIX,
                ));
            }
            return Ok(());
        }
        let mut names = HashSet::new();
        for (i, channel) in self.channels.iter().enumerate() {
            let at = format!("channels[{i}]");
            if !is_channel_name(&channel.name) {
                return Err(bad(
                    format!("{at}.name"),
                    format!("{:?} is not a valid channel name", channel.name),
                    NAME_FIX,
                ));
            }
            if !names.insert(channel.name.as_str()) {
                return Err(bad(
                    format!("{at}.name"),
                    format!("channel {} is listed twice", channel.name),
                    "give each channel its own name",
                ));
            }
            if channel.orgs.is_empty() {
                return Err(bad(
                    format!("{at}.orgs"),
                    format!("channel {} has no org", channel.name),
                    "list the MSP IDs of its member orgs, e.g. [Org1MSP, Org2MSP]",
                ));
            }
            let mut members = HashSet::new();
            for (j, msp_id) in channel.orgs.iter().enumerate() {
                if self.org(msp_id).is_none() {
                    return Err(bad(
                        format!("{at}.orgs[{j}]"),
                        format!("channel {} names unknown org {msp_id:?}", channel.name),
                        &format!(
                            "use the msp_id of an org under orgs: {}",
                            self.msp_ids().join(", ")
                        ),
                    ));
                }
                if !members.insert(msp_id.as_str()) {
                    return Err(bad(
                        format!("{at}.orgs[{j}]"),
                        format!("channel {} lists {msp_id} twice", channel.name),
                        "list each member org once",
                    ));
                }
            }
        }
        if !self.channel.is_empty() && !names.contains(self.channel.as_str()) {
            return Err(bad(
                "channel".into(),
                format!("default channel {:?} is not under channels", self.channel),
                "name one of the channels, or leave `channel` out (the first is the default)",
            ));
        }
        if let Some(org) = self
            .orgs
            .iter()
            .find(|o| self.org_channels(&o.msp_id).is_empty())
        {
            return Err(bad(
                "channels".into(),
                format!("org {} is on no channel", org.msp_id),
                "add it to a channel's orgs, or remove it from orgs",
            ));
        }
        Ok(())
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_domain(s: &str) -> bool {
    s.len() <= 200 && s.split('.').all(is_dns_label)
}

fn is_msp_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_channel_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() < 250
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
}

fn is_docker_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
