//! Lifting the restriction a restriction request put in place (issue 10 flow 2; Art 18(3);
//! 003 §11.7.3: "lifting it requires telling the person first"). The restriction itself lives in
//! the consent service; this service records the lift and who was told when, and the outbox
//! lifts it there.

use dps_types::Violations;
use time::OffsetDateTime;

use super::clock::check_past_instant;
use super::{Rejection, RequestKind};

/// What the lift is checked against.
#[derive(Debug, Clone, Copy)]
pub struct LiftInput {
    /// The request's kind.
    pub kind: RequestKind,
    /// When the request was received: the person cannot have been told of a lift before.
    pub received_at: OffsetDateTime,
    /// The request was accepted, so its restriction was recorded (or is owed) in consent.
    pub restricted: bool,
    /// It was lifted already.
    pub lifted: bool,
}

/// Checks a lift, the person told at `told_at`; returns that time.
pub fn check_lift(
    input: LiftInput,
    told_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Rejection> {
    let mut v = Violations::new();
    check_past_instant(&mut v, "told_time", told_at, now);
    if let Some(told) = told_at {
        v.check(
            told >= input.received_at,
            "told_time",
            "must not be before the request was received",
        );
    }
    let told = v.finish(told_at).map_err(Rejection::Invalid)?;
    if input.kind != RequestKind::Restriction {
        return Err(Rejection::Precondition(
            "only a restriction request's restriction is lifted here (a rectification's \
             restriction while accuracy is checked is lifted with LiftAccuracyRestriction)"
                .into(),
        ));
    }
    if !input.restricted {
        return Err(Rejection::Precondition(
            "the request was never accepted: nothing was restricted".into(),
        ));
    }
    if input.lifted {
        return Err(Rejection::Precondition(
            "the restriction was already lifted after the person was told".into(),
        ));
    }
    told.ok_or_else(|| Rejection::Precondition("told_time required".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn input() -> LiftInput {
        LiftInput {
            kind: RequestKind::Restriction,
            received_at: datetime!(2026-11-02 09:00 UTC),
            restricted: true,
            lifted: false,
        }
    }

    #[test]
    fn the_person_is_told_before_the_restriction_is_lifted() {
        let now = datetime!(2026-12-01 12:00 UTC);
        let told = datetime!(2026-11-30 10:00 UTC);
        assert_eq!(check_lift(input(), Some(told), now).ok(), Some(told));
        // Not told, or told before the request existed, or in the future: the field is named.
        for bad in [
            None,
            Some(datetime!(2026-11-01 09:00 UTC)),
            Some(now + time::Duration::days(1)),
        ] {
            match check_lift(input(), bad, now) {
                Err(Rejection::Invalid(v)) => assert_eq!(v[0].field, "told_time", "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_an_accepted_restriction_not_yet_lifted_is_lifted() {
        let now = datetime!(2026-12-01 12:00 UTC);
        let told = Some(datetime!(2026-11-30 10:00 UTC));
        for input in [
            LiftInput {
                kind: RequestKind::Access,
                ..input()
            },
            LiftInput {
                restricted: false,
                ..input()
            },
            LiftInput {
                lifted: true,
                ..input()
            },
        ] {
            assert!(matches!(
                check_lift(input, told, now),
                Err(Rejection::Precondition(_))
            ));
        }
    }
}
