//! The gRPC surface: thin handlers that read the caller's context, convert the message, call the
//! store and convert back.

mod convert;
mod error;

pub use error::Error;

use dps_platform::CallContext;
use dps_proto::consent::v1 as pb;
use pb::consent_service_server::{ConsentService, ConsentServiceServer};
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::store::Store;

/// The tonic service.
pub fn server(store: Store) -> ConsentServiceServer<Handlers> {
    ConsentServiceServer::new(Handlers { store })
}

/// Implements `dps.consent.v1.ConsentService`.
#[derive(Debug)]
pub struct Handlers {
    store: Store,
}

#[tonic::async_trait]
impl ConsentService for Handlers {
    #[instrument(skip_all, fields(rpc = "CreatePurpose", tenant_id = tracing::field::Empty))]
    async fn create_purpose(
        &self,
        request: Request<pb::CreatePurposeRequest>,
    ) -> Result<Response<pb::Purpose>, Status> {
        let context = CallContext::from_request(&request)?;
        let (request_id, purpose) = convert::create_purpose(request.into_inner())?;
        let created = self
            .store
            .create_purpose(&context.tenant, &context.caller, request_id, &purpose)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::purpose_to_proto(&created)))
    }

    #[instrument(skip_all, fields(rpc = "GetPurpose", tenant_id = tracing::field::Empty))]
    async fn get_purpose(
        &self,
        request: Request<pb::GetPurposeRequest>,
    ) -> Result<Response<pb::Purpose>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetPurposeRequest { name } = request.into_inner();
        let id = convert::purpose_name(&name)?;
        let purpose = self
            .store
            .get_purpose(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(convert::purpose_to_proto(&purpose)))
    }
}
