//! What every layer uses and that knows nothing of Fabric or engines: progress reports,
//! the step timer behind `--profile`, the one retry, the gate, the one tar writer.

pub mod gate;
pub mod profile;
pub mod reporter;
pub mod retry;
pub mod tar;
