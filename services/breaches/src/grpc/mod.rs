//! The gRPC surface: thin handlers that read the caller's context, convert the message, call the
//! store and convert back.

mod convert;
mod error;

pub use error::Error;

use dps_platform::CallContext;
use dps_proto::breaches::v1 as pb;
use pb::breaches_service_server::{BreachesService, BreachesServiceServer};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use tracing::instrument;

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

#[tonic::async_trait]
impl BreachesService for Handlers {
    #[instrument(skip_all, fields(rpc = "CreateIncident", tenant_id = tracing::field::Empty))]
    async fn create_incident(
        &self,
        request: Request<pb::CreateIncidentRequest>,
    ) -> Result<Response<pb::Incident>, Status> {
        let context = CallContext::from_request(&request)?;
        let (request_id, incident) =
            convert::create_incident(request.into_inner(), OffsetDateTime::now_utc())?;
        let created = self
            .store
            .create_incident(&context.tenant, &context.caller, request_id, &incident)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::incident_to_proto(&created)))
    }

    #[instrument(skip_all, fields(rpc = "GetIncident", tenant_id = tracing::field::Empty))]
    async fn get_incident(
        &self,
        request: Request<pb::GetIncidentRequest>,
    ) -> Result<Response<pb::Incident>, Status> {
        let context = CallContext::from_request(&request)?;
        let pb::GetIncidentRequest { name } = request.into_inner();
        let id = convert::incident_name(&name)?;
        let incident = self
            .store
            .get_incident(&context.tenant, id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound(name))?;
        Ok(Response::new(convert::incident_to_proto(&incident)))
    }
}
