//! `dps.gateway.v1.AuditService`, served by the gateway itself behind its own authentication and
//! role table (auditors and the DPO).

use dps_platform::{CallContext, proto_time};
use dps_proto::gateway::v1 as pb;
use pb::audit_service_server::{AuditService, AuditServiceServer};
use tonic::{Request, Response, Status};

use super::AuditLog;
use super::store::{EventFilter, StoredEvent};

/// The audit RPCs over `log`.
#[derive(Debug, Clone)]
pub struct AuditApi {
    log: AuditLog,
}

impl AuditApi {
    /// The server for `log`.
    pub fn server(log: AuditLog) -> AuditServiceServer<Self> {
        AuditServiceServer::new(Self { log })
    }
}

fn internal(e: impl std::fmt::Display) -> Status {
    tracing::error!(error = %e, "audit log read failed");
    Status::unavailable("the audit log is temporarily unavailable; retry later")
}

fn to_proto(event: StoredEvent) -> pb::AuditEvent {
    let r = event.record;
    pb::AuditEvent {
        sequence: event.sequence,
        time: Some(proto_time::to_proto(r.at)),
        caller: r.caller,
        roles: r.roles,
        tenant: r.tenant,
        method: r.method,
        resource_names: r.resource_names,
        status_code: r.status_code,
        refusal_cause: r.refusal_cause,
        trace_id: r.trace_id,
        hash: hex::encode(event.hash),
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::ListAuditEventsRequest {
            page_size,
            page_token,
            caller,
            method,
            failures_only,
        } = request.into_inner();
        if !(0..=500).contains(&page_size) {
            return Err(Status::invalid_argument("page_size: between 0 and 500"));
        }
        let size = if page_size == 0 {
            100
        } else {
            i64::from(page_size)
        };
        let before = match page_token.as_str() {
            "" => None,
            token => Some(
                token
                    .strip_prefix("a1:")
                    .and_then(|s| s.parse::<i64>().ok())
                    .filter(|s| *s > 0)
                    .ok_or_else(|| Status::invalid_argument("page_token: not one we issued"))?,
            ),
        };
        let filter = EventFilter {
            tenant: context.tenant.as_str().to_owned(),
            caller: (!caller.is_empty()).then_some(caller),
            method: (!method.is_empty()).then_some(method),
            failures_only,
            before,
        };
        let mut events = self
            .log
            .store()
            .list(&filter, size + 1)
            .await
            .map_err(internal)?;
        let more = events.len() > usize::try_from(size).unwrap_or(usize::MAX);
        events.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        let next_page_token = match events.last() {
            Some(last) if more => format!("a1:{}", last.sequence),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListAuditEventsResponse {
            audit_events: events.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        CallContext::from_request(&request)?;
        let report = self.log.verify().await.map_err(internal)?;
        Ok(Response::new(pb::VerifyAuditChainResponse {
            intact: report.intact(),
            events_checked: report.checked,
            first_broken_sequence: report.first_broken,
            problem: report.problem,
            exported_head_sequence: report.exported_head,
        }))
    }
}
