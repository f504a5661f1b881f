//! The processing check: may the tenant process this person's data for this purpose now?
//! (DESIGN §3.4; 003 §11.7.2; Arts 7(3), 18, 21.) Pure: the service feeds it cached state.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Audience, LawfulBasis, ObjectionKind, PurposeId, RestrictionExemption};

/// What the check needs of a purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeRules {
    /// The purpose.
    pub id: PurposeId,
    /// Its basis.
    pub basis: LawfulBasis,
    /// Direct marketing.
    pub direct_marketing: bool,
    /// Research or planning.
    pub research_planning: bool,
    /// Processing allowed while restricted.
    pub restriction_exemption: Option<RestrictionExemption>,
    /// Whose notice covers it.
    pub audience: Audience,
}

/// What the check needs of the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantRules {
    /// Research and planning purposes respect the national data opt-out.
    pub national_data_opt_out: bool,
    /// Per audience, the latest notice version published as a material change.
    pub latest_material_notice: HashMap<Audience, u32>,
}

/// The latest ledger entry for one person and purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    /// The entry.
    pub id: Uuid,
    /// Given (else withdrawn).
    pub given: bool,
    /// When it lapses.
    pub expires_at: Option<OffsetDateTime>,
    /// The audience of the notice shown when given.
    pub notice_audience: Option<Audience>,
    /// Its version.
    pub notice_version: u32,
    /// When the attorney's or deputy's authority ends.
    pub authority_expires_at: Option<OffsetDateTime>,
}

/// A restriction not yet lifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictionState {
    /// The restriction.
    pub id: Uuid,
    /// From.
    pub starts_at: OffsetDateTime,
    /// Planned end.
    pub ends_at: Option<OffsetDateTime>,
}

/// An objection not withdrawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectionState {
    /// The objection.
    pub id: Uuid,
    /// What to.
    pub kind: ObjectionKind,
    /// One purpose, or all.
    pub purpose: Option<PurposeId>,
    /// From.
    pub starts_at: OffsetDateTime,
    /// Compelling grounds were recorded.
    pub overridden: bool,
}

/// Everything the check knows of a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonState {
    /// Latest ledger entry per purpose.
    pub consents: HashMap<PurposeId, ConsentState>,
    /// Restrictions not lifted.
    pub restrictions: Vec<RestrictionState>,
    /// Objections not withdrawn.
    pub objections: Vec<ObjectionState>,
}

/// Why processing is allowed or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Allowed on a non-consent basis.
    LawfulBasis,
    /// Allowed on a current consent.
    Consent,
    /// Allowed while restricted: the purpose is exempt.
    RestrictionExempt,
    /// Allowed: grounds override the objection.
    ObjectionOverridden,
    /// Denied: never consented.
    NoConsent,
    /// Denied: withdrawn.
    Withdrawn,
    /// Denied: expired.
    Expired,
    /// Denied: the notice changed materially since.
    RenewalRequired,
    /// Denied: the giver's authority ended.
    GiverWithoutAuthority,
    /// Denied: restricted.
    Restricted,
    /// Denied: objected.
    Objected,
    /// Denied: direct-marketing objection.
    DirectMarketingObjection,
    /// Denied: national data opt-out.
    OptedOut,
}

/// The record a decision rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// A ledger entry.
    Consent(Uuid),
    /// A restriction.
    Restriction(Uuid),
    /// An objection.
    Objection(Uuid),
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// May process.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// On what.
    pub record: Option<Record>,
}

impl Decision {
    fn allow(reason: Reason, record: Option<Record>) -> Self {
        Self {
            allowed: true,
            reason,
            record,
        }
    }

    fn deny(reason: Reason, record: Option<Record>) -> Self {
        Self {
            allowed: false,
            reason,
            record,
        }
    }

    /// One sentence for people.
    pub fn explanation(&self) -> &'static str {
        match self.reason {
            Reason::LawfulBasis => "allowed on the purpose's lawful basis",
            Reason::Consent => "allowed on the person's current consent",
            Reason::RestrictionExempt => {
                "restricted, but this purpose may continue (legal claims, protecting another person or important public interest)"
            }
            Reason::ObjectionOverridden => {
                "the person objected, but compelling legitimate grounds were recorded"
            }
            Reason::NoConsent => "the person has not consented to this purpose",
            Reason::Withdrawn => "the person withdrew consent for this purpose",
            Reason::Expired => "the person's consent for this purpose expired",
            Reason::RenewalRequired => {
                "the privacy notice changed materially since consent was given: it must be renewed"
            }
            Reason::GiverWithoutAuthority => {
                "the attorney's or deputy's authority under which consent was given has ended"
            }
            Reason::Restricted => "processing of the person's data is restricted",
            Reason::Objected => "the person objected to this processing",
            Reason::DirectMarketingObjection => {
                "the person objected to direct marketing, which is absolute"
            }
            Reason::OptedOut => {
                "the person opted out of research and planning (national data opt-out)"
            }
        }
    }
}

/// The consent for `purpose`, if it is current and valid at `now`.
fn current_consent(
    purpose: &PurposeRules,
    tenant: &TenantRules,
    person: &PersonState,
    now: OffsetDateTime,
) -> Result<Uuid, Decision> {
    let Some(c) = person.consents.get(&purpose.id) else {
        return Err(Decision::deny(Reason::NoConsent, None));
    };
    let record = Some(Record::Consent(c.id));
    let reason = if !c.given {
        Reason::Withdrawn
    } else if c.expires_at.is_some_and(|e| e <= now) {
        Reason::Expired
    } else if c.authority_expires_at.is_some_and(|e| e <= now) {
        Reason::GiverWithoutAuthority
    } else if c.notice_audience.is_some_and(|a| {
        tenant
            .latest_material_notice
            .get(&a)
            .is_some_and(|latest| *latest > c.notice_version)
    }) {
        Reason::RenewalRequired
    } else {
        return Ok(c.id);
    };
    Err(Decision::deny(reason, record))
}

/// Decides one check. Order matters: absolute stops first (direct-marketing objection, the
/// national data opt-out), then restriction (which consent or an exemption survives), then a
/// general objection to an objectable basis, then the basis itself.
pub fn decide(
    purpose: &PurposeRules,
    tenant: &TenantRules,
    person: &PersonState,
    now: OffsetDateTime,
) -> Decision {
    let active = |o: &&ObjectionState| o.starts_at <= now;
    let objection = |kind: ObjectionKind| {
        person
            .objections
            .iter()
            .filter(active)
            .find(|o| o.kind == kind)
    };
    if purpose.direct_marketing
        && let Some(o) = objection(ObjectionKind::DirectMarketing)
    {
        return Decision::deny(
            Reason::DirectMarketingObjection,
            Some(Record::Objection(o.id)),
        );
    }
    if purpose.research_planning
        && tenant.national_data_opt_out
        && let Some(o) = objection(ObjectionKind::NationalDataOptOut)
    {
        return Decision::deny(Reason::OptedOut, Some(Record::Objection(o.id)));
    }
    let consent = current_consent(purpose, tenant, person, now);
    if let Some(r) = person
        .restrictions
        .iter()
        .find(|r| r.starts_at <= now && r.ends_at.is_none_or(|e| now < e))
    {
        return match (&consent, purpose.restriction_exemption) {
            (Ok(id), _) => Decision::allow(Reason::Consent, Some(Record::Consent(*id))),
            (Err(_), Some(_)) => {
                Decision::allow(Reason::RestrictionExempt, Some(Record::Restriction(r.id)))
            }
            (Err(_), None) => Decision::deny(Reason::Restricted, Some(Record::Restriction(r.id))),
        };
    }
    let mut overridden = None;
    if purpose.basis.objectable() {
        for o in person.objections.iter().filter(active).filter(|o| {
            o.kind == ObjectionKind::General && o.purpose.is_none_or(|p| p == purpose.id)
        }) {
            if !o.overridden {
                return Decision::deny(Reason::Objected, Some(Record::Objection(o.id)));
            }
            overridden = Some(o.id);
        }
    }
    match (purpose.basis, consent) {
        (LawfulBasis::Consent, Ok(id)) => {
            Decision::allow(Reason::Consent, Some(Record::Consent(id)))
        }
        (LawfulBasis::Consent, Err(denied)) => denied,
        _ => match overridden {
            Some(id) => Decision::allow(Reason::ObjectionOverridden, Some(Record::Objection(id))),
            None => Decision::allow(Reason::LawfulBasis, None),
        },
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn purpose(basis: LawfulBasis) -> PurposeRules {
        PurposeRules {
            id: PurposeId::from_uuid(Uuid::from_u128(1)),
            basis,
            direct_marketing: false,
            research_planning: false,
            restriction_exemption: None,
            audience: Audience::ServiceUsers,
        }
    }

    fn tenant() -> TenantRules {
        TenantRules {
            national_data_opt_out: true,
            latest_material_notice: HashMap::from([(Audience::ServiceUsers, 1)]),
        }
    }

    fn consented(p: &PurposeRules) -> PersonState {
        PersonState {
            consents: HashMap::from([(
                p.id,
                ConsentState {
                    id: Uuid::from_u128(10),
                    given: true,
                    expires_at: None,
                    notice_audience: Some(Audience::ServiceUsers),
                    notice_version: 1,
                    authority_expires_at: None,
                },
            )]),
            ..Default::default()
        }
    }

    fn objection(kind: ObjectionKind, overridden: bool) -> ObjectionState {
        ObjectionState {
            id: Uuid::from_u128(30),
            kind,
            purpose: None,
            starts_at: datetime!(2026-11-01 0:00 UTC),
            overridden,
        }
    }

    fn restriction() -> RestrictionState {
        RestrictionState {
            id: Uuid::from_u128(20),
            starts_at: datetime!(2026-11-01 0:00 UTC),
            ends_at: None,
        }
    }

    fn reason(p: &PurposeRules, person: &PersonState) -> (bool, Reason) {
        let d = decide(p, &tenant(), person, NOW);
        (d.allowed, d.reason)
    }

    #[test]
    fn a_consent_purpose_needs_a_current_consent() {
        let p = purpose(LawfulBasis::Consent);
        assert_eq!(
            reason(&p, &PersonState::default()),
            (false, Reason::NoConsent)
        );
        let mut person = consented(&p);
        assert_eq!(reason(&p, &person), (true, Reason::Consent));
        let c = person.consents.get_mut(&p.id).expect("consent");
        c.expires_at = Some(NOW);
        assert_eq!(reason(&p, &person), (false, Reason::Expired));
        let c = person.consents.get_mut(&p.id).expect("consent");
        c.expires_at = None;
        c.authority_expires_at = Some(datetime!(2026-11-24 0:00 UTC));
        assert_eq!(reason(&p, &person), (false, Reason::GiverWithoutAuthority));
        let c = person.consents.get_mut(&p.id).expect("consent");
        c.authority_expires_at = None;
        c.given = false;
        assert_eq!(reason(&p, &person), (false, Reason::Withdrawn));
    }

    #[test]
    fn a_material_notice_change_requires_renewal() {
        let p = purpose(LawfulBasis::Consent);
        let t = TenantRules {
            latest_material_notice: HashMap::from([(Audience::ServiceUsers, 2)]),
            ..tenant()
        };
        let d = decide(&p, &t, &consented(&p), NOW);
        assert_eq!((d.allowed, d.reason), (false, Reason::RenewalRequired));
    }

    #[test]
    fn other_bases_allow_without_consent() {
        for basis in [
            LawfulBasis::Contract,
            LawfulBasis::LegalObligation,
            LawfulBasis::VitalInterests,
            LawfulBasis::PublicTask,
        ] {
            assert_eq!(
                reason(&purpose(basis), &PersonState::default()),
                (true, Reason::LawfulBasis)
            );
        }
    }

    #[test]
    fn a_restriction_denies_unless_exempt_or_consented() {
        let restricted = PersonState {
            restrictions: vec![restriction()],
            ..Default::default()
        };
        let p = purpose(LawfulBasis::PublicTask);
        assert_eq!(reason(&p, &restricted), (false, Reason::Restricted));
        let legal = PurposeRules {
            restriction_exemption: Some(RestrictionExemption::LegalClaims),
            ..purpose(LawfulBasis::LegalObligation)
        };
        assert_eq!(
            reason(&legal, &restricted),
            (true, Reason::RestrictionExempt)
        );
        let c = purpose(LawfulBasis::Consent);
        let mut both = consented(&c);
        both.restrictions = vec![restriction()];
        assert_eq!(reason(&c, &both), (true, Reason::Consent));
        let ended = PersonState {
            restrictions: vec![RestrictionState {
                ends_at: Some(NOW),
                ..restriction()
            }],
            ..Default::default()
        };
        assert_eq!(reason(&p, &ended), (true, Reason::LawfulBasis));
        let future = PersonState {
            restrictions: vec![RestrictionState {
                starts_at: datetime!(2026-12-01 0:00 UTC),
                ..restriction()
            }],
            ..Default::default()
        };
        assert_eq!(reason(&p, &future), (true, Reason::LawfulBasis));
    }

    #[test]
    fn a_direct_marketing_objection_is_absolute() {
        let p = PurposeRules {
            direct_marketing: true,
            ..purpose(LawfulBasis::Consent)
        };
        let mut person = consented(&p);
        person
            .objections
            .push(objection(ObjectionKind::DirectMarketing, true));
        assert_eq!(
            reason(&p, &person),
            (false, Reason::DirectMarketingObjection)
        );
    }

    #[test]
    fn a_general_objection_denies_objectable_bases_unless_overridden() {
        let objected = PersonState {
            objections: vec![objection(ObjectionKind::General, false)],
            ..Default::default()
        };
        for basis in [
            LawfulBasis::LegitimateInterests,
            LawfulBasis::RecognisedLegitimateInterests,
            LawfulBasis::PublicTask,
        ] {
            assert_eq!(
                reason(&purpose(basis), &objected),
                (false, Reason::Objected)
            );
        }
        assert_eq!(
            reason(&purpose(LawfulBasis::LegalObligation), &objected),
            (true, Reason::LawfulBasis)
        );
        let overridden = PersonState {
            objections: vec![objection(ObjectionKind::General, true)],
            ..Default::default()
        };
        assert_eq!(
            reason(&purpose(LawfulBasis::PublicTask), &overridden),
            (true, Reason::ObjectionOverridden)
        );
        let elsewhere = PersonState {
            objections: vec![ObjectionState {
                purpose: Some(PurposeId::from_uuid(Uuid::from_u128(2))),
                ..objection(ObjectionKind::General, false)
            }],
            ..Default::default()
        };
        assert_eq!(
            reason(&purpose(LawfulBasis::PublicTask), &elsewhere),
            (true, Reason::LawfulBasis)
        );
    }

    #[test]
    fn the_national_data_opt_out_stops_research_where_the_tenant_applies_it() {
        let research = PurposeRules {
            research_planning: true,
            ..purpose(LawfulBasis::PublicTask)
        };
        let opted_out = PersonState {
            objections: vec![objection(ObjectionKind::NationalDataOptOut, false)],
            ..Default::default()
        };
        assert_eq!(reason(&research, &opted_out), (false, Reason::OptedOut));
        let wales = TenantRules {
            national_data_opt_out: false,
            ..tenant()
        };
        assert!(decide(&research, &wales, &opted_out, NOW).allowed);
        assert!(
            decide(
                &purpose(LawfulBasis::PublicTask),
                &tenant(),
                &opted_out,
                NOW
            )
            .allowed
        );
    }
}
