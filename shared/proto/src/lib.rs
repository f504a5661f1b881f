//! The suite's protobuf contracts, generated from `proto/` at build time (never committed).
//!
//! One module per versioned package. Services depend on this crate for their server traits and
//! for the clients of the services they call; no hand-written logic lives here.

#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]

/// Encoded `FileDescriptorSet` of every package, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dps_descriptor.bin"));

pub mod common {
    pub mod v1 {
        tonic::include_proto!("dps.common.v1");
    }
}
pub mod consent {
    pub mod v1 {
        tonic::include_proto!("dps.consent.v1");
    }
}
pub mod subject_requests {
    pub mod v1 {
        tonic::include_proto!("dps.subject_requests.v1");
    }
}
pub mod breaches {
    pub mod v1 {
        tonic::include_proto!("dps.breaches.v1");
    }
}
pub mod retention {
    pub mod v1 {
        tonic::include_proto!("dps.retention.v1");
    }
}
pub mod gateway {
    pub mod v1 {
        tonic::include_proto!("dps.gateway.v1");
    }
}
