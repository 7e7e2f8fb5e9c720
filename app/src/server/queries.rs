//! The queries server functions and REST handlers share. Row-level SQL lives in
//! `db/{sqlite,postgres,shared}.rs`; these functions turn it into model types.

pub mod catalog;
pub mod orders;
