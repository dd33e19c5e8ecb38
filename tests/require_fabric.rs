//! `FABX_REQUIRE_FABRIC=1` turns "Fabric image absent, skip" into a failure, so a CI that
//! must test on Fabric cannot pass by skipping. Alone in its test binary: it sets the
//! variable for the whole process.

use fabx::harness::{missing_images, TestNetwork, REQUIRE_FABRIC_ENV};

#[tokio::test]
async fn the_switch_turns_a_skip_into_a_failure() {
    let topology = TestNetwork::builder()
        .images("fabx-test/absent-peer:0", "fabx-test/absent-orderer:0")
        .build()
        .unwrap();

    std::env::remove_var(REQUIRE_FABRIC_ENV);
    let reason = missing_images(&topology).await.unwrap();
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.contains("fabx-test/absent-peer:0")),
        "{reason:?}"
    );

    std::env::set_var(REQUIRE_FABRIC_ENV, "1");
    let err = missing_images(&topology).await.unwrap_err().to_string();
    assert!(err.contains("fabx-test/absent-peer:0"), "{err}");
    assert!(err.contains("FABX_REQUIRE_FABRIC=1"), "{err}");

    // "0" and "false" leave the switch off.
    std::env::set_var(REQUIRE_FABRIC_ENV, "0");
    assert!(missing_images(&topology).await.unwrap().is_some());
    std::env::remove_var(REQUIRE_FABRIC_ENV);
}
