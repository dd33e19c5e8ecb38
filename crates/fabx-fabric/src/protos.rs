//! Fabric's protobuf messages, compiled from `protos/` by `build.rs`. Module names are
//! the proto packages, so the generated cross-package paths (`super::common::…`) resolve.
#![allow(clippy::all, missing_docs)]

pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}
pub mod msp {
    include!(concat!(env!("OUT_DIR"), "/msp.rs"));
}
pub mod orderer {
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
    pub mod smartbft {
        include!(concat!(env!("OUT_DIR"), "/orderer.smartbft.rs"));
    }
}
pub mod etcdraft {
    include!(concat!(env!("OUT_DIR"), "/etcdraft.rs"));
}
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}
pub mod gossip {
    include!(concat!(env!("OUT_DIR"), "/gossip.rs"));
}
pub mod discovery {
    include!(concat!(env!("OUT_DIR"), "/discovery.rs"));
}
pub mod rwset {
    include!(concat!(env!("OUT_DIR"), "/rwset.rs"));
}
pub mod kvrwset {
    include!(concat!(env!("OUT_DIR"), "/kvrwset.rs"));
}
pub mod lifecycle {
    include!(concat!(env!("OUT_DIR"), "/lifecycle.rs"));
}
