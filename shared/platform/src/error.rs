//! One way from a service's error to a `tonic::Status`.
//!
//! The orphan rule forbids `impl From<consent::Error> for tonic::Status` here, so each service
//! implements [`ServiceError`] for its error enum and writes a three-line `From` calling
//! [`to_status`]. Client mistakes keep their message (written for a DPO); server faults get a
//! fixed message and their cause goes to the log only, because database and driver text can
//! quote personal data.

use dps_types::FieldViolation;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The outcomes a service error can have at the gRPC edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Bad input; carries field violations.
    InvalidArgument,
    /// No such resource in the caller's tenant (also for other tenants' resources).
    NotFound,
    /// A resource with the same unique key exists.
    AlreadyExists,
    /// The resource is not in a state that allows the change.
    FailedPrecondition,
    /// The caller may not do this.
    PermissionDenied,
    /// The caller is not authenticated, or lacks a tenant context.
    Unauthenticated,
    /// Lost a race; retry.
    Aborted,
    /// A dependency is down; retry later.
    Unavailable,
    /// A bug.
    Internal,
}

/// Implemented by every service's error enum.
pub trait ServiceError: std::error::Error {
    /// The gRPC outcome.
    fn code(&self) -> ErrorCode;

    /// For [`ErrorCode::InvalidArgument`]: each field at fault.
    fn field_violations(&self) -> Vec<FieldViolation> {
        Vec::new()
    }
}

/// Converts a service error to a status, logging it where it is handled: client-caused codes at
/// INFO, server faults at ERROR with the cause chain.
pub fn to_status<E: ServiceError + ?Sized>(err: &E) -> Status {
    let code = err.code();
    let grpc = match code {
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::FailedPrecondition => Code::FailedPrecondition,
        ErrorCode::PermissionDenied => Code::PermissionDenied,
        ErrorCode::Unauthenticated => Code::Unauthenticated,
        ErrorCode::Aborted => Code::Aborted,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Internal => Code::Internal,
    };
    match code {
        ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::Aborted => {
            tracing::error!(code = ?grpc, cause = %chain(err), "request failed");
            let message = match code {
                ErrorCode::Unavailable => "the service is temporarily unavailable; retry later",
                ErrorCode::Aborted => "the request conflicted with a concurrent change; retry it",
                _ => "internal error",
            };
            Status::new(grpc, message)
        }
        ErrorCode::InvalidArgument => {
            tracing::info!(code = ?grpc, reason = %err, "request refused");
            let violations: Vec<tonic_types::FieldViolation> = err
                .field_violations()
                .into_iter()
                .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
                .collect();
            Status::with_error_details(
                grpc,
                err.to_string(),
                ErrorDetails::with_bad_request(violations),
            )
        }
        _ => {
            tracing::info!(code = ?grpc, reason = %err, "request refused");
            Status::new(grpc, err.to_string())
        }
    }
}

fn chain(err: &(impl std::error::Error + ?Sized)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Reads the field violations of an `INVALID_ARGUMENT` status (clients and tests).
pub fn field_violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("the request is not valid")]
        Invalid(Vec<FieldViolation>),
        #[error("database: connection refused by 10.0.0.7 for row 'Jane Doe'")]
        Db,
    }

    impl ServiceError for Sample {
        fn code(&self) -> ErrorCode {
            match self {
                Sample::Invalid(_) => ErrorCode::InvalidArgument,
                Sample::Db => ErrorCode::Unavailable,
            }
        }
        fn field_violations(&self) -> Vec<FieldViolation> {
            match self {
                Sample::Invalid(v) => v.clone(),
                Sample::Db => Vec::new(),
            }
        }
    }

    #[test]
    fn invalid_argument_carries_bad_request_field_violations() {
        let err = Sample::Invalid(vec![FieldViolation {
            field: "purpose.display_name".into(),
            description: "required".into(),
        }]);
        let status = to_status(&err);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            field_violations(&status),
            vec![("purpose.display_name".to_owned(), "required".to_owned())]
        );
    }

    #[test]
    fn server_faults_never_leak_their_cause() {
        let status = to_status(&Sample::Db);
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("Jane"));
        assert!(!status.message().contains("10.0.0.7"));
    }
}
