//! The gRPC surface: thin handlers that read the caller's context, convert the message, call the
//! store and convert back.

pub mod complaints;
mod convert;
mod error;
mod watch;

pub use error::Error;

use dps_platform::CallContext;
use dps_platform::notify::Notifications;
use dps_proto::subject_requests::v1 as pb;
use dps_types::TenantId;
use pb::subject_requests_service_server::{SubjectRequestsService, SubjectRequestsServiceServer};
use time::{Date, OffsetDateTime};
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::domain::tasks::TaskOutcome;
use crate::domain::{Rejection, SubjectRequest};
use crate::store::Store;

/// The tonic service.
pub fn server(store: Store) -> SubjectRequestsServiceServer<Handlers> {
    SubjectRequestsServiceServer::new(Handlers {
        store,
        new_tasks: Notifications::new(watch::CHANNEL),
    })
}

/// Implements `dps.subject_requests.v1.SubjectRequestsService`.
#[derive(Debug)]
pub struct Handlers {
    store: Store,
    /// Wakes `WatchPendingTasks` streams when a task is created on any replica.
    new_tasks: Notifications,
}

impl Handlers {
    /// The tenant's local date today, for "overdue".
    async fn today(&self, tenant: &TenantId) -> Result<Date, Error> {
        let settings = self.store.settings(tenant).await?;
        Ok(settings
            .jurisdiction
            .zone()
            .local_date(OffsetDateTime::now_utc()))
    }

    /// The request as answered; "overdue" is judged on today's date where its rules apply
    /// (its jurisdiction is fixed at receipt), so no lookup of the tenant's settings.
    fn reply(request: &SubjectRequest) -> Result<Response<pb::SubjectRequest>, Status> {
        let today = request
            .jurisdiction
            .zone()
            .local_date(OffsetDateTime::now_utc());
        Ok(Response::new(convert::subject_request_to_proto(
            request, today,
        )))
    }
}

/// The caller of `context` as the effects of their change must act (issue 10).
fn actor<'a>(context: &'a CallContext, traceparent: &'a Option<String>) -> crate::store::Actor<'a> {
    crate::store::Actor {
        caller: &context.caller,
        roles: &context.roles,
        traceparent: traceparent.as_deref(),
    }
}

/// Largest chunk of a streamed response pack.
const PACK_CHUNK: usize = 64 * 1024;

#[tonic::async_trait]
impl SubjectRequestsService for Handlers {
    type DownloadResponsePackStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<pb::ResponsePackChunk, Status>> + Send>,
    >;
    type WatchPendingTasksStream = watch::TaskStream;

    #[instrument(skip_all, fields(rpc = "WatchPendingTasks", tenant_id = tracing::field::Empty))]
    async fn watch_pending_tasks(
        &self,
        request: Request<pb::WatchPendingTasksRequest>,
    ) -> Result<Response<Self::WatchPendingTasksStream>, Status> {
        let context = CallContext::from_request(&request)?;
        let system = convert::watched_system(request.into_inner())?;
        let wake = self
            .new_tasks
            .subscribe(self.store.pool())
            .await
            .map_err(|e| Error::from(crate::store::StoreError::from(e)))?;
        Ok(Response::new(watch::follow(
            self.store.clone(),
            context.tenant,
            system,
            wake,
        )))
    }

    #[instrument(
        skip_all,
        fields(rpc = "RestrictWhileCheckingAccuracy", tenant_id = tracing::field::Empty)
    )]
    async fn restrict_while_checking_accuracy(
        &self,
        request: Request<pb::RestrictWhileCheckingAccuracyRequest>,
    ) -> Result<Response<pb::AccuracyCheck>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::RestrictWhileCheckingAccuracyRequest { subject_request } = request.into_inner();
        let id = convert::subject_request_name("subject_request", &subject_request)?;
        let traceparent = dps_platform::trace_context::current_traceparent();
        let check = self
            .store
            .restrict_for_accuracy(&context.tenant, &actor(&context, &traceparent), id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::accuracy_to_proto(id, &check)))
    }

    #[instrument(skip_all, fields(rpc = "LiftRequestedRestriction", tenant_id = tracing::field::Empty))]
    async fn lift_requested_restriction(
        &self,
        request: Request<pb::LiftRequestedRestrictionRequest>,
    ) -> Result<Response<pb::RequestedRestriction>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::LiftRequestedRestrictionRequest {
            subject_request,
            told_time,
        } = request.into_inner();
        let (id, told_at) = convert::lift(pb::LiftAccuracyRestrictionRequest {
            subject_request,
            told_time,
        })?;
        let traceparent = dps_platform::trace_context::current_traceparent();
        let (told, lifted, by) = self
            .store
            .lift_requested_restriction(
                &context.tenant,
                &actor(&context, &traceparent),
                id,
                told_at,
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::RequestedRestriction {
            name: format!("{id}/restriction"),
            told_time: Some(dps_platform::proto_time::to_proto(told)),
            lift_time: Some(dps_platform::proto_time::to_proto(lifted)),
            lifted_by: by,
        }))
    }

    #[instrument(skip_all, fields(rpc = "LiftAccuracyRestriction", tenant_id = tracing::field::Empty))]
    async fn lift_accuracy_restriction(
        &self,
        request: Request<pb::LiftAccuracyRestrictionRequest>,
    ) -> Result<Response<pb::AccuracyCheck>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, told_at) = convert::lift(request.into_inner())?;
        let traceparent = dps_platform::trace_context::current_traceparent();
        let check = self
            .store
            .lift_accuracy_restriction(&context.tenant, &actor(&context, &traceparent), id, told_at)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::accuracy_to_proto(id, &check)))
    }

    #[instrument(skip_all, fields(rpc = "RecordDisputedAccuracy", tenant_id = tracing::field::Empty))]
    async fn record_disputed_accuracy(
        &self,
        request: Request<pb::RecordDisputedAccuracyRequest>,
    ) -> Result<Response<pb::AccuracyCheck>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::RecordDisputedAccuracyRequest {
            subject_request,
            note,
        } = request.into_inner();
        let id = convert::subject_request_name("subject_request", &subject_request)?;
        let check = self
            .store
            .record_dispute(&context.tenant, &context.caller, id, &note)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::accuracy_to_proto(id, &check)))
    }

    #[instrument(skip_all, fields(rpc = "GetAccuracyCheck", tenant_id = tracing::field::Empty))]
    async fn get_accuracy_check(
        &self,
        request: Request<pb::GetAccuracyCheckRequest>,
    ) -> Result<Response<pb::AccuracyCheck>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetAccuracyCheckRequest { subject_request } = request.into_inner();
        let id = convert::subject_request_name("subject_request", &subject_request)?;
        let check = self
            .store
            .accuracy_check(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::accuracy_to_proto(id, &check)))
    }

    #[instrument(skip_all, fields(rpc = "BuildResponsePack", tenant_id = tracing::field::Empty))]
    async fn build_response_pack(
        &self,
        request: Request<pb::BuildResponsePackRequest>,
    ) -> Result<Response<pb::ResponsePackInfo>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, supplementary) = convert::build_pack(request.into_inner())?;
        let info = self
            .store
            .build_pack(&context.tenant, &context.caller, id, &supplementary)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::pack_info_to_proto(id, &info)))
    }

    #[instrument(skip_all, fields(rpc = "DownloadResponsePack", tenant_id = tracing::field::Empty))]
    async fn download_response_pack(
        &self,
        request: Request<pb::DownloadResponsePackRequest>,
    ) -> Result<Response<Self::DownloadResponsePackStream>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::DownloadResponsePackRequest { subject_request } = request.into_inner();
        let id = convert::subject_request_name("subject_request", &subject_request)?;
        let pack = self
            .store
            .pack(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        let chunks: Vec<Result<pb::ResponsePackChunk, Status>> = pack
            .expose()
            .as_bytes()
            .chunks(PACK_CHUNK)
            .map(|data| {
                Ok(pb::ResponsePackChunk {
                    data: data.to_vec(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    #[instrument(skip_all, fields(rpc = "CreateSubjectRequest", tenant_id = tracing::field::Empty))]
    async fn create_subject_request(
        &self,
        request: Request<pb::CreateSubjectRequestRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let settings = self
            .store
            .settings(&context.tenant)
            .await
            .map_err(Error::from)?;
        let (request_id, subject_request, tasks) = convert::create_subject_request(
            request.into_inner(),
            settings.jurisdiction,
            OffsetDateTime::now_utc(),
        )?;
        let traceparent = dps_platform::trace_context::current_traceparent();
        let created = self
            .store
            .create_subject_request(
                &context.tenant,
                &actor(&context, &traceparent),
                request_id,
                &subject_request,
                settings.jurisdiction,
                &tasks,
            )
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Rejected(Rejection::Invalid(v)) => {
                    Error::InvalidArgument(dps_types::prefixed("subject_request", v).collect())
                }
                other => Error::from(other),
            })?;
        Self::reply(&created)
    }

    #[instrument(skip_all, fields(rpc = "GetSubjectRequest", tenant_id = tracing::field::Empty))]
    async fn get_subject_request(
        &self,
        request: Request<pb::GetSubjectRequestRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetSubjectRequestRequest { name } = request.into_inner();
        let id = convert::subject_request_name("name", &name)?;
        let subject_request = self
            .store
            .get_subject_request(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Self::reply(&subject_request)
    }

    #[instrument(skip_all, fields(rpc = "ListSubjectRequests", tenant_id = tracing::field::Empty))]
    async fn list_subject_requests(
        &self,
        request: Request<pb::ListSubjectRequestsRequest>,
    ) -> Result<Response<pb::ListSubjectRequestsResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let today = self.today(&context.tenant).await?;
        let (filter, size, after) = convert::list_request(request.into_inner(), today)?;
        let (requests, next) = self
            .store
            .list_subject_requests(&context.tenant, &filter, size, after.as_ref())
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListSubjectRequestsResponse {
            subject_requests: requests
                .iter()
                .map(|r| convert::subject_request_to_proto(r, today))
                .collect(),
            next_page_token: convert::page_token(next),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RecordClockEvent", tenant_id = tracing::field::Empty))]
    async fn record_clock_event(
        &self,
        request: Request<pb::RecordClockEventRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, event) = convert::clock_event(request.into_inner(), OffsetDateTime::now_utc())?;
        let traceparent = dps_platform::trace_context::current_traceparent();
        let updated = self
            .store
            .record_clock_event(&context.tenant, &actor(&context, &traceparent), id, event)
            .await
            .map_err(Error::from)?;
        Self::reply(&updated)
    }

    #[instrument(skip_all, fields(rpc = "TransitionSubjectRequest", tenant_id = tracing::field::Empty))]
    async fn transition_subject_request(
        &self,
        request: Request<pb::TransitionSubjectRequestRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, step, reason) = convert::transition(request.into_inner())?;
        let traceparent = dps_platform::trace_context::current_traceparent();
        let updated = self
            .store
            .transition(
                &context.tenant,
                &actor(&context, &traceparent),
                id,
                step,
                &reason,
            )
            .await
            .map_err(Error::from)?;
        Self::reply(&updated)
    }

    #[instrument(skip_all, fields(rpc = "RefuseSubjectRequest", tenant_id = tracing::field::Empty))]
    async fn refuse_subject_request(
        &self,
        request: Request<pb::RefuseSubjectRequestRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, refusal) = convert::refusal(request.into_inner(), OffsetDateTime::now_utc())?;
        let updated = self
            .store
            .refuse(
                &context.tenant,
                &context.caller,
                &context.roles,
                id,
                &refusal,
            )
            .await
            .map_err(Error::from)?;
        Self::reply(&updated)
    }

    #[instrument(skip_all, fields(rpc = "AssignSubjectRequest", tenant_id = tracing::field::Empty))]
    async fn assign_subject_request(
        &self,
        request: Request<pb::AssignSubjectRequestRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, handler) = convert::assignment(request.into_inner())?;
        let updated = self
            .store
            .assign(&context.tenant, &context.caller, id, handler.as_deref())
            .await
            .map_err(Error::from)?;
        Self::reply(&updated)
    }

    #[instrument(skip_all, fields(rpc = "ListRequestHistory", tenant_id = tracing::field::Empty))]
    async fn list_request_history(
        &self,
        request: Request<pb::ListRequestHistoryRequest>,
    ) -> Result<Response<pb::ListRequestHistoryResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::ListRequestHistoryRequest { name } = request.into_inner();
        let id = convert::subject_request_name("name", &name)?;
        let entries = self
            .store
            .history(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListRequestHistoryResponse {
            entries: entries.iter().map(convert::history_to_proto).collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "ListErasureRetention", tenant_id = tracing::field::Empty))]
    async fn list_erasure_retention(
        &self,
        request: Request<pb::ListErasureRetentionRequest>,
    ) -> Result<Response<pb::ListErasureRetentionResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::ListErasureRetentionRequest { subject_request } = request.into_inner();
        let id = convert::subject_request_name("subject_request", &subject_request)?;
        let retention = self
            .store
            .erasure_retention(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::erasure_retention_to_proto(
            &retention,
        )))
    }

    #[instrument(skip_all, fields(rpc = "ListFulfilmentTasks", tenant_id = tracing::field::Empty))]
    async fn list_fulfilment_tasks(
        &self,
        request: Request<pb::ListFulfilmentTasksRequest>,
    ) -> Result<Response<pb::ListFulfilmentTasksResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let (tasks, next) = match convert::task_list(request.into_inner())? {
            convert::TaskListing::Pending(system, size, after) => self
                .store
                .pending_tasks(&context.tenant, &system, size, after.as_ref())
                .await
                .map_err(Error::from)?,
            convert::TaskListing::OfRequest(id) => {
                let tasks = self
                    .store
                    .request_tasks(&context.tenant, id)
                    .await
                    .map_err(Error::from)?;
                // An unknown request and one without tasks are told apart.
                if tasks.is_empty() {
                    self.store
                        .get_subject_request(&context.tenant, id)
                        .await
                        .map_err(Error::from)?
                        .ok_or_else(|| Error::NotFound(id.to_string()))?;
                }
                (tasks, None)
            }
        };
        Ok(Response::new(pb::ListFulfilmentTasksResponse {
            tasks: tasks.iter().map(convert::task_to_proto).collect(),
            next_page_token: convert::task_page_token(next),
        }))
    }

    #[instrument(skip_all, fields(rpc = "CompleteFulfilmentTask", tenant_id = tracing::field::Empty))]
    async fn complete_fulfilment_task(
        &self,
        request: Request<pb::CompleteFulfilmentTaskRequest>,
    ) -> Result<Response<pb::FulfilmentTask>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::CompleteFulfilmentTaskRequest {
            name,
            export_json,
            affected_records,
        } = request.into_inner();
        let id = convert::task_name(&name)?;
        let task = self
            .store
            .finish_task(&context.tenant, &context.caller, id, |action| {
                TaskOutcome::completed(action, &export_json, affected_records)
                    .map_err(Rejection::Invalid)
            })
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::task_to_proto(&task)))
    }

    #[instrument(skip_all, fields(rpc = "WaiveFulfilmentTask", tenant_id = tracing::field::Empty))]
    async fn waive_fulfilment_task(
        &self,
        request: Request<pb::WaiveFulfilmentTaskRequest>,
    ) -> Result<Response<pb::FulfilmentTask>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::WaiveFulfilmentTaskRequest {
            name,
            reason,
            disproportionate,
            justification,
        } = request.into_inner();
        let id = convert::task_name(&name)?;
        // Checked before the task is read, so bad input never waits on a lock.
        let outcome = TaskOutcome::waived(&reason, disproportionate, &justification)
            .map_err(Error::InvalidArgument)?;
        let task = self
            .store
            .finish_task(&context.tenant, &context.caller, id, |_| Ok(outcome))
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::task_to_proto(&task)))
    }

    #[instrument(skip_all, fields(rpc = "AddReviewPart", tenant_id = tracing::field::Empty))]
    async fn add_review_part(
        &self,
        request: Request<pb::AddReviewPartRequest>,
    ) -> Result<Response<pb::ReviewPart>, Status> {
        let context = CallContext::from_request(&request)?;
        let (id, part) = convert::review_part(request.into_inner(), OffsetDateTime::now_utc())?;
        let part = self
            .store
            .add_review_part(&context.tenant, &context.caller, id, &part)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::review_part_to_proto(&part)))
    }

    #[instrument(skip_all, fields(rpc = "ApproveHealthRelease", tenant_id = tracing::field::Empty))]
    async fn approve_health_release(
        &self,
        request: Request<pb::ApproveHealthReleaseRequest>,
    ) -> Result<Response<pb::ReviewPart>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::ApproveHealthReleaseRequest { name } = request.into_inner();
        let id = convert::review_part_name(&name)?;
        // The role comes from the gateway's verified token (x-dps-roles).
        let part = self
            .store
            .approve_health_release(&context.tenant, &context.caller, &context.roles, id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::review_part_to_proto(&part)))
    }

    #[instrument(skip_all, fields(rpc = "ListReviewParts", tenant_id = tracing::field::Empty))]
    async fn list_review_parts(
        &self,
        request: Request<pb::ListReviewPartsRequest>,
    ) -> Result<Response<pb::ListReviewPartsResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::ListReviewPartsRequest { subject_request } = request.into_inner();
        let id = convert::subject_request_name("subject_request", &subject_request)?;
        let parts = self
            .store
            .review_parts(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        if parts.is_empty() {
            // An unknown request and one without parts are told apart.
            self.store
                .get_subject_request(&context.tenant, id)
                .await
                .map_err(Error::from)?
                .ok_or_else(|| Error::NotFound(id.to_string()))?;
        }
        Ok(Response::new(pb::ListReviewPartsResponse {
            review_parts: parts.iter().map(convert::review_part_to_proto).collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "GetDashboard", tenant_id = tracing::field::Empty))]
    async fn get_dashboard(
        &self,
        request: Request<pb::GetDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetDashboardRequest { group_wide } = request.into_inner();
        let scope = context.figures_scope(group_wide)?;
        let today = crate::domain::Jurisdiction::DEFAULT
            .zone()
            .local_date(OffsetDateTime::now_utc());
        let (tenants, total) = self
            .store
            .figures(scope, today)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::Dashboard {
            tenants: tenants.iter().map(convert::figures_to_proto).collect(),
            total: Some(convert::figures_to_proto(&total)),
        }))
    }

    #[instrument(skip_all, fields(rpc = "GetTenantSettings", tenant_id = tracing::field::Empty))]
    async fn get_tenant_settings(
        &self,
        request: Request<pb::GetTenantSettingsRequest>,
    ) -> Result<Response<pb::TenantSettings>, Status> {
        let context = CallContext::from_request(&request)?;
        let settings = self
            .store
            .settings(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::settings_to_proto(&settings)))
    }

    #[instrument(skip_all, fields(rpc = "UpdateTenantSettings", tenant_id = tracing::field::Empty))]
    async fn update_tenant_settings(
        &self,
        request: Request<pb::UpdateTenantSettingsRequest>,
    ) -> Result<Response<pb::TenantSettings>, Status> {
        let context = CallContext::from_request(&request)?;
        let settings = convert::settings(request.into_inner())?;
        let settings = self
            .store
            .save_settings(&context.tenant, &context.caller, settings)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::settings_to_proto(&settings)))
    }

    #[instrument(skip_all, fields(rpc = "ShredPersonalData", tenant_id = tracing::field::Empty))]
    async fn shred_personal_data(
        &self,
        request: Request<pb::ShredPersonalDataRequest>,
    ) -> Result<Response<pb::ShredPersonalDataResponse>, Status> {
        let context = CallContext::from_request(&request)?;
        let person_id = convert::shred_person(request.into_inner())?;
        let report = self
            .store
            .shred(&context.tenant, &person_id, &context.caller)
            .await
            .map_err(Error::from)?;
        tracing::info!(
            keys = report.key_ids.len(),
            blind_index_entries = report.blind_index_entries,
            "personal data shredded"
        );
        Ok(Response::new(convert::shred_report_to_proto(&report)))
    }
}
