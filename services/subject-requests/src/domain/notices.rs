//! Notices to the recipients of a person's data (Art 19; 001: "recipients the data was disclosed
//! to are told of rectification, erasure and restriction"). The consent service keeps the
//! disclosures log; this service drafts one notice per recipient as a task for the handler.

use super::RequestKind;

/// One entry of the consent service's disclosures log, as far as a notice needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosed {
    /// The receiving organisation.
    pub recipient: String,
    /// What it received.
    pub data_categories: Vec<String>,
}

/// One notice per recipient the person's data was disclosed to, with what they received, for a
/// request of `kind` (`subjectRequests/{id}` is `request`); by recipient. Kinds that change
/// nothing a recipient holds get none.
pub fn recipient_notices(
    kind: RequestKind,
    request: &str,
    disclosures: &[Disclosed],
) -> Vec<(String, String)> {
    let ask = match kind {
        RequestKind::Erasure => {
            "is being erased at their request ({request}). Please erase your copy unless you \
             must keep it, and confirm to us"
        }
        RequestKind::Rectification => {
            "was inaccurate or incomplete and has been rectified at their request ({request}). \
             Please correct your copy with the corrected data we send with this notice, and \
             confirm to us"
        }
        RequestKind::Restriction => {
            "is restricted at their request ({request}): please store it but not otherwise \
             process it until we tell you the restriction is lifted"
        }
        RequestKind::Access
        | RequestKind::Portability
        | RequestKind::Objection
        | RequestKind::DirectMarketingObjection
        | RequestKind::AutomatedDecisionReview => return Vec::new(),
    }
    .replace("{request}", request);
    let mut recipients: Vec<&str> = disclosures.iter().map(|d| d.recipient.as_str()).collect();
    recipients.sort_unstable();
    recipients.dedup();
    recipients
        .into_iter()
        .map(|recipient| {
            let mut categories: Vec<&str> = disclosures
                .iter()
                .filter(|d| d.recipient == recipient)
                .flat_map(|d| d.data_categories.iter().map(String::as_str))
                .collect();
            categories.sort_unstable();
            categories.dedup();
            let notice = format!(
                "The person's data we disclosed to you ({}) {ask} (UK GDPR Art 19).",
                categories.join(", ")
            );
            (recipient.to_owned(), notice)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> Vec<Disclosed> {
        vec![
            Disclosed {
                recipient: "St Mary's GP".into(),
                data_categories: vec!["health".into()],
            },
            Disclosed {
                recipient: "County council".into(),
                data_categories: vec!["contact details".into()],
            },
            Disclosed {
                recipient: "St Mary's GP".into(),
                data_categories: vec!["contact details".into(), "health".into()],
            },
        ]
    }

    #[test]
    fn each_recipient_is_told_once_of_everything_it_received() {
        let notices = recipient_notices(RequestKind::Erasure, "subjectRequests/1", &log());
        let whom: Vec<&str> = notices.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(whom, ["County council", "St Mary's GP"]);
        assert!(
            notices[1]
                .1
                .contains("(contact details, health) is being erased"),
            "{}",
            notices[1].1
        );
        assert!(
            notices[1].1.contains("(subjectRequests/1)"),
            "{}",
            notices[1].1
        );
    }

    #[test]
    fn the_notice_says_what_changed() {
        let rectified = recipient_notices(RequestKind::Rectification, "subjectRequests/2", &log());
        assert!(
            rectified[0].1.contains("has been rectified"),
            "{}",
            rectified[0].1
        );
        let restricted = recipient_notices(RequestKind::Restriction, "subjectRequests/3", &log());
        assert!(
            restricted[0].1.contains("is restricted"),
            "{}",
            restricted[0].1
        );
        assert!(recipient_notices(RequestKind::Access, "subjectRequests/4", &log()).is_empty());
    }
}
