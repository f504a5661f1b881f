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
