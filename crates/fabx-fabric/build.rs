// Compiles the Fabric protos in protos with protox (pure Rust: no system protoc).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=protos");
    let roots = [
        "common/common.proto",
        "common/configtx.proto",
        "common/configuration.proto",
        "msp/identities.proto",
        "msp/msp_config.proto",
        "orderer/configuration.proto",
        "orderer/etcdraft/configuration.proto",
        "orderer/smartbft/configuration.proto",
        "peer/configuration.proto",
        "discovery/protocol.proto",
        "peer/peer.proto",
        "peer/events.proto",
        "orderer/ab.proto",
        "common/ledger.proto",
        "peer/query.proto",
        "peer/lifecycle/lifecycle.proto",
        "peer/transaction.proto",
        "ledger/rwset/rwset.proto",
        "ledger/rwset/kvrwset/kv_rwset.proto",
    ];
    let fds = protox::compile(roots, ["protos"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(fds)?;
    Ok(())
}
