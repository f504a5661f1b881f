//! A rectification request's accuracy check (Art 16, Art 18(1)(a) and 18(3); issue 16 §6):
//! processing may be restricted while the accuracy of the data is checked; the person is told
//! before that restriction is lifted; and when rectification is refused, the person's statement
//! that they dispute the accuracy is kept with the request.

use dps_types::{Masked, Violations};
use time::OffsetDateTime;

use super::clock::check_past_instant;
use super::lifecycle::RequestState;
use super::{MAX_REASON, Rejection, RequestKind};

/// What has happened in a request's accuracy check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccuracyCheck {
    /// When processing was restricted, and by whom.
    pub restricted: Option<(OffsetDateTime, String)>,
    /// When the restriction was lifted.
    pub lifted: Option<Lift>,
    /// The person's statement of disputed accuracy after a refusal.
    pub dispute: Option<Dispute>,
}

/// The lifting of a restriction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lift {
    /// When the person was told it would be lifted (Art 18(3)).
    pub told_at: OffsetDateTime,
    /// When it was lifted.
    pub at: OffsetDateTime,
    /// Who lifted it.
    pub by: String,
}

/// The person's statement that they dispute the accuracy of the data kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    /// In the person's words; empty once their key was shredded.
    pub note: Masked<String>,
    /// When it was recorded.
    pub at: OffsetDateTime,
    /// Who recorded it.
    pub by: String,
}

impl AccuracyCheck {
    /// Whether processing is restricted now.
    pub fn is_restricted(&self) -> bool {
        self.restricted.is_some() && self.lifted.is_none()
    }
}

fn rectification_only(kind: RequestKind) -> Result<(), Rejection> {
    if kind == RequestKind::Rectification {
        Ok(())
    } else {
        Err(Rejection::Precondition(format!(
            "only a rectification request has an accuracy check; this is a {} request",
            kind.code()
        )))
    }
}

/// Restricting needs an open rectification request whose restriction was never lifted (a
/// restriction already in place is kept: restricting again changes nothing).
pub fn check_restrict(
    kind: RequestKind,
    state: RequestState,
    check: &AccuracyCheck,
) -> Result<(), Rejection> {
    rectification_only(kind)?;
    if !state.is_open() {
        return Err(Rejection::Precondition(format!(
            "the request is {}: processing is restricted only while accuracy is being checked",
            state.code()
        )));
    }
    if check.lifted.is_some() {
        return Err(Rejection::Precondition(
            "the restriction was already lifted after the person was told".into(),
        ));
    }
    Ok(())
}

/// Lifting needs a restriction in place and the time the person was told, not in the future.
pub fn check_lift(
    check: &AccuracyCheck,
    told_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Rejection> {
    let mut v = Violations::new();
    check_past_instant(&mut v, "told_time", told_at, now);
    if let (Some(told), Some((restricted, _))) = (told_at, &check.restricted) {
        v.check(
            told >= *restricted,
            "told_time",
            "must not be before the restriction began",
        );
    }
    let told = v.finish(told_at).map_err(Rejection::Invalid)?;
    if !check.is_restricted() {
        return Err(Rejection::Precondition(
            "no restriction is in place for this request".into(),
        ));
    }
    told.ok_or_else(|| Rejection::Precondition("told_time required".into()))
}

/// Completing or refusing a rectification while its restriction is in place is refused: the
/// person is told and the restriction lifted first (Art 18(3)).
pub fn check_closable(check: &AccuracyCheck) -> Result<(), Rejection> {
    if check.is_restricted() {
        Err(Rejection::Precondition(
            "processing is restricted while accuracy is checked: lift the restriction first, \
             having told the person (Art 18(3))"
                .into(),
        ))
    } else {
        Ok(())
    }
}

/// The person's statement of disputed accuracy: only on a refused rectification, required, at
/// most 2000 characters.
pub fn parse_dispute(
    kind: RequestKind,
    state: RequestState,
    note: &str,
) -> Result<String, Rejection> {
    let note = note.trim();
    let mut v = Violations::new();
    v.check(!note.is_empty(), "note", "required: the person's statement");
    v.check(
        note.chars().count() <= MAX_REASON,
        "note",
        "at most 2000 characters",
    );
    v.finish(()).map_err(Rejection::Invalid)?;
    rectification_only(kind)?;
    if state != RequestState::Refused {
        return Err(Rejection::Precondition(format!(
            "a note of disputed accuracy is kept once rectification is refused; the request is {}",
            state.code()
        )));
    }
    Ok(note.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn fields(r: &Rejection) -> Vec<&str> {
        match r {
            Rejection::Invalid(v) => v.iter().map(|v| v.field.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    fn restricted() -> AccuracyCheck {
        AccuracyCheck {
            restricted: Some((datetime!(2026-11-20 10:00 UTC), "dpo".into())),
            ..AccuracyCheck::default()
        }
    }

    #[test]
    fn only_open_rectification_requests_are_restricted() {
        let none = AccuracyCheck::default();
        assert!(
            check_restrict(RequestKind::Rectification, RequestState::InProgress, &none).is_ok()
        );
        assert!(matches!(
            check_restrict(RequestKind::Access, RequestState::InProgress, &none),
            Err(Rejection::Precondition(_))
        ));
        assert!(matches!(
            check_restrict(RequestKind::Rectification, RequestState::Completed, &none),
            Err(Rejection::Precondition(_))
        ));
    }

    #[test]
    fn lifting_needs_the_person_told_first() {
        let check = restricted();
        let err = check_lift(&check, None, NOW).expect_err("rejected");
        assert_eq!(fields(&err), ["told_time"]);
        let err =
            check_lift(&check, Some(datetime!(2026-11-19 09:00 UTC)), NOW).expect_err("rejected");
        assert_eq!(fields(&err), ["told_time"]);
        let err =
            check_lift(&check, Some(datetime!(2026-11-26 09:00 UTC)), NOW).expect_err("rejected");
        assert_eq!(fields(&err), ["told_time"]);
        assert_eq!(
            check_lift(&check, Some(datetime!(2026-11-24 09:00 UTC)), NOW).expect("accepted"),
            datetime!(2026-11-24 09:00 UTC)
        );
        assert!(matches!(
            check_lift(
                &AccuracyCheck::default(),
                Some(datetime!(2026-11-24 09:00 UTC)),
                NOW
            ),
            Err(Rejection::Precondition(_))
        ));
    }

    #[test]
    fn a_restricted_request_is_not_closed_until_lifted() {
        let mut check = restricted();
        assert!(check_closable(&check).is_err());
        check.lifted = Some(Lift {
            told_at: datetime!(2026-11-24 09:00 UTC),
            at: NOW,
            by: "dpo".into(),
        });
        assert!(check_closable(&check).is_ok());
        assert!(check_closable(&AccuracyCheck::default()).is_ok());
    }

    #[test]
    fn a_dispute_is_kept_only_on_a_refused_rectification() {
        let note = "My date of birth is 3 March 1941, not 1914.";
        assert_eq!(
            parse_dispute(RequestKind::Rectification, RequestState::Refused, note)
                .expect("accepted"),
            note
        );
        assert_eq!(
            fields(
                &parse_dispute(RequestKind::Rectification, RequestState::Refused, "  ")
                    .expect_err("rejected")
            ),
            ["note"]
        );
        assert!(matches!(
            parse_dispute(RequestKind::Rectification, RequestState::InProgress, note),
            Err(Rejection::Precondition(_))
        ));
        assert!(matches!(
            parse_dispute(RequestKind::Erasure, RequestState::Refused, note),
            Err(Rejection::Precondition(_))
        ));
    }
}
