//! Accounts: register, sign in, sign out, and who is signed in.

pub mod api;
mod forms;

pub use forms::{LoginPage, RegisterPage};
