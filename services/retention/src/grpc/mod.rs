//! The gRPC surface: thin handlers that read the caller's context, check its roles, convert the
//! message, call the store and convert back.

mod convert;
mod convert_disposal;
mod error;

pub use error::Error;

use dps_platform::CallContext;
use dps_proto::retention::v1 as pb;
use pb::retention_service_server::{RetentionService, RetentionServiceServer};
use time::{Date, OffsetDateTime};
use tonic::{Request, Response, Status, Streaming};
use tracing::instrument;

use crate::domain::{
    APPROVER_ROLES, CertificateId, RecordId, SCHEDULE_ROLES, TaskId, erasure_verdict, has_any_role,
};
use crate::store::Store;
use convert_disposal as cd;

/// Most items one page or claim returns.
const MAX_PAGE: i32 = 1000;
/// Items a page or claim returns when the caller does not say.
const DEFAULT_PAGE: i32 = 100;

/// The tonic service.
pub fn server(store: Store) -> RetentionServiceServer<Handlers> {
    RetentionServiceServer::new(Handlers { store })
}

/// Implements `dps.retention.v1.RetentionService`.
#[derive(Debug)]
pub struct Handlers {
    store: Store,
}

/// Today's date. Review dates are calendar dates compared with the UTC date; they are dates to
/// review, so the hour either side of midnight in London does not matter.
fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn require(context: &CallContext, allowed: &[&str], what: &str) -> Result<(), Error> {
    if has_any_role(&context.roles, allowed) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{what} needs one of the roles {}",
            allowed.join(", ")
        )))
    }
}

fn page_size(requested: i32) -> i32 {
    match requested {
        n if n <= 0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

impl Handlers {
    /// Reads the caller and makes sure its tenant has a schedule.
    async fn context<T>(&self, request: &Request<T>) -> Result<CallContext, Status> {
        let context = CallContext::from_request(request)?;
        self.store
            .ensure_tenant(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(context)
    }
}

#[tonic::async_trait]
impl RetentionService for Handlers {
    #[instrument(skip_all, fields(rpc = "CreateRecordClass", tenant_id = tracing::field::Empty))]
    async fn create_record_class(
        &self,
        request: Request<pb::CreateRecordClassRequest>,
    ) -> Result<Response<pb::RecordClass>, Status> {
        let context = self.context(&request).await?;
        require(&context, SCHEDULE_ROLES, "changing the retention schedule")?;
        let (request_id, class) = convert::create_record_class(request.into_inner())?;
        let created = self
            .store
            .create_record_class(&context.tenant, &context.caller, request_id, &class)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::record_class_to_proto(&created)))
    }

    #[instrument(skip_all, fields(rpc = "GetRecordClass", tenant_id = tracing::field::Empty))]
    async fn get_record_class(
        &self,
        request: Request<pb::GetRecordClassRequest>,
    ) -> Result<Response<pb::RecordClass>, Status> {
        let context = self.context(&request).await?;
        let pb::GetRecordClassRequest { name } = request.into_inner();
        let id = convert::parse_name(
            "name",
            &name,
            crate::domain::RecordClassId::parse_name,
            "recordClasses",
        )?;
        let class = self
            .store
            .get_record_class(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(convert::record_class_to_proto(&class)))
    }

    #[instrument(skip_all, fields(rpc = "UpdateRecordClass", tenant_id = tracing::field::Empty))]
    async fn update_record_class(
        &self,
        request: Request<pb::UpdateRecordClassRequest>,
    ) -> Result<Response<pb::UpdateRecordClassResponse>, Status> {
        let context = self.context(&request).await?;
        require(&context, SCHEDULE_ROLES, "changing the retention schedule")?;
        let (id, code, change, reason) = convert::update_record_class(request.into_inner())?;
        let (class, redated) = self
            .store
            .update_record_class(
                &context.tenant,
                &context.caller,
                id,
                &code,
                &change,
                &reason,
                today(),
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::UpdateRecordClassResponse {
            record_class: Some(convert::record_class_to_proto(&class)),
            redated_records: i64::try_from(redated).unwrap_or(i64::MAX),
        }))
    }

    #[instrument(skip_all, fields(rpc = "GetSchedule", tenant_id = tracing::field::Empty))]
    async fn get_schedule(
        &self,
        request: Request<pb::GetScheduleRequest>,
    ) -> Result<Response<pb::Schedule>, Status> {
        let context = self.context(&request).await?;
        let pb::GetScheduleRequest {} = request.into_inner();
        let (version, classes) = self
            .store
            .schedule(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::Schedule {
            version,
            record_classes: classes.iter().map(convert::record_class_to_proto).collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RegisterRecord", tenant_id = tracing::field::Empty))]
    async fn register_record(
        &self,
        request: Request<pb::RegisterRecordRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        let context = self.context(&request).await?;
        let pb::RegisterRecordRequest { record } = request.into_inner();
        let record = record.ok_or_else(|| Error::field("record", "required"))?;
        let record = convert::new_record(record, today())
            .map_err(|v| Error::InvalidArgument(dps_types::prefixed("record", v).collect()))?;
        let classes = self
            .store
            .classes_by_code(&context.tenant)
            .await
            .map_err(Error::from)?;
        let class = classes.get(&record.class_code).ok_or_else(|| {
            Error::field(
                "record.record_class_code",
                format!("no record class {}", record.class_code),
            )
        })?;
        record.check_class(class).map_err(|v| {
            Error::InvalidArgument(dps_types::prefixed("record", vec![v]).collect())
        })?;
        let stored = self
            .store
            .register_record(&context.tenant, record, class)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::record_to_proto(&stored)))
    }

    #[instrument(skip_all, fields(rpc = "BulkRegisterRecords", tenant_id = tracing::field::Empty))]
    async fn bulk_register_records(
        &self,
        request: Request<Streaming<pb::BulkRegisterRecordsRequest>>,
    ) -> Result<Response<pb::BulkRegisterRecordsResponse>, Status> {
        let context = self.context(&request).await?;
        let classes = self
            .store
            .classes_by_code(&context.tenant)
            .await
            .map_err(Error::from)?;
        let today = today();
        let mut stream = request.into_inner();
        // One transaction: a bad record anywhere drops it, so nothing is stored.
        let mut bulk = self
            .store
            .bulk_registration(&context.tenant)
            .await
            .map_err(Error::from)?;
        let mut index = 0usize;
        while let Some(message) = stream.message().await? {
            let pb::BulkRegisterRecordsRequest { records } = message;
            for record in records {
                let path = format!("records[{index}]");
                let record = convert::new_record(record, today)
                    .map_err(|v| Error::InvalidArgument(dps_types::prefixed(&path, v).collect()))?;
                let class = classes.get(&record.class_code).ok_or_else(|| {
                    Error::field(
                        &format!("{path}.record_class_code"),
                        format!("no record class {}", record.class_code),
                    )
                })?;
                record.check_class(class).map_err(|v| {
                    Error::InvalidArgument(dps_types::prefixed(&path, vec![v]).collect())
                })?;
                bulk.add(record, class).await.map_err(Error::from)?;
                index += 1;
            }
        }
        let (registered, already) = bulk.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::BulkRegisterRecordsResponse {
            registered: i64::try_from(registered).unwrap_or(i64::MAX),
            already_registered: i64::try_from(already).unwrap_or(i64::MAX),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RecordEvent", tenant_id = tracing::field::Empty))]
    async fn record_event(
        &self,
        request: Request<pb::RecordEventRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        let context = self.context(&request).await?;
        let (id, event, date, died_in_care) = convert::record_event(request.into_inner())?;
        let record = self
            .store
            .get_record(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let class = self
            .store
            .get_record_class(&context.tenant, record.class_id)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::NotFound(record.class_id.to_string()))?;
        let stored = self
            .store
            .record_event(
                &context.tenant,
                id,
                event,
                date,
                died_in_care,
                &class,
                today(),
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::record_to_proto(&stored)))
    }

    #[instrument(skip_all, fields(rpc = "GetRecord", tenant_id = tracing::field::Empty))]
    async fn get_record(
        &self,
        request: Request<pb::GetRecordRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        let context = self.context(&request).await?;
        let pb::GetRecordRequest { name } = request.into_inner();
        let id = convert::parse_name("name", &name, RecordId::parse_name, "records")?;
        let record = self
            .store
            .get_record(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(convert::record_to_proto(&record)))
    }

    #[instrument(skip_all, fields(rpc = "RunSweep", tenant_id = tracing::field::Empty))]
    async fn run_sweep(
        &self,
        request: Request<pb::RunSweepRequest>,
    ) -> Result<Response<pb::RunSweepResponse>, Status> {
        let context = self.context(&request).await?;
        let pb::RunSweepRequest {} = request.into_inner();
        let raised = self
            .store
            .sweep(&context.tenant, today())
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::RunSweepResponse {
            reviews_raised: i64::try_from(raised).unwrap_or(i64::MAX),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RaiseDisposalReview", tenant_id = tracing::field::Empty))]
    async fn raise_disposal_review(
        &self,
        request: Request<pb::RaiseDisposalReviewRequest>,
    ) -> Result<Response<pb::DisposalReview>, Status> {
        let context = self.context(&request).await?;
        let pb::RaiseDisposalReviewRequest { record } = request.into_inner();
        let id = convert::parse_name("record", &record, RecordId::parse_name, "records")?;
        let review = self
            .store
            .raise_review(&context.tenant, id, today())
            .await
            .map_err(Error::from)?;
        Ok(Response::new(cd::review_to_proto(&review)))
    }

    #[instrument(skip_all, fields(rpc = "ListDisposalReviews", tenant_id = tracing::field::Empty))]
    async fn list_disposal_reviews(
        &self,
        request: Request<pb::ListDisposalReviewsRequest>,
    ) -> Result<Response<pb::ListDisposalReviewsResponse>, Status> {
        let context = self.context(&request).await?;
        let pb::ListDisposalReviewsRequest {
            state,
            page_size: requested,
            page_token,
        } = request.into_inner();
        let state = cd::review_state_from_proto(state)?;
        let after = cd::parse_page_token(&page_token)?;
        let size = page_size(requested);
        let rows = self
            .store
            .list_reviews(&context.tenant, state, i64::from(size) + 1, after)
            .await
            .map_err(Error::from)?;
        let more = rows.len() > usize::try_from(size).unwrap_or(usize::MAX);
        let page: Vec<_> = rows
            .into_iter()
            .take(usize::try_from(size).unwrap_or(0))
            .collect();
        let next_page_token = match page.last() {
            Some(last) if more => cd::page_token(last),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListDisposalReviewsResponse {
            disposal_reviews: page.iter().map(cd::review_to_proto).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all, fields(rpc = "DecideDisposalReview", tenant_id = tracing::field::Empty))]
    async fn decide_disposal_review(
        &self,
        request: Request<pb::DecideDisposalReviewRequest>,
    ) -> Result<Response<pb::DisposalReview>, Status> {
        let context = self.context(&request).await?;
        require(&context, APPROVER_ROLES, "deciding a disposal review")?;
        let (id, input, violations) = cd::decide(request.into_inner())?;
        let review = self
            .store
            .decide_review(
                &context.tenant,
                &context.caller,
                id,
                input,
                violations,
                today(),
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(cd::review_to_proto(&review)))
    }

    #[instrument(skip_all, fields(rpc = "ClaimDisposalTasks", tenant_id = tracing::field::Empty))]
    async fn claim_disposal_tasks(
        &self,
        request: Request<pb::ClaimDisposalTasksRequest>,
    ) -> Result<Response<pb::ClaimDisposalTasksResponse>, Status> {
        let context = self.context(&request).await?;
        let pb::ClaimDisposalTasksRequest { system, max_tasks } = request.into_inner();
        if system.trim().is_empty() {
            return Err(Error::field("system", "required").into());
        }
        let tasks = self
            .store
            .claim_tasks(
                &context.tenant,
                &context.caller,
                system.trim(),
                i64::from(page_size(max_tasks)),
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ClaimDisposalTasksResponse {
            tasks: tasks.iter().map(cd::task_to_proto).collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "ConfirmDisposalTask", tenant_id = tracing::field::Empty))]
    async fn confirm_disposal_task(
        &self,
        request: Request<pb::ConfirmDisposalTaskRequest>,
    ) -> Result<Response<pb::DisposalCertificate>, Status> {
        let context = self.context(&request).await?;
        let pb::ConfirmDisposalTaskRequest { name, method } = request.into_inner();
        let id = convert::parse_name("name", &name, TaskId::parse_name, "disposalTasks")?;
        let method = method.trim();
        if method.chars().count() > 500 {
            return Err(Error::field("method", "at most 500 characters").into());
        }
        let certificate = self
            .store
            .confirm_task(
                &context.tenant,
                &context.caller,
                id,
                (!method.is_empty()).then_some(method),
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(cd::certificate_to_proto(&certificate)))
    }

    #[instrument(skip_all, fields(rpc = "GetDisposalCertificate", tenant_id = tracing::field::Empty))]
    async fn get_disposal_certificate(
        &self,
        request: Request<pb::GetDisposalCertificateRequest>,
    ) -> Result<Response<pb::DisposalCertificate>, Status> {
        let context = self.context(&request).await?;
        let pb::GetDisposalCertificateRequest { name } = request.into_inner();
        let id = convert::parse_name(
            "name",
            &name,
            CertificateId::parse_name,
            "disposalCertificates",
        )?;
        let certificate = self
            .store
            .get_certificate(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(cd::certificate_to_proto(&certificate)))
    }

    #[instrument(skip_all, fields(rpc = "PlaceLegalHold", tenant_id = tracing::field::Empty))]
    async fn place_legal_hold(
        &self,
        request: Request<pb::PlaceLegalHoldRequest>,
    ) -> Result<Response<pb::LegalHold>, Status> {
        let context = self.context(&request).await?;
        require(&context, SCHEDULE_ROLES, "placing a legal hold")?;
        let (request_id, hold) = cd::place_hold(request.into_inner())?;
        let row = self
            .store
            .place_hold(&context.tenant, &context.caller, request_id, &hold)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(cd::hold_to_proto(&row)))
    }

    #[instrument(skip_all, fields(rpc = "ReleaseLegalHold", tenant_id = tracing::field::Empty))]
    async fn release_legal_hold(
        &self,
        request: Request<pb::ReleaseLegalHoldRequest>,
    ) -> Result<Response<pb::LegalHold>, Status> {
        let context = self.context(&request).await?;
        require(&context, SCHEDULE_ROLES, "releasing a legal hold")?;
        let pb::ReleaseLegalHoldRequest { name, reason } = request.into_inner();
        let id = cd::hold_name(&name)?;
        let mut v = dps_types::Violations::new();
        let reason =
            crate::domain::required_text(&mut v, "reason", &reason, crate::domain::MAX_REASON);
        v.finish(()).map_err(Error::InvalidArgument)?;
        let (row, raised) = self
            .store
            .release_hold(&context.tenant, &context.caller, id, &reason, today())
            .await
            .map_err(Error::from)?;
        tracing::info!(
            reviews_raised = raised,
            "legal hold released; records re-evaluated"
        );
        Ok(Response::new(cd::hold_to_proto(&row)))
    }

    #[instrument(skip_all, fields(rpc = "CreateInformationAsset", tenant_id = tracing::field::Empty))]
    async fn create_information_asset(
        &self,
        request: Request<pb::CreateInformationAssetRequest>,
    ) -> Result<Response<pb::InformationAsset>, Status> {
        let context = self.context(&request).await?;
        require(
            &context,
            SCHEDULE_ROLES,
            "changing the information asset register",
        )?;
        let (request_id, asset) = cd::create_asset(request.into_inner())?;
        let created = self
            .store
            .create_asset(&context.tenant, &context.caller, request_id, &asset)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(cd::asset_to_proto(&created)))
    }

    #[instrument(skip_all, fields(rpc = "GetInformationAsset", tenant_id = tracing::field::Empty))]
    async fn get_information_asset(
        &self,
        request: Request<pb::GetInformationAssetRequest>,
    ) -> Result<Response<pb::InformationAsset>, Status> {
        let context = self.context(&request).await?;
        let pb::GetInformationAssetRequest { name } = request.into_inner();
        let id = cd::asset_name(&name)?;
        let asset = self
            .store
            .get_asset(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(cd::asset_to_proto(&asset)))
    }

    #[instrument(skip_all, fields(rpc = "ListInformationAssets", tenant_id = tracing::field::Empty))]
    async fn list_information_assets(
        &self,
        request: Request<pb::ListInformationAssetsRequest>,
    ) -> Result<Response<pb::ListInformationAssetsResponse>, Status> {
        let context = self.context(&request).await?;
        let pb::ListInformationAssetsRequest {} = request.into_inner();
        let assets = self
            .store
            .list_assets(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListInformationAssetsResponse {
            information_assets: assets.iter().map(cd::asset_to_proto).collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "FindSystemsForPerson", tenant_id = tracing::field::Empty))]
    async fn find_systems_for_person(
        &self,
        request: Request<pb::FindSystemsForPersonRequest>,
    ) -> Result<Response<pb::FindSystemsForPersonResponse>, Status> {
        let context = self.context(&request).await?;
        let pb::FindSystemsForPersonRequest { person_id } = request.into_inner();
        let person = cd::person_id(&person_id)?;
        let held = self
            .store
            .person_systems(&context.tenant, &person)
            .await
            .map_err(Error::from)?;
        let assets = self
            .store
            .list_assets(&context.tenant)
            .await
            .map_err(Error::from)?;
        let mut systems = Vec::new();
        for (system, count) in &held {
            let asset = assets.iter().find(|a| &a.spec.system == system);
            systems.push(pb::PersonSystem {
                system: system.clone(),
                information_asset: asset.map(cd::asset_to_proto),
                registered_records: *count,
                reason: if asset.is_some() {
                    format!("holds {count} registered records of the person")
                } else {
                    format!(
                        "holds {count} registered records of the person; not in the information asset register"
                    )
                },
            });
        }
        // A system that does not register its records may hold anyone's data in its subjects:
        // it must be searched by hand (Art 15(1A): a reasonable and proportionate search).
        for asset in assets
            .iter()
            .filter(|a| !a.spec.registers_records && !held.iter().any(|(s, _)| s == &a.spec.system))
        {
            systems.push(pb::PersonSystem {
                system: asset.spec.system.clone(),
                information_asset: Some(cd::asset_to_proto(asset)),
                registered_records: 0,
                reason: format!(
                    "does not register its records; holds data on {}: search it",
                    asset.spec.data_subjects.join(", ")
                ),
            });
        }
        Ok(Response::new(pb::FindSystemsForPersonResponse { systems }))
    }

    #[instrument(skip_all, fields(rpc = "CheckErasure", tenant_id = tracing::field::Empty))]
    async fn check_erasure(
        &self,
        request: Request<pb::CheckErasureRequest>,
    ) -> Result<Response<pb::CheckErasureResponse>, Status> {
        let context = self.context(&request).await?;
        let pb::CheckErasureRequest { person_id } = request.into_inner();
        let person = cd::person_id(&person_id)?;
        let records = self
            .store
            .person_records(&context.tenant, &person)
            .await
            .map_err(Error::from)?;
        let holds = self
            .store
            .person_holds(&context.tenant, &person)
            .await
            .map_err(Error::from)?;
        let today = today();
        let mut may_erase = true;
        let mut out = Vec::with_capacity(records.len());
        for record in &records {
            let on_record: Vec<_> = holds
                .iter()
                .filter(|(r, _)| *r == record.id.as_uuid())
                .map(|(_, h)| h.clone())
                .collect();
            let (must_keep, reasons) = erasure_verdict(record, &on_record, today);
            may_erase &= !must_keep;
            out.push(pb::RecordRetention {
                record: Some(convert::record_to_proto(record)),
                must_keep,
                reasons,
            });
        }
        Ok(Response::new(pb::CheckErasureResponse {
            may_erase,
            records: out,
        }))
    }
}
