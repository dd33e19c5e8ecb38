//! Fabric's protobuf timestamps (seconds and nanos since the Unix epoch) as `SystemTime`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proto::common::Timestamp;

pub(crate) fn to_system_time(timestamp: &Timestamp) -> SystemTime {
    let nanos = u32::try_from(timestamp.nanos).unwrap_or(0);
    match u64::try_from(timestamp.seconds) {
        Ok(seconds) => UNIX_EPOCH + Duration::new(seconds, nanos),
        // Before 1970: no Fabric client sends one, but it is still a time.
        Err(_) => UNIX_EPOCH - Duration::from_secs(timestamp.seconds.unsigned_abs()),
    }
}

pub(crate) fn now() -> Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since_epoch.subsec_nanos()).unwrap_or(0),
    }
}
