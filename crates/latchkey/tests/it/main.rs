//! The one integration-test binary: one module per area.

mod api;
mod conformance;
mod store;
