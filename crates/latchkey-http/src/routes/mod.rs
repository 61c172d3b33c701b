//! The route handlers, one file per route family. Handlers are thin:
//! extract, authorize, one core call, map the result.

pub mod console;
pub mod credentials;
pub mod orgs;
pub mod sessions;
pub mod webauthn;
pub mod wellknown;

use latchkey_core::model::{Page, Paged};
use serde::Serialize;

/// A page of a list, as every list route returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> PageBody<T> {
    pub fn new(page: Page, paged: Paged<T>) -> Self {
        PageBody {
            items: paged.items,
            page: page.page,
            per_page: page.per_page,
            total: paged.total,
        }
    }
}
