//! The one integration-test binary: one module per area.

mod api;
mod cli;
mod conformance;
mod http;
mod multinode;
mod store;
