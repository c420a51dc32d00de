//! Who may do what to whose documents, and the audit trail of it.
//!
//! Identities come from a verified token (a development token locally, Cognito through API
//! Gateway in AWS): a subject and one role. The rule is a pure function of the principal,
//! the action, the patient the resource belongs to and whether the principal is on that
//! patient's care team, so it is tested exhaustively without any store.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The three kinds of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Uploads documents and sees their own.
    Patient,
    /// Reads the documents of the patients whose care team they are on.
    Doctor,
    /// Clinic staff: imports documents and follows their status; reads content only
    /// when also on the patient's care team.
    Staff,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Patient, Role::Doctor, Role::Staff];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Doctor => "doctor",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller. A patient's subject is their patient id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub sub: String,
    pub role: Role,
}

/// What a request does to a patient's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CreateUpload,
    ListDocuments,
    ReadMetadata,
    ReadText,
    ReadRendition,
    Search,
    /// Run a FAILED document again.
    RetryDocument,
    /// Send the bytes of a created upload (to its URL, which is the authority).
    ReceiveUpload,
    /// Ask who the token names (`/v1/me`).
    ReadIdentity,
    /// Say what type a READY document is (it wins over the type read from its text).
    FileDocument,
    /// Download a READY document's searchable PDF.
    ReadPdf,
    /// Read documents as FHIR resources (DocumentReference and searchset Bundles).
    ReadFhir,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::CreateUpload,
        Action::ListDocuments,
        Action::ReadMetadata,
        Action::ReadText,
        Action::ReadRendition,
        Action::Search,
        Action::RetryDocument,
        Action::ReceiveUpload,
        Action::ReadIdentity,
        Action::FileDocument,
        Action::ReadPdf,
        Action::ReadFhir,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateUpload => "create_upload",
            Action::ListDocuments => "list_documents",
            Action::ReadMetadata => "read_metadata",
            Action::ReadText => "read_text",
            Action::ReadRendition => "read_rendition",
            Action::Search => "search",
            Action::RetryDocument => "retry_document",
            Action::ReceiveUpload => "receive_upload",
            Action::ReadIdentity => "read_identity",
            Action::FileDocument => "file_document",
            Action::ReadPdf => "read_pdf",
            Action::ReadFhir => "read_fhir",
        }
    }

    /// Whether the action reveals what a document says (its text or its pixels).
    pub fn reads_content(self) -> bool {
        matches!(
            self,
            Action::ReadText
                | Action::ReadRendition
                | Action::Search
                | Action::ReadPdf
                | Action::ReadFhir
        )
    }
}

/// Why a request was refused: stable codes, also written to the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denial {
    /// A patient asked for another patient's records.
    NotOwnRecords,
    /// A doctor (or staff member, for content) is not on the patient's care team.
    NotOnCareTeam,
}

impl Denial {
    pub fn as_str(self) -> &'static str {
        match self {
            Denial::NotOwnRecords => "not_own_records",
            Denial::NotOnCareTeam => "not_on_care_team",
        }
    }
}

/// The authorisation rule:
/// - a patient may do everything with their own records and nothing with anyone else's;
/// - a doctor may do everything for the patients whose care team they are on;
/// - staff may upload for any patient and follow documents' status (list, metadata), but
///   read text, renditions or search results only when on the patient's care team.
pub fn decide(
    who: &Principal,
    action: Action,
    patient_id: &str,
    on_care_team: bool,
) -> Result<(), Denial> {
    match rule(who, action, patient_id) {
        Rule::Allow => Ok(()),
        Rule::Deny(denial) => Err(denial),
        Rule::IfOnCareTeam if on_care_team => Ok(()),
        Rule::IfOnCareTeam => Err(Denial::NotOnCareTeam),
    }
}

/// What the rule says before anyone looks at the care team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Allow,
    Deny(Denial),
    /// Allowed if the caller is on the patient's care team.
    IfOnCareTeam,
}

/// [`decide`], without the care team: whether it is needed at all.
pub fn rule(who: &Principal, action: Action, patient_id: &str) -> Rule {
    match who.role {
        Role::Patient if who.sub == patient_id => Rule::Allow,
        Role::Patient => Rule::Deny(Denial::NotOwnRecords),
        Role::Doctor => Rule::IfOnCareTeam,
        Role::Staff if !action.reads_content() => Rule::Allow,
        Role::Staff => Rule::IfOnCareTeam,
    }
}

/// [`decide`], reading the care team from the store only when the rule turns on it.
pub async fn authorize(
    access: &dyn crate::ports::AccessStore,
    who: &Principal,
    action: Action,
    patient_id: &str,
) -> Result<Result<(), Denial>, crate::ports::StoreError> {
    let on_care_team = rule(who, action, patient_id) == Rule::IfOnCareTeam
        && access.is_care_team_member(patient_id, &who.sub).await?;
    Ok(decide(who, action, patient_id, on_care_team))
}

/// Whether an audited request was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allowed,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }
}

/// One audit record: who, what, when, outcome. Holds ids and codes only, never content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Time-ordered and unique: `{at}#{random}`.
    pub id: String,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    /// The subject of the token, or `None` when no valid token came with the request.
    pub actor: Option<String>,
    pub role: Option<Role>,
    /// An [`Action`] name, or `authenticate` for a refused token.
    pub action: String,
    pub patient_id: Option<String>,
    pub document_id: Option<String>,
    pub outcome: Outcome,
    /// The denial or error code when refused.
    pub reason: Option<String>,
}

/// One page of audit records, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    pub next: Option<String>,
}

/// The audit index's partition for a record made at `at` (RFC 3339): its month, `yyyy-mm`.
pub fn audit_month(at: &str) -> &str {
    at.get(..7).unwrap_or(at)
}

/// The month before `yyyy-mm`, or `None` if `month` is not of that form.
pub fn previous_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (u32, u32) = (y.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&m) || y == 0 {
        return None;
    }
    Some(if m == 1 {
        format!("{:04}-12", y - 1)
    } else {
        format!("{y:04}-{:02}", m - 1)
    })
}

/// Audit records are kept at least this long (HIPAA asks for six years of audit logs):
/// listing every patient's records looks back this many months.
pub const AUDIT_MONTHS: u32 = 12 * 7;

/// Care-team members are subjects of the same form as patient ids.
pub fn validate_subject(sub: &str) -> Result<(), String> {
    crate::keys::validate_patient_id(sub)
        .map_err(|_| "a subject is 1 to 64 characters of letters, digits, '_' and '-'".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, sub: &str) -> Principal {
        Principal {
            sub: sub.into(),
            role,
        }
    }

    /// Every role × action × (own / care team / neither) cell of the matrix.
    #[test]
    fn the_whole_matrix() {
        for action in Action::ALL {
            // Patients: their own records only, care team or not.
            assert_eq!(
                decide(&who(Role::Patient, "p1"), action, "p1", false),
                Ok(())
            );
            assert_eq!(
                decide(&who(Role::Patient, "p1"), action, "p2", true),
                Err(Denial::NotOwnRecords)
            );
            // Doctors: their care team's patients only.
            assert_eq!(decide(&who(Role::Doctor, "d1"), action, "p1", true), Ok(()));
            assert_eq!(
                decide(&who(Role::Doctor, "d1"), action, "p1", false),
                Err(Denial::NotOnCareTeam)
            );
            // A doctor whose subject equals the patient id is not that patient.
            assert_eq!(
                decide(&who(Role::Doctor, "p1"), action, "p1", false),
                Err(Denial::NotOnCareTeam)
            );
            // Staff: everything on the care team; off it, no content.
            assert_eq!(decide(&who(Role::Staff, "s1"), action, "p1", true), Ok(()));
            let off = decide(&who(Role::Staff, "s1"), action, "p1", false);
            if action.reads_content() {
                assert_eq!(off, Err(Denial::NotOnCareTeam), "{action:?}");
            } else {
                assert_eq!(off, Ok(()), "{action:?}");
            }
        }
    }

    #[test]
    fn audit_months_step_back_across_years() {
        assert_eq!(audit_month("2026-11-28T02:30:00.123Z"), "2026-11");
        assert_eq!(previous_month("2026-11").as_deref(), Some("2026-10"));
        assert_eq!(previous_month("2026-01").as_deref(), Some("2025-12"));
        assert_eq!(previous_month("2026-13"), None);
        assert_eq!(previous_month("junk"), None);
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for a in Action::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
