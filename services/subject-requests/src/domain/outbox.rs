//! What other services must learn when a request moves (issue 10), and how often to retry.
//! The store writes an [`Effect`] in the same transaction as the move; the dispatcher delivers it.

use super::{RequestKind, RequestState};

/// A change another service must make because of a step here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Consent service: restrict processing of the person's data (Art 18), so the processing
    /// check denies at once.
    RecordRestriction,
    /// Consent service: record the person's general objection (Art 21(1)) to every purpose.
    RecordObjection,
    /// Consent service: record the person's direct-marketing objection (Art 21(2)-(3), absolute).
    RecordDirectMarketingObjection,
    /// Retention service: which of the person's records must be kept, and why (Art 17(3)); the
    /// answer is kept with the erasure request.
    CheckErasure,
    /// Consent service: whom the person's data was disclosed to (the disclosures log), each told
    /// by a notice task (Art 19): once retention answered an erasure request, or once a
    /// rectification request is accepted.
    ListDisclosures,
    /// Consent service, once retention answered an erasure request: withdraw the consents the
    /// person had given and restrict what must be kept (Art 17(1)(b), 17(3)), so the processing
    /// check denies.
    StopProcessing,
    /// Retention service: a closed request is itself a record, kept 3 years after closure
    /// (003 §19; class `subject-access-request`).
    RegisterClosedRequest,
    /// Retention service: a request closed after an appeal, kept 6 years after the appeal is
    /// closed (003 §19; class `subject-access-request-appeal`).
    RegisterClosedAppeal,
    /// Retention service: the systems that may hold the person's data (the information asset
    /// register and the record registry), each given a task for the request (DESIGN §3.1
    /// fulfilment): rectify for a rectification request.
    FindSystems,
    /// Consent service: restrict processing while the accuracy of the data is checked
    /// (Art 18(1)(a)), so the processing check denies.
    RecordAccuracyRestriction,
    /// Consent service: lift the restriction the request recorded there (a restriction
    /// request's, or one while accuracy is checked), recording when the person was told
    /// beforehand (Art 18(3); 003 §11.7.3). Sent only once the restriction is recorded there.
    LiftRestriction,
    /// Consent service: the purposes the person's data may be processed for now, with their
    /// lawful bases, for an access response (Art 15(1)(a)).
    ListPurposes,
    /// Retention service: how long each of the person's records is kept, from the schedule, for
    /// an access response (Art 15(1)(d)).
    ListRetention,
}

impl Effect {
    /// Every effect with its stored code.
    pub const ALL: [(Self, &'static str); 13] = [
        (Self::RecordRestriction, "consent.record_restriction"),
        (Self::RecordObjection, "consent.record_objection"),
        (
            Self::RecordDirectMarketingObjection,
            "consent.record_direct_marketing_objection",
        ),
        (Self::CheckErasure, "retention.check_erasure"),
        (Self::ListDisclosures, "consent.list_disclosures"),
        (Self::StopProcessing, "consent.stop_processing"),
        (
            Self::RegisterClosedRequest,
            "retention.register_closed_request",
        ),
        (
            Self::RegisterClosedAppeal,
            "retention.register_closed_appeal",
        ),
        (Self::FindSystems, "retention.find_systems"),
        (
            Self::RecordAccuracyRestriction,
            "consent.record_accuracy_restriction",
        ),
        (Self::LiftRestriction, "consent.lift_restriction"),
        (Self::ListPurposes, "consent.list_purposes"),
        (Self::ListRetention, "retention.list_retention"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(e, _)| *e == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(e, _)| *e)
    }

    /// What a move of a request of `kind` from `from` to `to` obliges other services to do.
    ///
    /// A restriction or objection takes effect once the request is accepted: when work on it
    /// begins (`in_progress`), whether straight from receipt or once identity, fee or
    /// clarification arrived. An erasure request then asks which records must be kept: identity
    /// is checked by then (it was asked for and arrived, or the handler started work without
    /// needing it). The outbox keeps one effect per request, so entering `in_progress` again adds
    /// nothing.
    ///
    /// Closing a request makes it a record of our own work, registered with the retention
    /// service under the class its history decides: closed after an appeal, or not (003 §19).
    pub fn of_move(kind: RequestKind, from: RequestState, to: RequestState) -> &'static [Self] {
        if to == RequestState::Closed && from != RequestState::Closed {
            return if from == RequestState::Appealed {
                &[Self::RegisterClosedAppeal]
            } else {
                &[Self::RegisterClosedRequest]
            };
        }
        if to != RequestState::InProgress || from == RequestState::InProgress {
            return &[];
        }
        match kind {
            // Processing stops at once, and every recipient is told (Art 19).
            RequestKind::Restriction => &[Self::RecordRestriction, Self::ListDisclosures],
            RequestKind::Objection => &[Self::RecordObjection],
            // Owed on receipt already ([`Effect::on_intake`]); kept for requests recorded before.
            RequestKind::DirectMarketingObjection => &[Self::RecordDirectMarketingObjection],
            RequestKind::Erasure => &[Self::CheckErasure],
            // Every system holding the person's data corrects it, and every recipient is told
            // (Art 16, 19).
            RequestKind::Rectification => &[Self::FindSystems, Self::ListDisclosures],
            // The systems to export from, and the supplementary information of the response
            // (Art 15(1)): recipients, purposes and bases, retention (issue 10 flow 4).
            RequestKind::Access | RequestKind::Portability => &[
                Self::FindSystems,
                Self::ListDisclosures,
                Self::ListPurposes,
                Self::ListRetention,
            ],
            RequestKind::AutomatedDecisionReview => &[],
        }
    }
}

impl Effect {
    /// What recording a request of `kind` obliges other services to do at once, before anyone
    /// accepts it: a direct-marketing objection is absolute and takes effect on receipt
    /// (Art 21(3); DESIGN §3.1), with no identity check or balancing to wait for.
    pub fn on_intake(kind: RequestKind) -> Option<Self> {
        (kind == RequestKind::DirectMarketingObjection)
            .then_some(Self::RecordDirectMarketingObjection)
    }
}

impl Effect {
    /// The retention schedule's class of the record a closed request becomes (003 §19: SARs 3
    /// years after closure, 6 after an appeal is closed). Every kind of request is kept as a SAR
    /// is: the schedule has one class for the handling of individuals' rights.
    pub fn record_class(self) -> Option<&'static str> {
        match self {
            Self::RegisterClosedRequest => Some("subject-access-request"),
            Self::RegisterClosedAppeal => Some("subject-access-request-appeal"),
            _ => None,
        }
    }

    /// What the retention service's answer to an open erasure request obliges: the recipients
    /// to tell and the processing to stop. Written with the answer, once.
    pub const AFTER_ERASURE_CHECK: [Self; 2] = [Self::ListDisclosures, Self::StopProcessing];
}

/// An erasure, rectification or restriction request is not completed while another service has
/// still to act on it (or to answer it): its tasks come from those answers, and for an erasure
/// the processing check must deny before the person is told their data is gone.
pub fn check_settled(owed: i64) -> Result<(), super::Rejection> {
    if owed == 0 {
        Ok(())
    } else {
        Err(super::Rejection::Precondition(format!(
            "{owed} step(s) in other services not yet done (systems to ask, recipients to tell, \
             processing to stop): wait for them, or see the outbox for why they fail"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::RequestKind as K;
    use super::RequestState as S;
    use super::*;

    #[test]
    fn restrictions_and_objections_reach_the_consent_service_once_accepted() {
        assert_eq!(
            Effect::of_move(K::Restriction, S::Received, S::InProgress),
            [Effect::RecordRestriction, Effect::ListDisclosures]
        );
        assert_eq!(
            Effect::of_move(K::Objection, S::AwaitingIdentity, S::InProgress),
            [Effect::RecordObjection]
        );
        assert_eq!(
            Effect::of_move(K::DirectMarketingObjection, S::AwaitingFee, S::InProgress),
            [Effect::RecordDirectMarketingObjection]
        );
        assert_eq!(
            Effect::of_move(K::Erasure, S::AwaitingIdentity, S::InProgress),
            [Effect::CheckErasure]
        );
        // Not yet accepted, or already accepted, or a kind with no consent effect.
        assert_eq!(
            Effect::of_move(K::Restriction, S::Received, S::AwaitingIdentity),
            []
        );
        assert_eq!(
            Effect::of_move(K::Restriction, S::InProgress, S::InProgress),
            []
        );
        assert_eq!(
            Effect::of_move(K::Access, S::Received, S::InProgress),
            [
                Effect::FindSystems,
                Effect::ListDisclosures,
                Effect::ListPurposes,
                Effect::ListRetention
            ]
        );
        assert_eq!(
            Effect::of_move(K::AutomatedDecisionReview, S::Received, S::InProgress),
            []
        );
        assert_eq!(
            Effect::of_move(K::Rectification, S::Received, S::InProgress),
            [Effect::FindSystems, Effect::ListDisclosures]
        );
    }

    #[test]
    fn a_closed_request_is_registered_as_a_record_of_its_class() {
        for (kind, _) in RequestKind::ALL {
            for from in [S::Completed, S::Refused, S::Withdrawn] {
                assert_eq!(
                    Effect::of_move(kind, from, S::Closed),
                    [Effect::RegisterClosedRequest]
                );
            }
            assert_eq!(
                Effect::of_move(kind, S::Appealed, S::Closed),
                [Effect::RegisterClosedAppeal]
            );
            assert_eq!(Effect::of_move(kind, S::Completed, S::Appealed), []);
        }
    }

    #[test]
    fn only_a_direct_marketing_objection_takes_effect_on_receipt() {
        for (kind, _) in RequestKind::ALL {
            let expected = (kind == K::DirectMarketingObjection)
                .then_some(Effect::RecordDirectMarketingObjection);
            assert_eq!(Effect::on_intake(kind), expected, "{kind:?}");
        }
    }

    #[test]
    fn an_erasure_completes_only_once_the_other_services_have_acted() {
        assert!(check_settled(0).is_ok());
        assert!(check_settled(1).is_err());
    }

    #[test]
    fn codes_round_trip() {
        for (effect, code) in Effect::ALL {
            assert_eq!(effect.code(), code);
            assert_eq!(Effect::from_code(code), Some(effect));
        }
        assert_eq!(Effect::from_code("consent.unknown"), None);
    }
}
