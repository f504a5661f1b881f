//! Who is calling: the tenant and caller the gateway verified, carried to backend services in
//! request metadata.
//!
//! The gateway strips these headers from every inbound request and sets them from the verified
//! token, so a backend can trust them as long as only the gateway can reach it (the network
//! policy of the deployment). Backends still put the tenant in every query: defence in depth.

use dps_types::{CallerId, TenantId};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Status};

/// Metadata key of the verified tenant.
pub const TENANT_HEADER: &str = "x-dps-tenant";
/// Metadata key of the verified caller (the token's `sub`).
pub const CALLER_HEADER: &str = "x-dps-caller";
/// Metadata key of the verified roles, comma-separated.
pub const ROLES_HEADER: &str = "x-dps-roles";

/// Every header the gateway owns: removed from inbound requests before it sets its own.
pub const GATEWAY_HEADERS: [&str; 3] = [TENANT_HEADER, CALLER_HEADER, ROLES_HEADER];

/// The verified identity of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The subsidiary whose data the call may touch.
    pub tenant: TenantId,
    /// Who is calling.
    pub caller: CallerId,
    /// The caller's roles.
    pub roles: Vec<String>,
}

impl CallContext {
    /// Reads the context of a request, recording the tenant in the current span.
    pub fn from_request<T>(request: &Request<T>) -> Result<Self, Status> {
        let context = Self::from_metadata(request.metadata())?;
        tracing::Span::current().record("tenant_id", context.tenant.as_str());
        Ok(context)
    }

    /// Reads the context from metadata.
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Self, Status> {
        let read = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
        let missing =
            || Status::unauthenticated("no verified caller: call the suite through the gateway");
        let tenant = read(TENANT_HEADER)
            .and_then(|t| TenantId::parse(t).ok())
            .ok_or_else(missing)?;
        let caller = read(CALLER_HEADER)
            .and_then(|c| CallerId::parse(c).ok())
            .ok_or_else(missing)?;
        let roles = read(ROLES_HEADER)
            .map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            tenant,
            caller,
            roles,
        })
    }

    /// Writes the context into outgoing metadata (the gateway, and service-to-service calls that
    /// act for the same caller).
    pub fn write_to(&self, metadata: &mut MetadataMap) {
        for (key, value) in [
            (TENANT_HEADER, self.tenant.as_str().to_owned()),
            (CALLER_HEADER, self.caller.as_str().to_owned()),
            (ROLES_HEADER, self.roles.join(",")),
        ] {
            // Tenant and caller are validated printable ASCII-safe strings; roles come from our
            // own token parsing. A value that still fails is dropped, which denies the call.
            if let Ok(value) = MetadataValue::try_from(value) {
                metadata.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_gateway_headers_is_unauthenticated() {
        let status = CallContext::from_metadata(&MetadataMap::new()).expect_err("no headers");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn context_round_trips_through_metadata() {
        let context = CallContext {
            tenant: TenantId::parse("acme-north").expect("slug"),
            caller: CallerId::parse("hr-platform").expect("id"),
            roles: vec!["dpo".into(), "staff".into()],
        };
        let mut metadata = MetadataMap::new();
        context.write_to(&mut metadata);
        assert_eq!(
            CallContext::from_metadata(&metadata).expect("valid"),
            context
        );
    }

    #[test]
    fn a_malformed_tenant_is_refused() {
        let mut metadata = MetadataMap::new();
        metadata.insert(TENANT_HEADER, MetadataValue::from_static("Acme/../other"));
        metadata.insert(CALLER_HEADER, MetadataValue::from_static("x"));
        assert!(CallContext::from_metadata(&metadata).is_err());
    }
}
