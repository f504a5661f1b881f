//! Notices, restrictions, objections and disclosures: what a valid one is.

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

use super::{Audience, LawfulBasis, MAX_PERSON_ID};

dps_types::resource_id!(
    /// Identifies a published notice version.
    NoticeId,
    "notices"
);
dps_types::resource_id!(
    /// Identifies an acknowledgement of a notice.
    AcknowledgementId,
    "acknowledgements"
);
dps_types::resource_id!(
    /// Identifies a restriction.
    RestrictionId,
    "restrictions"
);
dps_types::resource_id!(
    /// Identifies an objection.
    ObjectionId,
    "objections"
);
dps_types::resource_id!(
    /// Identifies a disclosure.
    DisclosureId,
    "disclosures"
);

coded_enum!(
    /// Why processing is restricted (Art 18(1)).
    RestrictionGround {
        /// (a) accuracy contested.
        AccuracyContested = "accuracy_contested",
        /// (b) unlawful processing.
        UnlawfulProcessing = "unlawful_processing",
        /// (c) needed by the person for legal claims.
        LegalClaims = "legal_claims",
        /// (d) objection pending.
        ObjectionPending = "objection_pending",
        /// Erasure requested (issue 10): what must be kept (Art 17(3)) is stored, not processed.
        ErasureRequested = "erasure_requested",
    }
);

coded_enum!(
    /// What the person objects to.
    ObjectionKind {
        /// Art 21(1).
        General = "general",
        /// Art 21(2)-(3): absolute.
        DirectMarketing = "direct_marketing",
        /// The national data opt-out (England).
        NationalDataOptOut = "national_data_opt_out",
    }
);

coded_enum!(
    /// A senior role that may authorise a disclosure (001).
    AuthoriserRole {
        /// Senior manager.
        SeniorManager = "senior_manager",
        /// Registered manager of a care service.
        RegisteredManager = "registered_manager",
        /// Data protection officer.
        DataProtectionOfficer = "data_protection_officer",
        /// Caldicott guardian.
        CaldicottGuardian = "caldicott_guardian",
    }
);

/// Checks an opaque person id: the same rule everywhere a person is named.
pub fn check_person_id(v: &mut Violations, field: &str, person_id: &str) {
    if person_id.trim().is_empty() {
        v.add(field, "required");
    } else if person_id.chars().count() > MAX_PERSON_ID || person_id.trim() != person_id {
        v.add(
            field,
            "at most 200 characters, no leading or trailing spaces",
        );
    }
}

fn past(v: &mut Violations, field: &str, t: Option<OffsetDateTime>, now: OffsetDateTime) {
    match t {
        None => v.add(field, "required"),
        Some(t) if t > now => v.add(field, "must not be in the future"),
        Some(_) => {}
    }
}

/// A notice version to publish.
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// Audience.
    pub audience: Audience,
    /// Title.
    pub title: String,
    /// Where it is published.
    pub uri: String,
    /// Consents under earlier versions need renewing.
    pub material_change: bool,
    /// When it was published, if not now.
    pub published_at: Option<OffsetDateTime>,
}

impl NewNotice {
    /// Validates a notice.
    pub fn parse(
        audience: Option<Audience>,
        title: &str,
        uri: &str,
        material_change: bool,
        published_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        v.check(audience.is_some(), "audience", "required");
        v.check(
            published_at.is_none_or(|t| t <= now),
            "publish_time",
            "must not be in the future",
        );
        let title = super::text(&mut v, "title", title, 200, false);
        let uri = super::text(&mut v, "uri", uri, 2000, false);
        v.finish(Self {
            audience: audience.unwrap_or(Audience::ServiceUsers),
            title,
            uri,
            material_change,
            published_at,
        })
    }
}

/// A restriction to record.
#[derive(Debug, Clone)]
pub struct NewRestriction {
    /// Whose data.
    pub person_id: String,
    /// Why.
    pub ground: RestrictionGround,
    /// Details (personal data).
    pub reason: String,
    /// From.
    pub starts_at: OffsetDateTime,
    /// Planned end.
    pub ends_at: Option<OffsetDateTime>,
    /// The subject request it came from.
    pub subject_request: String,
}

impl NewRestriction {
    /// Validates a restriction.
    pub fn parse(
        person_id: &str,
        ground: Option<RestrictionGround>,
        reason: &str,
        starts_at: Option<OffsetDateTime>,
        ends_at: Option<OffsetDateTime>,
        subject_request: &str,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        check_person_id(&mut v, "person_id", person_id);
        v.check(ground.is_some(), "ground", "required");
        let reason = super::text(&mut v, "reason", reason, 2000, true);
        let subject_request = super::text(&mut v, "subject_request", subject_request, 200, true);
        past(&mut v, "start_time", starts_at, now);
        if let (Some(start), Some(end)) = (starts_at, ends_at) {
            v.check(end > start, "end_time", "must be after start_time");
        }
        v.finish(Self {
            person_id: person_id.to_owned(),
            ground: ground.unwrap_or(RestrictionGround::AccuracyContested),
            reason,
            starts_at: starts_at.unwrap_or(now),
            ends_at,
            subject_request,
        })
    }
}

/// Lifting needs the time the person was told beforehand (Art 18(3)).
pub fn check_told_time(
    told: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Vec<FieldViolation>> {
    let mut v = Violations::new();
    match told {
        None => v.add(
            "person_told_time",
            "required: the person must be told before a restriction is lifted (Art 18(3))",
        ),
        Some(t) if t > now => v.add("person_told_time", "must not be in the future"),
        Some(_) => {}
    }
    v.finish(told.unwrap_or(now))
}

/// Compelling grounds overriding an objection.
pub fn check_grounds(grounds: &str) -> Result<String, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let grounds = super::text(&mut v, "grounds", grounds, 4000, false);
    v.finish(grounds)
}

/// An objection to record; the purpose is resolved by the caller.
#[derive(Debug, Clone)]
pub struct NewObjection {
    /// Whose.
    pub person_id: String,
    /// What to.
    pub kind: ObjectionKind,
    /// Grounds (personal data).
    pub reason: String,
    /// From.
    pub starts_at: OffsetDateTime,
    /// The subject request it came from.
    pub subject_request: String,
}

impl NewObjection {
    /// Validates an objection. `has_purpose`: a purpose was named (only a general objection may
    /// name one).
    pub fn parse(
        person_id: &str,
        kind: Option<ObjectionKind>,
        has_purpose: bool,
        reason: &str,
        starts_at: Option<OffsetDateTime>,
        subject_request: &str,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        check_person_id(&mut v, "person_id", person_id);
        v.check(kind.is_some(), "kind", "required");
        if has_purpose && kind.is_some_and(|k| k != ObjectionKind::General) {
            v.add(
                "purpose",
                "only a general objection names a purpose: direct marketing and the opt-out cover every such purpose",
            );
        }
        let reason = super::text(&mut v, "reason", reason, 2000, true);
        let subject_request = super::text(&mut v, "subject_request", subject_request, 200, true);
        past(&mut v, "start_time", starts_at, now);
        v.finish(Self {
            person_id: person_id.to_owned(),
            kind: kind.unwrap_or(ObjectionKind::General),
            reason,
            starts_at: starts_at.unwrap_or(now),
            subject_request,
        })
    }
}

/// A disclosure to record; the consent relied on is resolved by the caller.
#[derive(Debug, Clone)]
pub struct NewDisclosure {
    /// Whose data.
    pub person_id: String,
    /// To whom.
    pub recipient: String,
    /// What.
    pub data_categories: Vec<String>,
    /// Why (personal data).
    pub reason: String,
    /// On which basis.
    pub lawful_basis: LawfulBasis,
    /// Who authorised it.
    pub authorised_by: String,
    /// In which senior role.
    pub authoriser_role: AuthoriserRole,
    /// When.
    pub disclosed_at: OffsetDateTime,
}

/// A disclosure as sent; enums and times `None` when not given.
#[derive(Debug, Clone, Default)]
pub struct DisclosureInput {
    /// Whose data.
    pub person_id: String,
    /// To whom.
    pub recipient: String,
    /// What.
    pub data_categories: Vec<String>,
    /// Why.
    pub reason: String,
    /// Basis.
    pub lawful_basis: Option<LawfulBasis>,
    /// Whether a consent was named.
    pub has_consent: bool,
    /// Authoriser.
    pub authorised_by: String,
    /// Their role.
    pub authoriser_role: Option<AuthoriserRole>,
    /// When.
    pub disclosed_at: Option<OffsetDateTime>,
}

impl NewDisclosure {
    /// Validates a disclosure.
    pub fn parse(d: DisclosureInput, now: OffsetDateTime) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        check_person_id(&mut v, "person_id", &d.person_id);
        let recipient = super::text(&mut v, "recipient", &d.recipient, 200, false);
        let reason = super::text(&mut v, "reason", &d.reason, 2000, false);
        let authorised_by = super::text(&mut v, "authorised_by", &d.authorised_by, 200, false);
        let categories: Vec<String> = d
            .data_categories
            .iter()
            .map(|c| c.trim().to_owned())
            .collect();
        if categories.is_empty()
            || categories
                .iter()
                .any(|c| c.is_empty() || c.chars().count() > 100)
        {
            v.add("data_categories", "at least one, each 1 to 100 characters");
        }
        match d.lawful_basis {
            None => v.add("lawful_basis", "required"),
            Some(LawfulBasis::Consent) => v.check(
                d.has_consent,
                "consent",
                "required with the consent basis: the person's consent relied on",
            ),
            Some(_) => v.check(!d.has_consent, "consent", "only with the consent basis"),
        }
        v.check(
            d.authoriser_role.is_some(),
            "authoriser_role",
            "required: a disclosure is authorised by a senior manager (001)",
        );
        past(&mut v, "disclose_time", d.disclosed_at, now);
        v.finish(Self {
            person_id: d.person_id,
            recipient,
            data_categories: categories,
            reason,
            lawful_basis: d.lawful_basis.unwrap_or(LawfulBasis::Consent),
            authorised_by,
            authoriser_role: d.authoriser_role.unwrap_or(AuthoriserRole::SeniorManager),
            disclosed_at: d.disclosed_at.unwrap_or(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    #[test]
    fn a_restriction_needs_a_ground_and_a_start_not_in_the_future() {
        let err = NewRestriction::parse(
            "p-1",
            None,
            "",
            Some(datetime!(2026-11-26 0:00 UTC)),
            None,
            "",
            NOW,
        )
        .expect_err("refused");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["ground", "start_time"]);
        let err = NewRestriction::parse(
            "p-1",
            Some(RestrictionGround::AccuracyContested),
            "",
            Some(datetime!(2026-11-20 0:00 UTC)),
            Some(datetime!(2026-11-19 0:00 UTC)),
            "",
            NOW,
        )
        .expect_err("refused");
        assert_eq!(err[0].field, "end_time");
    }

    #[test]
    fn lifting_needs_the_time_the_person_was_told() {
        assert_eq!(
            check_told_time(None, NOW).expect_err("refused")[0].field,
            "person_told_time"
        );
        assert!(check_told_time(Some(datetime!(2026-11-24 0:00 UTC)), NOW).is_ok());
    }

    #[test]
    fn only_a_general_objection_names_a_purpose() {
        let err = NewObjection::parse(
            "p-1",
            Some(ObjectionKind::DirectMarketing),
            true,
            "",
            Some(NOW),
            "",
            NOW,
        )
        .expect_err("refused");
        assert_eq!(err[0].field, "purpose");
        assert!(
            NewObjection::parse(
                "p-1",
                Some(ObjectionKind::General),
                true,
                "",
                Some(NOW),
                "",
                NOW
            )
            .is_ok()
        );
    }

    #[test]
    fn a_disclosure_names_its_basis_consent_and_senior_authoriser() {
        let input = DisclosureInput {
            person_id: "p-1".into(),
            recipient: "St Elsewhere GP practice".into(),
            data_categories: vec!["medication".into()],
            reason: "Continuity of care after discharge".into(),
            lawful_basis: Some(LawfulBasis::Consent),
            authorised_by: "R. Manager".into(),
            authoriser_role: None,
            disclosed_at: Some(NOW),
            has_consent: false,
        };
        let err = NewDisclosure::parse(input.clone(), NOW).expect_err("refused");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["consent", "authoriser_role"]);
        let ok = DisclosureInput {
            has_consent: true,
            authoriser_role: Some(AuthoriserRole::RegisteredManager),
            ..input
        };
        assert!(NewDisclosure::parse(ok, NOW).is_ok());
    }

    #[test]
    fn person_ids_are_bounded_and_untrimmed() {
        let mut v = Violations::new();
        check_person_id(&mut v, "person_id", " p-1");
        check_person_id(&mut v, "person_id", "");
        check_person_id(&mut v, "person_id", &"x".repeat(201));
        assert_eq!(v.finish(()).expect_err("refused").len(), 3);
    }
}
