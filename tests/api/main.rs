//! Integration tests: the real server on a random port, a fresh database per
//! test (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set), real
//! WebSocket and HTTP clients.

mod api_v1;
mod assets;
mod auth;
mod catalog_pages;
mod checkout;
mod conversations;
mod facts;
mod helpers;
mod pages;
mod postgres_only;
mod presence;
mod questions;
mod realtime;
mod security;
mod seed;
mod staff;
