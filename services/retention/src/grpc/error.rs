//! The service's errors and their gRPC codes.

use dps_platform::{ErrorCode, ServiceError, to_status};
use dps_types::FieldViolation;

use crate::store::StoreError;

/// Everything a retention call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// INVALID_ARGUMENT, with every field at fault.
    #[error("{}", dps_types::describe_violations(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// NOT_FOUND: no such record class in the caller's tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// ALREADY_EXISTS: the tenant already has a record class with this code.
    #[error("a record class with code {0} already exists")]
    AlreadyExists(String),
    /// UNAVAILABLE, ABORTED or INTERNAL, from storage.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Error {
    /// A taken code is the caller's outcome, not a storage fault.
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::CodeTaken(code) => Error::AlreadyExists(code),
            other => Error::Store(other),
        }
    }
}

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::AlreadyExists(_) | Error::Store(StoreError::CodeTaken(_)) => {
                ErrorCode::AlreadyExists
            }
            Error::Store(StoreError::Db(db)) => db.code(),
            Error::Store(StoreError::Corrupt(_)) => ErrorCode::Internal,
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
