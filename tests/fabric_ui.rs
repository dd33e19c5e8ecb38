//! `fabx ui` in a real browser: Debian's chromium, headless, driven through chromedriver
//! (WebDriver). On a Fabric 2.5 network and on Fabric 3.1 with BFT, with examplecc: the
//! page shows the nodes and the committed chaincode; after an invoke the new block appears
//! on the open page without a reload; clicking its transaction shows the write set;
//! `down` shows the network as absent. Saves screenshots to target/fabx-ui.png and
//! target/fabx-ui-bft.png. Prints SKIPPED without the Fabric images or without chromium
//! and chromedriver.

mod common;

use fabx::harness::{missing_images, TestNetwork, TopologyBuilder};
use fantoccini::{Client, Locator};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
/// How long the page may take to show what the test waits for.
const PAGE_WAIT: Duration = Duration::from_secs(30);

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// chromedriver on a free local port, once it accepts connections (bounded).
async fn chromedriver() -> (Killed, String) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "chromedriver did not listen on {port} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, format!("http://127.0.0.1:{port}"))
}

async fn browser(webdriver: &str) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1500"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    fantoccini::ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .unwrap()
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(PAGE_WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} not on the page within {PAGE_WAIT:?}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the element `css` shows `needle` (the page updates it from events).
async fn await_text(client: &Client, css: &str, needle: &str) {
    let deadline = std::time::Instant::now() + PAGE_WAIT;
    loop {
        let text = text_of(client, css).await;
        if text.contains(needle) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} never showed {needle:?}; it shows {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_page_shows_a_new_block_live_and_its_write_set_on_click() {
    page_follows_the_ledger(
        "the_page_shows_a_new_block_live",
        TestNetwork::builder(),
        "fabx-ui.png",
    )
    .await;
}

#[tokio::test]
async fn the_page_follows_fabric_3_1_with_bft() {
    let builder = common::fabric_3_1_bft();
    page_follows_the_ledger(
        "the_page_follows_fabric_3_1_with_bft",
        builder,
        "fabx-ui-bft.png",
    )
    .await;
}

async fn page_follows_the_ledger(test: &str, builder: TopologyBuilder, screenshot_file: &str) {
    let topology = builder.build().unwrap();
    if let Some(reason) = missing_images(&topology).await.unwrap() {
        return common::skipped(test, &reason);
    }
    if !on_path("chromium") || !on_path("chromedriver") {
        return common::skipped(
            test,
            "chromium and chromedriver are not installed (scripts/prerequisites.sh installs them)",
        );
    }
    let net = TestNetwork::start_with(topology, &fabx::reporter::Silent)
        .await
        .unwrap();
    net.deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();

    let files = tempfile::tempdir().unwrap();
    let topology_file = files.path().join("topology.yaml");
    std::fs::write(
        &topology_file,
        serde_norway::to_string(net.topology()).unwrap(),
    )
    .unwrap();
    let mut ui = Command::new(env!("CARGO_BIN_EXE_fabx"))
        .args(["ui", "--port", "0"])
        .current_dir(files.path())
        .env("FABX_CONFIG", &topology_file)
        .env("FABX_STATE_DIR", net.network().layout.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = ui.stdout.take().unwrap();
    let _ui = Killed(ui);
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();

    let (_driver, webdriver) = chromedriver().await;
    let client = browser(&webdriver).await;
    client.goto(&url).await.unwrap();
    await_text(&client, "#network-state", "running").await;
    let nodes = text_of(&client, "#nodes tbody").await;
    assert!(nodes.contains("peer0.org1.example.com"), "{nodes}");
    assert!(nodes.contains("orderer"), "{nodes}");
    let chaincodes = text_of(&client, "#chaincodes tbody").await;
    assert!(chaincodes.contains("examplecc"), "{chaincodes}");
    // The blocks so far, newest first: the init is in the newest.
    let newest = text_of(&client, "#blocks li.block").await;
    assert!(newest.contains("examplecc Init"), "{newest}");

    // A mark in the page's JavaScript state: still there afterwards means no reload.
    client
        .execute("window.fabxTestMark = 'kept'; return null;", vec![])
        .await
        .unwrap();
    let moved = net
        .invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    let tx = format!("[data-tx=\"{}\"]", moved.tx_id);
    let row = client
        .wait()
        .at_most(PAGE_WAIT)
        .for_element(Locator::Css(&tx))
        .await
        .unwrap_or_else(|e| panic!("the new transaction never appeared: {e}"));
    let mark = client
        .execute("return window.fabxTestMark || null;", vec![])
        .await
        .unwrap();
    assert_eq!(mark, "kept", "the page was reloaded");
    let newest = text_of(&client, "#blocks li.block").await;
    assert!(newest.contains("examplecc invoke"), "{newest}");
    assert!(newest.contains("VALID"), "{newest}");

    row.click().await.unwrap();
    let write = text_of(&client, "#tx-detail tr.write[data-key=\"a\"]").await;
    assert!(write.contains("\"80\""), "{write}");
    let write = text_of(&client, "#tx-detail tr.write[data-key=\"b\"]").await;
    assert!(write.contains("\"220\""), "{write}");
    let detail = text_of(&client, "#tx-detail").await;
    assert!(detail.contains(&moved.tx_id), "{detail}");
    assert!(detail.contains("peer0.org2.example.com"), "{detail}");

    let screenshot = client.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join(screenshot_file);
    std::fs::write(&path, &screenshot).unwrap();
    common::report(&format!("{test}: screenshot saved to {}", path.display()));

    // The network goes away: the page says so, it does not break.
    net.teardown().await.unwrap();
    await_text(&client, "#network-state", "absent").await;
    let note = text_of(&client, "#network-note").await;
    assert!(note.contains("fabx up"), "{note}");
    client.close().await.unwrap();
}
