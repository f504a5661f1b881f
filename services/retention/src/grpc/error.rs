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
    /// NOT_FOUND: no such resource in the caller's tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// ALREADY_EXISTS: a class code or asset system the tenant already uses.
    #[error("{0}")]
    AlreadyExists(String),
    /// FAILED_PRECONDITION: the resource's state forbids the change (a held record, a decided
    /// review).
    #[error("{0}")]
    FailedPrecondition(String),
    /// PERMISSION_DENIED: the caller's roles do not allow the call.
    #[error("{0}")]
    PermissionDenied(String),
    /// UNAVAILABLE, ABORTED or INTERNAL, from storage.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Error {
    /// Outcomes the store decides for the caller are not storage faults.
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::CodeTaken(_) | StoreError::SystemTaken(_) => {
                Error::AlreadyExists(err.to_string())
            }
            StoreError::NotFound(name) => Error::NotFound(name),
            StoreError::Invalid(violations) => Error::InvalidArgument(violations),
            StoreError::Precondition(message) => Error::FailedPrecondition(message),
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// A single field violation.
    pub(super) fn field(field: &str, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) | Error::Store(StoreError::Invalid(_)) => {
                ErrorCode::InvalidArgument
            }
            Error::NotFound(_) | Error::Store(StoreError::NotFound(_)) => ErrorCode::NotFound,
            Error::AlreadyExists(_)
            | Error::Store(StoreError::CodeTaken(_) | StoreError::SystemTaken(_)) => {
                ErrorCode::AlreadyExists
            }
            Error::FailedPrecondition(_) | Error::Store(StoreError::Precondition(_)) => {
                ErrorCode::FailedPrecondition
            }
            Error::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Error::Store(StoreError::Db(db)) => db.code(),
            Error::Store(StoreError::Corrupt(_)) => ErrorCode::Internal,
        }
    }

    fn field_violations(&self) -> Vec<FieldViolation> {
        match self {
            Error::InvalidArgument(violations) | Error::Store(StoreError::Invalid(violations)) => {
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
