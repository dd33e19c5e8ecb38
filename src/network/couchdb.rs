//! CouchDB as a peer's state database: one CouchDB container beside each peer of an org
//! that asks for it, its admin credentials made once per network and kept in the state
//! directory (0600), and the settings that point the peer at it.

use crate::artifacts::crypto;
use crate::artifacts::layout::Layout;
use crate::engine::wait::{await_http, COUCHDB_UP};
use crate::network::error::{Error, Result};
use crate::network::up::READY_TIMEOUT;
use crate::network::Network;
use crate::topology::{ports, CouchDb};
use serde::{Deserialize, Serialize};

/// The admin every CouchDB of the network is created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouchDbAdmin {
    pub user: String,
    pub password: String,
}

impl CouchDbAdmin {
    /// A new admin with a random password, written to the state directory.
    pub fn create(layout: &Layout) -> Result<CouchDbAdmin> {
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| Error::io("draw random bytes for", &layout.couchdb_admin(), e.into()))?;
        let admin = CouchDbAdmin {
            user: "admin".into(),
            password: hex::encode(bytes),
        };
        let text = serde_json::to_string_pretty(&admin).expect("plain struct serializes");
        crypto::write_file(&layout.couchdb_admin(), &text, true)?;
        Ok(admin)
    }

    /// The admin written by [`CouchDbAdmin::create`].
    pub fn load(layout: &Layout) -> Result<CouchDbAdmin> {
        let path = layout.couchdb_admin();
        let text =
            std::fs::read_to_string(&path).map_err(|source| Error::io("read", &path, source))?;
        serde_json::from_str(&text).map_err(|e| Error::CouchDbAdmin {
            path: path.clone(),
            reason: e.to_string(),
        })
    }

    /// The container's environment: the official image's entrypoint makes the admin.
    pub fn server_env(&self) -> Vec<String> {
        vec![
            format!("COUCHDB_USER={}", self.user),
            format!("COUCHDB_PASSWORD={}", self.password),
        ]
    }

    /// The peer's environment for `couchdb`: Fabric's `ledger.state` settings.
    pub fn peer_env(&self, couchdb: &CouchDb) -> Vec<String> {
        vec![
            "CORE_LEDGER_STATE_STATEDATABASE=CouchDB".into(),
            format!(
                "CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS={}:{}",
                couchdb.host,
                ports::COUCHDB
            ),
            format!("CORE_LEDGER_STATE_COUCHDBCONFIG_USERNAME={}", self.user),
            format!("CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD={}", self.password),
        ]
    }
}

impl Network {
    /// Creates and starts `couchdb`'s container and waits until CouchDB says it is up.
    pub(super) async fn run_couchdb(&self, couchdb: &CouchDb) -> Result<()> {
        let admin = CouchDbAdmin::load(&self.layout)?;
        let spec = super::specs::couchdb_spec(&self.topology, couchdb, &admin);
        self.engine.create(&spec).await?;
        self.engine.start(&spec.name).await?;
        self.await_couchdb(couchdb).await
    }

    /// Starts `couchdb`'s stopped container again (its data kept in the volume) and
    /// waits until CouchDB says it is up.
    pub(super) async fn restart_couchdb(&self, couchdb: &CouchDb) -> Result<()> {
        let container = self.topology.container_name(&couchdb.host);
        self.engine.start(&container).await?;
        self.await_couchdb(couchdb).await
    }

    /// Waits until `couchdb` answers `/_up`.
    async fn await_couchdb(&self, couchdb: &CouchDb) -> Result<()> {
        let container = self.topology.container_name(&couchdb.host);
        await_http(&*self.engine, &container, COUCHDB_UP, READY_TIMEOUT).await?;
        Ok(())
    }
}
