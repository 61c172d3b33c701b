//! Storage tests: written by the store work.
