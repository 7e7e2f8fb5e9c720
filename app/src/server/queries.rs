//! The queries server functions and REST handlers share. Row-level SQL lives in
//! `db/` (one file per domain); these functions turn it into model types.

pub mod catalog;
pub mod conversations;
pub mod orders;
pub mod questions;
