//! `dps.subject_requests.v1.ComplaintService`: data-protection complaints (DPA 2018 s164A; issue
//! 17). Thin handlers like the requests service's: read the caller's context, convert, call the
//! store, convert back.

mod convert;

use dps_platform::CallContext;
use dps_proto::subject_requests::v1 as pb;
use dps_types::TenantId;
use pb::complaint_service_server::{ComplaintService, ComplaintServiceServer};
use time::{Date, OffsetDateTime};
use tonic::{Request, Response, Status};
use tracing::instrument;

use super::Error;
use crate::domain::complaint::Complaint;
use crate::store::Store;

/// The tonic service.
pub fn server(store: Store) -> ComplaintServiceServer<ComplaintHandlers> {
    ComplaintServiceServer::new(ComplaintHandlers { store })
}

/// Implements `dps.subject_requests.v1.ComplaintService`.
#[derive(Debug)]
pub struct ComplaintHandlers {
    store: Store,
}

impl ComplaintHandlers {
    /// The tenant's local date today, for "overdue".
    async fn today(&self, tenant: &TenantId) -> Result<Date, Error> {
        let settings = self.store.settings(tenant).await?;
        Ok(settings
            .jurisdiction
            .zone()
            .local_date(OffsetDateTime::now_utc()))
    }

    async fn reply(
        &self,
        tenant: &TenantId,
        complaint: &Complaint,
    ) -> Result<Response<pb::Complaint>, Status> {
        let today = self.today(tenant).await?;
        Ok(Response::new(convert::complaint_to_proto(complaint, today)))
    }
}

#[tonic::async_trait]
impl ComplaintService for ComplaintHandlers {
    #[instrument(skip_all, fields(rpc = "CreateComplaint", tenant_id = tracing::field::Empty))]
    async fn create_complaint(
        &self,
        request: Request<pb::CreateComplaintRequest>,
    ) -> Result<Response<pb::Complaint>, Status> {
        let context = CallContext::from_request(&request)?;
        let (request_id, complaint) =
            convert::create_complaint(request.into_inner(), OffsetDateTime::now_utc())?;
        // The rules are fixed at receipt from the tenant's settings.
        let settings = self
            .store
            .settings(&context.tenant)
            .await
            .map_err(Error::from)?;
        let created = self
            .store
            .create_complaint(
                &context.tenant,
                &context.caller,
                request_id,
                &complaint,
                settings.jurisdiction,
            )
            .await
            .map_err(Error::from)?;
        self.reply(&context.tenant, &created).await
    }

    #[instrument(skip_all, fields(rpc = "GetComplaint", tenant_id = tracing::field::Empty))]
    async fn get_complaint(
        &self,
        request: Request<pb::GetComplaintRequest>,
    ) -> Result<Response<pb::Complaint>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetComplaintRequest { name } = request.into_inner();
        let id = convert::complaint_name("name", &name)?;
        let complaint = self
            .store
            .get_complaint(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        self.reply(&context.tenant, &complaint).await
    }

    #[instrument(skip_all, fields(rpc = "ListComplaints", tenant_id = tracing::field::Empty))]
    async fn list_complaints(
        &self,
        request: Request<pb::ListComplaintsRequest>,
    ) -> Result<Response<pb::ListComplaintsResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let today = self.today(&context.tenant).await?;
        let (filter, size, after) = convert::list_request(request.into_inner(), today)?;
        let (complaints, next) = self
            .store
            .list_complaints(&context.tenant, &filter, size, after.as_ref())
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListComplaintsResponse {
            complaints: complaints
                .iter()
                .map(|c| convert::complaint_to_proto(c, today))
                .collect(),
            next_page_token: convert::page_token(next),
        }))
    }

    #[instrument(skip_all, fields(rpc = "AcknowledgeComplaint", tenant_id = tracing::field::Empty))]
    async fn acknowledge_complaint(
        &self,
        request: Request<pb::AcknowledgeComplaintRequest>,
    ) -> Result<Response<pb::Complaint>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, acknowledgement) =
            convert::acknowledgement(request.into_inner(), OffsetDateTime::now_utc())?;
        let updated = self
            .store
            .acknowledge_complaint(&context.tenant, &context.caller, id, acknowledgement)
            .await
            .map_err(Error::from)?;
        self.reply(&context.tenant, &updated).await
    }

    #[instrument(skip_all, fields(rpc = "AssignComplaint", tenant_id = tracing::field::Empty))]
    async fn assign_complaint(
        &self,
        request: Request<pb::AssignComplaintRequest>,
    ) -> Result<Response<pb::Complaint>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, assignee) = convert::assignment(request.into_inner())?;
        let updated = self
            .store
            .assign_complaint(&context.tenant, &context.caller, id, assignee.as_deref())
            .await
            .map_err(Error::from)?;
        self.reply(&context.tenant, &updated).await
    }

    #[instrument(skip_all, fields(rpc = "AddComplaintEntry", tenant_id = tracing::field::Empty))]
    async fn add_complaint_entry(
        &self,
        request: Request<pb::AddComplaintEntryRequest>,
    ) -> Result<Response<pb::Complaint>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, entry) = convert::entry(request.into_inner())?;
        let updated = self
            .store
            .add_complaint_entry(&context.tenant, &context.caller, id, &entry)
            .await
            .map_err(Error::from)?;
        self.reply(&context.tenant, &updated).await
    }

    #[instrument(skip_all, fields(rpc = "RecordComplaintOutcome", tenant_id = tracing::field::Empty))]
    async fn record_complaint_outcome(
        &self,
        request: Request<pb::RecordComplaintOutcomeRequest>,
    ) -> Result<Response<pb::Complaint>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, resolution) = convert::outcome(request.into_inner(), OffsetDateTime::now_utc())?;
        let updated = self
            .store
            .record_complaint_outcome(&context.tenant, &context.caller, id, &resolution)
            .await
            .map_err(Error::from)?;
        self.reply(&context.tenant, &updated).await
    }

    #[instrument(skip_all, fields(rpc = "ListComplaintHistory", tenant_id = tracing::field::Empty))]
    async fn list_complaint_history(
        &self,
        request: Request<pb::ListComplaintHistoryRequest>,
    ) -> Result<Response<pb::ListComplaintHistoryResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::ListComplaintHistoryRequest { name } = request.into_inner();
        let id = convert::complaint_name("name", &name)?;
        let entries = self
            .store
            .complaint_history(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListComplaintHistoryResponse {
            entries: entries.iter().map(convert::history_to_proto).collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "GetComplaintFigures", tenant_id = tracing::field::Empty))]
    async fn get_complaint_figures(
        &self,
        request: Request<pb::GetComplaintFiguresRequest>,
    ) -> Result<Response<pb::ComplaintDashboard>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetComplaintFiguresRequest { group_wide } = request.into_inner();
        let scope = context.figures_scope(group_wide)?;
        // Jersey keeps the same clock as London, so one "today" serves every tenant.
        let today = crate::domain::Jurisdiction::DEFAULT
            .zone()
            .local_date(OffsetDateTime::now_utc());
        let (tenants, total) = self
            .store
            .complaint_figures(scope, today)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ComplaintDashboard {
            tenants: tenants.iter().map(convert::figures_to_proto).collect(),
            total: Some(convert::figures_to_proto(&total)),
        }))
    }
}
