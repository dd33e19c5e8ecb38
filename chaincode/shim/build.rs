// Compile proto/chaincode.proto with protox (pure Rust) so no system protoc is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/chaincode.proto");
    let fds = protox::compile(["proto/chaincode.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // The generated `connect` constructor would clash with the `Connect` rpc.
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
