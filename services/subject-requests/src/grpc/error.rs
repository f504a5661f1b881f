//! The service's errors and their gRPC codes.

use dps_platform::{ErrorCode, ServiceError, to_status};
use dps_types::FieldViolation;

use crate::store::StoreError;

/// Everything a subject-requests call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// INVALID_ARGUMENT, with every field at fault.
    #[error("{}", dps_types::describe_violations(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// NOT_FOUND: no such request in the caller's tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// UNAVAILABLE, ABORTED or INTERNAL, from storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Store(StoreError::Db(db)) => db.code(),
            Error::Store(StoreError::Corrupt(_)) => ErrorCode::Internal,
            Error::Store(StoreError::Vault(vault)) => vault.code(),
        }
    }

    fn field_violations(&self) -> Vec<FieldViolation> {
        match self {
            Error::InvalidArgument(violations) => violations.clone(),
            _ => Vec::new(),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        to_status(&err)
    }
}
