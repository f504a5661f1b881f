//! The default retention schedule a new tenant starts with: every row of policy 003 §19 (and the
//! unsuccessful applicants of §17), as rules a tenant can then edit. Where the seed diverges from
//! the NHS Records Management Code of Practice the seed is kept and the note says so
//! (DESIGN §3.3). "Pharmacy: refer to pharmacy policies" names no period and is not a row.

use super::class::{ClassChange, EndAction, NewRecordClass};
use super::rule::Event::{self, *};

struct Row {
    code: &'static str,
    name: &'static str,
    triggers: &'static [Event],
    rule: &'static str,
    action: EndAction,
    note: &'static str,
}

const DESTROY: EndAction = EndAction::ReviewThenDestroy;
const TRANSFER: EndAction = EndAction::ReviewThenTransfer;

const ROWS: &[Row] = &[
    Row {
        code: "adult-health-record",
        name: "Adult health records / social records",
        triggers: &[Discharged, Died],
        rule: "if(died_in_care, after(died, 8y), after(discharged, 20y))",
        action: DESTROY,
        note: "003 §19: 20 years from last entry, or 8 years from death if the person died while \
               receiving our services. The NHS code keeps adult care records 8 years after care \
               ends; the group's 20 years is kept.",
    },
    Row {
        code: "child-health-record",
        name: "Children's health records",
        triggers: &[Discharged, Died],
        rule: "if(aged(discharged, 17), birthday(26), birthday(25))",
        action: DESTROY,
        note: "003 §19: 25th birthday, or 26th if the child was 17 at the end of treatment.",
    },
    Row {
        code: "mental-health-record",
        name: "Mental health records",
        triggers: &[Discharged, Died],
        rule: "if(died_in_care, earliest(after(discharged, 20y), after(died, 8y)), after(discharged, 20y))",
        action: DESTROY,
        note: "003 §19: 20 years, or 8 years after death if sooner (only if the person died \
               while receiving our services). The NHS code says 10 years after death; the seed's \
               8 is kept.",
    },
    Row {
        code: "long-term-illness-record",
        name: "Records of long-term illness",
        triggers: &[Discharged, Died],
        rule: "if(died_in_care, earliest(after(discharged, 30y), after(died, 8y)), after(discharged, 30y))",
        action: DESTROY,
        note: "003 §19: 30 years, or 8 years after death if sooner (only if the person died \
               while receiving our services).",
    },
    Row {
        code: "serious-incident",
        name: "Serious incidents",
        triggers: &[Closed],
        rule: "after(closed, 20y)",
        action: TRANSFER,
        note: "003 §19: 20 years after the case is closed, then to a place of deposit.",
    },
    Row {
        code: "incident",
        name: "Non-serious incidents",
        triggers: &[Closed],
        rule: "after(closed, 10y)",
        action: TRANSFER,
        note: "003 §19: 10 years after the case is closed, then to a place of deposit.",
    },
    Row {
        code: "policy",
        name: "Policies",
        triggers: &[OrganisationEnded],
        rule: "after(organisation_ended, 6y)",
        action: TRANSFER,
        note: "003 §19: life of the organisation + 6 years; kept undated until the organisation \
               ends.",
    },
    Row {
        code: "occupational-health-record",
        name: "Occupational health records",
        triggers: &[LeftEmployment],
        rule: "earliest(birthday(75), after(left_employment, 6y))",
        action: DESTROY,
        note: "003 §19: 75th birthday, or 6 years after employment ceased, whichever is sooner; \
               dated only once the employee leaves. DESIGN §3.3 notes the NHS code's staff rule \
               differs; the seed is kept.",
    },
    Row {
        code: "employee-record",
        name: "Employee records (including clinical training records)",
        triggers: &[LeftEmployment],
        rule: "earliest(birthday(75), after(left_employment, 6y))",
        action: DESTROY,
        note: "003 §19: 75th birthday, or 6 years after employment ceased, whichever is sooner; \
               dated only once the employee leaves.",
    },
    Row {
        code: "mandatory-training-record",
        name: "Mandatory training records",
        triggers: &[TrainingCompleted],
        rule: "after(training_completed, 10y)",
        action: DESTROY,
        note: "003 §19: 10 years after the training was completed.",
    },
    Row {
        code: "training-record",
        name: "Other training records",
        triggers: &[TrainingCompleted],
        rule: "after(training_completed, 6y)",
        action: DESTROY,
        note: "003 §19: 6 years after the training was completed.",
    },
    Row {
        code: "timesheet",
        name: "Timesheets",
        triggers: &[Created],
        rule: "after(created, 2y)",
        action: DESTROY,
        note: "003 §19: 2 years from creation.",
    },
    Row {
        code: "complaint",
        name: "Complaints",
        triggers: &[Closed],
        rule: "after(closed, 10y)",
        action: DESTROY,
        note: "003 §19: 10 years after closure.",
    },
    Row {
        code: "subject-access-request",
        name: "Subject access requests",
        triggers: &[Closed],
        rule: "after(closed, 3y)",
        action: DESTROY,
        note: "003 §19: 3 years after the request is closed.",
    },
    Row {
        code: "subject-access-request-appeal",
        name: "Subject access requests with an appeal",
        triggers: &[AppealClosed],
        rule: "after(appeal_closed, 6y)",
        action: DESTROY,
        note: "003 §19: 6 years after the appeal is closed.",
    },
    Row {
        code: "unsuccessful-applicant",
        name: "Unsuccessful job applicants",
        triggers: &[RecruitmentDecided],
        rule: "after(recruitment_decided, 3m)",
        action: DESTROY,
        note: "003 §17: shred after 3 months from the recruitment decision, criminal record \
               checks included; never over 6 months unless the need is justified and documented \
               (an extension's reason is that record, 003 §17.1.1).",
    },
];

/// The default schedule, in the order of 003 §19.
pub fn default_schedule() -> Vec<NewRecordClass> {
    ROWS.iter()
        .map(|row| {
            let change = ClassChange::parse(
                row.name,
                "",
                row.triggers,
                row.rule,
                Some(row.action),
                row.note,
            );
            NewRecordClass::parse(row.code, change).expect("the shipped schedule is valid")
        })
        .collect()
}

#[cfg(test)]
mod tests;
