//! End-to-end tests of the suite live in `it/`: every service started in process on real
//! sockets against real Postgres, called through the gateway with real signed tokens.
