//! The service's errors and their gRPC codes.

use dps_platform::{ErrorCode, ServiceError, to_status};
use dps_types::FieldViolation;

use crate::domain::Rejection;
use crate::store::StoreError;

/// Everything a breaches call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// INVALID_ARGUMENT, with every field at fault.
    #[error("{}", dps_types::describe_violations(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// NOT_FOUND: no such resource in the caller's tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// PERMISSION_DENIED: the caller lacks the role.
    #[error("{0}")]
    PermissionDenied(String),
    /// From storage, or a rule checked against stored state.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        Error::Store(StoreError::Rejected(r))
    }
}

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_)
            | Error::Store(StoreError::Rejected(Rejection::Invalid(_))) => {
                ErrorCode::InvalidArgument
            }
            Error::NotFound(_) | Error::Store(StoreError::NotFound(_)) => ErrorCode::NotFound,
            Error::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Error::Store(StoreError::Rejected(Rejection::Precondition(_))) => {
                ErrorCode::FailedPrecondition
            }
            Error::Store(StoreError::Db(db)) => db.code(),
            Error::Store(StoreError::Corrupt(_)) => ErrorCode::Internal,
            Error::Store(StoreError::Vault(vault)) => vault.code(),
        }
    }

    fn field_violations(&self) -> Vec<FieldViolation> {
        match self {
            Error::InvalidArgument(violations)
            | Error::Store(StoreError::Rejected(Rejection::Invalid(violations))) => {
                violations.clone()
            }
            _ => Vec::new(),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        to_status(&err)
    }
}
