//! The service's errors and their gRPC codes.

use dps_platform::{ErrorCode, ServiceError, to_status};
use dps_types::FieldViolation;

use crate::store::StoreError;

/// Everything a consent call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// INVALID_ARGUMENT, with every field at fault.
    #[error("{}", dps_types::describe_violations(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// NOT_FOUND: no such resource or person in the caller's tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// FAILED_PRECONDITION: the change is not allowed in the record's current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// INTERNAL: a bug.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// UNAVAILABLE, ABORTED or INTERNAL, from storage or the key store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// INVALID_ARGUMENT on one field.
    pub fn invalid(field: &str, description: &str) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Error::Internal(_) | Error::Store(StoreError::Corrupt(_)) => ErrorCode::Internal,
            Error::Store(StoreError::Db(db)) => db.code(),
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
