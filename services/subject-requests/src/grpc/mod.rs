//! The gRPC surface: thin handlers that read the caller's context, convert the message, call the
//! store and convert back.

mod convert;
mod error;

pub use error::Error;

use dps_platform::CallContext;
use dps_proto::subject_requests::v1 as pb;
use pb::subject_requests_service_server::{SubjectRequestsService, SubjectRequestsServiceServer};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::store::Store;

/// The tonic service.
pub fn server(store: Store) -> SubjectRequestsServiceServer<Handlers> {
    SubjectRequestsServiceServer::new(Handlers { store })
}

/// Implements `dps.subject_requests.v1.SubjectRequestsService`.
#[derive(Debug)]
pub struct Handlers {
    store: Store,
}

#[tonic::async_trait]
impl SubjectRequestsService for Handlers {
    #[instrument(skip_all, fields(rpc = "CreateSubjectRequest", tenant_id = tracing::field::Empty))]
    async fn create_subject_request(
        &self,
        request: Request<pb::CreateSubjectRequestRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let (request_id, subject_request) =
            convert::create_subject_request(request.into_inner(), OffsetDateTime::now_utc())?;
        let created = self
            .store
            .create_subject_request(
                &context.tenant,
                &context.caller,
                request_id,
                &subject_request,
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::subject_request_to_proto(&created)))
    }

    #[instrument(skip_all, fields(rpc = "GetSubjectRequest", tenant_id = tracing::field::Empty))]
    async fn get_subject_request(
        &self,
        request: Request<pb::GetSubjectRequestRequest>,
    ) -> Result<Response<pb::SubjectRequest>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetSubjectRequestRequest { name } = request.into_inner();
        let id = convert::subject_request_name(&name)?;
        let subject_request = self
            .store
            .get_subject_request(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(convert::subject_request_to_proto(
            &subject_request,
        )))
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
