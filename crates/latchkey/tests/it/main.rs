//! The one integration-test binary: one module per area.

mod conformance;
mod store;
