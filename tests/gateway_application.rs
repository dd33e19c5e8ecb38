//! The network used as an application uses it: a Fabric Gateway client on the host (the
//! `fabric-gateway` crate, a port of the official Go client) submits through Org1's peer
//! the moment `deploy` returns, with no retry, while both cores are busy; an evaluate
//! through Org2's peer then sees the new value. The Gateway plans endorsements through
//! discovery, so this fails whenever gossip or discovery lag behind what fabx reports.

mod common;

use fabric_gateway::identity::EcdsaP256Signer;
use fabric_gateway::{Gateway, Identity};
use fabx::network::deploy::{DeployRequest, Source};
use fabx::reporter::Silent;
use fabx::{Layout, Network, Topology};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic_gateway::transport::{Certificate, Channel, ClientTlsConfig};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
const CYCLES: usize = 10;

/// Two spinning threads: both cores of the development machine busy.
struct BusyLoops(Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl BusyLoops {
    fn start() -> BusyLoops {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n = std::hint::black_box(n.wrapping_add(1));
                    }
                })
            })
            .collect();
        BusyLoops(stop, threads)
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for t in self.1.drain(..) {
            let _ = t.join();
        }
    }
}

/// `n` distinct ports nothing listens on now (each held until all are chosen, so the
/// system cannot hand out one twice).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A Gateway connection to a peer through its published port, as `User1` of its org.
async fn gateway(layout: &Layout, topology: &Topology, msp_id: &str) -> Gateway {
    let org = topology.org(msp_id).unwrap();
    let domain = &org.domain;
    let peer = topology
        .peers()
        .into_iter()
        .find(|p| p.msp_id == msp_id)
        .unwrap();
    let port = peer.host_ports[0].1;
    let tlsca = std::fs::read(layout.tlsca_bundle().join(format!("{domain}.pem"))).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(tlsca))
        .domain_name(peer.host.clone());
    let channel = Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connecting to {} at 127.0.0.1:{port}: {e}", peer.host));
    let msp = layout
        .user_dir(fabx::topology::NodeKind::Peer, domain, "User1")
        .join("msp");
    let cert = msp
        .join("signcerts")
        .join(format!("User1@{domain}-cert.pem"));
    let identity = Identity::from_cert_file(msp_id, cert).unwrap();
    let signer = Arc::new(EcdsaP256Signer::from_file(msp.join("keystore/priv_sk")).unwrap());
    Gateway::connect(identity, signer, channel).unwrap()
}

/// One cycle; the time from `deploy` returning to the submit's VALID commit.
async fn cycle(engine: &fabx::DockerEngine, cycle: usize) -> Result<Duration, String> {
    let mut topology = fabx::harness::isolate(Topology::default_topology());
    let peers: Vec<_> = topology
        .orgs
        .iter_mut()
        .flat_map(|o| o.peers.iter_mut())
        .collect();
    let ports = free_ports(peers.len());
    for (peer, port) in peers.into_iter().zip(ports) {
        peer.host_port = Some(port);
    }
    let state = tempfile::tempdir().unwrap();
    let layout = Layout::new(state.path().join("state"));
    let network = Network::new(engine.clone(), topology.clone(), layout.clone());
    let result = async {
        network.up(&Silent).await.map_err(|e| format!("up: {e}"))?;
        let mut request = DeployRequest::new("examplecc", Source::Directory(EXAMPLECC.into()));
        request.init = Some(["Init", "a", "100", "b", "200"].map(String::from).to_vec());
        network
            .deploy(&request, &Silent)
            .await
            .map_err(|e| format!("deploy: {e}"))?;
        let deployed = Instant::now();
        // No retry: the first submit must commit VALID.
        let org1 = gateway(&layout, &topology, "Org1MSP").await;
        org1.get_network(&topology.channel)
            .get_contract("examplecc")
            .submit_transaction("invoke", &["a", "b", &cycle.to_string()])
            .await
            .map_err(|e| format!("submit right after deploy: {e}"))?;
        let committed = deployed.elapsed();
        let org2 = gateway(&layout, &topology, "Org2MSP").await;
        let b = org2
            .get_network(&topology.channel)
            .get_contract("examplecc")
            .evaluate_transaction("query", &["b"])
            .await
            .map_err(|e| format!("evaluate through Org2: {e}"))?;
        let expected = (200 + cycle).to_string();
        if String::from_utf8_lossy(&b) != expected {
            return Err(format!(
                "Org2 sees b = {:?}, expected {expected}",
                String::from_utf8_lossy(&b)
            ));
        }
        Ok(committed)
    }
    .await;
    network.down(&Silent).await.unwrap();
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_submit_right_after_deploy_commits_every_time_on_busy_cores() {
    const TEST: &str = "a_gateway_submit_right_after_deploy_commits_every_time_on_busy_cores";
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        return common::skipped(TEST, &reason);
    }
    let engine = common::engine().await;
    let _busy = BusyLoops::start();
    let mut failures = Vec::new();
    let mut times = Vec::new();
    for i in 1..=CYCLES {
        match cycle(&engine, i).await {
            Ok(t) => times.push(t),
            Err(e) => failures.push(format!("cycle {i}: {e}")),
        }
    }
    times.sort();
    let ms = |d: &Duration| d.as_millis();
    common::report(&format!(
        "{TEST}: {} of {CYCLES} cycles committed VALID on the first submit; deploy returned to VALID commit: median {} ms, max {} ms",
        times.len(),
        times.get(times.len() / 2).map(ms).unwrap_or_default(),
        times.last().map(ms).unwrap_or_default(),
    ));
    assert!(failures.is_empty(), "{failures:#?}");
}
