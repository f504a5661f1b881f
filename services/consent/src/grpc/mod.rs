//! The gRPC surface: thin handlers that read the caller's context, convert the message, apply
//! the domain's rules, call the store and convert back.

mod convert;
mod error;
mod watch;

pub use error::Error;

use dps_platform::CallContext;
use dps_proto::consent::v1 as pb;
use dps_types::{TenantId, Violations};
use pb::consent_service_server::{ConsentService, ConsentServiceServer};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::check::Checker;
use crate::domain::{
    self, ConsentId, DisclosureInput, NewConsent, NewDisclosure, NewNotice, NewObjection,
    NewPurpose, NewRestriction, NoticeId, NoticeShown, ObjectionId, Purpose, PurposeId,
    RestrictionId, Settings,
};
use crate::store::{Store, Update, Withdrawal};
use convert::Reader;

/// Most checks in one batch.
const MAX_BATCH: usize = 1000;

/// The tonic service.
pub fn server(store: Store) -> ConsentServiceServer<Handlers> {
    ConsentServiceServer::new(Handlers {
        checker: Checker::new(store.clone()),
        watch: watch::Watch::default(),
        store,
    })
}

/// Implements `dps.consent.v1.ConsentService`.
#[derive(Debug)]
pub struct Handlers {
    store: Store,
    checker: Checker,
    watch: watch::Watch,
}

type Reply<T> = Result<Response<T>, Status>;

fn person_id(r: &mut Reader, field: &str, raw: &str) {
    let mut v = Violations::new();
    domain::check_person_id(&mut v, field, raw);
    r.domain("", v.finish(()));
}

impl Handlers {
    async fn purpose(&self, tenant: &TenantId, id: PurposeId) -> Result<Purpose, Error> {
        self.store
            .get_purpose(tenant, id)
            .await?
            .ok_or_else(|| Error::NotFound(id.to_string()))
    }

    async fn known_person(&self, tenant: &TenantId, person: &str) -> Result<(), Error> {
        if self.store.person_exists(tenant, person).await? {
            Ok(())
        } else {
            Err(Error::NotFound(format!("person {person}")))
        }
    }

    async fn settings(&self, tenant: &TenantId) -> Result<Settings, Error> {
        Ok(self.store.settings(tenant).await?.0)
    }
}

/// Marks a page token of the erasure suggestions: the last person examined follows it.
const SUGGESTION_TOKEN: &str = "after:";

#[tonic::async_trait]
impl ConsentService for Handlers {
    #[instrument(skip_all, fields(rpc = "GetSettings", tenant_id = tracing::field::Empty))]
    async fn get_settings(&self, request: Request<pb::GetSettingsRequest>) -> Reply<pb::Settings> {
        let context = CallContext::from_request(&request)?;
        let (settings, updated) = self
            .store
            .settings(&context.tenant)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::settings_to_proto(
            &settings, updated,
        )))
    }

    #[instrument(skip_all, fields(rpc = "UpdateSettings", tenant_id = tracing::field::Empty))]
    async fn update_settings(
        &self,
        request: Request<pb::UpdateSettingsRequest>,
    ) -> Reply<pb::Settings> {
        let context = CallContext::from_request(&request)?;
        let settings = convert::settings(request.into_inner())?;
        let updated = self
            .store
            .update_settings(&context.tenant, &context.caller, &settings)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::settings_to_proto(
            &settings,
            Some(updated),
        )))
    }

    #[instrument(skip_all, fields(rpc = "CreatePurpose", tenant_id = tracing::field::Empty))]
    async fn create_purpose(
        &self,
        request: Request<pb::CreatePurposeRequest>,
    ) -> Reply<pb::Purpose> {
        let context = CallContext::from_request(&request)?;
        let pb::CreatePurposeRequest {
            purpose,
            request_id,
        } = request.into_inner();
        let jurisdiction = self.settings(&context.tenant).await?.jurisdiction;
        let mut r = Reader::default();
        let request_id = r.request_id(&request_id);
        let parsed = r.required("purpose", purpose).and_then(|p| {
            let input = convert::purpose_input(&mut r, p);
            r.domain("purpose", NewPurpose::parse(input, jurisdiction))
        });
        let purpose = r.finish(parsed)?;
        let created = self
            .store
            .create_purpose(&context.tenant, &context.caller, request_id, &purpose)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::purpose_to_proto(&created)))
    }

    #[instrument(skip_all, fields(rpc = "GetPurpose", tenant_id = tracing::field::Empty))]
    async fn get_purpose(&self, request: Request<pb::GetPurposeRequest>) -> Reply<pb::Purpose> {
        let context = CallContext::from_request(&request)?;
        let pb::GetPurposeRequest { name } = request.into_inner();
        let mut r = Reader::default();
        let id = r.name("name", &name, PurposeId::parse_name, "purposes/{uuid}");
        let id = r.required("name", id);
        let id = r.finish(id)?;
        let purpose = self.purpose(&context.tenant, id).await?;
        Ok(Response::new(convert::purpose_to_proto(&purpose)))
    }

    #[instrument(skip_all, fields(rpc = "UpdatePurpose", tenant_id = tracing::field::Empty))]
    async fn update_purpose(
        &self,
        request: Request<pb::UpdatePurposeRequest>,
    ) -> Reply<pb::Purpose> {
        let context = CallContext::from_request(&request)?;
        let jurisdiction = self.settings(&context.tenant).await?.jurisdiction;
        let mut r = Reader::default();
        let parsed = r
            .required("purpose", request.into_inner().purpose)
            .and_then(|p| {
                let id = r.name(
                    "purpose.name",
                    &p.name,
                    PurposeId::parse_name,
                    "purposes/{uuid}",
                );
                let id = r.required("purpose.name", id);
                let input = convert::purpose_input(&mut r, p);
                let spec = r.domain("purpose", NewPurpose::parse(input, jurisdiction));
                id.zip(spec)
            });
        let (id, spec) = r.finish(parsed)?;
        let current = self.purpose(&context.tenant, id).await?;
        if current.spec.lawful_basis != spec.lawful_basis {
            return Err(Error::FailedPrecondition(
                "the lawful basis of a purpose cannot change (it must be decided before processing starts): create a new purpose".into(),
            )
            .into());
        }
        let updated = self
            .store
            .update_purpose(&context.tenant, id, &spec)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        Ok(Response::new(convert::purpose_to_proto(&updated)))
    }

    #[instrument(skip_all, fields(rpc = "ListPurposes", tenant_id = tracing::field::Empty))]
    async fn list_purposes(
        &self,
        request: Request<pb::ListPurposesRequest>,
    ) -> Reply<pb::ListPurposesResponse> {
        let context = CallContext::from_request(&request)?;
        let pb::ListPurposesRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let mut r = Reader::default();
        let limit = convert::page_size(&mut r, page_size);
        let after = r.name(
            "page_token",
            &page_token,
            PurposeId::parse_name,
            "a page token from the previous response",
        );
        r.finish(Some(()))?;
        let purposes = self
            .store
            .list_purposes(&context.tenant, after.map(|p| p.as_uuid()), limit)
            .await
            .map_err(Error::from)?;
        let next_page_token = match purposes.last() {
            Some(last) if purposes.len() as i64 == limit => last.id.to_string(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListPurposesResponse {
            purposes: purposes.iter().map(convert::purpose_to_proto).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all, fields(rpc = "PublishNotice", tenant_id = tracing::field::Empty))]
    async fn publish_notice(
        &self,
        request: Request<pb::PublishNoticeRequest>,
    ) -> Reply<pb::Notice> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let pb::PublishNoticeRequest { notice, request_id } = request.into_inner();
        let mut r = Reader::default();
        let request_id = r.request_id(&request_id);
        let parsed = r.required("notice", notice).and_then(|n| {
            let pb::Notice {
                name: _,
                audience,
                version: _,
                title,
                uri,
                material_change,
                publish_time,
            } = n;
            let audience = r.enumeration("notice.audience", audience, convert::audience_from);
            let published = r.time("notice.publish_time", publish_time);
            r.domain(
                "notice",
                NewNotice::parse(audience, &title, &uri, material_change, published, now),
            )
        });
        let notice = r.finish(parsed)?;
        let published = self
            .store
            .publish_notice(&context.tenant, &context.caller, request_id, &notice)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| {
                Error::invalid(
                    "notice.publish_time",
                    "before the previous version of this audience's notice was published",
                )
            })?;
        Ok(Response::new(convert::notice_to_proto(&published)))
    }

    #[instrument(skip_all, fields(rpc = "ListNotices", tenant_id = tracing::field::Empty))]
    async fn list_notices(
        &self,
        request: Request<pb::ListNoticesRequest>,
    ) -> Reply<pb::ListNoticesResponse> {
        let context = CallContext::from_request(&request)?;
        let mut r = Reader::default();
        let audience = r.enumeration(
            "audience",
            request.into_inner().audience,
            convert::audience_from,
        );
        let audience = r.required("audience", audience);
        let audience = r.finish(audience)?;
        let notices = self
            .store
            .list_notices(&context.tenant, audience)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListNoticesResponse {
            notices: notices.iter().map(convert::notice_to_proto).collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "AcknowledgeNotice", tenant_id = tracing::field::Empty))]
    async fn acknowledge_notice(
        &self,
        request: Request<pb::AcknowledgeNoticeRequest>,
    ) -> Reply<pb::NoticeAcknowledgement> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let pb::AcknowledgeNoticeRequest {
            acknowledgement,
            request_id,
        } = request.into_inner();
        let mut r = Reader::default();
        let request_id = r.request_id(&request_id);
        let parsed = r
            .required("acknowledgement", acknowledgement)
            .and_then(|a| {
                let pb::NoticeAcknowledgement {
                    name: _,
                    person_id: person,
                    notice,
                    notice_version: _,
                    method,
                    acknowledge_time,
                } = a;
                person_id(&mut r, "acknowledgement.person_id", &person);
                let notice = r.name(
                    "acknowledgement.notice",
                    &notice,
                    NoticeId::parse_name,
                    "notices/{uuid}",
                );
                let notice = r.required("acknowledgement.notice", notice);
                let method = r.enumeration("acknowledgement.method", method, convert::method_from);
                let method = r.required("acknowledgement.method", method);
                let at = r.time("acknowledgement.acknowledge_time", acknowledge_time);
                let at = r.required("acknowledgement.acknowledge_time", at);
                if at.is_some_and(|t| t > now) {
                    r.add(
                        "acknowledgement.acknowledge_time",
                        "must not be in the future",
                    );
                }
                Some((person, notice?, method?, at?))
            });
        let (person, notice_id, method, at) = r.finish(parsed)?;
        let notice = self
            .store
            .notice(&context.tenant, notice_id)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::NotFound(notice_id.to_string()))?;
        if at < notice.published_at {
            return Err(Error::invalid(
                "acknowledgement.acknowledge_time",
                "before the notice was published",
            )
            .into());
        }
        let ack = self
            .store
            .acknowledge(
                &context.tenant,
                &context.caller,
                request_id,
                &person,
                &notice,
                method,
                at,
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::acknowledgement_to_proto(&ack)))
    }

    #[instrument(skip_all, fields(rpc = "RegisterPerson", tenant_id = tracing::field::Empty))]
    async fn register_person(
        &self,
        request: Request<pb::RegisterPersonRequest>,
    ) -> Reply<pb::Person> {
        let context = CallContext::from_request(&request)?;
        let pb::RegisterPersonRequest { person_id: person } = request.into_inner();
        let mut r = Reader::default();
        person_id(&mut r, "person_id", &person);
        r.finish(Some(()))?;
        let at = self
            .store
            .register_person(&context.tenant, &person)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::Person {
            person_id: person,
            create_time: Some(dps_platform::proto_time::to_proto(at)),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RecordConsent", tenant_id = tracing::field::Empty))]
    async fn record_consent(
        &self,
        request: Request<pb::RecordConsentRequest>,
    ) -> Reply<pb::ConsentRecord> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let request = request.into_inner();
        let mut r = Reader::default();
        let request_id = r.request_id(&request.request_id);
        person_id(&mut r, "person_id", &request.person_id);
        let purpose = r.name(
            "purpose",
            &request.purpose,
            PurposeId::parse_name,
            "purposes/{uuid}",
        );
        let purpose = r.required("purpose", purpose);
        let notice = r.name(
            "notice",
            &request.notice,
            NoticeId::parse_name,
            "notices/{uuid}",
        );
        let notice = r.required("notice", notice);
        let capture = convert::capture(&mut r, &request);
        // Ids and shapes first; the rules need the purpose, notice and settings.
        let (purpose_id, notice_id, capture) = r.finish(
            purpose
                .zip(notice)
                .zip(capture)
                .map(|((p, n), c)| (p, n, c)),
        )?;
        let purpose = self.purpose(&context.tenant, purpose_id).await?;
        let notice = self
            .store
            .notice(&context.tenant, notice_id)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::NotFound(notice_id.to_string()))?;
        let settings = self.settings(&context.tenant).await?;
        let shown = NoticeShown {
            audience: notice.audience,
            published_at: notice.published_at,
            superseded_materially_at: notice.superseded_materially_at,
        };
        let consent = NewConsent::parse(capture, &purpose.spec, &shown, &settings, now)
            .map_err(Error::InvalidArgument)?;
        let row = self
            .store
            .record_consent(
                &context.tenant,
                &context.caller,
                request_id,
                &request.person_id,
                purpose_id,
                notice_id,
                &consent,
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::consent_to_proto(
            &row,
            context.tenant.as_str(),
            settings.jurisdiction,
        )))
    }

    #[instrument(skip_all, fields(rpc = "WithdrawConsent", tenant_id = tracing::field::Empty))]
    async fn withdraw_consent(
        &self,
        request: Request<pb::WithdrawConsentRequest>,
    ) -> Reply<pb::ConsentRecord> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let pb::WithdrawConsentRequest {
            person_id: person,
            purpose,
            method,
            withdraw_time,
        } = request.into_inner();
        let mut r = Reader::default();
        person_id(&mut r, "person_id", &person);
        let purpose = r.name(
            "purpose",
            &purpose,
            PurposeId::parse_name,
            "purposes/{uuid}",
        );
        let purpose = r.required("purpose", purpose);
        let method = r.enumeration("method", method, convert::method_from);
        let method = r.required("method", method);
        let at = r.time("withdraw_time", withdraw_time).unwrap_or(now);
        if at > now {
            r.add("withdraw_time", "must not be in the future");
        }
        let (purpose, method) = r.finish(purpose.zip(method))?;
        self.purpose(&context.tenant, purpose).await?;
        let withdrawal = self
            .store
            .withdraw_consent(
                &context.tenant,
                &context.caller,
                &person,
                purpose,
                method,
                at,
            )
            .await
            .map_err(Error::from)?;
        let row = match withdrawal {
            Withdrawal::Withdrawn(row) | Withdrawal::AlreadyWithdrawn(row) => row,
            Withdrawal::NeverGiven => {
                return Err(
                    Error::NotFound(format!("consent of person {person} for {purpose}")).into(),
                );
            }
        };
        let settings = self.settings(&context.tenant).await?;
        Ok(Response::new(convert::consent_to_proto(
            &row,
            context.tenant.as_str(),
            settings.jurisdiction,
        )))
    }

    #[instrument(skip_all, fields(rpc = "ListConsents", tenant_id = tracing::field::Empty))]
    async fn list_consents(
        &self,
        request: Request<pb::ListConsentsRequest>,
    ) -> Reply<pb::ListConsentsResponse> {
        let context = CallContext::from_request(&request)?;
        let pb::ListConsentsRequest {
            person_id: person,
            purpose,
        } = request.into_inner();
        let mut r = Reader::default();
        person_id(&mut r, "person_id", &person);
        let purpose = r.name(
            "purpose",
            &purpose,
            PurposeId::parse_name,
            "purposes/{uuid}",
        );
        r.finish(Some(()))?;
        self.known_person(&context.tenant, &person).await?;
        let rows = self
            .store
            .list_consents(&context.tenant, &person, purpose)
            .await
            .map_err(Error::from)?;
        let jurisdiction = self.settings(&context.tenant).await?.jurisdiction;
        Ok(Response::new(pb::ListConsentsResponse {
            consents: rows
                .iter()
                .map(|c| convert::consent_to_proto(c, context.tenant.as_str(), jurisdiction))
                .collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RecordRestriction", tenant_id = tracing::field::Empty))]
    async fn record_restriction(
        &self,
        request: Request<pb::RecordRestrictionRequest>,
    ) -> Reply<pb::Restriction> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let pb::RecordRestrictionRequest {
            restriction,
            request_id,
        } = request.into_inner();
        let mut r = Reader::default();
        let request_id = r.request_id(&request_id);
        let parsed = r.required("restriction", restriction).and_then(|x| {
            let pb::Restriction {
                name: _,
                person_id,
                ground,
                reason,
                start_time,
                end_time,
                subject_request,
                lift_time: _,
                person_told_time: _,
                active: _,
            } = x;
            let ground = r.enumeration("restriction.ground", ground, convert::ground_from);
            let start = r.time("restriction.start_time", start_time);
            let end = r.time("restriction.end_time", end_time);
            r.domain(
                "restriction",
                NewRestriction::parse(
                    &person_id,
                    ground,
                    &reason,
                    start,
                    end,
                    &subject_request,
                    now,
                ),
            )
        });
        let restriction = r.finish(parsed)?;
        let row = self
            .store
            .record_restriction(&context.tenant, &context.caller, request_id, &restriction)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::restriction_to_proto(&row, now)))
    }

    #[instrument(skip_all, fields(rpc = "LiftRestriction", tenant_id = tracing::field::Empty))]
    async fn lift_restriction(
        &self,
        request: Request<pb::LiftRestrictionRequest>,
    ) -> Reply<pb::Restriction> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let pb::LiftRestrictionRequest {
            name,
            person_told_time,
        } = request.into_inner();
        let mut r = Reader::default();
        let id = r.name(
            "name",
            &name,
            RestrictionId::parse_name,
            "restrictions/{uuid}",
        );
        let id = r.required("name", id);
        let told = r.time("person_told_time", person_told_time);
        let told = r.domain("", domain::check_told_time(told, now));
        let (id, told) = r.finish(id.zip(told))?;
        match self
            .store
            .lift_restriction(&context.tenant, id, told)
            .await
            .map_err(Error::from)?
        {
            Update::Done(row) => Ok(Response::new(convert::restriction_to_proto(&row, now))),
            Update::NotFound => Err(Error::NotFound(name).into()),
            Update::Refused(why) => Err(Error::FailedPrecondition(why.into()).into()),
        }
    }

    #[instrument(skip_all, fields(rpc = "RecordObjection", tenant_id = tracing::field::Empty))]
    async fn record_objection(
        &self,
        request: Request<pb::RecordObjectionRequest>,
    ) -> Reply<pb::Objection> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let pb::RecordObjectionRequest {
            objection,
            request_id,
        } = request.into_inner();
        let mut r = Reader::default();
        let request_id = r.request_id(&request_id);
        let parsed = r.required("objection", objection).and_then(|o| {
            let pb::Objection {
                name: _,
                person_id,
                kind,
                purpose,
                reason,
                start_time,
                subject_request,
                override_grounds: _,
                override_time: _,
                override_by: _,
                withdraw_time: _,
                active: _,
            } = o;
            let kind = r.enumeration("objection.kind", kind, convert::objection_from);
            let purpose_id = r.name(
                "objection.purpose",
                &purpose,
                PurposeId::parse_name,
                "purposes/{uuid}",
            );
            let start = r.time("objection.start_time", start_time);
            let new = r.domain(
                "objection",
                NewObjection::parse(
                    &person_id,
                    kind,
                    !purpose.is_empty(),
                    &reason,
                    start,
                    &subject_request,
                    now,
                ),
            );
            new.map(|n| (n, purpose_id))
        });
        let (objection, purpose) = r.finish(parsed)?;
        if let Some(purpose) = purpose {
            self.purpose(&context.tenant, purpose).await?;
        }
        let row = self
            .store
            .record_objection(
                &context.tenant,
                &context.caller,
                request_id,
                &objection,
                purpose,
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::objection_to_proto(&row, now)))
    }

    #[instrument(skip_all, fields(rpc = "OverrideObjection", tenant_id = tracing::field::Empty))]
    async fn override_objection(
        &self,
        request: Request<pb::OverrideObjectionRequest>,
    ) -> Reply<pb::Objection> {
        let context = CallContext::from_request(&request)?;
        let pb::OverrideObjectionRequest { name, grounds } = request.into_inner();
        let mut r = Reader::default();
        let id = r.name("name", &name, ObjectionId::parse_name, "objections/{uuid}");
        let id = r.required("name", id);
        let grounds = r.domain("", domain::check_grounds(&grounds));
        let (id, grounds) = r.finish(id.zip(grounds))?;
        let outcome = self
            .store
            .override_objection(&context.tenant, &context.caller, id, &grounds)
            .await
            .map_err(Error::from)?;
        objection_reply(outcome, name)
    }

    #[instrument(skip_all, fields(rpc = "WithdrawObjection", tenant_id = tracing::field::Empty))]
    async fn withdraw_objection(
        &self,
        request: Request<pb::WithdrawObjectionRequest>,
    ) -> Reply<pb::Objection> {
        let context = CallContext::from_request(&request)?;
        let pb::WithdrawObjectionRequest { name } = request.into_inner();
        let mut r = Reader::default();
        let id = r.name("name", &name, ObjectionId::parse_name, "objections/{uuid}");
        let id = r.required("name", id);
        let id = r.finish(id)?;
        let outcome = self
            .store
            .withdraw_objection(&context.tenant, id)
            .await
            .map_err(Error::from)?;
        objection_reply(outcome, name)
    }

    #[instrument(
        skip_all,
        fields(rpc = "ListRestrictionsAndObjections", tenant_id = tracing::field::Empty)
    )]
    async fn list_restrictions_and_objections(
        &self,
        request: Request<pb::ListRestrictionsAndObjectionsRequest>,
    ) -> Reply<pb::ListRestrictionsAndObjectionsResponse> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let person = request.into_inner().person_id;
        let mut r = Reader::default();
        person_id(&mut r, "person_id", &person);
        r.finish(Some(()))?;
        self.known_person(&context.tenant, &person).await?;
        let (restrictions, objections) = self
            .store
            .list_rights(&context.tenant, &person)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::ListRestrictionsAndObjectionsResponse {
            restrictions: restrictions
                .iter()
                .map(|x| convert::restriction_to_proto(x, now))
                .collect(),
            objections: objections
                .iter()
                .map(|x| convert::objection_to_proto(x, now))
                .collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "CheckProcessing", tenant_id = tracing::field::Empty))]
    async fn check_processing(
        &self,
        request: Request<pb::CheckProcessingRequest>,
    ) -> Reply<pb::ProcessingDecision> {
        let context = CallContext::from_request(&request)?;
        let pb::CheckProcessingRequest {
            person_id: person,
            purpose,
        } = request.into_inner();
        let mut r = Reader::default();
        person_id(&mut r, "person_id", &person);
        let id = r.name(
            "purpose",
            &purpose,
            PurposeId::parse_name,
            "purposes/{uuid}",
        );
        let id = r.required("purpose", id);
        let id = r.finish(id)?;
        let outcome = self
            .checker
            .check(&context.tenant, &[(&person, id)], OffsetDateTime::now_utc())
            .await
            .map_err(Error::from)?
            .pop()
            .ok_or(Error::Internal("no outcome"))?;
        match outcome {
            crate::check::Outcome::PurposeUnknown => Err(Error::NotFound(purpose).into()),
            crate::check::Outcome::PersonUnknown => {
                Err(Error::NotFound(format!("person {person}")).into())
            }
            decided => Ok(Response::new(convert::decision_to_proto(
                person, purpose, decided,
            ))),
        }
    }

    #[instrument(skip_all, fields(rpc = "BatchCheckProcessing", tenant_id = tracing::field::Empty))]
    async fn batch_check_processing(
        &self,
        request: Request<pb::BatchCheckProcessingRequest>,
    ) -> Reply<pb::BatchCheckProcessingResponse> {
        let context = CallContext::from_request(&request)?;
        let checks = request.into_inner().checks;
        let mut r = Reader::default();
        if checks.is_empty() || checks.len() > MAX_BATCH {
            r.add("checks", "1 to 1000 checks");
        }
        let mut items = Vec::with_capacity(checks.len());
        for (i, check) in checks.iter().enumerate() {
            person_id(&mut r, &format!("checks[{i}].person_id"), &check.person_id);
            let field = format!("checks[{i}].purpose");
            let id = r.name(
                &field,
                &check.purpose,
                PurposeId::parse_name,
                "purposes/{uuid}",
            );
            if let Some(id) = r.required(&field, id) {
                items.push((check.person_id.as_str(), id));
            }
        }
        r.finish(Some(()))?;
        let outcomes = self
            .checker
            .check(&context.tenant, &items, OffsetDateTime::now_utc())
            .await
            .map_err(Error::from)?;
        Ok(Response::new(pb::BatchCheckProcessingResponse {
            decisions: checks
                .into_iter()
                .zip(outcomes)
                .map(|(c, o)| convert::decision_to_proto(c.person_id, c.purpose, o))
                .collect(),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RecordDisclosure", tenant_id = tracing::field::Empty))]
    async fn record_disclosure(
        &self,
        request: Request<pb::RecordDisclosureRequest>,
    ) -> Reply<pb::Disclosure> {
        let context = CallContext::from_request(&request)?;
        let now = OffsetDateTime::now_utc();
        let pb::RecordDisclosureRequest {
            disclosure,
            request_id,
        } = request.into_inner();
        let mut r = Reader::default();
        let request_id = r.request_id(&request_id);
        let parsed = r.required("disclosure", disclosure).and_then(|d| {
            let pb::Disclosure {
                name: _,
                person_id,
                recipient,
                data_categories,
                reason,
                lawful_basis,
                consent,
                authorised_by,
                authoriser_role,
                disclose_time,
                record_time: _,
                personal_data_erased: _,
            } = d;
            let consent_id = r.name(
                "disclosure.consent",
                &consent,
                ConsentId::parse_name,
                "consents/{uuid}",
            );
            let input = DisclosureInput {
                person_id,
                recipient,
                data_categories,
                reason,
                lawful_basis: r.enumeration(
                    "disclosure.lawful_basis",
                    lawful_basis,
                    convert::basis_from,
                ),
                has_consent: !consent.is_empty(),
                authorised_by,
                authoriser_role: r.enumeration(
                    "disclosure.authoriser_role",
                    authoriser_role,
                    convert::authoriser_from,
                ),
                disclosed_at: r.time("disclosure.disclose_time", disclose_time),
            };
            r.domain("disclosure", NewDisclosure::parse(input, now))
                .map(|d| (d, consent_id))
        });
        let (disclosure, consent) = r.finish(parsed)?;
        if let Some(consent) = consent {
            match self
                .store
                .consent_is_current(
                    &context.tenant,
                    &disclosure.person_id,
                    consent,
                    disclosure.disclosed_at,
                )
                .await
                .map_err(Error::from)?
            {
                None => {
                    return Err(Error::NotFound(format!(
                        "{consent} of person {}",
                        disclosure.person_id
                    ))
                    .into());
                }
                Some(false) => {
                    return Err(Error::FailedPrecondition(format!(
                        "{consent} was withdrawn or had expired when the data was disclosed: it cannot be relied on"
                    ))
                    .into());
                }
                Some(true) => {}
            }
        }
        let row = self
            .store
            .record_disclosure(
                &context.tenant,
                &context.caller,
                request_id,
                &disclosure,
                consent,
            )
            .await
            .map_err(Error::from)?;
        Ok(Response::new(convert::disclosure_to_proto(&row)))
    }

    #[instrument(skip_all, fields(rpc = "ListDisclosures", tenant_id = tracing::field::Empty))]
    async fn list_disclosures(
        &self,
        request: Request<pb::ListDisclosuresRequest>,
    ) -> Reply<pb::ListDisclosuresResponse> {
        let context = CallContext::from_request(&request)?;
        let pb::ListDisclosuresRequest {
            person_id: person,
            page_size,
            page_token,
        } = request.into_inner();
        let mut r = Reader::default();
        person_id(&mut r, "person_id", &person);
        let limit = convert::page_size(&mut r, page_size);
        let after = if page_token.is_empty() {
            0
        } else {
            page_token.parse::<i64>().unwrap_or_else(|_| {
                r.add("page_token", "a page token from the previous response");
                0
            })
        };
        r.finish(Some(()))?;
        self.known_person(&context.tenant, &person).await?;
        let rows = self
            .store
            .list_disclosures(&context.tenant, &person, after, limit)
            .await
            .map_err(Error::from)?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() as i64 == limit => last.seq.to_string(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListDisclosuresResponse {
            disclosures: rows.iter().map(convert::disclosure_to_proto).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all, fields(rpc = "ListErasureSuggestions", tenant_id = tracing::field::Empty))]
    async fn list_erasure_suggestions(
        &self,
        request: Request<pb::ListErasureSuggestionsRequest>,
    ) -> Reply<pb::ListErasureSuggestionsResponse> {
        let context = CallContext::from_request(&request)?;
        let pb::ListErasureSuggestionsRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let mut r = Reader::default();
        let limit = convert::page_size(&mut r, page_size);
        let after = if page_token.is_empty() {
            None
        } else {
            let after = page_token.strip_prefix(SUGGESTION_TOKEN);
            if after.is_none() {
                r.add("page_token", "a page token from the previous response");
            }
            after
        };
        r.finish(Some(()))?;
        let candidates = self
            .store
            .withdrawn_everything(&context.tenant, after, limit)
            .await
            .map_err(Error::from)?;
        let next_page_token = match candidates.last() {
            Some((person, _, _)) if candidates.len() as i64 == limit => {
                format!("{SUGGESTION_TOKEN}{person}")
            }
            _ => String::new(),
        };
        // Every purpose of the tenant: another lawful basis may still allow processing.
        let mut purposes = Vec::new();
        loop {
            let page = self
                .store
                .list_purposes(
                    &context.tenant,
                    purposes.last().map(|p: &PurposeId| p.as_uuid()),
                    500,
                )
                .await
                .map_err(Error::from)?;
            let full = page.len() == 500;
            purposes.extend(page.into_iter().map(|p| p.id));
            if !full {
                break;
            }
        }
        let now = OffsetDateTime::now_utc();
        let mut suggestions = Vec::new();
        for (person, withdrawn, last) in candidates {
            let items: Vec<(&str, PurposeId)> =
                purposes.iter().map(|p| (person.as_str(), *p)).collect();
            let outcomes = self
                .checker
                .check(&context.tenant, &items, now)
                .await
                .map_err(Error::from)?;
            let allowed = outcomes.iter().any(
                |o| matches!(o, crate::check::Outcome::Decided(decision, _) if decision.allowed),
            );
            if allowed {
                continue;
            }
            suggestions.push(pb::ErasureSuggestion {
                person_id: person,
                withdrawn_purposes: withdrawn
                    .into_iter()
                    .map(|p| PurposeId::from_uuid(p).to_string())
                    .collect(),
                last_withdraw_time: Some(dps_platform::proto_time::to_proto(last)),
                reason: "every consent given was withdrawn and no other lawful basis allows \
                         processing for any purpose now (Art 17(1)(b)): consider erasure"
                    .into(),
            });
        }
        Ok(Response::new(pb::ListErasureSuggestionsResponse {
            suggestions,
            next_page_token,
        }))
    }

    type WatchChangesStream = watch::ChangeStream;

    #[instrument(skip_all, fields(rpc = "WatchChanges", tenant_id = tracing::field::Empty))]
    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Reply<Self::WatchChangesStream> {
        let context = CallContext::from_request(&request)?;
        let cursor = request.into_inner().cursor;
        let start = match cursor.as_str() {
            "" => self
                .store
                .change_seq(&context.tenant)
                .await
                .map_err(Error::from)?,
            raw => raw
                .parse::<i64>()
                .ok()
                .filter(|c| *c >= 0)
                .ok_or_else(|| Error::invalid("cursor", "a change's cursor, \"0\" or empty"))?,
        };
        let stream = self
            .watch
            .subscribe(self.store.clone(), context.tenant, start)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(stream))
    }
}

fn objection_reply(
    outcome: Update<crate::store::ObjectionRow>,
    name: String,
) -> Reply<pb::Objection> {
    match outcome {
        Update::Done(row) => Ok(Response::new(convert::objection_to_proto(
            &row,
            OffsetDateTime::now_utc(),
        ))),
        Update::NotFound => Err(Error::NotFound(name).into()),
        Update::Refused(why) => Err(Error::FailedPrecondition(why.into()).into()),
    }
}
