//! Disposal reviews and their decisions (002 "Review", "An audit trail"; DESIGN §3.3): who may
//! decide, what a decision needs, and when a disposal is outside the schedule.

use dps_deadlines::period::add_months;
use dps_types::{FieldViolation, Violations};
use time::Date;

use super::MAX_REASON;

dps_types::resource_id!(
    /// Identifies a disposal review within its tenant.
    ReviewId,
    "disposalReviews"
);
dps_types::resource_id!(
    /// Identifies a disposal task within its tenant.
    TaskId,
    "disposalTasks"
);
dps_types::resource_id!(
    /// Identifies a disposal certificate within its tenant.
    CertificateId,
    "disposalCertificates"
);

/// Roles that may decide a disposal review: the DPO and compliance manager group-wide, and the
/// subsidiary's manager, who is its controller (003: "the manager for each subsidiary company is
/// deemed the Controller"). Staff, health professionals and auditors may not.
pub const APPROVER_ROLES: &[&str] = &["dpo", "compliance_manager", "controller"];

/// Roles that may change the schedule, the asset register and legal holds: the group's DPO and
/// compliance manager (003 §10.3 puts the register with the compliance manager).
pub const SCHEDULE_ROLES: &[&str] = &["dpo", "compliance_manager"];

/// Disposal approved more than this many months after the review date is late and needs a
/// reason: a review takes time, but a record kept on for months past its period is kept longer
/// than the schedule says (002 "An audit trail").
pub const LATE_AFTER_MONTHS: u32 = 3;

/// Most characters in a disposal method.
const MAX_METHOD: usize = 500;

/// Whether `roles` include any of `allowed`.
pub fn has_any_role(roles: &[String], allowed: &[&str]) -> bool {
    roles.iter().any(|r| allowed.contains(&r.as_str()))
}

coded_enum!(
    /// Where a review is.
    ReviewState {
        /// Awaiting a decision.
        Open = "open",
        /// Destruction or transfer approved.
        Approved = "approved",
        /// Retention extended.
        Extended = "extended",
        /// Withdrawn by a legal hold or a schedule change.
        Withdrawn = "withdrawn",
    }
);

coded_enum!(
    /// Where a disposal task is.
    TaskState {
        /// Waiting for the holding system.
        Pending = "pending",
        /// Taken by the holding system.
        Claimed = "claimed",
        /// Carried out: a certificate exists.
        Done = "done",
        /// Withdrawn by a legal hold before it was claimed.
        Cancelled = "cancelled",
    }
);

/// What the reviewer decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Destroy, by this method.
    Destroy {
        /// e.g. "cross-cut shredded".
        method: String,
    },
    /// Transfer to a place of deposit, by this method.
    Transfer {
        /// e.g. "sent to the county archive".
        method: String,
    },
    /// Keep until a new review date.
    Extend {
        /// The new review date.
        until: Date,
    },
}

impl Decision {
    /// The stored code of the decision.
    pub fn code(&self) -> &'static str {
        match self {
            Decision::Destroy { .. } => "destroy",
            Decision::Transfer { .. } => "transfer",
            Decision::Extend { .. } => "extend",
        }
    }
}

/// A decision as it arrives, before its rules are checked.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    /// `destroy`, `transfer` or `extend`; `None` when unspecified.
    pub kind: Option<&'static str>,
    /// The method, for destroy or transfer.
    pub method: String,
    /// The reason.
    pub reason: String,
    /// The new date, for extend.
    pub extend_until: Option<Date>,
}

impl DecisionInput {
    /// Checks the decision against the record's review date on `today`. The reason is required
    /// to extend, and to dispose early or late (002: disposal outside the schedule is recorded).
    pub fn parse(
        self,
        mut v: Violations,
        review_date: Option<Date>,
        today: Date,
    ) -> Result<(Decision, Option<String>), Vec<FieldViolation>> {
        let reason = self.reason.trim().to_owned();
        v.check(
            reason.chars().count() <= MAX_REASON,
            "reason",
            "at most 2000 characters",
        );
        let method = self.method.trim().to_owned();
        let decision = match self.kind {
            None => {
                v.add("decision", "required");
                None
            }
            Some("extend") => {
                v.check(!reason.is_empty(), "reason", "required to extend retention");
                match self.extend_until {
                    None => {
                        v.add("extend_until", "required to extend retention");
                        None
                    }
                    Some(until) if until <= today => {
                        v.add("extend_until", "must be after today");
                        None
                    }
                    Some(until) => Some(Decision::Extend { until }),
                }
            }
            Some(kind) => {
                if method.is_empty() {
                    v.add("method", "required to destroy or transfer");
                } else if method.chars().count() > MAX_METHOD {
                    v.add("method", "at most 500 characters");
                }
                if let Some(when) = outside_schedule(review_date, today) {
                    v.check(
                        !reason.is_empty(),
                        "reason",
                        &format!(
                            "required: disposal {when} than the schedule must be recorded with a reason (002)"
                        ),
                    );
                }
                Some(if kind == "transfer" {
                    Decision::Transfer { method }
                } else {
                    Decision::Destroy { method }
                })
            }
        };
        let reason = (!reason.is_empty()).then_some(reason);
        match decision {
            Some(d) => v.finish((d, reason)),
            None => Err(v.finish(()).err().unwrap_or_default()),
        }
    }
}

/// `Some("earlier")` or `Some("later")` when disposing on `today` is outside the schedule for a
/// record whose review date is `review_date` (`None`: retention has not even started).
pub fn outside_schedule(review_date: Option<Date>, today: Date) -> Option<&'static str> {
    let Some(review_date) = review_date else {
        return Some("earlier");
    };
    if today < review_date {
        Some("earlier")
    } else if today > add_months(review_date, LATE_AFTER_MONTHS).0 {
        Some("later")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input(kind: &'static str, method: &str, reason: &str) -> DecisionInput {
        DecisionInput {
            kind: Some(kind),
            method: method.into(),
            reason: reason.into(),
            extend_until: None,
        }
    }

    #[test]
    fn disposal_is_outside_the_schedule_before_the_date_or_three_months_after() {
        let due = Some(date!(2026 - 11 - 30));
        assert_eq!(
            outside_schedule(due, date!(2026 - 11 - 29)),
            Some("earlier")
        );
        assert_eq!(outside_schedule(due, date!(2026 - 11 - 30)), None);
        // 30 Nov + 3 months = 28 Feb 2027 (no 30 Feb): still on schedule that day.
        assert_eq!(outside_schedule(due, date!(2027 - 02 - 28)), None);
        assert_eq!(outside_schedule(due, date!(2027 - 03 - 01)), Some("later"));
        assert_eq!(
            outside_schedule(None, date!(2027 - 03 - 01)),
            Some("earlier")
        );
    }

    #[test]
    fn early_disposal_needs_a_reason_and_on_time_disposal_does_not() {
        let due = Some(date!(2026 - 12 - 31));
        let err = input("destroy", "shredded", "")
            .parse(Violations::new(), due, date!(2026 - 12 - 05))
            .expect_err("early without reason");
        assert_eq!(err[0].field, "reason");
        assert!(err[0].description.contains("earlier"));
        let (d, reason) = input("destroy", "shredded", "")
            .parse(Violations::new(), due, date!(2027 - 01 - 02))
            .expect("on time");
        assert_eq!(
            d,
            Decision::Destroy {
                method: "shredded".into()
            }
        );
        assert_eq!(reason, None);
    }

    #[test]
    fn an_extension_needs_a_reason_and_a_later_date() {
        let today = date!(2026 - 12 - 05);
        let err = DecisionInput {
            kind: Some("extend"),
            method: String::new(),
            reason: String::new(),
            extend_until: Some(today),
        }
        .parse(Violations::new(), Some(today), today)
        .expect_err("bad extension");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["reason", "extend_until"]);
    }

    #[test]
    fn only_approver_roles_may_decide() {
        let roles = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(has_any_role(
            &roles(&["staff", "controller"]),
            APPROVER_ROLES
        ));
        assert!(!has_any_role(
            &roles(&["staff", "health_professional", "auditor"]),
            APPROVER_ROLES
        ));
        assert!(!has_any_role(&roles(&["controller"]), SCHEDULE_ROLES));
    }
}
