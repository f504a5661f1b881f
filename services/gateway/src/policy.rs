//! Who may call what: one table maps every RPC method of the suite to the roles allowed to call
//! it (issue 9 §2). A method missing from the table is denied, so a new RPC is closed until
//! someone decides who may call it; a test checks the table against the compiled protos.

/// A role, as named in the token's `roles` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The group's Data Protection Officer. Group-wide.
    Dpo,
    /// Compliance manager. Group-wide.
    ComplianceManager,
    /// Reads for audit; changes nothing. Group-wide.
    Auditor,
    /// The subsidiary as data controller (its manager). Tenant-scoped.
    Controller,
    /// Care and office staff. Tenant-scoped.
    Staff,
    /// A clinician who reviews health data before release (003 §11.4). Tenant-scoped.
    HealthProfessional,
    /// The HR platform's service account. Tenant-scoped, narrow.
    HrPlatform,
    /// The care-record platform's service account. Tenant-scoped, narrow.
    CareRecordPlatform,
}

impl Role {
    /// Every role with its claim value.
    pub const ALL: [(Self, &'static str); 8] = [
        (Self::Dpo, "dpo"),
        (Self::ComplianceManager, "compliance_manager"),
        (Self::Auditor, "auditor"),
        (Self::Controller, "controller"),
        (Self::Staff, "staff"),
        (Self::HealthProfessional, "health_professional"),
        (Self::HrPlatform, "hr_platform"),
        (Self::CareRecordPlatform, "care_record_platform"),
    ];

    /// The claim value.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a claim value; unknown roles are ignored by the caller, never guessed.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(r, _)| *r)
    }

    /// Group-wide roles may act for any tenant their token lists; the others only for the
    /// token's own tenant.
    pub fn is_group_wide(self) -> bool {
        matches!(self, Self::Dpo | Self::ComplianceManager | Self::Auditor)
    }
}

use Role::{
    Auditor, CareRecordPlatform, ComplianceManager, Controller, Dpo, HealthProfessional,
    HrPlatform, Staff,
};

/// Configure the tenant: settings, purposes, notices.
const MANAGE: &[Role] = &[Dpo, ComplianceManager, Controller];
/// Group governance: the retention schedule, legal holds, the information asset register.
const GOVERN: &[Role] = &[Dpo, ComplianceManager];
/// Handle cases day to day.
const HANDLE: &[Role] = &[Dpo, ComplianceManager, Controller, Staff];
/// Handle cases, and the platforms acting for their users.
const HANDLE_AND_PLATFORMS: &[Role] = &[
    Dpo,
    ComplianceManager,
    Controller,
    Staff,
    HrPlatform,
    CareRecordPlatform,
];
/// Read registers and figures: everyone who handles or audits, and health professionals who
/// review what is released.
const READ: &[Role] = &[
    Dpo,
    ComplianceManager,
    Auditor,
    Controller,
    Staff,
    HealthProfessional,
];
/// Read, and the platforms.
const READ_AND_PLATFORMS: &[Role] = &[
    Dpo,
    ComplianceManager,
    Auditor,
    Controller,
    Staff,
    HealthProfessional,
    HrPlatform,
    CareRecordPlatform,
];
/// Every person's role and the platforms: asking whether processing is allowed, reporting an
/// incident.
const EVERYONE_WORKING: &[Role] = &[
    Dpo,
    ComplianceManager,
    Controller,
    Staff,
    HealthProfessional,
    HrPlatform,
    CareRecordPlatform,
];

/// Every role: what any authenticated caller may do.
const ANY: &[Role] = &[
    Dpo,
    ComplianceManager,
    Auditor,
    Controller,
    Staff,
    HealthProfessional,
    HrPlatform,
    CareRecordPlatform,
];

/// Server reflection, served by the gateway behind authentication.
pub const REFLECTION: &[&str] = &[
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// `(full method path, roles allowed)`. Paths are `/package.Service/Method`.
#[rustfmt::skip]
pub const TABLE: &[(&str, &[Role])] = &[
    // Subject requests (issue 16).
    ("/dps.subject_requests.v1.SubjectRequestsService/CreateSubjectRequest", HANDLE_AND_PLATFORMS),
    ("/dps.subject_requests.v1.SubjectRequestsService/GetSubjectRequest", READ),
    ("/dps.subject_requests.v1.SubjectRequestsService/ListSubjectRequests", READ),
    ("/dps.subject_requests.v1.SubjectRequestsService/RecordClockEvent", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/TransitionSubjectRequest", HANDLE),
    // A health professional refuses access to health records (003 §11.4.1; the service checks).
    ("/dps.subject_requests.v1.SubjectRequestsService/RefuseSubjectRequest", &[Dpo, ComplianceManager, Controller, Staff, HealthProfessional]),
    ("/dps.subject_requests.v1.SubjectRequestsService/AssignSubjectRequest", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/ListRequestHistory", READ),
    ("/dps.subject_requests.v1.SubjectRequestsService/ListErasureRetention", READ),
    // Platforms pick up and complete their own tasks.
    ("/dps.subject_requests.v1.SubjectRequestsService/ListFulfilmentTasks", READ_AND_PLATFORMS),
    ("/dps.subject_requests.v1.SubjectRequestsService/WatchPendingTasks", HANDLE_AND_PLATFORMS),
    ("/dps.subject_requests.v1.SubjectRequestsService/CompleteFulfilmentTask", HANDLE_AND_PLATFORMS),
    ("/dps.subject_requests.v1.SubjectRequestsService/WaiveFulfilmentTask", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/RestrictWhileCheckingAccuracy", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/LiftAccuracyRestriction", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/LiftRequestedRestriction", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/RecordDisputedAccuracy", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/GetAccuracyCheck", READ),
    ("/dps.subject_requests.v1.SubjectRequestsService/AddReviewPart", &[Dpo, ComplianceManager, Controller, Staff, HealthProfessional]),
    ("/dps.subject_requests.v1.SubjectRequestsService/ApproveHealthRelease", &[HealthProfessional]),
    ("/dps.subject_requests.v1.SubjectRequestsService/ListReviewParts", READ),
    ("/dps.subject_requests.v1.SubjectRequestsService/BuildResponsePack", HANDLE),
    // The pack is the person's data: those who handle the request, not auditors.
    ("/dps.subject_requests.v1.SubjectRequestsService/DownloadResponsePack", HANDLE),
    ("/dps.subject_requests.v1.SubjectRequestsService/GetDashboard", READ),
    ("/dps.subject_requests.v1.SubjectRequestsService/GetTenantSettings", READ),
    ("/dps.subject_requests.v1.SubjectRequestsService/UpdateTenantSettings", MANAGE),
    // Irreversible: the DPO decides.
    ("/dps.subject_requests.v1.SubjectRequestsService/ShredPersonalData", &[Dpo]),
    // Complaints about our handling of personal data (issue 17): a web form or a platform may
    // file one for the person.
    ("/dps.subject_requests.v1.ComplaintService/CreateComplaint", HANDLE_AND_PLATFORMS),
    ("/dps.subject_requests.v1.ComplaintService/GetComplaint", READ),
    ("/dps.subject_requests.v1.ComplaintService/ListComplaints", READ),
    ("/dps.subject_requests.v1.ComplaintService/AcknowledgeComplaint", HANDLE),
    ("/dps.subject_requests.v1.ComplaintService/AssignComplaint", HANDLE),
    ("/dps.subject_requests.v1.ComplaintService/AddComplaintEntry", HANDLE),
    ("/dps.subject_requests.v1.ComplaintService/RecordComplaintOutcome", HANDLE),
    ("/dps.subject_requests.v1.ComplaintService/ListComplaintHistory", READ),
    ("/dps.subject_requests.v1.ComplaintService/GetComplaintFigures", READ),
    // Consent (issue 15).
    ("/dps.consent.v1.ConsentService/GetSettings", READ),
    ("/dps.consent.v1.ConsentService/UpdateSettings", MANAGE),
    ("/dps.consent.v1.ConsentService/CreatePurpose", MANAGE),
    ("/dps.consent.v1.ConsentService/GetPurpose", READ_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/UpdatePurpose", MANAGE),
    ("/dps.consent.v1.ConsentService/ListPurposes", READ_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/PublishNotice", MANAGE),
    ("/dps.consent.v1.ConsentService/ListNotices", READ_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/AcknowledgeNotice", HANDLE_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/RegisterPerson", HANDLE_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/RecordConsent", HANDLE_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/WithdrawConsent", HANDLE_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/ListConsents", READ),
    ("/dps.consent.v1.ConsentService/RecordRestriction", HANDLE),
    ("/dps.consent.v1.ConsentService/LiftRestriction", HANDLE),
    ("/dps.consent.v1.ConsentService/RecordObjection", HANDLE),
    // Compelling legitimate grounds are the controller's decision, with the DPO.
    ("/dps.consent.v1.ConsentService/OverrideObjection", &[Dpo, Controller]),
    ("/dps.consent.v1.ConsentService/WithdrawObjection", HANDLE),
    ("/dps.consent.v1.ConsentService/ListRestrictionsAndObjections", READ),
    ("/dps.consent.v1.ConsentService/CheckProcessing", EVERYONE_WORKING),
    ("/dps.consent.v1.ConsentService/BatchCheckProcessing", EVERYONE_WORKING),
    ("/dps.consent.v1.ConsentService/RecordDisclosure", HANDLE_AND_PLATFORMS),
    ("/dps.consent.v1.ConsentService/ListDisclosures", READ),
    // The DPO's list of people eligible for erasure (issue 10 flow 6): case handlers and
    // auditors, not platforms.
    ("/dps.consent.v1.ConsentService/ListErasureSuggestions", READ),
    ("/dps.consent.v1.ConsentService/WatchChanges", &[Dpo, ComplianceManager, Controller, HrPlatform, CareRecordPlatform]),
    // Breaches (issue 7): anyone working may report an incident; the controller and the DPO
    // classify, assess and notify; staff carry out containment; the band-to-outcome mapping is
    // group governance.
    ("/dps.breaches.v1.BreachesService/CreateIncident", EVERYONE_WORKING),
    ("/dps.breaches.v1.BreachesService/GetIncident", READ),
    ("/dps.breaches.v1.BreachesService/ClassifyIncident", MANAGE),
    ("/dps.breaches.v1.BreachesService/ListOpenBreaches", READ),
    ("/dps.breaches.v1.BreachesService/AssessRisk", MANAGE),
    ("/dps.breaches.v1.BreachesService/NotifyRegulator", MANAGE),
    ("/dps.breaches.v1.BreachesService/NotifyIndividuals", MANAGE),
    ("/dps.breaches.v1.BreachesService/AddAction", HANDLE),
    ("/dps.breaches.v1.BreachesService/CompleteAction", HANDLE),
    ("/dps.breaches.v1.BreachesService/ApplyPlaybook", HANDLE),
    ("/dps.breaches.v1.BreachesService/RecordThirdPartyNotice", HANDLE),
    ("/dps.breaches.v1.BreachesService/RecordReview", MANAGE),
    ("/dps.breaches.v1.BreachesService/GetDashboard", READ),
    ("/dps.breaches.v1.BreachesService/GetBreachSettings", READ),
    ("/dps.breaches.v1.BreachesService/UpdateBreachSettings", GOVERN),
    // The gateway's access audit log (issue 9 §6): for those who audit.
    ("/dps.gateway.v1.AuditService/ListAuditEvents", &[Dpo, Auditor]),
    ("/dps.gateway.v1.AuditService/VerifyAuditChain", &[Dpo, Auditor]),
    // Server reflection describes the API, not data: any authenticated caller.
    ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", ANY),
    ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", ANY),
    // Retention (issue 8). The schedule, holds and the asset register are group governance (the
    // service checks the same roles); a subsidiary's controller decides its own disposals;
    // platforms register records and destroy what they are told to.
    ("/dps.retention.v1.RetentionService/CreateRecordClass", GOVERN),
    ("/dps.retention.v1.RetentionService/GetRecordClass", READ_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/UpdateRecordClass", GOVERN),
    ("/dps.retention.v1.RetentionService/GetSchedule", READ_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/RegisterRecord", HANDLE_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/BulkRegisterRecords", HANDLE_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/RecordEvent", HANDLE_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/GetRecord", READ_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/RunSweep", GOVERN),
    ("/dps.retention.v1.RetentionService/RaiseDisposalReview", MANAGE),
    ("/dps.retention.v1.RetentionService/ListDisposalReviews", READ),
    ("/dps.retention.v1.RetentionService/DecideDisposalReview", MANAGE),
    ("/dps.retention.v1.RetentionService/ClaimDisposalTasks", HANDLE_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/ConfirmDisposalTask", HANDLE_AND_PLATFORMS),
    ("/dps.retention.v1.RetentionService/GetDisposalCertificate", READ),
    ("/dps.retention.v1.RetentionService/PlaceLegalHold", GOVERN),
    ("/dps.retention.v1.RetentionService/ReleaseLegalHold", GOVERN),
    ("/dps.retention.v1.RetentionService/CreateInformationAsset", GOVERN),
    ("/dps.retention.v1.RetentionService/GetInformationAsset", READ),
    ("/dps.retention.v1.RetentionService/ListInformationAssets", READ),
    ("/dps.retention.v1.RetentionService/FindSystemsForPerson", HANDLE),
    ("/dps.retention.v1.RetentionService/CheckErasure", HANDLE),
];

/// The roles allowed to call `path`; `None` when the method is not in the table (denied).
pub fn allowed(path: &str) -> Option<&'static [Role]> {
    TABLE.iter().find(|(p, _)| *p == path).map(|(_, r)| *r)
}

/// Whether any of `roles` may call `path`.
pub fn permits(path: &str, roles: &[Role]) -> bool {
    allowed(path).is_some_and(|allowed| roles.iter().any(|r| allowed.contains(r)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message as _;

    use super::*;

    /// Every method the suite's protos define, as `/package.Service/Method`.
    fn compiled_methods() -> BTreeSet<String> {
        let set = prost_types::FileDescriptorSet::decode(dps_proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        set.file
            .iter()
            .flat_map(|file| {
                file.service.iter().flat_map(move |service| {
                    service.method.iter().map(move |method| {
                        format!("/{}.{}/{}", file.package(), service.name(), method.name())
                    })
                })
            })
            .chain(REFLECTION.iter().map(|p| (*p).to_owned()))
            .collect()
    }

    #[test]
    fn the_table_names_every_compiled_method_once_and_nothing_else() {
        let compiled = compiled_methods();
        let mut seen = BTreeSet::new();
        for (path, roles) in TABLE {
            assert!(seen.insert(*path), "{path} is in the table twice");
            assert!(
                compiled.contains(*path),
                "{path} is not a method of the suite"
            );
            assert!(
                !roles.is_empty(),
                "{path} allows nobody: leave it out instead"
            );
        }
        let missing: Vec<_> = compiled
            .difference(&seen.iter().map(|p| (*p).to_owned()).collect())
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "methods without a row (denied to all): {missing:?}"
        );
    }

    #[test]
    fn auditors_change_nothing_and_only_health_professionals_approve_health_release() {
        let writes = TABLE.iter().filter(|(p, _)| {
            let method = p.rsplit('/').next().unwrap_or_default();
            ![
                "Get",
                "List",
                "Check",
                "BatchCheck",
                "Watch",
                "Download",
                "Verify",
                "ServerReflection",
            ]
            .iter()
            .any(|read| method.starts_with(read))
        });
        for (path, roles) in writes {
            assert!(!roles.contains(&Auditor), "auditors may not call {path}");
        }
        assert_eq!(
            allowed("/dps.subject_requests.v1.SubjectRequestsService/ApproveHealthRelease"),
            Some(&[HealthProfessional][..])
        );
        assert!(!permits("/dps.unknown.v1.X/Y", &[Dpo]));
    }

    #[test]
    fn codes_round_trip_and_group_wide_roles_are_the_three() {
        for (role, code) in Role::ALL {
            assert_eq!(Role::from_code(code), Some(role));
        }
        let group: Vec<_> = Role::ALL
            .iter()
            .filter(|(r, _)| r.is_group_wide())
            .map(|(_, c)| *c)
            .collect();
        assert_eq!(group, ["dpo", "compliance_manager", "auditor"]);
    }
}
