// Compile the protos in proto/ with protox (pure Rust) so no system protoc is needed.
const PROTOS: [&str; 6] = [
    "proto/chaincode.proto",
    "proto/proposal.proto",
    "proto/common.proto",
    "proto/identities.proto",
    "proto/kv_query_result.proto",
    "proto/policies.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // The generated `connect` constructor would clash with the `Connect` rpc.
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
