//! Chaincode outside Docker, as for a debugger: `deploy --address
//! host.docker.internal:PORT` starts no container; examplecc runs as a plain host process
//! with the environment fabx gives, under mutual TLS, and answers through the peers;
//! killed and started again, it answers again without a redeploy.

mod common;

use fabx::artifacts::chaincode_tls::TlsMode;
use fabx::harness::TestNetwork;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::{Error, Topology};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

/// Starts the chaincode with `env` and returns once it listens.
fn start(binary: &std::path::Path, env: &[(String, String)]) -> Child {
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        Box::new(stderr) as Box<dyn std::io::Read + Send>,
        Box::new(stdout),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    loop {
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the chaincode did not say that it listens");
        };
        if line.contains("listening on") {
            assert!(line.contains("(mutual TLS)"), "{line}");
            return child;
        }
    }
}

#[tokio::test]
async fn examplecc_as_a_host_process_under_mutual_tls() {
    const TEST: &str = "examplecc_as_a_host_process_under_mutual_tls";
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        return common::skipped(TEST, &reason);
    }
    let binary = fabx::network::deploy::image::build_static_binary(
        EXAMPLECC.as_ref(),
        fabx::network::deploy::image::BuildProfile::Release,
        &mut |_| {},
    )
    .await
    .unwrap()
    .path;
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let net = TestNetwork::start().await.unwrap();
    let mut request = DeployRequest::new(
        "examplecc",
        Source::Address(format!("host.docker.internal:{port}")),
    );
    request.tls = Some(TlsMode::Mutual);
    request.init = Some(["Init", "a", "100", "b", "200"].map(String::from).to_vec());
    let env = net.network().external_chaincode_env(&request).unwrap();
    let value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    assert_eq!(
        value("CHAINCODE_SERVER_ADDRESS"),
        Some(format!("0.0.0.0:{port}"))
    );
    assert_eq!(value("CHAINCODE_TLS_DISABLED").as_deref(), Some("false"));
    for file in [
        "CHAINCODE_TLS_KEY",
        "CHAINCODE_TLS_CERT",
        "CHAINCODE_CLIENT_CA_CERT",
    ] {
        let path = value(file).unwrap();
        assert!(std::path::Path::new(&path).is_absolute(), "{file}={path}");
    }

    // The process may start before or after deploy: fabx waits for it.
    let deploy = tokio::spawn({
        let network = net.network().clone();
        let request = request.clone();
        async move { network.deploy(&request, &fabx::reporter::Silent).await }
    });
    let mut chaincode = start(&binary, &env);
    let report = deploy.await.unwrap().unwrap();
    assert!(report.containers_started.is_empty(), "{report:?}");
    net.invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "80");

    // Killed: the peers say the chaincode is down. Started again: it answers, no redeploy.
    chaincode.kill().unwrap();
    chaincode.wait().unwrap();
    let err = net.query("examplecc", "query", &["a"]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ChaincodeDown { .. } | Error::ChaincodeFailed { .. }
        ),
        "{err}"
    );
    let mut chaincode = start(&binary, &env);
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "80");
    assert_eq!(
        net.query_as("Org2MSP", "examplecc", "query", &["b"])
            .await
            .unwrap(),
        "220"
    );
    chaincode.kill().unwrap();
    chaincode.wait().unwrap();
    net.teardown().await.unwrap();
}

#[tokio::test]
async fn bad_addresses_are_refused_before_any_transaction() {
    const TEST: &str = "bad_addresses_are_refused_before_any_transaction";
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        return common::skipped(TEST, &reason);
    }
    let net = TestNetwork::start().await.unwrap();
    for (address, expected) in [
        ("host.docker.internal", "no port"),
        ("host.docker.internal:nine", "not a number"),
        ("no-such-host.invalid:9999", "cannot resolve"),
    ] {
        let request = DeployRequest::new("examplecc", Source::Address(address.to_string()));
        let err = net.deploy(&request).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{address}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
    let mut request = DeployRequest::new(
        "examplecc",
        Source::Address("host.docker.internal:9999".into()),
    );
    request.wait = std::time::Duration::ZERO;
    let err = net.deploy(&request).await.unwrap_err().to_string();
    assert!(err.contains("--wait 0"), "{err}");
    // Nothing was committed by any of them.
    let err = net.query("examplecc", "query", &["a"]).await.unwrap_err();
    assert!(err.to_string().contains("examplecc"), "{err}");
    net.teardown().await.unwrap();
}
