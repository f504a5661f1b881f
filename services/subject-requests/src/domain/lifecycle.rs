//! The lifecycle of a request as a state machine (issue 16 §2): every move is a [`Step`], and a
//! step a state does not allow is refused before anything is stored.

use std::fmt;

/// Where a request is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Recorded as received; every request starts here.
    Received,
    /// Identity information was asked for; the clock starts again when it arrives (Art 12A).
    AwaitingIdentity,
    /// Clarification was asked for; the clock is stopped (Art 12A(3)).
    AwaitingClarification,
    /// A fee was asked for; the clock starts again when it is paid.
    AwaitingFee,
    /// Being worked on.
    InProgress,
    /// Gathered, being reviewed before release (third-party and health data).
    AwaitingReview,
    /// Answered.
    Completed,
    /// Refused (Art 12(4)).
    Refused,
    /// Withdrawn by the person.
    Withdrawn,
    /// The person challenged the outcome.
    Appealed,
    /// Finished for good; kept as a record (003 §19).
    Closed,
}

impl RequestState {
    /// Every state with its stored code.
    pub const ALL: [(Self, &'static str); 11] = [
        (Self::Received, "received"),
        (Self::AwaitingIdentity, "awaiting_identity"),
        (Self::AwaitingClarification, "awaiting_clarification"),
        (Self::AwaitingFee, "awaiting_fee"),
        (Self::InProgress, "in_progress"),
        (Self::AwaitingReview, "awaiting_review"),
        (Self::Completed, "completed"),
        (Self::Refused, "refused"),
        (Self::Withdrawn, "withdrawn"),
        (Self::Appealed, "appealed"),
        (Self::Closed, "closed"),
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

    /// Whether a response is still owed: the deadlines matter and work may be done. Kept in step
    /// with the `is_open` column of the migration.
    pub fn is_open(self) -> bool {
        use RequestState::*;
        matches!(
            self,
            Received
                | AwaitingIdentity
                | AwaitingClarification
                | AwaitingFee
                | InProgress
                | AwaitingReview
        )
    }

    /// The state after `step`, or why the step is not allowed now.
    pub fn after(self, step: Step) -> Result<RequestState, IllegalStep> {
        use RequestState::*;
        use Step::*;
        let next = match (step, self) {
            (Start, Received) => InProgress,
            (IdentityRequested, Received | InProgress) => AwaitingIdentity,
            (IdentityReceived, AwaitingIdentity) => InProgress,
            (FeeRequested, Received | InProgress) => AwaitingFee,
            (FeePaid, AwaitingFee) => InProgress,
            (ClarificationRequested, Received | InProgress) => AwaitingClarification,
            (ClarificationReceived, AwaitingClarification) => InProgress,
            // The clock decides whether an extension is still in time; it does not move the state.
            (Extend, Received | AwaitingClarification | InProgress | AwaitingReview) => self,
            (SubmitForReview, InProgress) => AwaitingReview,
            (Complete, InProgress | AwaitingReview) => Completed,
            (Refuse, state) if state.is_open() => Refused,
            (Withdraw, state) if state.is_open() => Withdrawn,
            (Assign, state) if state.is_open() => state,
            (Review, InProgress | AwaitingReview) => self,
            (Appeal, Completed | Refused) => Appealed,
            (Close, Completed | Refused | Withdrawn | Appealed) => Closed,
            (step, state) => return Err(IllegalStep { step, state }),
        };
        Ok(next)
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code().replace('_', " "))
    }
}

/// A move along the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Work begins.
    Start,
    /// Identity information is asked for.
    IdentityRequested,
    /// It arrived.
    IdentityReceived,
    /// A fee is asked for.
    FeeRequested,
    /// It was paid.
    FeePaid,
    /// Clarification is asked for.
    ClarificationRequested,
    /// It arrived.
    ClarificationReceived,
    /// The period is extended.
    Extend,
    /// Everything is gathered; review before release.
    SubmitForReview,
    /// The response was sent.
    Complete,
    /// Refused.
    Refuse,
    /// The person withdrew it.
    Withdraw,
    /// A handler is assigned.
    Assign,
    /// A part of the response is reviewed (recorded or approved).
    Review,
    /// The person challenged the outcome.
    Appeal,
    /// Finished for good.
    Close,
}

impl Step {
    /// The history's name for the step.
    pub fn code(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::IdentityRequested => "identity_requested",
            Step::IdentityReceived => "identity_received",
            Step::FeeRequested => "fee_requested",
            Step::FeePaid => "fee_paid",
            Step::ClarificationRequested => "clarification_requested",
            Step::ClarificationReceived => "clarification_received",
            Step::Extend => "extend",
            Step::SubmitForReview => "submit_for_review",
            Step::Complete => "complete",
            Step::Refuse => "refuse",
            Step::Withdraw => "withdraw",
            Step::Assign => "assign",
            Step::Review => "review",
            Step::Appeal => "appeal",
            Step::Close => "close",
        }
    }
}

impl Step {
    /// What the step does, for messages: "cannot {verb} a request that is ...".
    pub fn verb(self) -> &'static str {
        match self {
            Step::Start => "start work on",
            Step::IdentityRequested => "ask for identity on",
            Step::IdentityReceived => "record identity received for",
            Step::FeeRequested => "ask for a fee on",
            Step::FeePaid => "record a fee paid for",
            Step::ClarificationRequested => "ask for clarification on",
            Step::ClarificationReceived => "record clarification received for",
            Step::Extend => "extend",
            Step::SubmitForReview => "submit for review",
            Step::Complete => "complete",
            Step::Refuse => "refuse",
            Step::Withdraw => "withdraw",
            Step::Assign => "assign",
            Step::Review => "review parts of",
            Step::Appeal => "appeal",
            Step::Close => "close",
        }
    }
}

/// A step the request's state does not allow (FAILED_PRECONDITION).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a request that is {state}", .step.verb())]
pub struct IllegalStep {
    /// What was attempted.
    pub step: Step,
    /// The state it was attempted in.
    pub state: RequestState,
}

#[cfg(test)]
mod tests {
    use super::RequestState::*;
    use super::Step::*;
    use super::*;

    #[test]
    fn an_access_request_walks_the_whole_lifecycle() {
        let path = [
            (IdentityRequested, AwaitingIdentity),
            (IdentityReceived, InProgress),
            (ClarificationRequested, AwaitingClarification),
            (Extend, AwaitingClarification),
            (ClarificationReceived, InProgress),
            (SubmitForReview, AwaitingReview),
            (Complete, Completed),
            (Appeal, Appealed),
            (Close, Closed),
        ];
        let mut state = Received;
        for (step, expected) in path {
            state = state.after(step).expect("allowed");
            assert_eq!(state, expected, "after {step:?}");
        }
    }

    #[test]
    fn finished_requests_take_no_more_work() {
        for state in [Completed, Refused, Withdrawn, Appealed, Closed] {
            for step in [
                Start,
                IdentityRequested,
                Extend,
                Complete,
                Refuse,
                Withdraw,
                Assign,
            ] {
                assert!(state.after(step).is_err(), "{step:?} in {state:?}");
            }
        }
        assert!(Closed.after(Appeal).is_err());
        assert!(Closed.after(Close).is_err());
    }

    #[test]
    fn answers_need_their_question_and_completion_needs_work() {
        assert!(Received.after(IdentityReceived).is_err());
        assert!(InProgress.after(FeePaid).is_err());
        assert!(AwaitingIdentity.after(ClarificationReceived).is_err());
        assert!(Received.after(Complete).is_err());
        assert!(AwaitingFee.after(Complete).is_err());
        // No extension while the clock has not started.
        assert!(AwaitingIdentity.after(Extend).is_err());
        assert_eq!(AwaitingFee.after(Refuse), Ok(Refused));
    }

    #[test]
    fn refusals_read_like_the_rule() {
        let err = Completed.after(Refuse).expect_err("finished");
        assert_eq!(err.to_string(), "cannot refuse a request that is completed");
        let err = Received.after(SubmitForReview).expect_err("not started");
        assert_eq!(
            err.to_string(),
            "cannot submit for review a request that is received"
        );
    }

    #[test]
    fn open_states_are_exactly_the_ones_owing_a_response() {
        let open: Vec<&str> = RequestState::ALL
            .iter()
            .filter(|(s, _)| s.is_open())
            .map(|(_, c)| *c)
            .collect();
        assert_eq!(
            open,
            [
                "received",
                "awaiting_identity",
                "awaiting_clarification",
                "awaiting_fee",
                "in_progress",
                "awaiting_review"
            ]
        );
    }
}
