//! The suite as one system: gateway in front, four services behind it, real sockets, real
//! Postgres, real Ed25519-signed tokens.

mod complaints;
mod database;
mod encryption;
mod foundation;
mod harness;
mod workflows;
