//! What every layer uses and that knows nothing of Fabric or engines: progress reports,
//! the step timer behind `--profile`, the one retry, the gate, the one tar writer, the source watcher.

pub mod gate;
pub mod profile;
pub mod reporter;
pub mod retry;
pub mod tar;
pub mod watch;
