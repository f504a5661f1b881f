//! The outbox dispatcher (issue 10): delivers the effects the store wrote with each change to the
//! service that must act on them, over that service's gRPC API, at least once.
//!
//! Each message is sent as the caller who made the change (their context sealed again with this
//! process's identity key, as the gateway does) with the message id as the receiver's
//! `request_id`, so the receiver's idempotency turns a redelivery into a no-op. Failures that may
//! pass (the receiver down, overloaded, timing out) are retried with backoff; a refusal of the
//! message itself is kept for an operator and never retried.

use dps_platform::delivery::{self, Failure, Target, describe};
use dps_platform::{CallContext, ConfigError, Env};
use dps_proto::consent::v1 as consent;
use dps_proto::retention::v1 as retention;
use tonic::{Code, Status};
use tracing::Instrument as _;

use crate::domain::erasure::RetainedRecord;
use crate::domain::notices::Disclosed;
use crate::domain::outbox::Effect;
use crate::domain::pack::SourceField;
use crate::store::{FoundSystem, Outbox, OutboxMessage};

pub use dps_platform::delivery::DispatchSettings;

/// The dispatcher's settings, from the environment:
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `DPS_CONSENT_URL` | unset | the consent service, e.g. `http://consent:50051` |
/// | `DPS_RETENTION_URL` | unset | the retention service |
/// | `DPS_OUTBOX_POLL_MS` | 250 | how often an idle dispatcher looks for due messages |
///
/// With an address unset, messages for that service wait in the outbox (and say why) until it is
/// configured: nothing is lost, and the service still serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// `DPS_CONSENT_URL`.
    pub consent_url: Option<String>,
    /// `DPS_RETENTION_URL`.
    pub retention_url: Option<String>,
    /// Pacing.
    pub settings: DispatchSettings,
}

impl OutboxConfig {
    /// Reads the settings.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            consent_url: env.get("DPS_CONSENT_URL").map(str::to_owned),
            retention_url: env.get("DPS_RETENTION_URL").map(str::to_owned),
            settings: DispatchSettings::from_env(env)?,
        })
    }
}

/// Starts a dispatcher on `pool` until `stop` turns `true`; returns where it delivers (to move
/// a service while running) and its task.
pub fn spawn(
    pool: sqlx::PgPool,
    config: &OutboxConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(Targets, tokio::task::JoinHandle<()>), ConfigError> {
    let targets = Targets::new();
    for (var, url, set) in [
        (
            "DPS_CONSENT_URL",
            &config.consent_url,
            Targets::set_consent as fn(&Targets, &str) -> Result<(), tonic::transport::Error>,
        ),
        (
            "DPS_RETENTION_URL",
            &config.retention_url,
            Targets::set_retention,
        ),
    ] {
        match url {
            Some(url) => set(&targets, url)
                .map_err(|e| ConfigError::new(var, format!("not a usable URL: {e}")))?,
            None => tracing::warn!(var, "unset: messages for that service wait in the outbox"),
        }
    }
    let dispatcher = Dispatcher::new(pool, targets.clone(), config.settings);
    let task = tokio::spawn(dispatcher.run(async move {
        let _ = stop.wait_for(|stop| *stop).await;
    }));
    Ok((targets, task))
}

/// [`dps_platform::main_support::Background`] for the service's own binary.
pub fn start_from_env(
    pool: sqlx::PgPool,
    env: &Env,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ConfigError> {
    let (_, task) = spawn(pool, &OutboxConfig::from_env(env)?, stop)?;
    Ok(task)
}

/// Where the other services are. Shared and replaceable while running, so an operator (or a
/// test) can move a service without restarting this one; an unset address leaves its messages
/// waiting.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    consent: Target,
    retention: Target,
}

impl Targets {
    /// No addresses yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Points consent deliveries at `url` (`DPS_CONSENT_URL`, e.g. `http://consent:50051`).
    pub fn set_consent(&self, url: &str) -> Result<(), tonic::transport::Error> {
        self.consent.set(url)
    }

    /// Points retention calls at `url` (`DPS_RETENTION_URL`).
    pub fn set_retention(&self, url: &str) -> Result<(), tonic::transport::Error> {
        self.retention.set(url)
    }
}

/// Delivers the outbox.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    outbox: Outbox,
    targets: Targets,
    settings: DispatchSettings,
}

/// What the receiver answered, when there is more to keep than "done".
enum Answer {
    Done,
    ErasureChecked(Vec<RetainedRecord>),
    Disclosures(Vec<Disclosed>),
    Systems(Vec<FoundSystem>),
    Sources(SourceField, Vec<String>),
}

impl Dispatcher {
    /// A dispatcher over the outbox in `pool`.
    pub fn new(pool: sqlx::PgPool, targets: Targets, settings: DispatchSettings) -> Self {
        Self {
            outbox: Outbox::new(pool),
            targets,
            settings,
        }
    }

    /// Delivers until `shutdown` completes, looking for due messages every `poll`. A database
    /// failure is logged and the loop carries on: the messages wait in the table.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.run_once().await {
                // A full batch: more may be due at once.
                Ok(n) if n as i64 >= self.settings.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox: cannot claim messages"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
    }

    /// Claims the due messages and tries each once; returns how many were tried.
    pub async fn run_once(&self) -> Result<usize, crate::store::StoreError> {
        let messages = self
            .outbox
            .claim(self.settings.batch, self.settings.lease)
            .await?;
        let tried = messages.len();
        for message in messages {
            let span = tracing::info_span!(
                "outbox.deliver",
                effect = message.effect.code(),
                tenant_id = message.tenant.as_str(),
                attempt = message.attempts,
            );
            // The delivery belongs to the trace of the change that caused it.
            if let Some(traceparent) = &message.traceparent {
                dps_platform::trace_context::continue_trace(&span, traceparent);
            }
            // Steps that follow from an answer continue the trace from this delivery.
            let delivery_trace = span.in_scope(dps_platform::trace_context::current_traceparent);
            let outcome = self.deliver(&message).instrument(span).await;
            let marked = match outcome {
                Ok(Answer::Done) => self.outbox.delivered(&message).await,
                Ok(Answer::ErasureChecked(records)) => {
                    self.outbox
                        .erasure_checked(&message, &records, delivery_trace.as_deref())
                        .await
                }
                Ok(Answer::Systems(systems)) => self.outbox.systems_found(&message, &systems).await,
                Ok(Answer::Sources(field, entries)) => {
                    self.outbox.sources_found(&message, field, &entries).await
                }
                Ok(Answer::Disclosures(disclosures)) => {
                    self.outbox.disclosures_listed(&message, &disclosures).await
                }
                Err(status) => {
                    match self
                        .settings
                        .judge(message.effect.code(), message.attempts, &status)
                    {
                        Failure::Retry(wait) => {
                            self.outbox
                                .retry_later(&message, wait, &describe(&status))
                                .await
                        }
                        Failure::Refused => self.outbox.failed(&message, &describe(&status)).await,
                    }
                }
            };
            // Unmarked, the lease runs out and the message is tried again: at least once.
            if let Err(e) = marked {
                tracing::warn!(error = %e, "outbox: cannot record a delivery outcome");
            }
        }
        Ok(tried)
    }

    async fn deliver(&self, message: &OutboxMessage) -> Result<Answer, Status> {
        match message.effect {
            Effect::RecordRestriction
            | Effect::RecordAccuracyRestriction
            | Effect::RecordObjection
            | Effect::RecordDirectMarketingObjection => {
                self.to_consent(message).await.map(|()| Answer::Done)
            }
            Effect::LiftRestriction => self.lift_restriction(message).await.map(|()| Answer::Done),
            Effect::CheckErasure => self.check_erasure(message).await,
            Effect::ListDisclosures => self.list_disclosures(message).await,
            Effect::StopProcessing => self.stop_processing(message).await.map(|()| Answer::Done),
            Effect::RegisterClosedRequest | Effect::RegisterClosedAppeal => self
                .register_own_record(message)
                .await
                .map(|()| Answer::Done),
            Effect::FindSystems => self.find_systems(message).await,
            Effect::ListPurposes => self.list_purposes(message).await,
            Effect::ListRetention => self.list_retention(message).await,
        }
    }

    /// Asks the consent service which purposes the person's data may be processed for now, and
    /// on which lawful basis: every purpose of the tenant, checked for the person (Art 15(1)(a)).
    async fn list_purposes(&self, message: &OutboxMessage) -> Result<Answer, Status> {
        let channel = self.targets.consent.channel("consent")?;
        let mut client = consent::consent_service_client::ConsentServiceClient::new(channel);
        let mut purposes = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_purposes(self.outgoing(
                    message,
                    consent::ListPurposesRequest {
                        page_size: 500,
                        page_token,
                    },
                ))
                .await?
                .into_inner();
            purposes.extend(page.purposes);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let mut entries = Vec::new();
        for chunk in purposes.chunks(1000) {
            let checks = chunk
                .iter()
                .map(|p| consent::CheckProcessingRequest {
                    person_id: message.person_id.clone(),
                    purpose: p.name.clone(),
                })
                .collect();
            let decisions = client
                .batch_check_processing(
                    self.outgoing(message, consent::BatchCheckProcessingRequest { checks }),
                )
                .await?
                .into_inner()
                .decisions;
            for (purpose, decision) in chunk.iter().zip(decisions) {
                if decision.allowed {
                    entries.push(format!(
                        "{} (lawful basis: {})",
                        purpose.display_name,
                        basis_in_words(decision.lawful_basis())
                    ));
                }
            }
        }
        Ok(Answer::Sources(SourceField::Purposes, entries))
    }

    /// Asks the retention service how long each of the person's records is kept under the
    /// schedule (Art 15(1)(d)); the same per-record answer an erasure check reads.
    async fn list_retention(&self, message: &OutboxMessage) -> Result<Answer, Status> {
        let channel = self.targets.retention.channel("retention")?;
        let mut client = retention::retention_service_client::RetentionServiceClient::new(channel);
        let answer = client
            .check_erasure(self.outgoing(
                message,
                retention::CheckErasureRequest {
                    person_id: message.person_id.clone(),
                },
            ))
            .await?
            .into_inner();
        let entries = answer
            .records
            .into_iter()
            .filter_map(|r| r.record)
            .map(|r| format!("{} {}: {}", r.system, r.external_id, r.explanation))
            .collect();
        Ok(Answer::Sources(SourceField::Retention, entries))
    }

    /// Lifts, in the consent service, the restriction this request recorded there, with the
    /// time the person was told beforehand (Art 18(3)). Waits until that restriction was
    /// delivered (a lift overtaking it would leave it in place for good); a restriction already
    /// lifted there is done.
    async fn lift_restriction(&self, message: &OutboxMessage) -> Result<(), Status> {
        let recorded = self
            .outbox
            .restriction_delivered(message)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "outbox: cannot read the outbox");
                Status::unavailable("cannot read the outbox")
            })?;
        if !recorded {
            return Err(Status::unavailable(
                "the restriction is not recorded in the consent service yet: lifted after it",
            ));
        }
        // The time the person was told is recorded as it is, never moved: one told moments ago
        // waits until no clock can see it in its future.
        if message.occurred_at > time::OffsetDateTime::now_utc() - RECEIVER_SKEW {
            return Err(Status::unavailable(
                "the person was told moments ago: lifted once that time is past every clock",
            ));
        }
        let channel = self.targets.consent.channel("consent")?;
        let mut client = consent::consent_service_client::ConsentServiceClient::new(channel);
        let listed = client
            .list_restrictions_and_objections(self.outgoing(
                message,
                consent::ListRestrictionsAndObjectionsRequest {
                    person_id: message.person_id.clone(),
                },
            ))
            .await?
            .into_inner();
        let subject_request = message.subject_request.to_string();
        for restriction in listed
            .restrictions
            .into_iter()
            .filter(|r| r.subject_request == subject_request && r.active)
        {
            client
                .lift_restriction(self.outgoing(
                    message,
                    consent::LiftRestrictionRequest {
                        name: restriction.name,
                        person_told_time: Some(dps_platform::proto_time::to_proto(
                            message.occurred_at,
                        )),
                    },
                ))
                .await?;
        }
        Ok(())
    }

    /// Asks the retention service which systems may hold the person's data: those holding
    /// registered records, and those in the asset register that do not register records (to be
    /// searched by hand). A question: asking twice is harmless.
    async fn find_systems(&self, message: &OutboxMessage) -> Result<Answer, Status> {
        let channel = self.targets.retention.channel("retention")?;
        let mut client = retention::retention_service_client::RetentionServiceClient::new(channel);
        let found = client
            .find_systems_for_person(self.outgoing(
                message,
                retention::FindSystemsForPersonRequest {
                    person_id: message.person_id.clone(),
                },
            ))
            .await?
            .into_inner();
        let retention::FindSystemsForPersonResponse { systems } = found;
        Ok(Answer::Systems(
            systems
                .into_iter()
                .map(|s| {
                    let retention::PersonSystem {
                        system,
                        information_asset,
                        registered_records: _,
                        reason,
                    } = s;
                    let asset = information_asset.unwrap_or_default();
                    FoundSystem {
                        system,
                        reason,
                        categories: asset
                            .categories
                            .into_iter()
                            .map(|c| {
                                if c.special_category {
                                    format!("{} (special category)", c.name)
                                } else {
                                    c.name
                                }
                            })
                            .collect(),
                        recipients: asset.recipients,
                        transfers: asset
                            .international_transfers
                            .into_iter()
                            .map(|t| format!("{}: {}", t.destination, t.safeguard))
                            .collect(),
                    }
                })
                .collect(),
        ))
    }

    async fn request_facts(
        &self,
        message: &OutboxMessage,
    ) -> Result<(String, time::OffsetDateTime), Status> {
        self.outbox.request_facts(message).await.map_err(|e| {
            tracing::warn!(error = %e, "outbox: cannot read the request");
            Status::unavailable("cannot read the request")
        })
    }

    /// Registers the closed request as a record of our own work (003 §19), in system
    /// [`OWN_SYSTEM`] under its resource name: the registry keeps one record per system and
    /// external id, so a redelivery returns the record already registered.
    async fn register_own_record(&self, message: &OutboxMessage) -> Result<(), Status> {
        let class = message
            .effect
            .record_class()
            .ok_or_else(|| Status::internal("not a record of our own work"))?;
        let (_, received_at) = self.request_facts(message).await?;
        let channel = self.targets.retention.channel("retention")?;
        let mut client = retention::retention_service_client::RetentionServiceClient::new(channel);
        // The registry counts in calendar dates and refuses future ones against its UTC today.
        let today = time::OffsetDateTime::now_utc().date();
        let date = |at: time::OffsetDateTime| at.date().min(today).to_string();
        let closed = date(message.occurred_at);
        let appeal = message.effect == Effect::RegisterClosedAppeal;
        let record = retention::Record {
            record_class_code: class.to_owned(),
            person_id: message.person_id.clone(),
            system: OWN_SYSTEM.to_owned(),
            external_id: message.subject_request.to_string(),
            create_date: date(received_at),
            close_date: if appeal {
                String::new()
            } else {
                closed.clone()
            },
            appeal_close_date: if appeal { closed } else { String::new() },
            ..Default::default()
        };
        client
            .register_record(self.outgoing(
                message,
                retention::RegisterRecordRequest {
                    record: Some(record),
                },
            ))
            .await?;
        Ok(())
    }

    /// Asks the consent service whom the person's data was disclosed to, every page. A
    /// question: asking twice is harmless, and the store adds each recipient's notice once.
    async fn list_disclosures(&self, message: &OutboxMessage) -> Result<Answer, Status> {
        let channel = self.targets.consent.channel("consent")?;
        let mut client = consent::consent_service_client::ConsentServiceClient::new(channel);
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = consent::ListDisclosuresRequest {
                person_id: message.person_id.clone(),
                page_size: 500,
                page_token,
            };
            let page = match client
                .list_disclosures(self.outgoing(message, request))
                .await
            {
                Ok(page) => page.into_inner(),
                // The consent service never heard of the person: no disclosure was recorded.
                Err(status) if status.code() == Code::NotFound => break,
                Err(status) => return Err(status),
            };
            let consent::ListDisclosuresResponse {
                disclosures,
                next_page_token,
            } = page;
            out.extend(disclosures.into_iter().map(|d| Disclosed {
                recipient: d.recipient,
                data_categories: d.data_categories,
            }));
            if next_page_token.is_empty() {
                break;
            }
            page_token = next_page_token;
        }
        Ok(Answer::Disclosures(out))
    }

    /// Withdraws every consent the person had given by the time the erasure request was
    /// accepted (Art 17(1)(b): erasure asked is consent withdrawn), then restricts what must be
    /// kept, so the processing check denies except where the law lets restricted data be used.
    /// Each step is idempotent: a withdrawal of a withdrawn consent changes nothing, and the
    /// restriction is keyed by the message id; consents given after the acceptance are left
    /// alone, so a redelivery cannot undo a later choice of the person.
    async fn stop_processing(&self, message: &OutboxMessage) -> Result<(), Status> {
        let channel = self.targets.consent.channel("consent")?;
        let mut client = consent::consent_service_client::ConsentServiceClient::new(channel);
        let listed = client
            .list_consents(self.outgoing(
                message,
                consent::ListConsentsRequest {
                    person_id: message.person_id.clone(),
                    purpose: String::new(),
                },
            ))
            .await;
        let consents = match listed {
            Ok(listed) => listed.into_inner().consents,
            // The consent service never heard of the person: nothing to withdraw or restrict,
            // and its processing check has nothing to allow on.
            Err(status) if status.code() == Code::NotFound => return Ok(()),
            Err(status) => return Err(status),
        };
        let (channel, _) = self.request_facts(message).await?;
        let method = capture_method(&channel);
        let start = self.start_time(message);
        for (purpose, given_at) in given_before(&consents, message.occurred_at) {
            // Never before the consent itself (the start is kept a little behind our clock).
            let at = start.max(given_at);
            client
                .withdraw_consent(self.outgoing(
                    message,
                    consent::WithdrawConsentRequest {
                        person_id: message.person_id.clone(),
                        purpose,
                        method: method.into(),
                        withdraw_time: Some(dps_platform::proto_time::to_proto(at)),
                    },
                ))
                .await?;
        }
        let withdraw_time = Some(dps_platform::proto_time::to_proto(start));
        let subject_request = message.subject_request.to_string();
        client
            .record_restriction(self.outgoing(
                message,
                consent::RecordRestrictionRequest {
                    restriction: Some(consent::Restriction {
                        person_id: message.person_id.clone(),
                        ground: consent::RestrictionGround::ErasureRequested.into(),
                        reason: format!(
                            "erasure request {subject_request}: what must be kept is stored, not \
                             processed"
                        ),
                        start_time: withdraw_time,
                        subject_request,
                        ..Default::default()
                    }),
                    request_id: message.message_id.to_string(),
                },
            ))
            .await?;
        Ok(())
    }

    /// When the step took effect, as another service will accept it: never in its future.
    fn start_time(&self, message: &OutboxMessage) -> time::OffsetDateTime {
        // Consent refuses start times in its future, and a clock event may be dated slightly
        // ahead (the skew this service allows) or our clock may run ahead of consent's.
        let latest = time::OffsetDateTime::now_utc() - RECEIVER_SKEW;
        message.occurred_at.min(latest)
    }

    /// Asks the retention service which of the person's records must be kept. A question, not
    /// a change: asking twice is harmless, and only the first answer is kept (see the store).
    async fn check_erasure(&self, message: &OutboxMessage) -> Result<Answer, Status> {
        let channel = self.targets.retention.channel("retention")?;
        let mut client = retention::retention_service_client::RetentionServiceClient::new(channel);
        let request = retention::CheckErasureRequest {
            person_id: message.person_id.clone(),
        };
        let answer = client
            .check_erasure(self.outgoing(message, request))
            .await?
            .into_inner();
        let retention::CheckErasureResponse {
            may_erase: _,
            records,
        } = answer;
        let records = records
            .into_iter()
            .map(|r| {
                let retention::RecordRetention {
                    record,
                    must_keep,
                    reasons,
                } = r;
                // A permanent failure: asking again would get the same malformed answer.
                let record = record.ok_or_else(|| {
                    Status::failed_precondition("the retention service answered without a record")
                })?;
                Ok(RetainedRecord {
                    record: record.name,
                    record_class_code: record.record_class_code,
                    system: record.system,
                    external_id: record.external_id,
                    must_keep,
                    reasons,
                })
            })
            .collect::<Result<Vec<_>, Status>>()?;
        Ok(Answer::ErasureChecked(records))
    }

    async fn to_consent(&self, message: &OutboxMessage) -> Result<(), Status> {
        let channel = self.targets.consent.channel("consent")?;
        let mut client = consent::consent_service_client::ConsentServiceClient::new(channel);
        let request_id = message.message_id.to_string();
        let subject_request = message.subject_request.to_string();
        let start_time = Some(dps_platform::proto_time::to_proto(self.start_time(message)));
        match message.effect {
            Effect::RecordRestriction | Effect::RecordAccuracyRestriction => {
                let (ground, reason) = if message.effect == Effect::RecordRestriction {
                    // The request does not carry its Art 18(1) ground yet: recorded as the
                    // ground that needs no further fact (the person contests lawfulness).
                    (
                        consent::RestrictionGround::UnlawfulProcessing,
                        format!("restriction request {subject_request} accepted"),
                    )
                } else {
                    (
                        consent::RestrictionGround::AccuracyContested,
                        format!("accuracy contested in {subject_request}, being checked"),
                    )
                };
                let request = consent::RecordRestrictionRequest {
                    restriction: Some(consent::Restriction {
                        person_id: message.person_id.clone(),
                        ground: ground.into(),
                        reason,
                        start_time,
                        subject_request,
                        ..Default::default()
                    }),
                    request_id,
                };
                client
                    .record_restriction(self.outgoing(message, request))
                    .await?;
            }
            Effect::CheckErasure
            | Effect::ListDisclosures
            | Effect::StopProcessing
            | Effect::RegisterClosedRequest
            | Effect::RegisterClosedAppeal
            | Effect::FindSystems
            | Effect::LiftRestriction
            | Effect::ListPurposes
            | Effect::ListRetention => {
                return Err(Status::internal("not a restriction or objection"));
            }
            Effect::RecordObjection | Effect::RecordDirectMarketingObjection => {
                let kind = if message.effect == Effect::RecordObjection {
                    consent::ObjectionKind::General
                } else {
                    consent::ObjectionKind::DirectMarketing
                };
                let request = consent::RecordObjectionRequest {
                    objection: Some(consent::Objection {
                        person_id: message.person_id.clone(),
                        kind: kind.into(),
                        // Every purpose: the request names none.
                        purpose: String::new(),
                        reason: format!("objection request {subject_request} accepted"),
                        start_time,
                        subject_request,
                        ..Default::default()
                    }),
                    request_id,
                };
                client
                    .record_objection(self.outgoing(message, request))
                    .await?;
            }
        }
        Ok(())
    }

    /// The call as the caller who made the change, in the delivery's trace (the delivery span
    /// is the receiver's parent).
    fn outgoing<T>(&self, message: &OutboxMessage, body: T) -> tonic::Request<T> {
        let context = CallContext {
            tenant: message.tenant.clone(),
            caller: message.caller.clone(),
            roles: message.roles.clone(),
        };
        delivery::outgoing(&context, self.settings.call_timeout, body)
    }
}

/// The purposes whose latest ledger entry by `at` is a consent given, with when it was given:
/// what the person had agreed to when they asked for erasure.
fn given_before(
    consents: &[consent::ConsentRecord],
    at: time::OffsetDateTime,
) -> Vec<(String, time::OffsetDateTime)> {
    let mut latest: Vec<(&str, time::OffsetDateTime, bool)> = Vec::new();
    for c in consents {
        let Some(when) = c
            .event_time
            .as_ref()
            .and_then(dps_platform::proto_time::from_proto)
        else {
            continue;
        };
        if when > at {
            continue;
        }
        let given = c.event() == consent::ConsentEvent::Given;
        match latest.iter_mut().find(|(p, _, _)| *p == c.purpose) {
            Some(entry) if entry.1 <= when => *entry = (&c.purpose, when, given),
            Some(_) => {}
            None => latest.push((&c.purpose, when, given)),
        }
    }
    latest
        .into_iter()
        .filter(|(_, _, given)| *given)
        .map(|(p, when, _)| (p.to_owned(), when))
        .collect()
}

/// A lawful basis as the person reads it.
fn basis_in_words(basis: consent::LawfulBasis) -> &'static str {
    match basis {
        consent::LawfulBasis::Consent => "your consent",
        consent::LawfulBasis::Contract => "a contract with you",
        consent::LawfulBasis::LegalObligation => "a legal obligation",
        consent::LawfulBasis::VitalInterests => "vital interests",
        consent::LawfulBasis::PublicTask => "a public task",
        consent::LawfulBasis::LegitimateInterests => "legitimate interests",
        consent::LawfulBasis::RecognisedLegitimateInterests => "recognised legitimate interests",
        consent::LawfulBasis::Unspecified => "not stated",
    }
}

/// How a withdrawal made by an erasure request was made: as the request came.
fn capture_method(channel: &str) -> consent::CaptureMethod {
    match channel {
        "letter" => consent::CaptureMethod::Written,
        "phone" | "in_person" => consent::CaptureMethod::Verbal,
        _ => consent::CaptureMethod::Electronic,
    }
}

/// The system our own records are registered under in the retention registry.
pub const OWN_SYSTEM: &str = "subject-requests";

/// How far behind our clock a start time sent to another service is kept at most.
const RECEIVER_SKEW: time::Duration = time::Duration::seconds(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_pacing_come_from_the_environment() {
        let env = Env::from_pairs([
            ("DPS_CONSENT_URL", "http://consent:50051"),
            ("DPS_OUTBOX_POLL_MS", "50"),
        ]);
        let config = OutboxConfig::from_env(&env).expect("valid");
        assert_eq!(config.consent_url.as_deref(), Some("http://consent:50051"));
        assert_eq!(config.retention_url, None, "unset: its messages wait");
        assert_eq!(config.settings.poll, std::time::Duration::from_millis(50));
        let zero = Env::from_pairs([("DPS_OUTBOX_POLL_MS", "0")]);
        let err = OutboxConfig::from_env(&zero).expect_err("zero");
        assert_eq!(err.var, "DPS_OUTBOX_POLL_MS");
    }

    #[test]
    fn an_erasure_withdraws_what_was_given_when_it_was_accepted() {
        let t = |minutes: i64| {
            time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("instant")
                + time::Duration::minutes(minutes)
        };
        let entry = |purpose: &str, event: consent::ConsentEvent, at: i64| consent::ConsentRecord {
            purpose: purpose.into(),
            event: event.into(),
            event_time: Some(dps_platform::proto_time::to_proto(t(at))),
            ..Default::default()
        };
        use consent::ConsentEvent::{Given, Withdrawn};
        let ledger = [
            entry("purposes/news", Given, 0),
            entry("purposes/photos", Given, 1),
            entry("purposes/photos", Withdrawn, 2),
            entry("purposes/survey", Given, 20),
            entry("purposes/news", Withdrawn, 30),
        ];
        // Accepted at minute 10: news was given, photos already withdrawn, survey came later.
        assert_eq!(
            given_before(&ledger, t(10)),
            [("purposes/news".to_owned(), t(0))]
        );
        // Bounded by the acceptance, not by the delivery: judged at minute 40, the survey consent
        // given afterwards would go too, which is why the message keeps its acceptance time.
        let later: Vec<_> = given_before(&ledger, t(40))
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(later, ["purposes/survey"]);
    }
}
