//! Fulfilment tasks (issue 16 §6): each system that may hold the person's data is asked to export,
//! erase, rectify or restrict, and reports back. A request completes only when every task is done
//! or waived with a reason (Art 15(1A): a search not made is justified).

use dps_types::{FieldViolation, Violations};

use super::{MAX_REASON, Rejection};

dps_types::resource_id!(
    /// Identifies a fulfilment task within its tenant.
    TaskId,
    "fulfilmentTasks"
);

/// Most tasks given at intake.
pub const MAX_TASKS: usize = 100;
/// Most characters in a system name.
pub const MAX_SYSTEM: usize = 200;
/// Largest export accepted, in bytes (gRPC's default message limit is 4 MiB).
pub const MAX_EXPORT: usize = 4 * 1024 * 1024 - 64 * 1024;

/// What a system is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAction {
    /// Export the person's data (access, portability).
    Export,
    /// Erase it.
    Erase,
    /// Correct it.
    Rectify,
    /// Stop processing it, keeping it stored.
    Restrict,
    /// Tell a recipient of a disclosure (named in `system`) of the rectification, erasure or
    /// restriction (Art 19; 001). Drafted by the service, never given at intake.
    NotifyRecipient,
    /// Tell the person what was refused and why, and where they can complain (Art 12(4)).
    /// Drafted by the service, never given at intake.
    NotifyPerson,
}

impl TaskAction {
    /// Every action with its stored code.
    pub const ALL: [(Self, &'static str); 6] = [
        (Self::Export, "export"),
        (Self::Erase, "erase"),
        (Self::Rectify, "rectify"),
        (Self::Restrict, "restrict"),
        (Self::NotifyRecipient, "notify_recipient"),
        (Self::NotifyPerson, "notify_person"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(a, _)| *a)
    }

    /// What each system holding the person's data is asked to do for a request of `kind`, when
    /// the systems come from the information asset register (issue 10): export for access and
    /// portability, rectify for rectification. `None`: no task per system (erasure is scoped to
    /// records by the retention check instead).
    pub fn for_request(kind: super::RequestKind) -> Option<Self> {
        use super::RequestKind as K;
        match kind {
            K::Rectification => Some(Self::Rectify),
            K::Access | K::Portability => Some(Self::Export),
            K::Erasure
            | K::Restriction
            | K::Objection
            | K::DirectMarketingObjection
            | K::AutomatedDecisionReview => None,
        }
    }

    /// A notice tells someone; the other actions change a system's data.
    pub fn is_notice(self) -> bool {
        matches!(self, Self::NotifyRecipient | Self::NotifyPerson)
    }
}

/// Who a [`TaskAction::NotifyPerson`] task names as its "system": the person the request is
/// about, told by whoever handles the request.
pub const PERSON: &str = "the person";

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for the system.
    Pending,
    /// Done, with its result.
    Completed,
    /// Not done, with the reason.
    Waived,
}

impl TaskState {
    /// Every state with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::Pending, "pending"),
        (Self::Completed, "completed"),
        (Self::Waived, "waived"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(s, _)| *s)
    }

    /// A task is finished once, then never changes.
    pub fn check_pending(self) -> Result<(), Rejection> {
        match self {
            TaskState::Pending => Ok(()),
            done => Err(Rejection::Precondition(format!(
                "the task is already {}",
                done.code()
            ))),
        }
    }
}

/// A system to ask, at intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// The system's name.
    pub system: String,
    /// What it is asked to do.
    pub action: TaskAction,
}

/// Checks the tasks given at intake: each names a system and an action, no duplicates.
pub fn parse_task_specs(
    specs: Vec<(String, Option<TaskAction>)>,
) -> Result<Vec<TaskSpec>, Vec<FieldViolation>> {
    let mut v = Violations::new();
    v.check(
        specs.len() <= MAX_TASKS,
        "fulfilment_tasks",
        "at most 100 tasks",
    );
    let mut out: Vec<TaskSpec> = Vec::with_capacity(specs.len());
    for (i, (system, action)) in specs.into_iter().enumerate() {
        let system = system.trim().to_owned();
        let field = |name: &str| format!("fulfilment_tasks[{i}].{name}");
        if system.is_empty() {
            v.add(field("system"), "required");
        } else if system.chars().count() > MAX_SYSTEM {
            v.add(field("system"), "at most 200 characters");
        }
        let Some(action) = action.filter(|a| !a.is_notice()) else {
            v.add(
                field("action"),
                "required: export, erase, rectify or restrict (notices are drafted by the service)",
            );
            continue;
        };
        let spec = TaskSpec { system, action };
        if out.contains(&spec) {
            v.add(field("system"), "duplicate system and action");
        } else {
            out.push(spec);
        }
    }
    v.finish(out)
}

/// A system's result for a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Done: an export's JSON document (personal data) or the records affected.
    Completed {
        /// For an export; empty otherwise.
        export_json: dps_types::Masked<String>,
        /// For the other actions.
        affected_records: i64,
    },
    /// Not done, and why.
    Waived {
        /// The reason.
        reason: String,
        /// For a disproportionate search (Art 15(1A)): why.
        justification: Option<String>,
    },
}

impl TaskOutcome {
    /// A completion for a task of `action`: an export carries a JSON document, the others a count.
    pub fn completed(
        action: TaskAction,
        export_json: &str,
        affected_records: i64,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        if action == TaskAction::Export {
            if export_json.trim().is_empty() {
                v.add("export_json", "required for an export task");
            } else if export_json.len() > MAX_EXPORT {
                v.add("export_json", "too large: at most 4 MiB");
            } else if serde_json::from_str::<serde_json::Value>(export_json).is_err() {
                v.add("export_json", "must be a JSON document");
            }
        } else {
            v.check(
                export_json.is_empty(),
                "export_json",
                "only for an export task",
            );
        }
        v.check(
            affected_records >= 0,
            "affected_records",
            "must not be negative",
        );
        v.check(
            !action.is_notice() || affected_records == 0,
            "affected_records",
            "not for a notice: it changes no records",
        );
        v.finish(Self::Completed {
            export_json: dps_types::Masked::new(export_json.to_owned()),
            affected_records,
        })
    }

    /// A waiver: always with a reason; a disproportionate search also with its justification.
    pub fn waived(
        reason: &str,
        disproportionate: bool,
        justification: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let reason = reason.trim();
        let justification = justification.trim();
        let mut v = Violations::new();
        v.check(
            !reason.is_empty(),
            "reason",
            "required: why the task is waived",
        );
        v.check(
            reason.chars().count() <= MAX_REASON,
            "reason",
            "at most 2000 characters",
        );
        if disproportionate {
            v.check(
                !justification.is_empty(),
                "justification",
                "required: why searching this system would be disproportionate (Art 15(1A))",
            );
        } else {
            v.check(
                justification.is_empty(),
                "justification",
                "only for a disproportionate search",
            );
        }
        v.check(
            justification.chars().count() <= MAX_REASON,
            "justification",
            "at most 2000 characters",
        );
        v.finish(Self::Waived {
            reason: reason.to_owned(),
            justification: disproportionate.then(|| justification.to_owned()),
        })
    }
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilmentTask {
    /// Its id.
    pub id: TaskId,
    /// The request it serves.
    pub request: super::SubjectRequestId,
    /// The system asked.
    pub system: String,
    /// What it is asked to do.
    pub action: TaskAction,
    /// The system's ids of the records it is about; empty: every record of the person there.
    pub records: Vec<String>,
    /// For a notice: what to tell.
    pub notice: Option<String>,
    /// Where it is.
    pub state: TaskState,
    /// The person (so the system can find them).
    pub person_id: dps_types::Masked<String>,
    /// A completed export; empty otherwise, or once the person's key was shredded.
    pub export_json: dps_types::Masked<String>,
    /// Records affected, for a completed non-export task.
    pub affected_records: Option<i64>,
    /// Why waived.
    pub waiver_reason: Option<String>,
    /// Why a search was disproportionate.
    pub justification: Option<String>,
    /// Who completed or waived it.
    pub done_by: Option<String>,
    /// When.
    pub done_at: Option<time::OffsetDateTime>,
    /// When created.
    pub created_at: time::OffsetDateTime,
}

/// A request cannot complete while any task is pending.
pub fn check_all_done(pending: i64) -> Result<(), Rejection> {
    if pending == 0 {
        Ok(())
    } else {
        Err(Rejection::Precondition(format!(
            "{pending} fulfilment task(s) still pending: complete or waive each before completing \
             the request"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_name_a_system_and_an_action_once() {
        let err = parse_task_specs(vec![
            ("care-records".into(), Some(TaskAction::Export)),
            (" ".into(), Some(TaskAction::Export)),
            ("hr".into(), None),
            ("care-records".into(), Some(TaskAction::Export)),
            ("pharmacy".into(), Some(TaskAction::NotifyRecipient)),
        ])
        .expect_err("invalid");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "fulfilment_tasks[1].system",
                "fulfilment_tasks[2].action",
                "fulfilment_tasks[3].system",
                "fulfilment_tasks[4].action"
            ]
        );
    }

    #[test]
    fn an_export_carries_json_and_other_tasks_a_count() {
        assert!(TaskOutcome::completed(TaskAction::Export, r#"{"notes":[]}"#, 0).is_ok());
        let err = TaskOutcome::completed(TaskAction::Export, "notes: none", 0).expect_err("json");
        assert_eq!(err[0].description, "must be a JSON document");
        assert!(TaskOutcome::completed(TaskAction::Erase, "", 12).is_ok());
        let err = TaskOutcome::completed(TaskAction::Erase, "{}", -1).expect_err("both");
        assert_eq!(err.len(), 2);
        assert!(TaskOutcome::completed(TaskAction::NotifyRecipient, "", 0).is_ok());
        let err = TaskOutcome::completed(TaskAction::NotifyPerson, "", 3).expect_err("a count");
        assert_eq!(err[0].field, "affected_records");
    }

    #[test]
    fn a_disproportionate_search_needs_its_justification() {
        let err = TaskOutcome::waived("archive on tape", true, "").expect_err("unjustified");
        assert_eq!(err[0].field, "justification");
        assert!(TaskOutcome::waived("archive on tape", true, "restore takes weeks").is_ok());
        assert_eq!(
            TaskOutcome::waived(" ", false, "").expect_err("no reason")[0].field,
            "reason"
        );
    }

    #[test]
    fn completion_waits_for_every_task() {
        assert!(check_all_done(0).is_ok());
        assert!(check_all_done(2).is_err());
        assert!(TaskState::Completed.check_pending().is_err());
    }
}
