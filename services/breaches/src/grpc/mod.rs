//! The gRPC surface: thin handlers that read the caller's context, convert the message, call the
//! store and convert back.

mod convert;
mod error;

pub use error::Error;

use dps_platform::CallContext;
use dps_proto::breaches::v1 as pb;
use dps_types::TenantId;
use pb::breaches_service_server::{BreachesService, BreachesServiceServer};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::domain::IncidentId;
use crate::store::Store;

/// The tonic service.
pub fn server(store: Store) -> BreachesServiceServer<Handlers> {
    BreachesServiceServer::new(Handlers { store })
}

/// Implements `dps.breaches.v1.BreachesService`.
#[derive(Debug)]
pub struct Handlers {
    store: Store,
}

impl Handlers {
    /// The incident as shown now, NOT_FOUND outside the tenant.
    async fn incident(&self, tenant: &TenantId, id: IncidentId) -> Result<pb::Incident, Status> {
        let incident = self
            .store
            .get_incident(tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let settings = self.store.settings(tenant).await.map_err(Error::from)?;
        Ok(convert::incident_to_proto(
            &incident,
            &settings,
            OffsetDateTime::now_utc(),
        ))
    }
}

#[tonic::async_trait]
impl BreachesService for Handlers {
    #[instrument(skip_all, fields(rpc = "CreateIncident", tenant_id = tracing::field::Empty))]
    async fn create_incident(
        &self,
        request: Request<pb::CreateIncidentRequest>,
    ) -> Result<Response<pb::Incident>, Status> {
        let context = CallContext::from_request(&request)?;
        let (request_id, incident, details, classification) =
            convert::create_incident(request.into_inner(), OffsetDateTime::now_utc())?;
        let created = self
            .store
            .create_incident(
                &context.tenant,
                &context.caller,
                request_id,
                &incident,
                &details,
                classification.as_ref(),
            )
            .await
            .map_err(Error::from)?;
        let settings = self
            .store
            .settings(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::incident_to_proto(
            &created,
            &settings,
            OffsetDateTime::now_utc(),
        )))
    }

    #[instrument(skip_all, fields(rpc = "GetIncident", tenant_id = tracing::field::Empty))]
    async fn get_incident(
        &self,
        request: Request<pb::GetIncidentRequest>,
    ) -> Result<Response<pb::Incident>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetIncidentRequest { name } = request.into_inner();
        let id = convert::incident_name("name", &name)?;
        Ok(Response::new(self.incident(&context.tenant, id).await?))
    }

    #[instrument(skip_all, fields(rpc = "ClassifyIncident", tenant_id = tracing::field::Empty))]
    async fn classify_incident(
        &self,
        request: Request<pb::ClassifyIncidentRequest>,
    ) -> Result<Response<pb::Incident>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, classification) = convert::classify(request.into_inner())?;
        self.store
            .classify(&context.tenant, id, &classification)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(self.incident(&context.tenant, id).await?))
    }

    #[instrument(skip_all, fields(rpc = "ListOpenBreaches", tenant_id = tracing::field::Empty))]
    async fn list_open_breaches(
        &self,
        request: Request<pb::ListOpenBreachesRequest>,
    ) -> Result<Response<pb::ListOpenBreachesResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let (size, after) = convert::list_open(request.into_inner())?;
        let (breaches, next) = self
            .store
            .list_open(&context.tenant, size, after)
            .await
            .map_err(Error::from)?;
        let now = OffsetDateTime::now_utc();
        Ok(Response::new(pb::ListOpenBreachesResponse {
            breaches: breaches
                .iter()
                .map(|b| convert::open_breach_to_proto(b, now))
                .collect(),
            next_page_token: convert::page_token(next),
        }))
    }

    #[instrument(skip_all, fields(rpc = "AssessRisk", tenant_id = tracing::field::Empty))]
    async fn assess_risk(
        &self,
        request: Request<pb::AssessRiskRequest>,
    ) -> Result<Response<pb::Incident>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, input) = convert::assess(request.into_inner())?;
        self.store
            .assess(
                &context.tenant,
                &context.caller,
                id,
                input,
                OffsetDateTime::now_utc(),
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(self.incident(&context.tenant, id).await?))
    }

    #[instrument(skip_all, fields(rpc = "NotifyRegulator", tenant_id = tracing::field::Empty))]
    async fn notify_regulator(
        &self,
        request: Request<pb::NotifyRegulatorRequest>,
    ) -> Result<Response<pb::RegulatorNotification>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, report) =
            convert::notify_regulator(request.into_inner(), OffsetDateTime::now_utc())?;
        let recorded = self
            .store
            .notify_regulator(&context.tenant, &context.caller, id, report)
            .await
            .map_err(Error::from)?;
        let incident = self
            .store
            .get_incident(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        Ok(Response::new(convert::regulator_to_proto(
            id,
            &recorded,
            convert::incident_times(&incident),
        )))
    }

    #[instrument(skip_all, fields(rpc = "NotifyIndividuals", tenant_id = tracing::field::Empty))]
    async fn notify_individuals(
        &self,
        request: Request<pb::NotifyIndividualsRequest>,
    ) -> Result<Response<pb::IndividualNotification>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::NotifyIndividualsRequest {
            parent,
            notification,
        } = request.into_inner();
        let id = convert::incident_name("parent", &parent)?;
        // Awareness never changes once recorded, so it is read before the locked write.
        let aware_at = self
            .store
            .aware_at(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        let notice =
            convert::notify_individuals(notification, aware_at, OffsetDateTime::now_utc())?;
        let notice_id = self
            .store
            .notify_individuals(&context.tenant, &context.caller, id, &notice)
            .await
            .map_err(Error::from)?;
        let settings = self
            .store
            .settings(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::notice_to_proto(
            id,
            notice_id,
            &notice,
            &settings.dpo,
        )))
    }

    #[instrument(skip_all, fields(rpc = "AddAction", tenant_id = tracing::field::Empty))]
    async fn add_action(
        &self,
        request: Request<pb::AddActionRequest>,
    ) -> Result<Response<pb::Action>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, action) = convert::add_action(request.into_inner())?;
        let created = self
            .store
            .add_action(&context.tenant, &context.caller, id, &action)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::action_to_proto(id, &created)))
    }

    #[instrument(skip_all, fields(rpc = "CompleteAction", tenant_id = tracing::field::Empty))]
    async fn complete_action(
        &self,
        request: Request<pb::CompleteActionRequest>,
    ) -> Result<Response<pb::Action>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::CompleteActionRequest { name, outcome } = request.into_inner();
        let (id, action_id) = convert::action_name(&name)?;
        let done = self
            .store
            .complete_action(
                &context.tenant,
                id,
                action_id,
                &outcome,
                OffsetDateTime::now_utc(),
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::action_to_proto(id, &done)))
    }

    #[instrument(skip_all, fields(rpc = "ApplyPlaybook", tenant_id = tracing::field::Empty))]
    async fn apply_playbook(
        &self,
        request: Request<pb::ApplyPlaybookRequest>,
    ) -> Result<Response<pb::ApplyPlaybookResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, playbook, owner) = convert::apply_playbook(request.into_inner())?;
        let actions = self
            .store
            .apply_playbook(&context.tenant, &context.caller, id, playbook, &owner)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ApplyPlaybookResponse {
            actions: actions
                .iter()
                .map(|a| convert::action_to_proto(id, a))
                .collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RecordThirdPartyNotice", tenant_id = tracing::field::Empty))]
    async fn record_third_party_notice(
        &self,
        request: Request<pb::RecordThirdPartyNoticeRequest>,
    ) -> Result<Response<pb::ThirdPartyNotice>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::RecordThirdPartyNoticeRequest { parent, notice } = request.into_inner();
        let id = convert::incident_name("parent", &parent)?;
        let aware_at = self
            .store
            .aware_at(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        let parsed = convert::third_party(notice, aware_at, OffsetDateTime::now_utc())?;
        self.store
            .record_third_party(&context.tenant, &context.caller, id, &parsed)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::third_party_to_proto(&parsed)))
    }

    #[instrument(skip_all, fields(rpc = "RecordReview", tenant_id = tracing::field::Empty))]
    async fn record_review(
        &self,
        request: Request<pb::RecordReviewRequest>,
    ) -> Result<Response<pb::Incident>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::RecordReviewRequest { name, review } = request.into_inner();
        let id = convert::incident_name("name", &name)?;
        let aware_at = self
            .store
            .aware_at(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        let review = convert::review(
            review,
            context.caller.as_str(),
            aware_at,
            OffsetDateTime::now_utc(),
        )?;
        let traceparent = dps_platform::trace_context::current_traceparent();
        self.store
            .record_review(&context, traceparent.as_deref(), id, &review)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(self.incident(&context.tenant, id).await?))
    }

    #[instrument(skip_all, fields(rpc = "GetDashboard", tenant_id = tracing::field::Empty))]
    async fn get_dashboard(
        &self,
        request: Request<pb::GetDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetDashboardRequest { group_wide } = request.into_inner();
        let scope = context.figures_scope(group_wide)?;
        let (tenants, total) = self
            .store
            .figures(scope, OffsetDateTime::now_utc())
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::Dashboard {
            tenants: tenants.iter().map(convert::figures_to_proto).collect(),
            total: Some(convert::figures_to_proto(&total)),
        }))
    }

    #[instrument(skip_all, fields(rpc = "GetBreachSettings", tenant_id = tracing::field::Empty))]
    async fn get_breach_settings(
        &self,
        request: Request<pb::GetBreachSettingsRequest>,
    ) -> Result<Response<pb::BreachSettings>, Status> {
        let context = CallContext::from_request(&request)?;
        let settings = self
            .store
            .settings(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::settings_to_proto(&settings)))
    }

    #[instrument(skip_all, fields(rpc = "UpdateBreachSettings", tenant_id = tracing::field::Empty))]
    async fn update_breach_settings(
        &self,
        request: Request<pb::UpdateBreachSettingsRequest>,
    ) -> Result<Response<pb::BreachSettings>, Status> {
        let context = CallContext::from_request(&request)?;
        let settings = convert::settings(request.into_inner())?;
        self.store
            .save_settings(&context.tenant, &settings)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::settings_to_proto(&settings)))
    }
}
