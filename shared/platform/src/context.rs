//! Who is calling: the tenant and caller the gateway verified, carried to backend services in
//! request metadata.
//!
//! The gateway strips these headers from every inbound request, sets them from the verified
//! token and seals them ([`crate::identity`]), so a backend trusts only what the gateway (or a
//! service holding the shared key) vouched for, not whatever a pod in the cluster sends.
//! Backends still put the tenant in every query: defence in depth.

use dps_types::{CallerId, TenantId};

use crate::identity::{self, IDENTITY_HEADER};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Status};

/// Metadata key of the verified tenant.
pub const TENANT_HEADER: &str = "x-dps-tenant";
/// Metadata key of the verified caller (the token's `sub`).
pub const CALLER_HEADER: &str = "x-dps-caller";
/// Metadata key of the verified roles, comma-separated.
pub const ROLES_HEADER: &str = "x-dps-roles";

/// Roles that see every tenant of the group (DESIGN §3.5; the gateway's role table agrees).
pub const GROUP_WIDE_ROLES: [&str; 3] = ["dpo", "compliance_manager", "auditor"];

/// Every header the gateway owns: removed from inbound requests before it sets its own.
pub const GATEWAY_HEADERS: [&str; 4] =
    [TENANT_HEADER, CALLER_HEADER, ROLES_HEADER, IDENTITY_HEADER];

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
        let roles_text = read(ROLES_HEADER).unwrap_or_default();
        let sealed = read(IDENTITY_HEADER).is_some_and(|seal| {
            identity::verify(
                tenant.as_str(),
                caller.as_str(),
                roles_text,
                seal,
                unix_now(),
            )
        });
        if !sealed {
            return Err(Status::unauthenticated(
                "no verified caller: call the suite through the gateway",
            ));
        }
        let roles = Some(roles_text)
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

    /// Whether the caller holds a group-wide role (DESIGN §3.5).
    pub fn is_group_wide(&self) -> bool {
        self.roles
            .iter()
            .any(|r| GROUP_WIDE_ROLES.contains(&r.as_str()))
    }

    /// Whose figures a dashboard call may see: `None` (every tenant) when `group_wide` is asked
    /// by a group-wide role, the caller's tenant otherwise; a tenant-scoped role asking for the
    /// group is refused.
    pub fn figures_scope(&self, group_wide: bool) -> Result<Option<&TenantId>, Status> {
        if !group_wide {
            return Ok(Some(&self.tenant));
        }
        if self.is_group_wide() {
            Ok(None)
        } else {
            Err(Status::permission_denied(
                "group-wide figures need the dpo, compliance_manager or auditor role",
            ))
        }
    }

    /// Writes the context into outgoing metadata, sealed with this process's identity key (the
    /// gateway, and service-to-service calls that act for the same caller). Without a key the
    /// seal is missing and the receiver refuses the call.
    pub fn write_to(&self, metadata: &mut MetadataMap) {
        let roles = self.roles.join(",");
        let seal = identity::seal(
            self.tenant.as_str(),
            self.caller.as_str(),
            &roles,
            unix_now(),
        )
        .unwrap_or_default();
        for (key, value) in [
            (TENANT_HEADER, self.tenant.as_str().to_owned()),
            (CALLER_HEADER, self.caller.as_str().to_owned()),
            (ROLES_HEADER, roles),
            (IDENTITY_HEADER, seal),
        ] {
            // Tenant and caller are validated printable ASCII-safe strings; roles come from our
            // own token parsing. A value that still fails is dropped, which denies the call.
            if let Ok(value) = MetadataValue::try_from(value) {
                metadata.insert(key, value);
            }
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
        crate::identity::trust(crate::identity::IdentityKey::from_bytes([5; 32]));
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
    fn unsealed_or_altered_headers_are_unauthenticated() {
        crate::identity::trust(crate::identity::IdentityKey::from_bytes([5; 32]));
        let context = CallContext {
            tenant: TenantId::parse("acme-north").expect("slug"),
            caller: CallerId::parse("sam").expect("id"),
            roles: vec!["staff".into()],
        };
        let mut metadata = MetadataMap::new();
        context.write_to(&mut metadata);
        // A pod in the cluster adds a role, or drops the seal: refused either way.
        let mut escalated = metadata.clone();
        escalated.insert(ROLES_HEADER, MetadataValue::from_static("staff,dpo"));
        assert!(CallContext::from_metadata(&escalated).is_err());
        let mut unsealed = metadata.clone();
        unsealed.remove(IDENTITY_HEADER);
        assert!(CallContext::from_metadata(&unsealed).is_err());
        assert!(CallContext::from_metadata(&metadata).is_ok());
    }

    #[test]
    fn only_group_wide_roles_see_the_groups_figures() {
        let with = |roles: &[&str]| CallContext {
            tenant: TenantId::parse("acme-north").expect("slug"),
            caller: CallerId::parse("x").expect("id"),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        let auditor = with(&["auditor"]);
        assert_eq!(auditor.figures_scope(true).expect("group"), None);
        assert_eq!(
            auditor
                .figures_scope(false)
                .expect("own")
                .map(TenantId::as_str),
            Some("acme-north")
        );
        let staff = with(&["staff", "controller"]);
        let refused = staff.figures_scope(true).expect_err("tenant-scoped");
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn a_malformed_tenant_is_refused() {
        let mut metadata = MetadataMap::new();
        metadata.insert(TENANT_HEADER, MetadataValue::from_static("Acme/../other"));
        metadata.insert(CALLER_HEADER, MetadataValue::from_static("x"));
        assert!(CallContext::from_metadata(&metadata).is_err());
    }
}
