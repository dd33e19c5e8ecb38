//! CouchDB as a peer's state database: one CouchDB container beside each peer of an org
//! that asks for it, its admin credentials made once per network and kept in the state
//! directory (0600), and the settings that point the peer at it.

use crate::artifacts::layout::Layout;
use crate::engine::wait::{await_http, COUCHDB_UP};
use crate::network::credentials::Credentials;
use crate::network::error::Result;
use crate::network::up::READY_TIMEOUT;
use crate::network::Network;
use crate::topology::{ports, CouchDb};

/// The admin every CouchDB of the network is created with.
pub type CouchDbAdmin = Credentials;

/// A new admin with a random password, written to the state directory.
pub fn create_admin(layout: &Layout) -> Result<CouchDbAdmin> {
    Credentials::create(&layout.couchdb_admin(), "admin")
}

/// The admin written by [`create_admin`].
pub fn load_admin(layout: &Layout) -> Result<CouchDbAdmin> {
    Credentials::load(&layout.couchdb_admin())
}

/// The container's environment: the official image's entrypoint makes the admin.
pub fn server_env(admin: &CouchDbAdmin) -> Vec<String> {
    vec![
        format!("COUCHDB_USER={}", admin.user),
        format!("COUCHDB_PASSWORD={}", admin.password),
    ]
}

/// The peer's environment for `couchdb`: Fabric's `ledger.state` settings.
pub fn peer_env(admin: &CouchDbAdmin, couchdb: &CouchDb) -> Vec<String> {
    vec![
        "CORE_LEDGER_STATE_STATEDATABASE=CouchDB".into(),
        format!(
            "CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS={}:{}",
            couchdb.host,
            ports::COUCHDB
        ),
        format!("CORE_LEDGER_STATE_COUCHDBCONFIG_USERNAME={}", admin.user),
        format!(
            "CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD={}",
            admin.password
        ),
    ]
}

impl Network {
    /// Creates and starts `couchdb`'s container and waits until CouchDB says it is up.
    pub(super) async fn run_couchdb(&self, couchdb: &CouchDb) -> Result<()> {
        let admin = load_admin(&self.layout)?;
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
