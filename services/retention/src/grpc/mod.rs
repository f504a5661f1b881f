//! The gRPC surface: thin handlers that read the caller's context, convert the message, call the
//! store and convert back.

mod convert;
mod error;

pub use error::Error;

use dps_platform::CallContext;
use dps_proto::retention::v1 as pb;
use pb::retention_service_server::{RetentionService, RetentionServiceServer};
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::store::Store;

/// The tonic service.
pub fn server(store: Store) -> RetentionServiceServer<Handlers> {
    RetentionServiceServer::new(Handlers { store })
}

/// Implements `dps.retention.v1.RetentionService`.
#[derive(Debug)]
pub struct Handlers {
    store: Store,
}

#[tonic::async_trait]
impl RetentionService for Handlers {
    #[instrument(skip_all, fields(rpc = "CreateRecordClass", tenant_id = tracing::field::Empty))]
    async fn create_record_class(
        &self,
        request: Request<pb::CreateRecordClassRequest>,
    ) -> Result<Response<pb::RecordClass>, Status> {
        let context = CallContext::from_request(&request)?;
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
        let context = CallContext::from_request(&request)?;
        let pb::GetRecordClassRequest { name } = request.into_inner();
        let id = convert::record_class_name(&name)?;
        let class = self
            .store
            .get_record_class(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(convert::record_class_to_proto(&class)))
    }
}
