//! The `latchkey` binary as a library: configuration, the command line and
//! the wiring of store, core and HTTP. It holds no product rules; those live
//! in `latchkey-core`, SQL in `latchkey-store`, HTTP in `latchkey-http`.

pub mod admin;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod logging;
pub mod ops;
pub mod sched;
pub mod serve;
pub mod settings;
