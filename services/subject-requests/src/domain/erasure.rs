//! Erasure against the retention schedule (issue 10, flow 1; DESIGN §3.1): erasure is refused
//! where records must be kept (retention not ended, legal hold), and the refusal says why. The
//! retention service decides per record; this service keeps its answer with the request.

/// One of the person's records as the retention service judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedRecord {
    /// `records/{id}` in the retention registry.
    pub record: String,
    /// Its record class code.
    pub record_class_code: String,
    /// The holding system, as named in the asset register.
    pub system: String,
    /// The record's id in that system.
    pub external_id: String,
    /// Must be kept: erasing it is refused with `reasons` (001, 003 §11.6).
    pub must_keep: bool,
    /// Why it must be kept, or why it may go.
    pub reasons: Vec<String>,
}

/// What is known of an erasure request's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRetention {
    /// The retention service has answered.
    pub checked: bool,
    /// Its answer, by system then external id.
    pub records: Vec<RetainedRecord>,
}

/// An erase task of an erasure request is reported done only once the retention service has said
/// which records must be kept: before that, the system could not know what it may erase (001,
/// 003 §11.6). Waiving it is always possible.
pub fn check_erase_after_retention(
    kind: super::RequestKind,
    action: super::tasks::TaskAction,
    retention_answered: bool,
) -> Result<(), super::Rejection> {
    if kind == super::RequestKind::Erasure
        && action == super::tasks::TaskAction::Erase
        && !retention_answered
    {
        return Err(super::Rejection::Precondition(
            "the retention service has not yet said which records must be kept: erase only \
             after its answer (see ListErasureRetention)"
                .into(),
        ));
    }
    Ok(())
}

/// What the retention service's answer makes of an erasure request (issue 10, flow 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasurePlan {
    /// Per holding system, the ids there of the records that may go: one erase task each,
    /// scoped to those records, so a record that must be kept is never in an erase task.
    pub erase: Vec<(String, Vec<String>)>,
    /// Systems where every record of the person must be kept: an erase task given for one at
    /// intake is waived with [`KEPT_WAIVER`].
    pub kept_only: Vec<String>,
    /// What the person is told when any record is kept; `None` when everything may go.
    pub person_notice: Option<String>,
}

/// Why an erase task given at intake is waived when the system holds only records to keep.
pub const KEPT_WAIVER: &str = "every record of the person in this system must be kept (retention \
     not ended or legal hold): see the retention answer; the person is told by a notice task";

/// Plans the erasure of request `request` (`subjectRequests/{id}`) from the retention answer.
///
/// 001 and 003 §11.6: erasure is refused where records must be kept, and the refusal states its
/// reason; Art 12(4): the person is told, with their rights to complain to the controller (DPA
/// 2018 s164A), to the regulator and to a court.
pub fn plan(request: &str, records: &[RetainedRecord]) -> ErasurePlan {
    let mut systems: Vec<&str> = records.iter().map(|r| r.system.as_str()).collect();
    systems.sort_unstable();
    systems.dedup();
    let mut erase = Vec::new();
    let mut kept_only = Vec::new();
    for system in systems {
        let mut may_go: Vec<String> = records
            .iter()
            .filter(|r| r.system == system && !r.must_keep)
            .map(|r| r.external_id.clone())
            .collect();
        may_go.sort();
        if may_go.is_empty() {
            kept_only.push(system.to_owned());
        } else {
            erase.push((system.to_owned(), may_go));
        }
    }
    let mut kept: Vec<&RetainedRecord> = records.iter().filter(|r| r.must_keep).collect();
    kept.sort_by(|a, b| (&a.system, &a.external_id).cmp(&(&b.system, &b.external_id)));
    let person_notice = (!kept.is_empty()).then(|| {
        let mut notice = format!(
            "Your erasure request ({request}) is refused in part: we must keep {} record(s), \
             and will not erase them while the reason stands.",
            kept.len()
        );
        for r in kept {
            notice.push_str(&format!(
                "\n- {} {} ({}): {}",
                r.system,
                r.external_id,
                r.record_class_code,
                r.reasons.join("; ")
            ));
        }
        notice.push_str(
            "\nEverything else we hold about you is erased. You may complain to us about this \
             decision, complain to the regulator, or apply to a court.",
        );
        notice
    });
    ErasurePlan {
        erase,
        kept_only,
        person_notice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(system: &str, id: &str, must_keep: bool, reason: &str) -> RetainedRecord {
        RetainedRecord {
            record: format!("records/{id}"),
            record_class_code: "adult-health-record".into(),
            system: system.into(),
            external_id: id.into(),
            must_keep,
            reasons: vec![reason.into()],
        }
    }

    #[test]
    fn kept_records_stay_out_of_erase_tasks_and_the_person_is_told_why() {
        let plan = plan(
            "subjectRequests/1",
            &[
                record("care-records", "a-2", false, "retention ended"),
                record("care-records", "a-1", true, "retention runs to 2044-03-15"),
                record("hr", "e-1", true, "legal hold: tribunal claim"),
                record("crm", "c-1", false, "retention ended"),
            ],
        );
        assert_eq!(
            plan.erase,
            [
                ("care-records".to_owned(), vec!["a-2".to_owned()]),
                ("crm".to_owned(), vec!["c-1".to_owned()]),
            ]
        );
        assert_eq!(plan.kept_only, ["hr"]);
        let notice = plan.person_notice.expect("told");
        assert!(notice.contains("keep 2 record(s)"), "{notice}");
        assert!(
            notice.contains("care-records a-1 (adult-health-record): retention runs to 2044-03-15"),
            "{notice}"
        );
        assert!(
            notice.contains("hr e-1 (adult-health-record): legal hold"),
            "{notice}"
        );
        assert!(notice.contains("complain to the regulator"), "{notice}");
    }

    #[test]
    fn nothing_is_erased_before_retention_has_answered() {
        use super::super::RequestKind as K;
        use super::super::tasks::TaskAction as A;
        assert!(check_erase_after_retention(K::Erasure, A::Erase, false).is_err());
        assert!(check_erase_after_retention(K::Erasure, A::Erase, true).is_ok());
        assert!(check_erase_after_retention(K::Erasure, A::NotifyPerson, false).is_ok());
        assert!(check_erase_after_retention(K::Rectification, A::Rectify, false).is_ok());
    }

    #[test]
    fn nothing_kept_means_no_refusal_to_tell() {
        let plan = plan("subjectRequests/1", &[record("crm", "c-1", false, "ended")]);
        assert_eq!(plan.person_notice, None);
        assert!(plan.kept_only.is_empty());
        assert_eq!(plan.erase.len(), 1);
        assert_eq!(super::plan("subjectRequests/1", &[]).erase, []);
    }
}
