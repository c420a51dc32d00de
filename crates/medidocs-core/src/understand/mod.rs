//! What a document is and when it happened, from its text in reading order: a document
//! type (with its LOINC document code, a confidence and the words that decided it) and its
//! dates with their roles ([`dates`]). Rules over words and where they stand (a title
//! counts more than a line of the body), deterministic and explainable; the same code in
//! both runtimes.

pub mod dates;

use serde::{Deserialize, Serialize};

use dates::latest_date;
pub use dates::{DateRole, FoundDate, Region, document_date, find_dates};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    LabReport,
    ImagingReport,
    Prescription,
    ReferralLetter,
    DischargeSummary,
    ClinicLetter,
    ConsultationNote,
    OperativeNote,
    VaccinationRecord,
    InsuranceCard,
    ConsentForm,
    Other,
}

impl DocumentType {
    pub const ALL: [DocumentType; 12] = [
        DocumentType::LabReport,
        DocumentType::ImagingReport,
        DocumentType::Prescription,
        DocumentType::ReferralLetter,
        DocumentType::DischargeSummary,
        DocumentType::ClinicLetter,
        DocumentType::ConsultationNote,
        DocumentType::OperativeNote,
        DocumentType::VaccinationRecord,
        DocumentType::InsuranceCard,
        DocumentType::ConsentForm,
        DocumentType::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DocumentType::LabReport => "lab_report",
            DocumentType::ImagingReport => "imaging_report",
            DocumentType::Prescription => "prescription",
            DocumentType::ReferralLetter => "referral_letter",
            DocumentType::DischargeSummary => "discharge_summary",
            DocumentType::ClinicLetter => "clinic_letter",
            DocumentType::ConsultationNote => "consultation_note",
            DocumentType::OperativeNote => "operative_note",
            DocumentType::VaccinationRecord => "vaccination_record",
            DocumentType::InsuranceCard => "insurance_card",
            DocumentType::ConsentForm => "consent_form",
            DocumentType::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<DocumentType> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The type a label names, as staff write it: its code ("lab_report"), its name in
    /// words ("Lab report", "lab results") or a common name of it ("bloods", "x-ray",
    /// "op note"); none for a label that names no type.
    pub fn from_label(label: &str) -> Option<DocumentType> {
        let norm: String = label
            .to_lowercase()
            .replace(['_', '-', '/', '.'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let singular = norm.strip_suffix('s').unwrap_or(&norm);
        Self::ALL.into_iter().find(|t| {
            let code = t.code().replace('_', " ");
            let named = |n: &str| n == norm || n == singular;
            named(&code)
                || LABELS
                    .iter()
                    .any(|(lt, names)| lt == t && names.iter().any(|n| named(n)))
        })
    }

    /// The LOINC document code (Document Ontology) and its display name.
    pub fn loinc(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            DocumentType::LabReport => ("11502-2", "Laboratory report"),
            DocumentType::ImagingReport => ("18748-4", "Diagnostic imaging study"),
            DocumentType::Prescription => ("57833-6", "Prescription for medication"),
            DocumentType::ReferralLetter => ("57133-1", "Referral note"),
            DocumentType::DischargeSummary => ("18842-5", "Discharge summary"),
            DocumentType::ClinicLetter => ("51852-2", "Letter"),
            DocumentType::ConsultationNote => ("11488-4", "Consult note"),
            DocumentType::OperativeNote => ("11504-8", "Surgical operation note"),
            DocumentType::VaccinationRecord => ("82593-5", "Immunization summary report"),
            DocumentType::InsuranceCard => ("64290-0", "Health insurance card"),
            DocumentType::ConsentForm => ("59284-0", "Consent Document"),
            DocumentType::Other => return None,
        })
    }
}

/// A phrase that speaks for a type, and how strongly. Phrases are matched on word
/// boundaries, case aside; a phrase in the title (the first lines) counts three times.
struct Cue {
    doc: DocumentType,
    phrase: &'static str,
    weight: f32,
}

const fn cue(doc: DocumentType, phrase: &'static str, weight: f32) -> Cue {
    Cue {
        doc,
        phrase,
        weight,
    }
}

use DocumentType as T;

/// Names of the document itself: decisive in a title.
const NAMES: &[Cue] = &[
    cue(T::LabReport, "laboratory report", 6.0),
    cue(T::LabReport, "lab report", 6.0),
    cue(T::LabReport, "laboratory results", 6.0),
    cue(T::LabReport, "lab results", 5.0),
    cue(T::LabReport, "pathology report", 5.0),
    cue(T::LabReport, "blood test results", 5.0),
    cue(T::LabReport, "cumulative report", 4.0),
    cue(T::ImagingReport, "radiology report", 6.0),
    cue(T::ImagingReport, "imaging report", 6.0),
    cue(T::ImagingReport, "diagnostic imaging", 5.0),
    cue(T::ImagingReport, "x-ray report", 6.0),
    cue(T::ImagingReport, "ultrasound report", 6.0),
    cue(T::ImagingReport, "mri report", 6.0),
    cue(T::ImagingReport, "ct report", 6.0),
    cue(T::ImagingReport, "radiology", 5.0),
    cue(T::ImagingReport, "imaging", 4.0),
    cue(T::LabReport, "labs", 4.0),
    cue(T::LabReport, "laboratories", 4.0),
    cue(T::LabReport, "patient service centre", 4.0),
    cue(T::LabReport, "patient service center", 4.0),
    cue(T::LabReport, "laboratory", 4.0),
    cue(T::LabReport, "clinical biochemistry", 5.0),
    cue(T::ConsultationNote, "soap note", 6.0),
    cue(T::ReferralLetter, "referral reason", 5.0),
    cue(T::Prescription, "prescription", 5.0),
    cue(T::Prescription, "repeat prescription", 6.0),
    cue(T::ReferralLetter, "referral letter", 6.0),
    cue(T::ReferralLetter, "referral", 4.0),
    cue(T::ReferralLetter, "reason for referral", 5.0),
    cue(T::DischargeSummary, "discharge summary", 7.0),
    cue(T::DischargeSummary, "discharge letter", 6.0),
    cue(T::DischargeSummary, "summary of admission", 6.0),
    cue(T::ClinicLetter, "clinic letter", 6.0),
    cue(T::ClinicLetter, "outpatient letter", 6.0),
    cue(T::ClinicLetter, "outpatient clinic", 4.0),
    cue(T::ConsultationNote, "consultation note", 6.0),
    cue(T::ConsultationNote, "consult note", 6.0),
    cue(T::ConsultationNote, "progress note", 5.0),
    cue(T::ConsultationNote, "office visit", 5.0),
    cue(T::ConsultationNote, "consultation record", 6.0),
    cue(T::OperativeNote, "operation note", 7.0),
    cue(T::OperativeNote, "operative note", 7.0),
    cue(T::OperativeNote, "operative report", 7.0),
    cue(T::OperativeNote, "procedure note", 5.0),
    cue(T::OperativeNote, "surgical report", 6.0),
    cue(T::VaccinationRecord, "vaccination record", 7.0),
    cue(T::VaccinationRecord, "immunisation record", 7.0),
    cue(T::VaccinationRecord, "immunization record", 7.0),
    cue(T::VaccinationRecord, "vaccination certificate", 7.0),
    cue(T::VaccinationRecord, "vaccination card", 7.0),
    cue(T::VaccinationRecord, "immunization history", 6.0),
    cue(T::InsuranceCard, "insurance card", 7.0),
    cue(T::InsuranceCard, "member card", 5.0),
    cue(T::InsuranceCard, "health insurance", 5.0),
    cue(T::InsuranceCard, "medical card", 5.0),
    cue(T::ConsentForm, "consent form", 7.0),
    cue(T::ConsentForm, "consent to", 5.0),
    cue(T::ConsentForm, "patient consent", 6.0),
    cue(T::ConsentForm, "informed consent", 6.0),
    cue(T::ImagingReport, "echocardiogram", 6.0),
    cue(T::ImagingReport, "bone density", 5.0),
    cue(T::ImagingReport, "bone mineral density", 6.0),
    cue(T::ImagingReport, "dxa", 5.0),
    cue(T::ImagingReport, "dexa", 5.0),
    cue(T::ImagingReport, "mammogram", 5.0),
    cue(T::ImagingReport, "mammography", 5.0),
    cue(T::ImagingReport, "breast imaging", 5.0),
    cue(T::ImagingReport, "scan report", 5.0),
    cue(T::OperativeNote, "ogd report", 6.0),
    cue(T::OperativeNote, "endoscopy report", 6.0),
    cue(T::OperativeNote, "colonoscopy report", 6.0),
    cue(T::OperativeNote, "gastroscopy report", 6.0),
    cue(T::OperativeNote, "bronchoscopy report", 6.0),
    cue(T::OperativeNote, "endoscopy unit", 4.0),
    cue(T::OperativeNote, "procedure report", 5.0),
    cue(T::ConsultationNote, "visit note", 6.0),
    cue(T::ConsultationNote, "encounter note", 6.0),
    cue(T::ConsultationNote, "clinic note", 6.0),
    cue(T::ConsultationNote, "office note", 6.0),
    cue(T::ConsultationNote, "urgent care", 2.5),
    cue(T::ConsultationNote, "walk-in", 2.5),
    cue(T::ConsultationNote, "telehealth visit", 4.0),
    cue(T::ConsultationNote, "virtual visit", 4.0),
    cue(T::OperativeNote, "minor surgery", 5.0),
    cue(T::OperativeNote, "minor operation", 5.0),
    cue(T::DischargeSummary, "transfer summary", 6.0),
    cue(T::DischargeSummary, "nursing transfer", 5.0),
    cue(T::DischargeSummary, "inter-facility transfer", 5.0),
    cue(T::DischargeSummary, "résumé de départ", 6.0),
    cue(T::InsuranceCard, "gp visit card", 7.0),
    cue(T::InsuranceCard, "visit card", 5.0),
    cue(T::InsuranceCard, "cárta cuairte", 6.0),
    cue(T::LabReport, "biologie médicale", 5.0),
    cue(T::LabReport, "laboratoire", 4.0),
    cue(T::Other, "workers' compensation", 6.0),
    cue(T::Other, "workers compensation", 6.0),
    cue(T::Other, "work status report", 6.0),
    cue(T::Other, "prior authorization", 6.0),
    cue(T::Other, "prior authorisation", 6.0),
    cue(T::Other, "utilization management", 5.0),
    cue(T::Other, "epcr", 6.0),
    cue(T::Other, "ambulance service", 5.0),
    cue(T::Other, "patient care report", 6.0),
    cue(T::Other, "preparticipation physical", 7.0),
    cue(T::Other, "medical eligibility", 6.0),
    cue(T::InsuranceCard, "health card", 4.0),
    cue(T::InsuranceCard, "drug payment card", 7.0),
    cue(T::InsuranceCard, "carte de paiement", 6.0),
    cue(T::InsuranceCard, "group benefits", 5.0),
    cue(T::ReferralLetter, "referral for", 6.0),
    cue(T::InsuranceCard, "carte santé", 6.0),
    cue(T::InsuranceCard, "ehic", 6.0),
    cue(T::InsuranceCard, "european health insurance card", 7.0),
    cue(T::InsuranceCard, "gms card", 6.0),
    cue(T::InsuranceCard, "benefits card", 5.0),
    cue(T::InsuranceCard, "id card", 3.0),
    cue(T::DischargeSummary, "transfer of care", 6.0),
    cue(T::DischargeSummary, "discharge note", 6.0),
    cue(T::DischargeSummary, "discharge notification", 6.0),
    cue(T::DischargeSummary, "discharge instructions", 5.0),
    cue(T::ConsentForm, "patient agreement", 6.0),
    cue(T::ConsentForm, "consent for", 5.0),
    cue(T::ConsentForm, "authorization for release", 6.0),
    cue(T::ConsentForm, "authorisation for release", 6.0),
    cue(T::ConsentForm, "authorization to release", 6.0),
    cue(T::ConsentForm, "release of information", 5.0),
    cue(T::ReferralLetter, "e-referral", 6.0),
    cue(T::ReferralLetter, "referral form", 6.0),
    cue(T::ReferralLetter, "request for consultation", 5.0),
    cue(T::VaccinationRecord, "carnet de vaccination", 7.0),
    cue(T::VaccinationRecord, "travel vaccination", 6.0),
    cue(T::VaccinationRecord, "vaccination history", 6.0),
    cue(T::VaccinationRecord, "immunisation history", 6.0),
    cue(T::VaccinationRecord, "vaccine record", 6.0),
    cue(T::VaccinationRecord, "immunization certificate", 7.0),
    cue(T::LabReport, "histopathology", 5.0),
    cue(T::LabReport, "cellular pathology", 5.0),
    cue(T::LabReport, "cytology", 4.0),
    cue(T::LabReport, "microbiology", 4.0),
    cue(T::LabReport, "pathology", 3.0),
    cue(T::DischargeSummary, "discharge record", 6.0),
    cue(T::DischargeSummary, "discharge report", 6.0),
    cue(T::DischargeSummary, "discharge communication", 6.0),
    cue(T::ConsultationNote, "consultations report", 7.0),
    cue(T::ConsultationNote, "review visit", 5.0),
    cue(T::ConsultationNote, "surgery consultation", 4.0),
    cue(T::ConsultationNote, "telephone encounter", 4.0),
    cue(T::ConsultationNote, "consultation", 3.0),
    cue(T::ConsultationNote, "consult", 3.0),
    cue(T::ReferralLetter, "consult request", 7.0),
    cue(T::ReferralLetter, "consultation request", 7.0),
    cue(T::ReferralLetter, "request for consult", 7.0),
    cue(T::Other, "appointments office", 5.0),
    cue(T::Other, "patient statement", 6.0),
    cue(T::Other, "spectacle prescription", 8.0),
    cue(T::Other, "glasses prescription", 8.0),
    cue(T::Other, "prescription de lunettes", 8.0),
    cue(T::Other, "optical prescription", 8.0),
    cue(T::Other, "contact lens prescription", 8.0),
    cue(T::Other, "treatment plan", 6.0),
    cue(T::Other, "admissions office", 4.0),
    cue(T::Prescription, "prescriptions", 5.0),
    cue(T::InsuranceCard, "membership card", 7.0),
    cue(T::InsuranceCard, "health plan", 4.0),
    cue(T::Other, "billing statement", 6.0),
    cue(T::Other, "statement of account", 6.0),
    cue(T::LabReport, "rapport de laboratoire", 6.0),
    cue(T::LabReport, "résultats de laboratoire", 6.0),
    cue(T::LabReport, "biochimie", 4.0),
    cue(T::LabReport, "hématologie", 4.0),
    cue(T::ImagingReport, "radiologie", 5.0),
    cue(T::ImagingReport, "échographie", 5.0),
    cue(T::ImagingReport, "tomodensitométrie", 5.0),
    cue(T::ImagingReport, "imagerie", 5.0),
    cue(T::Prescription, "ordonnance", 6.0),
    cue(T::ReferralLetter, "demande de consultation", 7.0),
    cue(T::ReferralLetter, "lettre de référence", 7.0),
    cue(T::DischargeSummary, "résumé de dossier", 6.0),
    cue(T::DischargeSummary, "sommaire d'hospitalisation", 7.0),
    cue(T::DischargeSummary, "résumé d'hospitalisation", 7.0),
    cue(T::DischargeSummary, "feuille sommaire", 6.0),
    cue(T::DischargeSummary, "congé", 3.0),
    cue(T::ConsultationNote, "note de consultation", 7.0),
    cue(T::ConsultationNote, "note d'évolution", 6.0),
    cue(T::OperativeNote, "protocole opératoire", 7.0),
    cue(T::OperativeNote, "rapport opératoire", 7.0),
    cue(T::VaccinationRecord, "immunisation", 4.0),
    cue(T::InsuranceCard, "carte d'assurance maladie", 7.0),
    cue(T::InsuranceCard, "assurance maladie", 4.0),
    cue(T::InsuranceCard, "assurance-maladie", 4.0),
    cue(T::InsuranceCard, "medicare card", 7.0),
    cue(T::ConsentForm, "consentement", 6.0),
    cue(T::ConsentForm, "formulaire de consentement", 7.0),
    cue(T::Other, "questionnaire", 7.0),
    // A patient's own wishes and the orders that carry them: no consent to a procedure.
    cue(T::Other, "advance healthcare directive", 8.0),
    cue(T::Other, "advance health care directive", 8.0),
    cue(T::Other, "advance directive", 7.0),
    cue(T::Other, "advance care plan", 7.0),
    cue(T::Other, "advance care planning", 7.0),
    cue(T::Other, "goals of care", 6.0),
    cue(T::Other, "life-sustaining treatment", 7.0),
    cue(T::Other, "polst", 7.0),
    cue(T::Other, "molst", 7.0),
    cue(T::Other, "dnacpr", 7.0),
    cue(T::Other, "living will", 7.0),
    cue(T::Other, "recommended summary plan", 8.0),
    // A crew's record of a call, a poison centre's, a payer's notice: no clinician's visit.
    cue(T::Other, "ambulance call report", 8.0),
    cue(T::Other, "call report", 6.0),
    cue(T::Other, "poison information", 6.0),
    cue(T::Other, "observation notice", 8.0),
    cue(T::ConsultationNote, "annual wellness visit", 7.0),
    // A team's decision on a patient's case: no visit, no test.
    cue(T::Other, "multidisciplinary team meeting", 7.0),
    cue(T::Other, "multidisciplinary meeting", 7.0),
    cue(T::Other, "mdt outcome", 7.0),
    cue(T::Other, "medical certificate", 7.0),
    cue(T::Other, "sick note", 7.0),
    cue(T::Other, "fit note", 7.0),
    cue(T::Other, "statement of fitness", 7.0),
    cue(T::Other, "fitness to work", 6.0),
    cue(T::Other, "fitness to drive", 6.0),
    cue(T::Other, "appointment letter", 7.0),
    cue(T::Other, "appointment confirmation", 7.0),
    cue(T::Other, "symptom diary", 7.0),
    cue(T::Other, "invoice", 6.0),
    cue(T::Other, "text message", 5.0),
    cue(T::ConsultationNote, "clinical note", 5.0),
    cue(T::ConsultationNote, "conversation", 3.0),
    cue(T::Other, "laboratory requisition", 8.0),
    cue(T::Other, "lab requisition", 8.0),
    cue(T::Other, "requisition form", 7.0),
    cue(T::Other, "demande d'analyses", 6.0),
    cue(T::Other, "health professional's report", 6.0),
    cue(T::Other, "date of accident", 4.0),
    cue(T::Other, "functional abilities", 4.0),
    cue(T::ConsultationNote, "note de visite", 7.0),
    cue(T::Other, "claim form", 10.0),
    cue(T::Other, "claim details", 4.0),
    cue(T::Other, "total claimed", 5.0),
    cue(T::Other, "receipt", 5.0),
    cue(T::Other, "explanation of benefits", 8.0),
    cue(T::ConsultationNote, "provider note", 6.0),
    cue(T::ConsultationNote, "clinical notes", 3.0),
    cue(T::ConsultationNote, "pharmacist assessment", 6.0),
    cue(T::ConsultationNote, "home visit record", 6.0),
    cue(T::ConsultationNote, "nursing notes", 5.0),
    cue(T::ConsultationNote, "continuation sheet", 3.0),
    cue(T::OperativeNote, "catheterization laboratory", 7.0),
    cue(T::OperativeNote, "catheterisation laboratory", 7.0),
    cue(T::OperativeNote, "cath lab", 6.0),
    cue(T::OperativeNote, "catheterization laboratory", 7.0),
    cue(T::OperativeNote, "cardiac catheterization", 6.0),
    cue(T::OperativeNote, "cardiac catheterisation", 6.0),
    cue(T::DischargeSummary, "résumé de séjour", 7.0),
    cue(T::DischargeSummary, "résumé d'hospitalisation", 7.0),
    cue(T::Other, "certificat médical", 7.0),
    cue(T::Other, "arrêt de travail", 5.0),
    cue(T::Other, "avis de rendez-vous", 7.0),
    cue(T::Other, "booking centre", 5.0),
    cue(T::Other, "booking center", 5.0),
    cue(T::Other, "booking office", 5.0),
    cue(T::Other, "request for access", 6.0),
    cue(T::Other, "records request", 6.0),
    cue(T::Other, "request for medical records", 6.0),
    cue(T::Other, "right of access", 4.0),
    cue(T::Prescription, "patient medication information", 4.0),
    cue(T::ConsultationNote, "developmental review", 5.0),
    cue(T::ConsultationNote, "developmental check", 5.0),
    cue(T::ConsultationNote, "developmental assessment", 5.0),
    cue(T::Other, "superbill", 7.0),
    cue(T::ConsultationNote, "nursing home review", 6.0),
    cue(T::ConsultationNote, "medication review", 3.0),
    cue(T::ConsultationNote, "structured medication review", 6.0),
    cue(T::Other, "prescription history", 6.0),
    cue(T::Other, "medication history report", 6.0),
    cue(T::ConsultationNote, "telephone advice", 5.0),
    cue(T::ConsultationNote, "phone consult", 5.0),
    cue(T::ConsultationNote, "out-of-hours", 3.0),
    cue(T::OperativeNote, "minor ops", 6.0),
    cue(T::OperativeNote, "minor op", 5.0),
    cue(T::Other, "driver medical", 6.0),
    cue(T::Other, "hospital passport", 7.0),
    cue(T::ConsentForm, "guardian consent form", 9.0),
    cue(T::Other, "pre-participation", 7.0),
    cue(T::ConsultationNote, "triage note", 6.0),
    cue(T::ConsultationNote, "interactive contact", 5.0),
    cue(T::ConsultationNote, "transitional care management", 5.0),
    cue(T::InsuranceCard, "identification card", 5.0),
    cue(T::InsuranceCard, "iss/del", 5.0),
    cue(T::Other, "medicare summary notice", 7.0),
    cue(T::Other, "summary notice", 6.0),
    cue(T::Other, "power of attorney", 7.0),
    cue(T::Other, "plan of care", 5.0),
    cue(T::Other, "home health certification", 7.0),
    cue(T::Other, "non-coverage", 6.0),
    cue(T::Other, "standard written order", 6.0),
    cue(T::Other, "transport service", 5.0),
    cue(T::ImagingReport, "retinal screening", 5.0),
    cue(T::ImagingReport, "eye screening", 4.0),
    cue(T::ConsultationNote, "visit record", 5.0),
    cue(T::ConsultationNote, "community nursing", 4.0),
    cue(T::ConsultationNote, "foot screening", 5.0),
    cue(T::ConsultationNote, "telephone contact", 5.0),
    cue(T::OperativeNote, "minor procedure", 5.0),
    cue(T::OperativeNote, "procedure record", 4.0),
    cue(T::OperativeNote, "cystoscopy", 5.0),
    cue(T::OperativeNote, "procedure suite", 4.0),
    cue(T::VaccinationRecord, "vaccine administration", 6.0),
    cue(T::Other, "childcare excuse", 7.0),
    cue(T::ImagingReport, "holter report", 6.0),
    cue(T::ImagingReport, "ambulatory ecg", 5.0),
    cue(T::LabReport, "sleep apnea test", 5.0),
    cue(T::LabReport, "sleep apnoea test", 5.0),
    cue(T::LabReport, "sleep study", 5.0),
    cue(T::LabReport, "polysomnography", 5.0),
    cue(T::LabReport, "pulmonary function", 5.0),
    cue(T::LabReport, "nerve conduction", 5.0),
    // A brain's recording: filed apart from laboratories and scans.
    cue(T::Other, "eeg", 5.0),
    cue(T::Other, "electroencephalogram", 6.0),
    cue(T::Other, "electroencephalography", 6.0),
    cue(T::Other, "video telemetry", 6.0),
    cue(T::ConsultationNote, "pre-admission clinic", 6.0),
    cue(T::ConsultationNote, "contact note", 6.0),
    cue(T::ConsultationNote, "pre-assessment", 5.0),
    cue(T::ConsultationNote, "pre-operative assessment", 5.0),
    cue(T::ConsultationNote, "preoperative assessment", 5.0),
    cue(T::ConsultationNote, "anesthesia assessment", 5.0),
    cue(T::ConsultationNote, "anaesthesia assessment", 5.0),
    cue(T::Other, "medical examination report", 5.0),
    // Medico-legal and insurance reports: an examination for a third party, no care.
    cue(T::Other, "independent medical examination", 8.0),
    cue(T::Other, "independent medical evaluation", 8.0),
    cue(T::Other, "attending physician statement", 8.0),
    cue(T::Other, "attending physician's statement", 8.0),
    cue(T::Other, "occupational health report", 7.0),
    cue(T::Other, "intake appointment", 4.0),
    cue(T::Other, "has been booked", 3.0),
    cue(T::LabReport, "inr result", 6.0),
    cue(T::InsuranceCard, "travel assistance", 5.0),
    cue(T::InsuranceCard, "assistance-voyage", 5.0),
    cue(T::Other, "appointment card", 7.0),
    cue(T::Other, "work excuse", 7.0),
    cue(T::Other, "school excuse", 7.0),
    cue(T::Other, "work / school excuse", 7.0),
    cue(T::Other, "excuse note", 7.0),
    cue(T::OperativeNote, "endoscopy center", 4.0),
    cue(T::OperativeNote, "endoscopy centre", 4.0),
];

/// A word OCR wrote with zeros for its o's ("MIN0R PR0CEDURE REC0RD"): letters again,
/// when its only digits are zeros among two letters or more.
fn letters_for_zeros(w: &str) -> String {
    let letters = w.chars().filter(|c| c.is_alphabetic()).count();
    let zeros_only = w.chars().filter(char::is_ascii_digit).all(|c| c == '0');
    if letters >= 2 && zeros_only && w.contains('0') {
        w.replace('0', "o")
    } else {
        w.to_string()
    }
}

/// How far down a prescription's "Rx:" line can be.
const RX_LINES: usize = 8;

/// Words before a thing to bring or to come ("Please bring your insurance card",
/// "Apportez : votre carte d'assurance maladie").
const BROUGHT: &[&str] = &["bring", "receive", "send", "apportez", "apporter"];

/// Words of the body that lean towards a type.
const BODY: &[Cue] = &[
    cue(T::LabReport, "reference range", 3.0),
    cue(T::LabReport, "ref range", 3.0),
    cue(T::LabReport, "specimen", 2.0),
    cue(T::LabReport, "collected", 1.5),
    cue(T::LabReport, "haemoglobin", 1.5),
    cue(T::LabReport, "hemoglobin", 1.5),
    cue(T::LabReport, "full blood count", 2.0),
    cue(T::LabReport, "complete blood count", 2.0),
    cue(T::LabReport, "creatinine", 1.0),
    cue(T::LabReport, "platelets", 1.0),
    cue(T::LabReport, "white cell count", 1.0),
    cue(T::LabReport, "mmol/l", 1.0),
    cue(T::LabReport, "g/dl", 1.0),
    cue(T::LabReport, "g/l", 1.0),
    cue(T::LabReport, "mg/dl", 1.0),
    cue(T::LabReport, "hba1c", 1.0),
    cue(T::LabReport, "biochemistry", 2.0),
    cue(T::LabReport, "haematology", 2.0),
    cue(T::LabReport, "hematology", 2.0),
    cue(T::LabReport, "urinalysis", 2.0),
    cue(T::LabReport, "culture", 1.0),
    cue(T::LabReport, "units", 0.5),
    cue(T::LabReport, "flag", 0.5),
    cue(T::ImagingReport, "radiologist", 3.0),
    cue(T::ImagingReport, "radiograph", 2.0),
    cue(T::ImagingReport, "x-ray", 2.0),
    cue(T::ImagingReport, "ultrasound", 2.0),
    cue(T::ImagingReport, "mri", 2.0),
    cue(T::ImagingReport, "ct", 1.5),
    cue(T::ImagingReport, "computed tomography", 2.0),
    cue(T::ImagingReport, "magnetic resonance", 2.0),
    cue(T::ImagingReport, "mammogram", 2.0),
    cue(T::ImagingReport, "mammography", 2.0),
    cue(T::ImagingReport, "impression", 1.5),
    cue(T::ImagingReport, "technique", 1.5),
    cue(T::ImagingReport, "contrast", 1.0),
    cue(T::ImagingReport, "no acute", 1.0),
    cue(T::ImagingReport, "clinical indication", 1.5),
    cue(T::ImagingReport, "comparison", 1.0),
    cue(T::ImagingReport, "findings", 1.0),
    cue(T::ImagingReport, "opinion", 1.0),
    cue(T::ImagingReport, "xr", 2.0),
    cue(T::ImagingReport, "views", 1.0),
    cue(T::ImagingReport, "echotexture", 2.0),
    cue(T::ImagingReport, "unremarkable", 1.0),
    cue(T::Prescription, "dispense", 3.0),
    cue(T::Prescription, "refills", 3.0),
    cue(T::Prescription, "qty", 2.0),
    cue(T::Prescription, "quantity", 1.5),
    cue(T::Prescription, "sig", 2.0),
    cue(T::Prescription, "rx", 2.0),
    cue(T::Prescription, "prescriber", 3.0),
    cue(T::Prescription, "pharmacist", 2.0),
    cue(T::Prescription, "pharmacy", 1.5),
    cue(T::Prescription, "take one", 1.5),
    cue(T::Prescription, "take two", 1.5),
    cue(T::Prescription, "tablets", 1.0),
    cue(T::Prescription, "capsules", 1.0),
    cue(T::Prescription, "daw", 2.0),
    cue(T::Prescription, "generic substitution", 2.0),
    cue(T::Prescription, "substitution permitted", 2.0),
    cue(T::Prescription, "mitte", 3.0),
    cue(T::Prescription, "disp", 2.0),
    cue(T::Prescription, "qds", 1.5),
    cue(T::Prescription, "tds", 1.5),
    cue(T::Prescription, "bd", 1.0),
    cue(T::Prescription, "od", 1.0),
    cue(T::Prescription, "prn", 1.0),
    cue(T::Prescription, "po", 1.0),
    cue(T::Prescription, "caps", 1.0),
    cue(T::Prescription, "tab", 1.0),
    cue(T::ReferralLetter, "grateful if you could see", 6.0),
    cue(T::ReferralLetter, "grateful if you would see", 6.0),
    cue(T::ReferralLetter, "at your earliest convenience", 2.0),
    cue(T::ReferralLetter, "please see", 2.0),
    cue(T::ReferralLetter, "appreciate your opinion", 4.0),
    cue(T::ReferralLetter, "value your opinion", 4.0),
    cue(T::ReferralLetter, "grateful for your opinion", 4.0),
    cue(T::ReferralLetter, "your opinion on", 3.0),
    cue(T::ReferralLetter, "your advice on", 3.0),
    cue(T::ReferralLetter, "i am referring", 4.0),
    cue(T::ReferralLetter, "i would like to refer", 4.0),
    cue(T::ReferralLetter, "thank you for seeing", 5.0),
    cue(T::ReferralLetter, "thanks for seeing", 3.0),
    cue(T::ReferralLetter, "please assess", 2.5),
    cue(T::ReferralLetter, "would benefit from", 1.5),
    cue(T::ReferralLetter, "for your assessment", 2.5),
    cue(T::ReferralLetter, "refer", 1.5),
    cue(T::ReferralLetter, "urgent", 0.5),
    cue(T::ReferralLetter, "referring", 2.0),
    cue(T::DischargeSummary, "date of admission", 3.0),
    cue(T::DischargeSummary, "date of discharge", 3.0),
    cue(T::DischargeSummary, "admission date", 3.0),
    cue(T::DischargeSummary, "discharge date", 3.0),
    cue(T::DischargeSummary, "admitted", 1.5),
    cue(T::DischargeSummary, "discharged", 2.0),
    cue(T::DischargeSummary, "length of stay", 3.0),
    cue(T::DischargeSummary, "discharge medications", 3.0),
    cue(T::DischargeSummary, "medications on discharge", 3.0),
    cue(T::DischargeSummary, "hospital course", 3.0),
    cue(T::DischargeSummary, "inpatient", 1.5),
    cue(T::DischargeSummary, "ward", 1.0),
    cue(T::ClinicLetter, "seen in clinic", 3.0),
    cue(T::ClinicLetter, "following your appointment", 4.0),
    cue(T::ClinicLetter, "date of clinic", 3.0),
    cue(T::ClinicLetter, "clinic date", 3.0),
    cue(T::ClinicLetter, "reviewed in clinic", 3.0),
    cue(T::ClinicLetter, "reviewed today in", 2.0),
    cue(T::ClinicLetter, "i reviewed", 1.5),
    cue(T::ClinicLetter, "clinic today", 3.0),
    cue(T::ClinicLetter, "you will recall", 3.0),
    cue(T::Other, "waiting list office", 5.0),
    cue(T::Other, "scheduled for the following procedure", 5.0),
    cue(T::ClinicLetter, "i saw", 1.5),
    cue(T::ClinicLetter, "dear dr", 1.0),
    cue(T::ClinicLetter, "dear doctor", 1.0),
    cue(T::ClinicLetter, "yours sincerely", 1.0),
    cue(T::ClinicLetter, "kind regards", 0.5),
    cue(T::ClinicLetter, "outpatient", 1.5),
    cue(T::ClinicLetter, "follow-up in clinic", 2.0),
    cue(T::ClinicLetter, "clinic", 0.5),
    cue(T::ClinicLetter, "attended", 1.0),
    cue(T::ClinicLetter, "date of attendance", 1.5),
    cue(T::ClinicLetter, "dear gp", 1.0),
    cue(T::ClinicLetter, "thank you for asking me to see", 2.0),
    cue(T::ClinicLetter, "we will see", 1.0),
    cue(T::ClinicLetter, "follow-up", 0.5),
    cue(T::ClinicLetter, "cc", 0.5),
    cue(T::ConsultationNote, "presenting complaint", 3.0),
    cue(T::ConsultationNote, "chief complaint", 3.0),
    cue(T::ConsultationNote, "history of present illness", 3.0),
    cue(T::ConsultationNote, "hpi", 2.0),
    cue(T::ConsultationNote, "subjective", 2.0),
    cue(T::ConsultationNote, "objective", 2.0),
    cue(T::ConsultationNote, "assessment", 1.5),
    cue(T::ConsultationNote, "examination", 1.0),
    cue(T::ConsultationNote, "plan", 0.5),
    cue(T::ConsultationNote, "vital signs", 1.5),
    cue(T::ConsultationNote, "review of systems", 2.0),
    cue(T::ConsultationNote, "soap", 3.0),
    cue(T::OperativeNote, "surgeon", 3.0),
    cue(T::OperativeNote, "assistant", 1.0),
    cue(T::OperativeNote, "anaesthetist", 2.0),
    cue(T::OperativeNote, "anesthesiologist", 2.0),
    cue(T::OperativeNote, "anaesthetic", 1.5),
    cue(T::OperativeNote, "anesthesia", 1.5),
    cue(T::OperativeNote, "incision", 2.5),
    cue(T::OperativeNote, "closure", 2.0),
    cue(T::OperativeNote, "estimated blood loss", 3.0),
    cue(T::OperativeNote, "procedure performed", 3.0),
    cue(T::OperativeNote, "operation performed", 3.0),
    cue(T::OperativeNote, "post-operative", 1.5),
    cue(T::OperativeNote, "postoperative", 1.5),
    cue(T::OperativeNote, "theatre", 1.5),
    cue(T::OperativeNote, "sutures", 1.5),
    cue(T::OperativeNote, "operative findings", 3.0),
    cue(T::OperativeNote, "theatre record", 5.0),
    cue(T::OperativeNote, "ebl", 2.0),
    cue(T::VaccinationRecord, "vaccine", 2.5),
    cue(T::VaccinationRecord, "vaccination", 2.5),
    cue(T::VaccinationRecord, "immunisation", 2.5),
    cue(T::VaccinationRecord, "immunization", 2.5),
    cue(T::VaccinationRecord, "batch", 1.5),
    cue(T::VaccinationRecord, "lot", 1.5),
    cue(T::VaccinationRecord, "booster", 2.0),
    cue(T::VaccinationRecord, "dose 1", 1.5),
    cue(T::VaccinationRecord, "dose 2", 1.5),
    cue(T::VaccinationRecord, "administered", 1.0),
    cue(T::InsuranceCard, "member id", 3.0),
    cue(T::InsuranceCard, "member number", 3.0),
    cue(T::InsuranceCard, "membership number", 3.0),
    cue(T::InsuranceCard, "policy number", 3.0),
    cue(T::InsuranceCard, "group number", 3.0),
    cue(T::InsuranceCard, "subscriber", 2.5),
    cue(T::InsuranceCard, "payer", 2.0),
    cue(T::InsuranceCard, "rxbin", 3.0),
    cue(T::InsuranceCard, "rxpcn", 3.0),
    cue(T::InsuranceCard, "copay", 2.5),
    cue(T::InsuranceCard, "plan", 0.5),
    cue(T::InsuranceCard, "insurer", 2.0),
    cue(T::InsuranceCard, "valid until", 1.0),
    cue(T::ConsentForm, "i consent", 4.0),
    cue(T::ConsentForm, "i agree", 2.0),
    cue(T::ConsentForm, "i understand", 2.0),
    cue(T::ConsentForm, "risks", 1.5),
    cue(T::ConsentForm, "benefits", 1.0),
    cue(T::ConsentForm, "alternatives", 1.0),
    cue(T::ConsentForm, "witness", 2.0),
    cue(T::ConsentForm, "signature of patient", 3.0),
    cue(T::ConsentForm, "patient signature", 3.0),
    cue(T::ConsentForm, "have had the opportunity", 3.0),
    cue(T::ConsentForm, "been given the opportunity", 3.0),
    cue(T::ImagingReport, "sonographer", 3.0),
    cue(T::ImagingReport, "study date", 2.0),
    cue(T::ImagingReport, "t-score", 3.0),
    cue(T::ImagingReport, "z-score", 2.0),
    cue(T::ImagingReport, "bi-rads", 3.0),
    cue(T::ImagingReport, "lvef", 2.0),
    cue(T::ImagingReport, "interpreted by", 2.0),
    cue(T::ImagingReport, "tomosynthesis", 2.0),
    cue(T::OperativeNote, "endoscopist", 4.0),
    cue(T::OperativeNote, "sedation", 2.0),
    cue(T::OperativeNote, "complications", 1.5),
    cue(T::OperativeNote, "scope", 1.5),
    cue(T::OperativeNote, "biopsies taken", 2.0),
    cue(T::ConsultationNote, "reason for visit", 3.0),
    cue(T::ConsultationNote, "visit date", 2.0),
    cue(T::ConsultationNote, "seen by", 2.0),
    cue(T::ConsultationNote, "o/e", 2.0),
    cue(T::ConsultationNote, "hx", 1.5),
    cue(T::ConsultationNote, "f/u", 1.5),
    cue(T::ConsultationNote, "cc", 0.5),
    cue(T::ConsultationNote, "imp", 1.0),
    cue(T::ConsultationNote, "diagnosis", 0.5),
    cue(T::ConsultationNote, "encounter", 2.0),
    cue(T::ClinicLetter, "thank you for referring", 3.0),
    cue(T::ClinicLetter, "outpatients", 1.5),
    cue(T::ClinicLetter, "thank you for visiting", 2.0),
    cue(T::ClinicLetter, "visiting our office", 1.5),
    cue(T::ConsultationNote, "interval history", 2.0),
    cue(T::ConsultationNote, "mental status", 2.0),
    cue(T::ConsultationNote, "mse", 1.5),
    cue(T::OperativeNote, "excision", 2.0),
    cue(T::OperativeNote, "extraction", 2.0),
    cue(T::OperativeNote, "haemostasis", 2.0),
    cue(T::OperativeNote, "hemostasis", 2.0),
    cue(T::OperativeNote, "forceps", 1.5),
    cue(T::OperativeNote, "lidocaine", 1.0),
    cue(T::OperativeNote, "lignocaine", 1.0),
    cue(T::OperativeNote, "articaine", 1.5),
    cue(T::OperativeNote, "specimen sent", 1.5),
    cue(T::InsuranceCard, "card number", 1.5),
    cue(T::ClinicLetter, "thank you for your letter", 2.0),
    cue(T::ClinicLetter, "assessed at our clinic", 2.0),
    cue(T::ClinicLetter, "at our clinic", 1.0),
    cue(T::ReferralLetter, "grateful if you would assess", 6.0),
    cue(T::ReferralLetter, "grateful if you would take over", 6.0),
    cue(T::ReferralLetter, "take over his", 3.0),
    cue(T::ReferralLetter, "take over her", 3.0),
    cue(T::ReferralLetter, "asks to be referred", 5.0),
    cue(T::ReferralLetter, "wishes to be referred", 5.0),
    cue(T::Other, "your procedure is scheduled", 6.0),
    cue(T::Other, "procedure is scheduled", 4.0),
    cue(T::Other, "prep instructions", 4.0),
    cue(T::ConsultationNote, "type a message", 4.0),
    cue(T::ConsultationNote, "secure message", 4.0),
    cue(T::ConsultationNote, "message thread", 4.0),
    cue(T::Other, "preparation instructions", 4.0),
    cue(T::ReferralLetter, "grateful if you could assess", 6.0),
    cue(T::Other, "registration form", 6.0),
    cue(T::Other, "new patient registration", 7.0),
    cue(T::Other, "crisis plan", 6.0),
    cue(T::Other, "contingency plan", 5.0),
    cue(T::Other, "immigration medical", 7.0),
    cue(T::Other, "civil surgeon", 5.0),
    cue(T::LabReport, "valeurs de référence", 3.0),
    cue(T::LabReport, "prélèvement", 1.5),
    cue(T::Prescription, "mitte", 2.5),
    cue(T::Prescription, "by mouth", 1.5),
    cue(T::Prescription, "repeats", 1.5),
    cue(T::Other, "we have approved", 2.0),
    cue(T::InsuranceCard, "card no", 1.5),
    cue(T::ClinicLetter, "many thanks for referring", 3.0),
    cue(T::ClinicLetter, "whom i saw", 2.0),
    cue(T::ClinicLetter, "i will forward", 1.5),
    cue(T::ClinicLetter, "re:", 0.5),
    cue(T::InsuranceCard, "member services", 3.0),
    cue(T::InsuranceCard, "deductible", 2.5),
    cue(T::InsuranceCard, "coverage", 1.5),
    cue(T::InsuranceCard, "ohip", 1.5),
    cue(T::InsuranceCard, "dn", 0.5),
    cue(T::InsuranceCard, "exp", 1.0),
    cue(T::ConsentForm, "i authorize", 3.0),
    cue(T::ConsentForm, "i authorise", 3.0),
    cue(T::ConsentForm, "revoke", 2.5),
    cue(T::ConsentForm, "consent", 2.0),
    cue(T::VaccinationRecord, "travel clinic", 2.0),
    cue(T::VaccinationRecord, "vaccines", 2.0),
    cue(T::LabReport, "macroscopy", 3.0),
    cue(T::LabReport, "microscopy", 2.0),
    cue(T::LabReport, "macroscopic", 2.0),
    cue(T::LabReport, "microscopic", 2.0),
    cue(T::LabReport, "gross description", 2.0),
    cue(T::LabReport, "lab no", 2.0),
    cue(T::LabReport, "date received", 1.0),
    cue(T::Prescription, "tabs", 1.0),
    cue(T::Prescription, "supply", 1.0),
    cue(T::Prescription, "twice daily", 1.0),
    cue(T::Prescription, "once daily", 1.0),
    cue(T::Prescription, "at night", 0.5),
    cue(T::ReferralLetter, "reason for request", 3.0),
    cue(T::ReferralLetter, "referring provider", 2.5),
    cue(T::ReferralLetter, "please schedule", 2.0),
    cue(T::ReferralLetter, "request for", 1.0),
    cue(T::DischargeSummary, "admission", 1.0),
    cue(T::DischargeSummary, "discharge", 1.0),
    cue(T::DischargeSummary, "postpartum course", 2.0),
    cue(T::ClinicLetter, "saw your patient", 3.0),
    cue(T::ClinicLetter, "your patient", 1.0),
    cue(T::ClinicLetter, "i advised", 1.0),
    cue(T::ConsultationNote, "pmh", 1.5),
    cue(T::ConsultationNote, "recommendations", 1.0),
    cue(T::ConsultationNote, "thank you for this consult", 3.0),
    cue(T::ConsultationNote, "reason for consult", 3.0),
    cue(T::ConsultationNote, "requested by", 1.0),
    cue(T::InsuranceCard, "iss/dél", 3.0),
    cue(T::InsuranceCard, "iss / dél", 3.0),
    cue(T::InsuranceCard, "dob/dn", 2.0),
    cue(T::InsuranceCard, "dob / dn", 2.0),
    cue(T::InsuranceCard, "sex/sexe", 2.0),
    cue(T::InsuranceCard, "santé", 1.5),
    cue(T::Other, "an appointment has been made", 4.0),
    cue(T::Other, "if you cannot attend", 3.0),
    cue(T::Other, "cashier", 4.0),
    cue(T::Other, "subtotal", 4.0),
    cue(T::Other, "appointment has been booked", 4.0),
    cue(T::Other, "to whom it may concern", 3.0),
    cue(T::Other, "fit to travel", 3.0),
    cue(T::Other, "please bring this letter", 2.0),
    cue(T::Other, "please complete", 2.0),
    cue(T::Prescription, "renouvellements", 3.0),
    cue(T::Prescription, "renouv", 2.0),
    cue(T::Prescription, "qté", 2.0),
    cue(T::Prescription, "posologie", 2.0),
    cue(T::ReferralLetter, "raison de la demande", 4.0),
    cue(T::ReferralLetter, "médecin référent", 3.0),
    cue(T::ReferralLetter, "appreciate your assessment", 4.0),
    cue(T::ReferralLetter, "appreciate your evaluation", 4.0),
    cue(T::ReferralLetter, "appreciate your review", 4.0),
    cue(T::ReferralLetter, "would appreciate your", 3.0),
    cue(T::Other, "reminder of your", 4.0),
    cue(T::Other, "upcoming appointment", 4.0),
    cue(T::Other, "appointment reminder", 7.0),
    cue(T::Other, "to cancel or reschedule", 2.0),
    cue(T::Other, "need to reschedule", 2.5),
    cue(T::Other, "your child is due for", 3.0),
    cue(T::ReferralLetter, "for assessment", 2.0),
    cue(T::ReferralLetter, "assessment please", 2.0),
    cue(T::ReferralLetter, "to: dr", 1.5),
    cue(T::OperativeNote, "chirurgien", 3.0),
    cue(T::OperativeNote, "anesthésie", 1.5),
    cue(T::OperativeNote, "pertes sanguines", 3.0),
    cue(T::OperativeNote, "date of op", 3.0),
    cue(T::ClinicLetter, "thank you for coming", 3.0),
    cue(T::ClinicLetter, "your visit", 2.0),
    cue(T::ClinicLetter, "as we discussed", 2.0),
    cue(T::ClinicLetter, "we discussed", 1.5),
    cue(T::ClinicLetter, "returns for review", 2.0),
    cue(T::ClinicLetter, "returned to clinic", 2.0),
    cue(T::ClinicLetter, "returns to clinic", 2.0),
    cue(T::ClinicLetter, "i will see", 1.5),
    cue(T::ClinicLetter, "dictated but not read", 2.0),
    cue(T::ClinicLetter, "good to meet you", 2.5),
    cue(T::ClinicLetter, "good to see you", 2.0),
    cue(T::ClinicLetter, "as discussed", 1.5),
    cue(T::Other, "eligible for", 2.0),
    cue(T::Prescription, "dispense as written", 3.0),
    cue(T::ClinicLetter, "at this visit", 1.0),
    cue(T::Other, "to come in", 3.0),
    cue(T::Other, "you are scheduled", 3.0),
    cue(T::Other, "fast from midnight", 2.0),
    cue(T::Other, "estimate", 3.0),
    cue(T::Other, "fee", 1.5),
    cue(T::OperativeNote, "haemostasis", 2.0),
    cue(T::OperativeNote, "hemostasis", 2.0),
    cue(T::OperativeNote, "flap", 1.5),
    cue(T::OperativeNote, "post-op instructions", 2.0),
    cue(T::ReferralLetter, "i am requesting", 3.0),
    cue(T::ReferralLetter, "being seen", 2.0),
    cue(T::ConsultationNote, "c/o", 1.5),
    cue(T::ConsultationNote, "exam", 1.0),
    cue(T::ConsultationNote, "tx", 1.0),
    cue(T::ConsultationNote, "out of hours", 3.0),
    cue(T::ConsultationNote, "gp co-op", 3.0),
    cue(T::ConsultationNote, "treatment centre", 2.0),
    cue(T::InsuranceCard, "certificate no", 2.5),
    cue(T::InsuranceCard, "adhérent", 2.0),
    cue(T::InsuranceCard, "dependants", 2.0),
    cue(T::InsuranceCard, "dependents", 2.0),
    cue(T::InsuranceCard, "bin", 1.5),
    cue(T::InsuranceCard, "pcn", 1.5),
    cue(T::LabReport, "ordered by", 1.5),
    cue(T::LabReport, "reference", 1.0),
    cue(T::LabReport, "result", 1.0),
    cue(T::ClinicLetter, "j'ai revu", 3.0),
    cue(T::ClinicLetter, "j'ai vu", 2.0),
    cue(T::ClinicLetter, "je la reverrai", 2.0),
    cue(T::ClinicLetter, "je le reverrai", 2.0),
    cue(T::ClinicLetter, "salutations distinguées", 1.5),
    cue(T::ClinicLetter, "whom i met", 2.0),
    cue(T::ReferralLetter, "grateful if", 3.0),
    cue(T::ReferralLetter, "grateful for an urgent", 3.0),
    cue(T::ReferralLetter, "grateful for your", 3.0),
    cue(T::ReferralLetter, "be seen urgently", 2.0),
    cue(T::InsuranceCard, "membership no", 3.0),
    cue(T::InsuranceCard, "member name", 2.0),
    cue(T::InsuranceCard, "member since", 2.5),
    cue(T::InsuranceCard, "scheme", 1.0),
    cue(T::InsuranceCard, "excess", 1.5),
    cue(T::InsuranceCard, "pre-authorisation", 1.5),
    cue(T::InsuranceCard, "pre-authorization", 1.5),
    cue(T::InsuranceCard, "card printed", 1.5),
    cue(T::InsuranceCard, "cover valid", 2.0),
    cue(T::ClinicLetter, "seen in", 1.0),
    cue(T::ClinicLetter, "listed for", 1.0),
    cue(T::Other, "cpt", 2.0),
    cue(T::Other, "charges", 1.5),
    cue(T::Other, "balance", 1.0),
    cue(T::Other, "pay online", 2.0),
    cue(T::Other, "fit for work", 3.0),
    cue(T::Other, "unfit for work", 3.0),
    cue(T::Other, "not fit for work", 3.0),
    cue(T::Other, "your appointment", 3.0),
    cue(T::Other, "please arrive", 2.0),
    cue(T::Other, "amount due", 3.0),
    cue(T::Other, "this is not a bill", 4.0),
    cue(T::ConsultationNote, "mdm", 2.0),
    cue(T::OperativeNote, "procedures performed", 3.0),
    cue(T::ConsultationNote, "your diagnosis", 3.0),
    cue(T::ConsultationNote, "tests today", 2.0),
    cue(T::Other, "please excuse", 4.0),
    cue(T::Other, "return to work", 2.0),
    cue(T::Other, "return to school", 2.0),
    cue(T::ReferralLetter, "grateful for assessment", 4.0),
    cue(T::ReferralLetter, "grateful for your assessment", 4.0),
    cue(T::ReferralLetter, "grateful for an", 4.0),
    cue(T::ReferralLetter, "grateful for a", 2.0),
    cue(T::ReferralLetter, "please evaluate", 3.0),
    cue(T::ReferralLetter, "as you see fit", 2.0),
    cue(T::ReferralLetter, "appointment with you", 3.0),
    cue(T::Other, "your follow-up appointment", 4.0),
    cue(T::Other, "your follow up appointment", 4.0),
    cue(T::Other, "we have scheduled", 3.0),
    cue(T::Other, "appointments centre", 5.0),
    cue(T::Other, "appointments center", 5.0),
    cue(T::Other, "booked the following appointment", 4.0),
    cue(T::Other, "fax cover sheet", 8.0),
    cue(T::Other, "bordereau de télécopie", 8.0),
    cue(T::Other, "medication(s) requested", 4.0),
    cue(T::Other, "medications requested", 4.0),
    cue(T::Other, "for office use", 2.0),
    cue(T::ConsultationNote, "continuation card", 6.0),
    cue(T::ConsultationNote, "continuation sheet", 4.0),
    cue(T::VaccinationRecord, "vaccination receipt", 8.0),
    cue(T::VaccinationRecord, "proof of vaccination", 6.0),
    cue(T::LabReport, "screening results", 3.0),
    cue(T::LabReport, "booking bloods", 4.0),
    cue(T::ReferralLetter, "ubrn", 3.0),
    cue(T::OperativeNote, "bowel prep", 3.0),
    cue(T::OperativeNote, "withdrawal time", 3.0),
    cue(T::OperativeNote, "snare", 2.5),
    cue(T::OperativeNote, "caecum reached", 3.0),
    cue(T::OperativeNote, "cecum reached", 3.0),
    cue(T::DischargeSummary, "médication au départ", 3.0),
    cue(T::Prescription, "date written", 3.0),
    cue(T::ReferralLetter, "grateful for urgent", 4.0),
    cue(T::ClinicLetter, "thank you for choosing", 4.0),
    cue(T::ClinicLetter, "thank you for seeing me", 6.0),
    cue(T::ImagingReport, "holter", 1.5),
    cue(T::ClinicLetter, "your video visit", 3.0),
    cue(T::ClinicLetter, "your patient was", 4.0),
    cue(T::ClinicLetter, "your patient had", 4.0),
    cue(T::ReferralLetter, "many thanks", 0.75),
    cue(T::Other, "appointment has been made", 4.0),
    cue(T::Other, "appointment has been arranged", 4.0),
    cue(T::ClinicLetter, "date of letter", 1.5),
    cue(T::InsuranceCard, "insured", 2.0),
    cue(T::InsuranceCard, "policy", 1.5),
    cue(T::LabReport, "inr", 1.5),
    cue(T::Prescription, "refills remaining", 3.0),
    cue(T::Prescription, "discard after", 2.0),
    cue(T::Other, "records requested", 3.0),
];

/// How a letter opens: to anyone, and to a doctor.
const GREETINGS: &[&str] = &[
    "dear ",
    "cher ",
    "chère ",
    "a chara",
    "a dhochtúir",
    "to: dr",
    "to dr",
    "estimado ",
    "estimada ",
];
const TO_A_DOCTOR: &[&str] = &[
    "dear dr",
    "dear doctor",
    "dear colleague",
    "dear prof",
    "to: dr",
    "to dr",
    "cher confrère",
    "chère consœur",
    "chère consoeur",
    "cher collègue",
    "chère collègue",
    "a dhochtúir",
];
/// "Plano TX 75024": a US state's code before its ZIP code is an address, not a cue
/// ("tx", treatment).
fn state_and_zip(line: &str, phrase: &str) -> bool {
    phrase.len() == 2
        && phrase_ends(line, phrase).all(|end| {
            line[end..].split_whitespace().next().is_some_and(|z| {
                z.as_bytes()
                    .get(..5)
                    .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
            })
        })
}

/// How many lines under a letter's closing are its signature.
const SIGNATURE_LINES: usize = 3;

/// How a letter closes, a line of its own.
const CLOSINGS: &[&str] = &[
    "yours sincerely",
    "many thanks",
    "cordialement",
    "sincerely",
    "yours faithfully",
    "kind regards",
    "regards",
    "yours truly",
    "best wishes",
    "with best wishes",
    "best regards",
    "with best regards",
    "with kind regards",
    "warm regards",
    "yours",
    "is mise le meas",
    "le meas",
    "le gach dea-ghuí",
    "le dea-ghuí",
    "atentamente",
    "saludos cordiales",
];

/// Lines read for the type: about the first seven pages, each line's first 1,000
/// characters.
pub const MAX_TYPE_LINES: usize = 400;

/// Names staff give a type besides its code in words (singular; a plural `s` is dropped).
const LABELS: &[(DocumentType, &[&str])] = &[
    (
        T::LabReport,
        &[
            "lab",
            "lab result",
            "laboratory report",
            "laboratory result",
            "blood test",
            "blood",
            "bloods",
            "pathology report",
            "pathology",
            "test result",
        ],
    ),
    (
        T::ImagingReport,
        &[
            "imaging",
            "radiology report",
            "radiology",
            "x ray",
            "xray",
            "scan",
            "scan report",
            "ultrasound",
            "mri",
            "ct",
            "ct report",
            "mri report",
        ],
    ),
    (T::Prescription, &["script", "rx", "medication list"]),
    (T::ReferralLetter, &["referral"]),
    (T::DischargeSummary, &["discharge", "discharge letter"]),
    (
        T::ClinicLetter,
        &["letter", "correspondence", "outpatient letter"],
    ),
    (
        T::ConsultationNote,
        &[
            "consultation",
            "consult note",
            "consult",
            "progress note",
            "clinic note",
            "visit note",
            "office note",
        ],
    ),
    (
        T::OperativeNote,
        &[
            "operation note",
            "op note",
            "surgical note",
            "procedure note",
            "operative report",
        ],
    ),
    (
        T::VaccinationRecord,
        &[
            "vaccination",
            "vaccine record",
            "immunisation record",
            "immunization record",
            "immunisation",
            "immunization",
        ],
    ),
    (
        T::InsuranceCard,
        &[
            "insurance",
            "medical card",
            "gms card",
            "health insurance card",
        ],
    ),
    (T::ConsentForm, &["consent"]),
];

/// How many of the first lines count as the title.
const TITLE_LINES: usize = 4;

/// The type guessed, with what decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeGuess {
    pub code: DocumentType,
    pub loinc: Option<String>,
    /// 0–1: the winner's share of all the weight found, capped by how much was found.
    pub confidence: f32,
    /// The phrases that decided it, as `"phrase" (line N)`, strongest first.
    pub evidence: Vec<String>,
}

/// Phrases found for a type, each with the weight it added.
type Evidence = Vec<(f32, String)>;

/// Below this weight no type is claimed: `other`.
pub const MIN_TYPE_SCORE: f32 = 2.5;

/// Where `phrase` ends in `hay` each time it stands as whole words (not inside a longer
/// word), overlapping matches included.
pub(crate) fn phrase_ends<'a>(hay: &'a str, phrase: &'a str) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(at) = hay.get(from..)?.find(phrase) {
            let start = from + at;
            let end = start + phrase.len();
            // On to the next character (never into the middle of one).
            from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
            let bounded = hay[..start]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric())
                && hay[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric());
            if bounded {
                return Some(end);
            }
        }
        None
    })
}

fn contains_phrase(hay: &str, phrase: &str) -> usize {
    phrase_ends(hay, phrase).count()
}

/// A line of results: a number, then a range `low-high` (in brackets or not) or a `<`/`>`
/// limit, after a word.
fn result_line(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let number = |w: &str| {
        let w = w.trim_start_matches(['<', '>']);
        !w.is_empty()
            && w.chars().next().is_some_and(|c| c.is_ascii_digit())
            && w.parse::<f64>().is_ok()
    };
    let range = |w: &str| {
        let w = w.trim_matches(|c| c == '(' || c == ')' || c == '[' || c == ']');
        // (Not a telephone number's "555-0190": a range rises, its bounds without a
        // leading zero.)
        let bound = |x: &str| {
            let lead = x.len() > 1 && x.starts_with('0') && !x.starts_with("0.");
            x.parse::<f64>().ok().filter(|_| !lead)
        };
        match w.split_once('-') {
            Some((a, b)) => bound(a).zip(bound(b)).is_some_and(|(a, b)| a <= b),
            None => (w.starts_with('<') || w.starts_with('>')) && w[1..].parse::<f64>().is_ok(),
        }
    };
    words.len() >= 3
        && words[0].chars().next().is_some_and(char::is_alphabetic)
        && words.iter().any(|w| number(w))
        && words.iter().skip(2).any(|w| range(w))
}

/// A line ordering a medicine: a strength ("5mg", "2.5 mg", "100 mcg") and a frequency
/// ("twice daily", "BD", "q8h", "at night").
fn order_line(line: &str) -> bool {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .collect();
    let unit = |w: &str| {
        matches!(
            w,
            "mg" | "mcg" | "g" | "ml" | "units" | "iu" | "microgram" | "micrograms"
        )
    };
    let strength = words.iter().enumerate().any(|(i, w)| {
        let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let rest = &w[digits.len()..];
        !digits.is_empty()
            && digits.chars().next().is_some_and(|c| c.is_ascii_digit())
            && digits.parse::<f64>().is_ok()
            && (unit(rest) || (rest.is_empty() && words.get(i + 1).is_some_and(|n| unit(n))))
    });
    let often = words.iter().any(|w| {
        matches!(
            *w,
            "daily"
                | "od"
                | "bd"
                | "bid"
                | "tds"
                | "tid"
                | "qds"
                | "qid"
                | "nocte"
                | "mane"
                | "prn"
                | "weekly"
                | "hourly"
                | "morning"
                | "night"
                | "qam"
                | "qpm"
                | "qhs"
        ) || (w.starts_with('q')
            && w.ends_with('h')
            && w[1..w.len() - 1]
                .split('-')
                .all(|n| n.parse::<u32>().is_ok()))
    });
    strength && often
}

/// Words that record a consent taken, in a note about something else.
const CONSENT_TAKEN: &[&str] = &["obtained", "on file", "verbal", "gained", "taken"];

/// Whether a line records that consent was taken ("verbal consent obtained").
fn consent_mention(line: &str) -> bool {
    line.contains("consent") && CONSENT_TAKEN.iter().any(|w| contains_phrase(line, w) > 0)
}

/// The type of a document from its lines (each a line's text, in reading order).
pub fn guess_type(lines: &[String]) -> TypeGuess {
    // A document says what it is on its first pages.
    let lower: Vec<String> = lines
        .iter()
        .take(MAX_TYPE_LINES)
        .map(|l| {
            // Columns set apart by runs of spaces read as one phrase ("Ontario    Health").
            let l: String = l.chars().take(1_000).collect::<String>().to_lowercase();
            // OCR reads a capital I alone as a bar ("| would be grateful").
            let l = l
                .split_whitespace()
                .map(|w| {
                    if w == "|" {
                        "i".to_string()
                    } else {
                        letters_for_zeros(w)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            // "PO Box 90217": an address, not "by mouth".
            l.replace("p.o. box", "postbox")
                .replace("po box", "postbox")
        })
        .collect();
    let title_end = lower
        .iter()
        .enumerate()
        // A rule of dashes is no line of the title.
        .filter(|(_, l)| l.chars().any(char::is_alphanumeric))
        .nth(TITLE_LINES - 1)
        .map_or(lower.len(), |(i, _)| i + 1);
    // A letter's signature, under its closing ("Yours sincerely" / "Mr T. Okonjo,
    // Consultant Orthopaedic Surgeon"): who signs says little of what the letter is.
    let closing_at = lower
        .iter()
        // ("Cordialement / Sincerely,": in two languages.)
        .rposition(|l| {
            l.split(" / ")
                .any(|part| CLOSINGS.contains(&part.trim().trim_end_matches([',', '.'])))
        });
    // Its few short lines: a name and a title, not another document after a fax's cover.
    let signature = |i: usize| {
        closing_at.is_some_and(|k| {
            i > k
                && i <= k + SIGNATURE_LINES
                && lower[k + 1..=i]
                    .iter()
                    .all(|l| l.split_whitespace().count() <= 10 && !l.contains(':'))
        })
    };
    let mut scores: Vec<(DocumentType, f32, Evidence)> =
        T::ALL.iter().map(|&t| (t, 0.0, Vec::new())).collect();
    // Weight for a type, with what gave it.
    let add =
        |scores: &mut Vec<(DocumentType, f32, Evidence)>, t: DocumentType, w: f32, why: String| {
            if let Some(entry) = scores.iter_mut().find(|s| s.0 == t) {
                entry.1 += w;
                entry.2.push((w, why));
            }
        };
    // An eye clinic's "OD" and "OS" are the right and the left eye, not "once daily".
    let eyes = lower.iter().any(|l| {
        ["os", "ou", "iop", "va:"]
            .iter()
            .any(|w| contains_phrase(l, w) > 0)
    });
    for (cues, body_weight) in [(NAMES, 0.5), (BODY, 1.0)] {
        for c in cues {
            if eyes && c.phrase == "od" {
                continue;
            }
            let mut total = 0.0;
            let mut first_line = None;
            for (i, l) in lower.iter().enumerate() {
                let n = contains_phrase(l, c.phrase);
                if n == 0 {
                    continue;
                }
                first_line.get_or_insert(i);
                // A name followed by a colon and a number is a field of another document
                // ("Health Card: 4471-882-019" on a lab report), not its name.
                let field = std::ptr::eq(cues, NAMES)
                    && phrase_ends(l, c.phrase).all(|end| {
                        l[end..]
                            .trim_start()
                            .strip_prefix(':')
                            .and_then(|v| v.split_whitespace().next())
                            .is_some_and(|v| v.chars().any(|c| c.is_ascii_digit()))
                    });
                // "Verbal consent for telehealth obtained", "Consent: written, on file":
                // a consent recorded in another document, not a consent form.
                // ("Consent: the risks were" / "explained; written consent obtained.")
                let next_says = || {
                    lower
                        .get(i + 1)
                        .is_some_and(|n| l.contains("consent") && consent_mention(n))
                };
                // "Please bring your insurance card", "you will receive an appointment
                // letter": a thing to bring or to come, not this one.
                // (The phrase is on the line: `n` counted it.)
                let brought = phrase_ends(l, c.phrase).all(|end| {
                    l[..end.saturating_sub(c.phrase.len())]
                        .split_whitespace()
                        .rev()
                        .take(3)
                        .any(|w| BROUGHT.contains(&w))
                });
                // "Referral: HPV+ / LSIL": a field naming why the patient came, in a
                // clinic's letter back, not a referral.
                let reason_field = c.phrase == "referral" && l.starts_with("referral:");
                let mention = reason_field
                    || (c.doc == T::ConsentForm && (consent_mention(l) || next_says()))
                    || brought
                    || signature(i)
                    || state_and_zip(l, c.phrase);
                // A document's name counts in its title; in the body, less. Repeats count
                // a little (a results table names its units on every row).
                let w = match (i < title_end, std::ptr::eq(cues, NAMES)) {
                    _ if field || mention => 0.25,
                    (true, true) => 3.0,
                    (true, false) => 1.5,
                    _ => body_weight,
                };
                total += c.weight * w * (1.0 + 0.25 * (n as f32 - 1.0).min(4.0));
            }
            if let (true, Some(line)) = (total > 0.0, first_line) {
                // Each phrase counts at most twice its weight in a title.
                let total = total.min(c.weight * 4.0);
                let why = format!("\"{}\" (line {})", c.phrase, line + 1);
                add(&mut scores, c.doc, total, why);
            }
        }
    }
    // Lines of results: a value, a unit and a reference range ("Ferritin 45 ug/L (30-400)").
    let results = lower.iter().filter(|l| result_line(l)).count();
    if results > 0 {
        let w = 1.5 * results.min(4) as f32;
        let why = format!("{results} lines of results with reference ranges");
        add(&mut scores, T::LabReport, w, why);
    }
    // Lines of medication orders: a strength and how often ("Apixaban 5mg tabs - one
    // twice daily").
    let orders = lower.iter().filter(|l| order_line(l)).count();
    if orders > 0 {
        let w = 1.0 * orders.min(4) as f32;
        let why = format!("{orders} lines of medication orders");
        add(&mut scores, T::Prescription, w, why);
    }
    // A line that opens with the prescription sign ("Rx: Nitrofurantoin 100 mg PO BID").
    // Near its top: a note's plan may prescribe too, a till receipt lists "RX 7731520".
    if let Some(k) = lower.iter().take(RX_LINES).position(|l| {
        let l = l.trim_start();
        let drug = l
            .split_whitespace()
            .nth(1)
            .is_some_and(|w| w.chars().next().is_some_and(char::is_alphabetic));
        ((l.starts_with("rx:") || l.starts_with("rx ")) && drug) || l.starts_with('℞')
    }) {
        let why = format!("a line opening with \"Rx\" (line {})", k + 1);
        add(&mut scores, T::Prescription, 4.0, why);
    }
    // A letter's shape: a greeting and a closing. A letter about a visit, unless
    // something names it otherwise; a report is no letter, whatever department sends it
    // (a radiologist's clinic letter).
    let starts = |list: &[&str]| lower.iter().any(|l| list.iter().any(|g| l.starts_with(g)));
    let (greeting, to_doctor) = (starts(GREETINGS), starts(TO_A_DOCTOR));
    let closing =
        closing_at.is_some() || lower.iter().any(|l| l.contains("salutations distinguées"));
    if greeting && closing {
        let w = if to_doctor { 1.0 } else { 0.75 };
        let why = "a letter's greeting and closing".to_string();
        add(&mut scores, T::ClinicLetter, w, why);
        for s in scores.iter_mut() {
            // (A clinician's note is not written to a colleague: "Dear Dr. Qureshi, Your
            // patient had a virtual visit with me" from a walk-in clinic is a letter.)
            if matches!(s.0, T::LabReport | T::ImagingReport)
                || (to_doctor && s.0 == T::ConsultationNote)
            {
                s.1 *= 0.4;
            }
        }
    }
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let all: f32 = scores.iter().map(|s| s.1).sum();
    // Doses and abbreviations alone, a little ahead of the rest, are a letter's or a
    // note's medication list, not a prescription ("Meds: ibuprofen 400 mg tds prn"):
    // the next type, when it has a case of its own.
    // (Not when a line opens with "Rx" or the title names a prescription.)
    let named_rx = || {
        lower[..title_end.min(lower.len())].iter().any(|l| {
            ["prescription", "rx", "script", "ordonnance"]
                .iter()
                .any(|w| contains_phrase(l, w) > 0)
        })
    };
    if scores.len() > 1
        && scores[0].0 == T::Prescription
        && scores[1].1 >= MIN_TYPE_SCORE
        && type_confidence(scores[0].1, all) < 0.3
        && !scores[0]
            .2
            .iter()
            .any(|(_, why)| why.starts_with("a line opening with"))
        && !named_rx()
    {
        scores.swap(0, 1);
    }
    let (doc, best, mut evidence) = scores.swap_remove(0);
    if best < MIN_TYPE_SCORE {
        return TypeGuess {
            code: T::Other,
            loinc: None,
            confidence: if all == 0.0 {
                1.0
            } else {
                (1.0 - best / MIN_TYPE_SCORE).clamp(0.3, 1.0)
            },
            evidence: vec![],
        };
    }
    evidence.sort_by(|a, b| b.0.total_cmp(&a.0));
    let confidence = type_confidence(best, all);
    TypeGuess {
        code: doc,
        loinc: doc.loinc().map(|(c, _)| c.to_string()),
        confidence: (confidence * 100.0).round() / 100.0,
        evidence: evidence.into_iter().take(5).map(|(_, e)| e).collect(),
    }
}

/// How sure a type is: its share of all the types' scores, less when its own is small.
fn type_confidence(best: f32, all: f32) -> f32 {
    (best / all) * (best / (best + 6.0)).max(0.5)
}

/// What a document is and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Understanding {
    #[serde(rename = "type")]
    pub doc_type: TypeGuess,
    /// `YYYY-MM-DD`: the service date, else the issued date; never a date of birth.
    pub document_date: Option<String>,
    pub dates: Vec<FoundDate>,
}

/// Labels of a signature's date on a consent form (not "Protocol version dated").
const SIGNED_LABELS: &[&str] = &["date", "signed", "date signed", "signature"];

/// Labels of the day of an operation or procedure.
const OPERATION_LABELS: &[&str] = &[
    "date of procedure",
    "procedure date",
    "date of operation",
    "operation date",
    "date of surgery",
    "surgery date",
    "date of op",
    "op date",
    "date de l'intervention",
    "intervention",
];

/// Labels of the day of a visit.
const VISIT_LABELS: &[&str] = &[
    "date of visit",
    "visit date",
    "date of service",
    "service date",
    "dos",
    "date of encounter",
    "encounter date",
    "date of consultation",
    "consultation date",
    "date of assessment",
    "assessment date",
    "date of contact",
    "contact date",
    "session date",
    "date of session",
];

/// Labels of the day a patient went home.
const DISCHARGE_LABELS: &[&str] = &[
    "discharging",
    "discharged home",
    "going home",
    "went home",
    "date de congé",
    "congé",
    "discharged",
    "discharge date",
    "date of discharge",
    "disch",
    "discharge",
    "date du congé",
    "date de départ",
    "departure",
];

/// Corrections that turn on what the document is: the same words date different things
/// in a lab report, a prescription, a consent, a card, a vaccination record and a
/// discharge summary.
fn settle_by_type(doc: DocumentType, dates: &mut [FoundDate], lines: &[String]) {
    // A sample's arrival dates a laboratory's work; quoted in a letter ("FIT result
    // (received 27/02/2026)") it is a date from the history.
    // ("Your child received the following vaccines at school on 21 October 2025": a
    // dose received is the event.)
    if doc != T::LabReport {
        for d in dates.iter_mut() {
            let dose = || {
                lines.get(d.line).is_some_and(|l| {
                    let l = l.to_lowercase();
                    ["vaccin", "immunis", "immuniz", "dose", "injection"]
                        .iter()
                        .any(|w| l.contains(w))
                })
            };
            if d.role == DateRole::Service && d.rank == 1 && !dose() {
                d.role = DateRole::Other;
            }
        }
    }
    // So is a sample's collection in a letter or a note ("A stool H. pylori antigen
    // collected 02/21/2026 was positive", "Rang re bloods taken 02/03/26"), and a
    // result's reporting ("Histology (reported 27/01/2026) confirmed").
    if matches!(
        doc,
        T::ReferralLetter | T::ClinicLetter | T::ConsultationNote
    ) {
        for d in dates.iter_mut() {
            if d.role == DateRole::Service
                && (d.rank == 0 || d.label.is_some_and(|l| SAMPLED.contains(&l)))
            {
                d.role = DateRole::Other;
            }
        }
    }
    // "I saw Mr Threlfall in clinic today": a letter written on the day of the visit
    // it reports is dated by that visit.
    // (Not when the clinic's own date is given: "Clinic date: 02/09/2025" / "Typed:
    // 04/09/2025" ... "given in clinic today".)
    let clinic_dated = dates.iter().any(|d| {
        d.role == DateRole::Service
            && d.label.is_some_and(|l| {
                VISIT_LABELS.contains(&l) || l.contains("clinic") || l.contains("seen")
            })
    });
    if matches!(doc, T::ReferralLetter | T::ClinicLetter) && !clinic_dated && seen_today(lines) {
        let first = dates
            .iter()
            .filter(|d| {
                d.role == DateRole::Issued
                    && (d.guessed || d.label.is_some_and(|l| LETTER_DATES.contains(&l)))
            })
            .map(|d| d.line)
            .min();
        let latest = latest_date(dates, |d| {
            d.role != DateRole::Birth && d.role != DateRole::Due
        });
        if let Some(k) = dates
            .iter()
            .position(|d| Some(d.line) == first && d.role == DateRole::Issued)
            && latest.as_ref() == Some(&dates[k].date)
        {
            dates[k].role = DateRole::Service;
            dates[k].rank = 2;
        }
    }
    // "Referral date: January 9, 2026" on an appointment letter: the referral's, another
    // paper's.
    if doc != T::ReferralLetter {
        for d in dates.iter_mut() {
            if d.role == DateRole::Issued && d.label.is_some_and(|l| l.contains("referral")) {
                d.role = DateRole::Other;
            }
        }
    }
    // "STRUCTURED MEDICATION REVIEW" / "Review date: 21/01/2026": a review's record is
    // dated by the review it records, not one to come.
    if titled(lines, REVIEW_RECORDS)
        && !dates.iter().any(|d| d.role == DateRole::Service)
        && let Some(d) = dates.iter_mut().find(|d| {
            d.role == DateRole::Due && d.label == Some("review date") && d.line < TITLE_LINES + 6
        })
    {
        d.role = DateRole::Service;
    }
    // A statement's rows of payments and adjustments ("03/21/2024   KEYSTONE MUTUAL
    // PAYMENT   -4,922.40") are no care given.
    // (A row with an amount: not "Date of Service: 02/05/2026   Insurance: Aetna PPO".)
    for d in dates.iter_mut().filter(|d| d.role == DateRole::Service) {
        let paid = lines.get(d.line).is_some_and(|l| {
            l.split(|c: char| !c.is_alphanumeric())
                .any(|w| PAYMENT_WORDS.iter().any(|p| w.eq_ignore_ascii_case(p)))
                && l.split_whitespace().any(amount)
        });
        if paid {
            d.role = DateRole::Other;
        }
    }
    // "-- HIM USE ONLY --" / "Rec'd 03/02/2026 by KT | Completed 03/04/2026": the
    // office's handling of the paper, not what it is about.
    for at in office_use_lines(lines) {
        for d in dates.iter_mut() {
            if (at..=at + OFFICE_USE_LINES).contains(&d.line)
                && matches!(d.role, DateRole::Service | DateRole::Issued)
            {
                d.role = DateRole::Other;
            }
        }
    }
    // The dates of service a records request asks for are not its event.
    if doc == T::Other && titled(lines, RECORDS_REQUESTS) {
        for d in dates.iter_mut() {
            if d.role == DateRole::Service {
                d.role = DateRole::Other;
            }
        }
    }
    // Writing a prescription or signing a consent is the event itself; an operation or
    // consultation note's plain "Date:" is the day it happened, when nothing else says.
    let no_service = !dates.iter().any(|d| d.role == DateRole::Service);
    // A report's plain "Date:" beside the exam when only the report itself is dated.
    let no_event = !dates
        .iter()
        .any(|d| d.role == DateRole::Service && d.rank == 2);
    // A records request is consented to when the patient signs it.
    let request = doc == T::Other && titled(lines, RECORDS_REQUESTS);
    // A pharmacy label's "Date:" beside an "Orig. Rx date:" is its filling.
    let written = dates
        .iter()
        .any(|d| d.label.is_some_and(|l| WRITTEN_LABELS.contains(&l)));
    // A prescription signed on a line of its own ("Prescriber: ...  Sig: N A-H  Date:
    // 05/03/2026") is dated there, not by a cycle's "Day 1 date:" above.
    let signature_line = |line: usize| {
        lines.get(line).is_some_and(|l| {
            let l = l.to_lowercase();
            ["signature", "signed", "sig:", "prescriber"]
                .iter()
                .any(|w| l.contains(w))
        })
    };
    let rx_signed = doc == T::Prescription
        && dates.iter().any(|d| {
            d.role == DateRole::Issued
                && d.label.is_none_or(|l| EVENT_LABELS.contains(&l))
                && signature_line(d.line)
        });
    // An advance directive, a POLST, a ReSPECT form: the patient's wishes, made when
    // signed, as a consent is.
    let consents = doc == T::ConsentForm || (doc == T::Other && titled(lines, WISHES));
    let event_label = |label: Option<&str>, line: usize| match doc {
        // (A renewal's signature is the new prescription: "Original Rx date:
        // 11/09/2025" ... "Signature: H. Qureshi MD   Date: 06/03/2026".)
        T::Prescription if written => {
            label.is_some_and(|l| WRITTEN_LABELS.contains(&l))
                || lines.get(line).is_some_and(|l| {
                    let l = l.to_lowercase();
                    l.contains("signature") || l.contains("signed")
                })
        }
        T::Prescription => {
            label.is_none_or(|l| EVENT_LABELS.contains(&l)) && (!rx_signed || signature_line(line))
        }
        _ if consents => label.is_none_or(|l| SIGNED_LABELS.contains(&l)),
        _ if request => label.is_some_and(|l| SIGNED_LABELS.contains(&l)),
        // (A note's "Date:" in its heading is its own, whatever it dates below:
        // "BRONCHOSCOPY REPORT" / "Date: 19/02/2026" ... "bloods 16/02/2026".)
        T::OperativeNote | T::ConsultationNote => {
            (no_service || line < TITLE_LINES + 3) && label == Some("date")
        }
        T::ImagingReport | T::LabReport => no_event && label == Some("date"),
        // "Influenza (QIV) - Date: 08/10/2025": when it was given.
        // Not a signature's "Date:" closing a record of doses given.
        T::VaccinationRecord => label == Some("date"),
        _ => false,
    };
    // A consent is given when the patient signs ("Statement of patient", "Patient's
    // signature"), else when first signed; a confirmation weeks later, on admission, is
    // a clinician's countersignature, and a clinician's statement before is part of it.
    let signatures = dates
        .iter()
        .filter(|d| d.role == DateRole::Issued && event_label(d.label, d.line));
    // Each signature's line judged once.
    let patient_lines: std::collections::BTreeSet<usize> = signatures
        .clone()
        .map(|d| d.line)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|&line| patient_signs(lines, line))
        .collect();
    let first_signed = signatures
        .clone()
        .filter(|d| patient_lines.contains(&d.line))
        .map(|d| d.date.clone())
        .min()
        .or_else(|| signatures.map(|d| d.date.clone()).min());
    let last_line = dates.iter().map(|d| d.line).max();
    // (Doses given: dated as such, or in rows without a label above the signature.)
    let doses = !no_service
        || dates
            .iter()
            .any(|d| d.role == DateRole::Other && d.label.is_none() && Some(d.line) != last_line);
    let signs_record =
        |d: &FoundDate| doc == T::VaccinationRecord && doses && Some(d.line) == last_line;
    // A pharmacy's pack "Delivered: 17/03/2026" beside the prescription's own date is
    // its filling.
    if doc == T::Prescription && written {
        for d in dates.iter_mut() {
            if d.role == DateRole::Service && d.label == Some("delivered") {
                d.role = DateRole::Other;
            }
        }
    }
    for d in dates.iter_mut() {
        let later_signature =
            (consents && first_signed.as_ref().is_some_and(|f| d.date > *f)) || signs_record(d);
        if d.role == DateRole::Issued && event_label(d.label, d.line) && !later_signature {
            d.role = DateRole::Service;
        }
    }
    // A prescription whose only date has no label ("PRESCRIPTION   28-NOV-2025", a
    // pharmacy's label "Tom Gallagher   05/06/24"): that date is its writing or its
    // filling, the event for want of another.
    if doc == T::Prescription
        && !dates
            .iter()
            .any(|d| matches!(d.role, DateRole::Service | DateRole::Issued))
    {
        for d in dates.iter_mut() {
            if d.role == DateRole::Other && d.label.is_none() {
                d.role = DateRole::Service;
            }
        }
    }
    // A pharmacy's label dated only by its filling ("Date Filled: 01/08/2026"): that
    // is when it was dispensed, the prescription's event for want of its writing.
    if doc == T::Prescription && !dates.iter().any(|d| d.role == DateRole::Service) {
        for d in dates.iter_mut() {
            // (A repeat slip's "Last issued" column: its latest is this issue.)
            let filled = d
                .label
                .is_some_and(|l| dates::FILLED.contains(&l) || l == "last issued");
            if d.role == DateRole::Other && filled {
                d.role = DateRole::Service;
            }
        }
    }
    // A fax's cover sheet dates its sending; the notes and results it lists are the
    // papers it carries ("the requested records: clinic notes (2025-09-03 and
    // 2025-11-27)").
    // (Only on the cover: a letter after it, "Dear Colleague", dates its own visit.)
    if doc == T::Other && titled_within(lines, TITLE_LINES + 4, FAX_COVERS) {
        let letter_at = lines
            .iter()
            .position(|l| {
                l.trim_start()
                    .get(..5)
                    .is_some_and(|w| w.eq_ignore_ascii_case("dear "))
            })
            .unwrap_or(lines.len());
        for d in dates.iter_mut() {
            if d.role == DateRole::Service && d.line < letter_at {
                d.role = DateRole::Other;
            }
        }
    }
    // A repeat slip's "Last issued" column, later than an acute item's issue: its
    // latest is this issue ("[ ] Metformin ... 12-Feb-2026" over "Acute: ... issued
    // 03-Dec-2025").
    if doc == T::Prescription {
        let last_issued = latest_date(dates, |d| d.label == Some("last issued"));
        let service = latest_date(dates, |d| d.role == DateRole::Service);
        if let Some(last) = last_issued
            && service.is_some_and(|s| s < last)
        {
            for d in dates.iter_mut() {
                if d.label == Some("last issued") && d.date == last {
                    d.role = DateRole::Service;
                }
            }
        }
    }
    let mut split = std::collections::HashMap::new();
    // A referral's writer's own visit dates it; a discharge it mentions ("He was
    // discharged from your clinic on 04/06/2024") is from the history.
    // Its "Most recent visit:" is that visit ("Last in-person visit" in a note is the
    // one before).
    if doc == T::ReferralLetter {
        let no_visit = !dates.iter().any(|d| d.role == DateRole::Service);
        for d in dates.iter_mut() {
            if no_visit
                && d.role == DateRole::Issued
                && d.label.is_some_and(|l| l.contains("decision to refer"))
            {
                d.role = DateRole::Service;
            } else if d.role == DateRole::Service && said_before(&mut split, lines, d, "discharged")
            {
                d.role = DateRole::Other;
            } else if d.role == DateRole::Other
                && d.label.is_some_and(|l| dates::LAST_VISIT.contains(&l))
            {
                d.role = DateRole::Service;
            }
        }
    }
    // A letter is about a visit of its weeks, not of its years: a stay, birth or
    // operation more than a year before the letter was written is from the history
    // ("NICU for 3 days, discharged" / "06/14/2019." in a referral of 2026).
    if matches!(doc, T::ReferralLetter | T::ClinicLetter)
        && let Some(written) = dates
            .iter()
            .filter(|d| {
                d.role == DateRole::Issued && !d.label.is_some_and(|l| dates::PRINTED.contains(&l))
            })
            .map(|d| d.date.clone())
            .min()
    {
        for d in dates.iter_mut() {
            if d.role == DateRole::Service
                && dates::days_apart(&d.date, &written).is_some_and(|n| n > 365)
            {
                d.role = DateRole::Other;
            }
        }
    }
    // A traveller's departure on a travel clinic's record ("Destination: Tanzanie -
    // départ 2025-11-15") is no stay's end.
    if matches!(doc, T::VaccinationRecord | T::Prescription) {
        for d in dates.iter_mut() {
            if d.role == DateRole::Service && d.label.is_some_and(|l| DEPARTURES.contains(&l)) {
                d.role = DateRole::Other;
            }
        }
    }
    // An emergency department's "Departure:" is when the patient left it, the end of
    // the stay (a traveller's departure elsewhere is from the history).
    if doc == T::DischargeSummary {
        for d in dates.iter_mut() {
            if d.role == DateRole::Other && d.label.is_some_and(|l| DEPARTURES.contains(&l)) {
                d.role = DateRole::Service;
            }
        }
    }
    // An appointment card or letter's "Date: Tue 14 April 2026" (its weekday written) is
    // the appointment, to come.
    // (Or one that gives an appointment in its body: "you have been given an
    // appointment to return to the ED Review Clinic as follows:" / "Date: Tuesday 19 May
    // 2026".)
    let gives_appointment = || {
        dates.iter().any(|d| d.role == DateRole::Due)
            && lines.iter().any(|l| {
                let l = l.to_lowercase();
                [
                    "an appointment",
                    "your appointment",
                    "appointment has been",
                    "appointment for you",
                ]
                .iter()
                .any(|p| l.contains(p))
            })
    };
    if doc == T::Other
        && (lines.iter().take(TITLE_LINES + 2).any(|l| {
            let l = l.to_lowercase();
            l.contains("appointment") || l.contains("admission")
        }) || gives_appointment())
    {
        for d in dates.iter_mut() {
            if d.role == DateRole::Issued && d.label == Some("date") && d.weekday {
                d.role = DateRole::Due;
            }
        }
        // What it dates before its own date is history ("Your kidney function blood test
        // taken by your GP on 24/02/2026 is acceptable").
        if let Some(written) = dates
            .iter()
            .filter(|d| d.role == DateRole::Issued)
            .map(|d| d.date.clone())
            .min()
        {
            for d in dates.iter_mut() {
                if d.role == DateRole::Service && d.date < written {
                    d.role = DateRole::Other;
                }
            }
        }
    }
    // An order's own date dates the order itself ("STANDARD WRITTEN ORDER" / "Order date:
    // 02/06/2026"), though in a report it is the request before the study.
    if matches!(doc, T::Other | T::Prescription) {
        for d in dates.iter_mut() {
            if d.role == DateRole::Other && d.label.is_some_and(|l| ORDERED.contains(&l)) {
                d.role = DateRole::Service;
            }
        }
    }
    // A card's dates are its coverage's, never an event's ("Start date  Expiry"), and
    // its "Start date:" is no issue.
    if doc == T::InsuranceCard {
        for d in dates.iter_mut() {
            let start = d.label == Some("date") && said_before(&mut split, lines, d, "start");
            if d.role == DateRole::Service || (d.role == DateRole::Issued && start) {
                d.role = DateRole::Other;
            }
        }
    }
    // On a vaccination record a date with no label is a dose given ("MMR  04/20/2015
    // 05/02/2018", "Hepatitis B #1  Aug 5, 2025"), unless it is after the record was
    // printed.
    if doc == T::VaccinationRecord {
        let printed = latest_date(dates, |d| d.role == DateRole::Issued);
        for d in dates.iter_mut() {
            let before_print = printed.as_ref().is_none_or(|p| d.date <= *p);
            if d.role == DateRole::Other && d.label.is_none() && before_print {
                d.role = DateRole::Service;
            }
        }
    }
    // A note that names no visit, its dates bare stamps ("You   Sun, Feb 15, 2026 8:12
    // PM", "Priya Venkataraman, MD   Mon, Feb 16 7:48 AM"): each entry is the encounter.
    // (A consultation's own time stamp opening its line is its visit, and dates the
    // rest: "04-Mar-2026 11:20   Telephone   Dr Rina Patel" over "missed Mon and Tue
    // (02/03 and 03/03)".)
    if doc == T::ConsultationNote {
        for d in dates.iter_mut() {
            let bare = (d.role == DateRole::Issued && d.guessed)
                || (d.role == DateRole::Other && d.label.is_none());
            if bare && stamp_opens_line(lines, d) {
                d.role = DateRole::Service;
            }
        }
    }
    if doc == T::ConsultationNote && !dates.iter().any(|d| d.role == DateRole::Service) {
        for d in dates.iter_mut() {
            if d.role == DateRole::Other && d.label.is_none() && stamped(lines, d) {
                d.role = DateRole::Service;
            }
        }
    }
    // A cumulative table's header, a line of dates alone over columns of results
    // ("21-Jan-2026    07-Jul-2025    13-Jan-2025"): its latest column is this sample's,
    // when nothing else dates the sample.
    if doc == T::LabReport
        && !dates
            .iter()
            .any(|d| d.role == DateRole::Service && d.rank == 2)
    {
        let header = |line: usize| {
            let on_line: Vec<&FoundDate> = dates.iter().filter(|d| d.line == line).collect();
            let mut rest = lines.get(line).cloned().unwrap_or_default();
            for d in &on_line {
                rest = rest.replacen(d.text.as_str(), " ", 1);
            }
            // (Its other columns may be named: "14/06/26   15/06/26   Units   Ref".)
            on_line.len() >= 2
                && rest.split_whitespace().all(|w| {
                    let w = w
                        .trim_matches(|c: char| !c.is_alphanumeric())
                        .to_lowercase();
                    w.is_empty() || RESULT_COLUMNS.contains(&w.as_str())
                })
        };
        let latest = dates
            .iter()
            .enumerate()
            .filter(|(_, d)| d.role == DateRole::Other && d.label.is_none() && header(d.line))
            .max_by(|a, b| a.1.date.cmp(&b.1.date))
            .map(|(k, _)| k);
        if let Some(k) = latest {
            dates[k].role = DateRole::Service;
            dates[k].rank = 2;
        }
    }
    // A recording's period, its start and end on one line ("Start: Mon 02/03/2026 09:15
    // End: Tue 03/03/2026 09:05"), is the study, when nothing else dates it.
    if matches!(doc, T::ImagingReport | T::LabReport | T::Other)
        && !dates
            .iter()
            .any(|d| d.role == DateRole::Service && d.rank == 2)
    {
        let named = |d: &FoundDate, names: &[&str]| {
            lines.get(d.line).is_some_and(|line| {
                let words: Vec<&str> = line.split_whitespace().take(d.words.start).collect();
                let mut at = words.len();
                if at > 0 && dates::is_weekday(words[at - 1]) {
                    at -= 1;
                }
                at > 0 && names.contains(&words[at - 1].to_lowercase().as_str())
            })
        };
        let starts: Vec<usize> = dates
            .iter()
            .filter(|d| d.role == DateRole::Other && named(d, &["start:", "started:"]))
            .map(|d| d.line)
            .collect();
        for d in dates.iter_mut() {
            let period = named(d, &["start:", "started:", "end:", "ended:"]);
            if d.role == DateRole::Other && period && starts.contains(&d.line) {
                d.role = DateRole::Service;
                d.rank = 2;
            }
        }
    }
    // A report dated only by its reporting ("Final report signed 03/04/2026"): the days
    // written without a label in the weeks before are when the study was done ("Day 1
    // Stress 03/02/2026", "Day 2 Rest 03/03/2026").
    if matches!(doc, T::ImagingReport | T::LabReport)
        && let Some(reported) = latest_date(dates, |d| d.role == DateRole::Service && d.rank == 0)
        && !dates
            .iter()
            .any(|d| d.role == DateRole::Service && d.rank > 0)
    {
        let weeks_before =
            |date: &str| dates::days_apart(date, &reported).is_some_and(|n| (0..=31).contains(&n));
        for d in dates.iter_mut() {
            if d.role == DateRole::Other && d.label.is_none() && weeks_before(&d.date) {
                d.role = DateRole::Service;
                d.rank = 2;
            }
        }
    }
    // After the operation or the discharge, what is dated is to come ("Post-op: Day 1
    // visit 01/28/2026", "6-week postpartum visit May 5, 2026"); an operation's report
    // after it is still its report.
    // An operation note's own operation date is its event, whatever else is dated before
    // it ("Consent: written, signed 19/02/2026" / "Date of procedure: 05/03/2026"), and
    // so is its date of service ("DOS 02-03-2026" after "consent signed 01-27-2026").
    if doc == T::OperativeNote {
        for d in dates.iter_mut() {
            if d.role == DateRole::Due
                && d.label
                    .is_some_and(|l| OPERATION_LABELS.contains(&l) || VISIT_LABELS.contains(&l))
            {
                d.role = DateRole::Service;
            }
        }
    }
    // A vaccination record's reporting (to a registry, of a titre) is no dose
    // ("Reportado al registro estatal (IIS): 01/15/2026").
    if doc == T::VaccinationRecord {
        for d in dates.iter_mut() {
            if d.role == DateRole::Service && d.rank == 0 {
                d.role = DateRole::Other;
            }
        }
    }
    match doc {
        T::OperativeNote => later_service_is_due(dates, OPERATION_LABELS, false),
        // A note is of its visit: what it dates later is planned ("Visit date: 12-03-2025"
        // ... "C6D1 12/24/2025").
        T::ConsultationNote => {
            // Its header's appointment is the visit it records ("Appt: 13-01-2026 10:15
            // Clinician: ..." over "Last seen: 14-10-2025"); a consultation's own time
            // stamp opening its line too ("18 Feb 2026 14:00   Dietitian: ...").
            let visit_dated = dates.iter().any(|d| {
                d.role == DateRole::Service && d.label.is_some_and(|l| VISIT_LABELS.contains(&l))
            });
            for d in dates.iter_mut() {
                let header = d.line < TITLE_LINES + 4;
                let appointment = d.label.is_some_and(|l| dates::APPOINTMENT.contains(&l));
                if !visit_dated && header && d.role == DateRole::Due && appointment {
                    d.role = DateRole::Service;
                    d.label = Some("date of visit");
                }
            }
            later_service_is_due(dates, VISIT_LABELS, false)
        }
        T::DischargeSummary => later_service_is_due(dates, DISCHARGE_LABELS, true),
        _ => {}
    }
}

/// An amount of money as a statement's column shows it ("-1,102.40", "$245.00", "0.00").
fn amount(word: &str) -> bool {
    let w = word
        .trim_start_matches(['-', '$', '€', '£', '('])
        .trim_end_matches(')');
    let Some((whole, cents)) = w.rsplit_once('.') else {
        return false;
    };
    cents.len() == 2
        && cents.bytes().all(|b| b.is_ascii_digit())
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit() || b == b',')
        && whole.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

/// Words of a statement's rows that record money, not care.
const PAYMENT_WORDS: &[&str] = &[
    "payment",
    "insurance",
    "denied",
    "pmt",
    "pymt",
    "adjustment",
    "adj",
    "refund",
    "writeoff",
];

/// Titles of a fax's cover sheet.
const FAX_COVERS: &[&str] = &[
    "fax cover",
    "fax transmittal",
    "facsimile cover",
    "facsimile transmittal",
];

/// Titles of a patient's wishes for care to come, signed.
const WISHES: &[&str] = &[
    "advance healthcare directive",
    "advance health care directive",
    "advance directive",
    "advance care plan",
    "life-sustaining treatment",
    "polst",
    "molst",
    "dnacpr",
    "do not attempt",
    "living will",
    "recommended summary plan",
];

/// Titles of the record of a review held.
const REVIEW_RECORDS: &[&str] = &[
    "medication review",
    "annual review",
    "review record",
    "review note",
    "review form",
    "case review",
];

/// Labels of an order's date.
const ORDERED: &[&str] = &["order date", "date ordered", "date of order"];

/// Labels of a sample's taking.
const SAMPLED: &[&str] = &[
    "collected",
    "date collected",
    "collection date",
    "taken",
    "date taken",
    "sample taken",
    "samples taken",
    "swab taken",
    "specimen taken",
    "blood taken",
    "bloods taken",
    "drawn",
];

/// Titles of a request for a patient's own records.
const RECORDS_REQUESTS: &[&str] = &[
    "request for access",
    "release of protected health information",
    "release of information",
    "records request",
    "request for medical records",
    "medical records request",
];

/// Whether a document's first lines name it with one of `titles`.
fn titled(lines: &[String], titles: &[&str]) -> bool {
    titled_within(lines, TITLE_LINES, titles)
}

/// Whether one of a document's first `n` lines names it with one of `titles`.
fn titled_within(lines: &[String], n: usize, titles: &[&str]) -> bool {
    lines.iter().take(n).any(|l| {
        let l = l.to_lowercase();
        titles.iter().any(|t| l.contains(t))
    })
}

/// Who, in "For ... use only", handles the paper rather than the patient (not the
/// prescriber's "Prescriber use only" answer to a renewal request).
const OFFICE_USERS: &[&str] = &[
    "office",
    "official",
    "him",
    "admin",
    "administrative",
    "staff",
    "clerical",
    "records",
    "internal",
];
/// How many lines under its heading an office's box runs.
const OFFICE_USE_LINES: usize = 3;

/// The lines that open an office's box ("FOR OFFICE USE ONLY", "-- HIM USE ONLY --").
fn office_use_lines(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let lower = l.chars().take(300).collect::<String>().to_lowercase();
            let words: Vec<&str> = lower
                .split(|ch: char| !ch.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            words
                .windows(3)
                .any(|w| OFFICE_USERS.contains(&w[0]) && w[1] == "use" && w[2] == "only")
        })
        .map(|(k, _)| k)
        .collect()
}

/// Whether `word` is among the few words just before date `d` on its line ("He was
/// discharged from your clinic on 04/06/2024", "Start date:  01/03/2025"), each line
/// split once (`split`).
fn said_before<'a>(
    split: &mut std::collections::HashMap<usize, Vec<&'a str>>,
    lines: &'a [String],
    d: &FoundDate,
    word: &str,
) -> bool {
    const NEAR: usize = 8;
    let words = split.entry(d.line).or_insert_with(|| {
        lines
            .get(d.line)
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default()
    });
    let end = d.words.start.min(words.len());
    words[end.saturating_sub(NEAR)..end]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// Whether the signature dated on line `line` of a consent form is the patient's: its
/// line says so ("Patient's signature: D Hughes  Date: 14 Oct 2025"), or the nearest
/// statement above it is the patient's ("Statement of patient" / "I agree to the
/// procedure" / "Signed: T. Greenhalgh  Date: 19/06/2023").
fn patient_signs(lines: &[String], line: usize) -> bool {
    // A heading, and a signature's words before its date, are at a line's start.
    let lower = |k: usize| {
        lines
            .get(k)
            .map(|l| l.chars().take(300).collect::<String>().to_lowercase())
            .unwrap_or_default()
    };
    let own = lower(line);
    // ("PATIENT:   L. Navarro     Date: 3/9/2026" under "PHYSICIAN: ... Date:";
    // Quebec's "Signature de l'usager".)
    // (Among the signatures, not the form's heading "Patient: Jane Doe   Date: ...".)
    let signs_as_patient = own.trim_start().starts_with("patient:")
        && !["dob", "birth", "mrn", "d.o.b"]
            .iter()
            .any(|w| own.contains(w))
        && (line.saturating_sub(4)..line).map(lower).any(|l| {
            [
                "physician",
                "doctor",
                "surgeon",
                "clinician",
                "signature",
                "signed",
            ]
            .iter()
            .any(|w| l.contains(w))
        });
    if ((own.contains("patient") || own.contains("usager")) && own.contains("sign"))
        || signs_as_patient
    {
        return true;
    }
    (line.saturating_sub(8)..line)
        .rev()
        .map(lower)
        .map(|l| l.trim_start().to_string())
        .find(|l| {
            // ("PATIENT (or substitute decision-maker)": a heading, not "Patient: name".)
            SIGNERS.iter().any(|s| l.starts_with(s))
                || l == "patient"
                || ["patient (", "patient /", "patient/", "patient or "]
                    .iter()
                    .any(|h| l.starts_with(h))
                || l.starts_with("statement")
                || l.starts_with("confirmation")
                // ("PATIENT: I have read the information": the patient's statement, not
                // "Patient: name".)
                || l.strip_prefix("patient:").is_some_and(|r| {
                    let r = r.trim_start();
                    r.starts_with("i ") || r.starts_with("i,") || r.starts_with("we ")
                })
                // ("SECTION B - to be completed by the claimant", "PART 2 - Patient")
                || (["section", "part "].iter().any(|h| l.starts_with(h))
                    && (l.contains("completed by") || l.trim_end().len() <= 70))
        })
        .is_some_and(|heading| {
            let part = ["section", "part "].iter().any(|h| heading.starts_with(h));
            let patient = [
                "patient",
                "usager",
                "parent",
                "guardian",
                "claimant",
                "applicant",
                "sdm",
                "substitute",
            ]
            .iter()
            .any(|w| heading.contains(w));
            // ("PART 3 - Confirmation of consent (on the day of the procedure)", "Physician
            // attestation: I have discussed the above with the patient")
            let someone_else = heading.starts_with("confirmation")
                || (part && heading.contains("confirmation"))
                || heading.contains("health professional")
                || heading.contains("clinician")
                || ["physician", "surgeon", "doctor", "interpreter", "witness"]
                    .iter()
                    .any(|w| heading.starts_with(w));
            patient && !someone_else
        })
}

/// How a consent form's statements begin.
const SIGNERS: &[&str] = &[
    // (A substitute decision-maker consenting for a patient: "SDM's statement:".)
    "sdm",
    "substitute decision",
    "patient acknowledgment",
    "patient acknowledgement",
    "patient consent",
    "patient's consent",
    "patient agreement",
    "patient's statement",
    "patient statement",
    "patient declaration",
    "patient's declaration",
    "patient signature",
    "patient's signature",
    "signature of patient",
    "physician",
    "surgeon",
    "parent",
    "guardian",
    "health professional",
    "clinician",
    "doctor",
    "interpreter",
    "witness",
];

/// Service dates after the last one an event label names (`labels`) become due: every
/// one, or (`reports_too` false) those dating the event rather than a report on it.
/// Labels of a departure: from an emergency department or a ward, or a traveller's.
const DEPARTURES: &[&str] = &[
    "departure",
    "departed",
    "date of departure",
    "departure date",
    "départ",
    "date de départ",
];

/// Names of a results table's columns other than its dates.
const RESULT_COLUMNS: &[&str] = &[
    "units",
    "unit",
    "ref",
    "range",
    "reference",
    "flag",
    "normal",
    "limits",
    "interval",
];

/// Whether a time follows `d` on its line ("18 Feb 2026 14:00").
fn time_after(lines: &[String], d: &FoundDate) -> bool {
    lines.get(d.line).is_some_and(|line| {
        line.split_whitespace()
            .nth(d.words.end)
            .is_some_and(dates::time_like)
    })
}

/// Whether `d` opens its line with a time after it ("18 Feb 2026 14:00   Dietitian"), as
/// `find_dates` reads a stamp.
fn stamp_opens_line(lines: &[String], d: &FoundDate) -> bool {
    d.words.start == 0 && time_after(lines, d)
}

/// Whether `d` is written as a stamp: opening its line, or with its time after it
/// ("Mon, Feb 16 7:48 AM"), not in a sentence ("(CABG x3, surgery December 17, 2025)").
fn stamped(lines: &[String], d: &FoundDate) -> bool {
    d.words.start == 0 || time_after(lines, d)
}

/// Labels of a letter's own date.
const LETTER_DATES: &[&str] = &["date", "dated", "letter date", "date of letter"];

/// Words before "today" in a sentence saying the patient was seen today ("whom I
/// assessed today", "I saw Mr Threlfall in clinic today", "reviewed today in").
const SEEN_BEFORE_TODAY: &[&str] = &[
    "seen",
    "saw",
    "assessed",
    "reviewed",
    "examined",
    "attended",
    "clinic",
    "visited",
    "met",
    "consulted",
    "surgery",
    "appointment",
    "vu",
    "vue",
];

/// Whether a line says the patient was seen today.
fn seen_today(lines: &[String]) -> bool {
    lines.iter().any(|line| {
        let words: Vec<String> = line
            .split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .collect();
        words.iter().enumerate().any(|(k, w)| {
            (w == "today" || w == "aujourd'hui")
                && words[k.saturating_sub(8)..k]
                    .iter()
                    .any(|b| SEEN_BEFORE_TODAY.contains(&b.as_str()))
        })
    })
}

fn later_service_is_due(dates: &mut [FoundDate], labels: &[&str], reports_too: bool) {
    let event = latest_date(dates, |d| {
        d.role == DateRole::Service && d.label.is_some_and(|l| labels.contains(&l))
    });
    let Some(event) = event else {
        return;
    };
    for d in dates.iter_mut() {
        if d.role == DateRole::Service && (reports_too || d.rank == 2) && d.date > event {
            d.role = DateRole::Due;
        }
    }
}

/// Labels that name a prescription's writing itself.
const WRITTEN_LABELS: &[&str] = &[
    "written",
    "date written",
    "prescribed",
    "date prescribed",
    "orig. rx date",
    "original rx date",
    "rx date",
    "prescription dated",
];

/// Issue labels that date the event on a prescription.
const EVENT_LABELS: &[&str] = &[
    "date",
    "dated",
    "signed",
    "date signed",
    "signature",
    "prescribed",
    "date prescribed",
    "written",
    "issued",
    "date issued",
    "date of issue",
    "issue date",
];

/// The analysis of a document's lines (their texts, in reading order).
pub fn understand(lines: &[String], region: Region) -> Understanding {
    let words: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let mut dates = find_dates(&words, region);
    let doc_type = guess_type(lines);
    settle_by_type(doc_type.code, &mut dates, lines);
    Understanding {
        doc_type,
        document_date: document_date(&dates),
        dates,
    }
}

/// `u` with at most `max` dates: the document's own first, then the first of each role,
/// then the rest in reading order.
pub fn capped(mut u: Understanding, max: usize) -> Understanding {
    if u.dates.len() <= max {
        return u;
    }
    let mut keep = vec![false; u.dates.len()];
    let mut n = 0;
    let mut take = |k: usize, keep: &mut Vec<bool>| {
        if !keep[k] && n < max {
            keep[k] = true;
            n += 1;
        }
    };
    if let Some(k) = u
        .dates
        .iter()
        .position(|d| Some(&d.date) == u.document_date.as_ref())
    {
        take(k, &mut keep);
    }
    for role in [
        DateRole::Service,
        DateRole::Issued,
        DateRole::Birth,
        DateRole::Due,
        DateRole::Other,
    ] {
        if let Some(k) = u.dates.iter().position(|d| d.role == role) {
            take(k, &mut keep);
        }
    }
    for k in 0..u.dates.len() {
        take(k, &mut keep);
    }
    let mut i = 0;
    u.dates.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    u
}

/// The same, over plain text: one line per line.
pub fn understand_text(text: &str, region: Region) -> Understanding {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    understand(&lines, region)
}

/// Scoring against a labelled set (`tests/understand/set.jsonl`, made by
/// `scripts/make-understand-set.py`): type accuracy, the document date, and each role's
/// precision and recall.
pub mod eval {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::{DateRole, Region, understand_text};

    #[derive(Debug, Clone, Deserialize)]
    pub struct Expected {
        pub id: String,
        pub region: String,
        pub text: String,
        #[serde(rename = "type")]
        pub doc_type: String,
        pub document_date: Option<String>,
        pub dates: Vec<ExpectedDate>,
    }

    #[derive(Debug, Clone, Deserialize)]
    pub struct ExpectedDate {
        pub role: DateRole,
        pub date: String,
        #[serde(default)]
        pub ambiguous: bool,
    }

    #[derive(Debug, Clone, Default, Serialize)]
    pub struct RoleScore {
        pub expected: usize,
        pub found: usize,
        pub matched: usize,
    }

    impl RoleScore {
        pub fn precision(&self) -> f64 {
            if self.found == 0 {
                1.0
            } else {
                self.matched as f64 / self.found as f64
            }
        }
        pub fn recall(&self) -> f64 {
            if self.expected == 0 {
                1.0
            } else {
                self.matched as f64 / self.expected as f64
            }
        }
    }

    #[derive(Debug, Clone, Default, Serialize)]
    pub struct Score {
        pub documents: usize,
        pub type_right: usize,
        pub date_right: usize,
        /// Documents whose date was taken from a date of birth.
        pub birth_as_document_date: usize,
        pub roles: BTreeMap<String, RoleScore>,
        /// Ids of the documents whose type or date was wrong, with what was read.
        pub misses: Vec<String>,
    }

    impl Score {
        pub fn type_accuracy(&self) -> f64 {
            self.type_right as f64 / self.documents.max(1) as f64
        }
        pub fn date_accuracy(&self) -> f64 {
            self.date_right as f64 / self.documents.max(1) as f64
        }
    }

    /// The other reading of a day-and-month date (`2026-03-04` ↔ `2026-04-03`).
    fn swapped(date: &str) -> Option<String> {
        let (y, rest) = (date.get(..5)?, date.get(5..)?);
        let (m, d) = rest.split_once('-')?;
        Some(format!("{y}{d}-{m}"))
    }

    /// Whether a date read matches an expected one: the same, or, where the expected one
    /// is ambiguous, either reading flagged ambiguous.
    fn same(found: &super::FoundDate, want: &ExpectedDate) -> bool {
        found.role == want.role
            && (found.date == want.date
                || (want.ambiguous
                    && found.ambiguous
                    && swapped(&want.date).as_deref() == Some(&found.date)))
    }

    pub fn score(set: &[Expected]) -> Score {
        let mut s = Score::default();
        for e in set {
            s.documents += 1;
            let region = Region::parse(&e.region).unwrap_or(Region::Ie);
            let got = understand_text(&e.text, region);
            let type_ok = got.doc_type.code.code() == e.doc_type;
            s.type_right += type_ok as usize;
            let doc_date = got.document_date.clone();
            let ambiguous_want = e
                .dates
                .iter()
                .any(|d| Some(&d.date) == e.document_date.as_ref() && d.ambiguous);
            let date_ok = doc_date == e.document_date
                || (ambiguous_want
                    && doc_date.is_some()
                    && e.document_date.as_deref().and_then(swapped) == doc_date);
            s.date_right += date_ok as usize;
            if doc_date.is_some()
                && doc_date != e.document_date
                && e.dates
                    .iter()
                    .any(|d| d.role == DateRole::Birth && Some(&d.date) == doc_date.as_ref())
            {
                s.birth_as_document_date += 1;
            }
            if !type_ok || !date_ok {
                s.misses.push(format!(
                    "{}: type {} (want {}), date {:?} (want {:?})",
                    e.id,
                    got.doc_type.code.code(),
                    e.doc_type,
                    doc_date,
                    e.document_date
                ));
            }
            let mut used = vec![false; got.dates.len()];
            for want in &e.dates {
                let r = s.roles.entry(want.role.as_str().to_string()).or_default();
                r.expected += 1;
                if let Some(k) =
                    (0..got.dates.len()).find(|&k| !used[k] && same(&got.dates[k], want))
                {
                    used[k] = true;
                    r.matched += 1;
                }
            }
            for d in &got.dates {
                s.roles
                    .entry(d.role.as_str().to_string())
                    .or_default()
                    .found += 1;
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_labels_name_types_in_words_or_codes() {
        for (label, t) in [
            ("lab_report", T::LabReport),
            ("Lab results", T::LabReport),
            ("BLOODS", T::LabReport),
            ("X-Ray", T::ImagingReport),
            ("referral", T::ReferralLetter),
            ("Discharge Summary", T::DischargeSummary),
            ("op note", T::OperativeNote),
            ("Immunisation record", T::VaccinationRecord),
            ("other", T::Other),
        ] {
            assert_eq!(DocumentType::from_label(label), Some(t), "{label}");
        }
        for label in ["", "misc scans 2019", "letters from Mary", "labrador"] {
            assert_eq!(DocumentType::from_label(label), None, "{label}");
        }
    }

    #[test]
    fn any_text_is_read_without_a_panic() {
        let mut seed = 0x9e37_79b9_u32;
        let alphabet: Vec<char> =
            "aé ü0123456789/.-:\n DOB Date of birth collected ✓日本 ש 14 March 2026 12/31/2026"
                .chars()
                .collect();
        for round in 0..300 {
            let text: String = (0..round)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    alphabet[seed as usize % alphabet.len()]
                })
                .collect();
            for region in [Region::Ie, Region::Us, Region::Ca] {
                let u = understand_text(&text, region);
                if let Some(d) = &u.document_date {
                    assert!(
                        u.dates
                            .iter()
                            .any(|x| &x.date == d && x.role != DateRole::Birth)
                    );
                }
            }
        }
    }

    #[test]
    fn the_type_names_what_decided_it() {
        let t = guess_type(&[
            "DISCHARGE SUMMARY".to_string(),
            "Date of admission: 02/03/2026".to_string(),
        ]);
        assert_eq!(t.code, DocumentType::DischargeSummary);
        assert_eq!(t.loinc.as_deref(), Some("18842-5"));
        assert!(
            t.evidence[0].contains("discharge summary"),
            "{:?}",
            t.evidence
        );
        assert_eq!(
            guess_type(&["Eat more vegetables.".to_string()]).code,
            DocumentType::Other
        );
    }

    #[test]
    fn a_letter_is_read_by_its_shape_and_a_name_as_a_field_is_no_title() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        // A radiology department's clinic letter: greeting and closing, in Irish.
        let letter = lines(
            "Department of Radiology\nInterventional Radiology Clinic\n14-APR-2026\nDear Dr Lynch,\n\
             Thank you for referring Mr O'Mahony, whom I met in the clinic. We discussed embolisation; MRI showed a large gland.\n\
             Is mise le meas,\nDr Colm Breathnach",
        );
        let t = guess_type(&letter);
        assert_eq!(t.code, DocumentType::ClinicLetter, "{:?}", t.evidence);
        // Its shape decides it: the same words without a greeting and a closing read as
        // the department's report.
        let unsigned: Vec<String> = letter
            .iter()
            .filter(|l| !l.starts_with("Dear") && !l.starts_with("Is mise"))
            .cloned()
            .collect();
        assert_eq!(guess_type(&unsigned).code, DocumentType::ImagingReport);
        // "Health Card: 4471-882-019" on a lab report is a field, not the card itself.
        let lab = lines(
            "Community Laboratories\nPatient: Annick Sample   Health Card: 4471-882-019-XK\n\
             Collected 05/03/2026\nWBC 7.1 x10E9/L 4.0-11.0\nFerritin 9 L ug/L 15-247",
        );
        assert_eq!(guess_type(&lab).code, DocumentType::LabReport);
        // OCR's bar for a lone capital I.
        let referral = lines("Re: Maeve Sample\n| would be grateful if you would see this lady.");
        assert_eq!(guess_type(&referral).code, DocumentType::ReferralLetter);
    }

    #[test]
    fn a_consent_is_given_when_the_patient_signs() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        // The clinician's statement first, the patient's weeks later, a confirmation on
        // admission after.
        let form = "CONSENT FORM 1\nPATIENT AGREEMENT TO INVESTIGATION OR TREATMENT\n\
             Patient: Ms Tanya Greenwood   DOB: 21/08/1984\nProposed procedure: Laparoscopic cholecystectomy\n\
             Statement of health professional\nSigned: Mr R. Adeyinka (Consultant)     Date: 06/06/2023\n\
             Statement of patient\nI agree to the procedure described on this form.\n\
             Signed: T. Greenwood                Date: 19/06/2023\n\
             Confirmation of consent (to be completed by a health professional\n\
             when the patient is admitted for the procedure)\n\
             Signed: Dr L. Osei                      Date: 17/07/2023";
        let u = understand(&lines(form), Region::Uk);
        assert_eq!(u.doc_type.code, DocumentType::ConsentForm);
        assert_eq!(u.document_date.as_deref(), Some("2023-06-19"));
        let role = |date: &str| u.dates.iter().find(|d| d.date == date).map(|d| d.role);
        assert_eq!(role("2023-06-06"), Some(DateRole::Service));
        assert_eq!(role("2023-07-17"), Some(DateRole::Issued));
        // The patient's signature named on its own line.
        let form = "CONSENT FORM: Patient agreement to treatment\nDOB: 11/12/1985\n\
             Statement of health professional\nRisks: scarring, infection.\n\
             Signed: S Okafor    Date: 23/09/2025\nStatement of patient\n\
             Patient's signature: D Hughes               Date: 14 Oct 2025";
        let u = understand(&lines(form), Region::Uk);
        assert_eq!(u.document_date.as_deref(), Some("2025-10-14"));
        // Without a patient's statement, the first signature is the consent.
        let form = "CONSENT TO TREATMENT\nI consent to the procedure.\nSigned: A Byrne  Date: 02/03/2026\n\
             Witness: B Byrne  Date: 09/03/2026";
        let u = understand(&lines(form), Region::Ie);
        assert_eq!(u.document_date.as_deref(), Some("2026-03-02"));
    }

    #[test]
    fn a_referral_s_history_a_card_s_start_and_an_appointment_letter() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let referral = understand(
            &lines(
                "NHS e-Referral Service - Referral Letter\nReferral created: 12 Jan 2026 10:41\n\
                 Dear ENT colleague,\nThank you for seeing Graham, who has persistent tinnitus.\n\
                 He was discharged from your clinic on 04/06/2024 after treatment of otitis media.\n\
                 I would be grateful for your assessment.",
            ),
            Region::Uk,
        );
        assert_eq!(referral.doc_type.code, DocumentType::ReferralLetter);
        assert_eq!(referral.document_date.as_deref(), Some("2026-01-12"));
        let card = understand(
            &lines(
                "CORRIB HEALTH INSURANCE\nMEMBERSHIP CARD\nMember No: CH 0047 1128\n\
                 Start date:    01/03/2025\nRenewal date:  28/02/2026",
            ),
            Region::Ie,
        );
        assert_eq!(card.doc_type.code, DocumentType::InsuranceCard);
        assert_eq!(card.document_date, None);
        let letter = lines(
            "Bradfield Community Hospital\nOutpatient Appointments Centre\n20 February 2026\n\
             Dear Miss Whitaker\nYour referral has been accepted by the Dermatology service. We have\n\
             booked the following appointment for you:\nDate: Tuesday 17 March 2026\nYours sincerely",
        );
        assert_eq!(guess_type(&letter).code, DocumentType::Other);
    }

    #[test]
    fn a_sentence_above_a_card_s_rows_is_no_header() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let card = understand(
            &lines(
                "COVID-19 Vaccination Record Card\nDate of birth  04/22/1962\n\
                 Vaccine     Product Name/Manufacturer    Date\n\
                 about the vaccines you have received.\n\
                 1st Dose    Pfizer   EN6201              01/14/21    North Metro Vax Site\n\
                 COVID-19\n\
                 Other       Moderna booster 051F21A      11/03/21    Pharmacy #4417\n\
                 2nd Dose    Pfizer   EL9262              2/4/2021    NMVS",
            ),
            Region::Us,
        );
        assert_eq!(card.doc_type.code, DocumentType::VaccinationRecord);
        assert_eq!(card.document_date.as_deref(), Some("2021-11-03"));
    }

    #[test]
    fn claims_requisitions_messages_and_reports_dated_only_by_their_signing() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let code = |t: &str| guess_type(&lines(t)).code;
        // A claim form names an insurer and its member: no card.
        assert_eq!(
            code(
                "CLAR HEALTH INSURANCE - OUT-PATIENT CLAIM FORM\nClar Health Insurance DAC\n\
                 SECTION A - MEMBER DETAILS\nMember name: John Delaney   Membership no: CH 4471\n\
                 Date of treatment   Provider   Amount\n12/01/2026   Dr R. Moynihan   60.00"
            ),
            DocumentType::Other
        );
        assert_eq!(
            code("Laboratory Requisition / Demande d'analyses\n[X] CBC  [X] Ferritin  [X] TSH"),
            DocumentType::Other
        );
        // A portal's message thread: each message is the encounter.
        let thread = understand(
            &lines(
                "9:41\n< Messages            Conversation\nRE: Rash on arm after new medicine\n\
                 Dr. Priya Venkataraman - Internal Medicine\n\
                 You   Sun, Feb 15, 2026 8:12 PM\n Hi Dr V, I started it on Thursday (2/12)\n\
                 Priya Venkataraman, MD   Mon, Feb 16 7:48 AM\n Hi, please STOP it now.\n\
                 You   Mon, Feb 16 9:03 AM\n Thank you!\nType a message...\n\
                 Patient: Rosa Delgado    DOB 09/30/1994",
            ),
            Region::Us,
        );
        assert_eq!(thread.doc_type.code, DocumentType::ConsultationNote);
        assert_eq!(thread.document_date.as_deref(), Some("2026-02-16"));
        // A study's days without labels, before its report was signed.
        let report = understand(
            &lines(
                "NUCLEAR CARDIOLOGY\nMYOCARDIAL PERFUSION IMAGING (SPECT)\nDOB 10/02/1958\n\
                 Day 1   Stress   03/02/2026   regadenoson\nDay 2   Rest     03/03/2026\n\
                 IMPRESSION: moderate ischemia.\nFinal report signed 03/04/2026 10:21",
            ),
            Region::Us,
        );
        assert_eq!(report.document_date.as_deref(), Some("2026-03-03"));
        // A pharmacy label dated by its dispensing; the patient's signature two lines
        // above its date.
        let label = understand(
            &lines(
                "McGRATH'S PHARMACY\nAMOXICILLIN 500MG CAPSULES   21\n\
                 Take ONE capsule THREE times a day\n\
                 Dr. C. O Murchu        Disp: 17/02/2026\nDiscard after: 03/03/2026",
            ),
            Region::Ie,
        );
        assert_eq!(label.document_date.as_deref(), Some("2026-02-17"));
        let consent = understand(
            &lines(
                "INFORMED CONSENT FOR CARDIAC CATHETERIZATION\n\
                 Physician statement: I have explained.\n\
                 Physician: T. Renwick MD     Date: 03/21/2026\nPatient signature: B. Oyelaran\n\
                 Date:\n03/22/2026      Time: 07:15",
            ),
            Region::Us,
        );
        assert_eq!(consent.document_date.as_deref(), Some("2026-03-22"));
        // An appointment letter quoting when the referral arrived.
        let letter = understand(
            &lines(
                "Appointments Office\nDate of letter: 02/03/2026\nDear Mr O Cuiv,\n\
                 An appointment has been made for you to attend:\n\
                 Date: Thursday 16th April 2026\n\
                 This appointment follows your GP's referral received on 23/01/2026.",
            ),
            Region::Ie,
        );
        assert_eq!(letter.document_date.as_deref(), Some("2026-03-02"));
    }

    #[test]
    fn a_thing_to_bring_is_not_what_the_letter_is() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let letter = lines(
            "Linn County Sleep Center\nMarch 4, 2026\nDear Mr. Sample,\n\
             Your physician has referred you to our center. We have scheduled the following for you:\n\
             Sleep Medicine Consultation   Thursday, April 9, 2026\n\
             Please bring your insurance card, a photo ID and a list of your medications.\n\
             To cancel or reschedule, please call at least 48 hours in advance.\nSincerely,",
        );
        assert_eq!(guess_type(&letter).code, DocumentType::Other);
        let card = lines("MEDICARE CARD\nName: SAMPLE, Chantal\nExpires: 30 SEPT 2029");
        assert_eq!(guess_type(&card).code, DocumentType::InsuranceCard);
    }

    #[test]
    fn a_consent_recorded_in_a_note_does_not_make_it_a_consent_form() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let minor_surgery = lines(
            "Meadowbank Health Centre - Minor Surgery Clinic\nProcedure date: 12 May 2026\n\
             Consent: written, on file\nProcedure: elliptical excision under 1% lidocaine.\n\
             Specimen sent to histology",
        );
        assert_eq!(guess_type(&minor_surgery).code, DocumentType::OperativeNote);
        let telehealth = lines(
            "Telehealth Visit Summary\nVisit: Mar 14 2026 (video; verbal consent for telehealth obtained)\n\
             Chief complaint: med management\nInterval history: sleep improved",
        );
        assert_eq!(guess_type(&telehealth).code, DocumentType::ConsultationNote);
        // A visit after the operation is one to come.
        let op = understand(
            &lines(
                "OPERATIVE REPORT\nDate of Procedure: 01/27/2026\nSurgeon: M. Osterhout, MD\n\
                 Post-op: Day 1 visit 01/28/2026. Right eye surgery planned 02/10/2026.",
            ),
            Region::Us,
        );
        assert_eq!(op.doc_type.code, DocumentType::OperativeNote);
        assert_eq!(op.dates[1].role, DateRole::Due);
        assert_eq!(op.document_date.as_deref(), Some("2026-01-27"));
        // The consent form itself still reads as one.
        let form = lines(
            "CONSENT FORM FOR OPERATION\nI consent to the procedure described.\nPatient signature:",
        );
        assert_eq!(guess_type(&form).code, DocumentType::ConsentForm);
        // Who signs a letter says little of what it is.
        let letter = "Trauma & Orthopaedics - Upper Limb Service\n\
             Seen: 7 January 2026          Typed: 9 January 2026\n\
             Re: Mr Jordan Pike   DOB 14-Feb-1985\nDear Dr Kaur,\n\
             Mr Pike is now about six weeks from his shoulder dislocation, reduced in ED.\n\
             He has a full range of movement. I have referred him to physiotherapy.\n\
             Yours sincerely,";
        assert_eq!(guess_type(&lines(letter)).code, DocumentType::ClinicLetter);
        let signed = format!("{letter}\nMr T. Okonjo, Consultant Orthopaedic Surgeon");
        assert_eq!(guess_type(&lines(&signed)).code, DocumentType::ClinicLetter);
        // A state before its ZIP code is an address ("TX", treatment, is a cue).
        let reminder = lines(
            "Oak Terrace Dermatology\n1450 Ridgeway Blvd, Plano TX 75024\n\
             This is a reminder of your upcoming appointment: full-body skin exam",
        );
        assert_eq!(guess_type(&reminder).code, DocumentType::Other);
        assert!(state_and_zip("plano tx 75024", "tx"));
        assert!(!state_and_zip("tx: rest and ice", "tx"));
        // A word of more than one byte a letter after a two-letter cue.
        assert!(!state_and_zip("ct cérébral sans contraste", "ct"));
        assert_eq!(
            guess_type(&lines("Examen : CT cérébral sans contraste")).code,
            guess_type(&lines("Examen : CT cerebral sans contraste")).code
        );
    }

    #[test]
    fn the_writer_s_letterhead_an_office_s_box_and_a_note_s_own_visit() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let date_of = |t: &str, r: Region| understand(&lines(t), r).document_date;
        // A US laboratory writes month-first for an Irish patient, an Irish one day-first
        // for an American; the patient's home address further down decides nothing.
        let us_lab = "SUNCOAST URGENT CARE & LAB\n2710 W Vine St, Kissimmee, FL 34741\n\
             LABORATORY REPORT\nPatient: FARRELL, Declan   DOB: 02/10/1958\n\
             Address on file: 7 Church View, Mullingar, Co Westmeath, Ireland\n\
             Collected: 07/08/2025 10:42   Received: 07/08/2025 11:05\nCRP 4.6 mg/dL (<0.9)";
        assert_eq!(date_of(us_lab, Region::Ie).as_deref(), Some("2025-07-08"));
        let ie_lab = "Corrib Valley University Hospital\nDepartment of Medical Microbiology\n\
             Newcastle Road, Galway H91 T2K4\nPatient: KOWALCZYK, Ashley   DOB: 10/12/1995\n\
             Address: Galway (home: Cleveland, OH 44106, USA)\n\
             Collected: 03/06/2025 09:10   Received: 04/06/2025\nURINE CULTURE";
        assert_eq!(date_of(ie_lab, Region::Us).as_deref(), Some("2025-06-03"));
        // A British postcode in the letterhead is enough.
        let uk_scan = "Imaging Directorate\nSt Aldhelm's Hospital, Salisbury Road, Blandford DT11 7PQ\n\
             RESULT: US ABDOMEN\nName: GARRISON, Paula   DOB 04/07/1963\nExam Date: 03/10/2025\n\
             Findings: gallstones.";
        assert_eq!(date_of(uk_scan, Region::Us).as_deref(), Some("2025-10-03"));
        // Dates in an office's box are its handling of the paper.
        let request = "REQUEST FOR ACCESS TO MEDICAL RECORDS\nPatient: Quintero, Esteban   DOB: 02/27/1957\n\
             Records requested - dates of service from 10/17/2025 to 11/06/2025\n\
             Signature: Esteban Quintero        Date: 02/26/2026\n-- HIM USE ONLY --\n\
             Rec'd 03/02/2026 by KT  |  Completed 03/04/2026";
        let u = understand(&lines(request), Region::Us);
        assert_eq!(u.doc_type.code, DocumentType::Other);
        assert_eq!(u.document_date.as_deref(), Some("2026-02-26"));
        // A progress note is of its visit; a cycle dated after it is planned.
        let note = "PROGRESS NOTE\nPatient: Shonda Pratt   DOB: 06-23-1972\n\
             Visit date: 12-03-2025   Provider: Priya Venkataraman, MD\n\
             - 04/18/2023 L lumpectomy; RT completed 6/30/2023; then letrozole\n\
             Plan: proceed with C5 today. Next echo due 01/28/2026.\n\
             C6 infusion visit 12/24/2025.";
        let u = understand(&lines(note), Region::Us);
        assert_eq!(u.document_date.as_deref(), Some("2025-12-03"));
        let role = |date: &str| u.dates.iter().find(|d| d.date == date).map(|d| d.role);
        assert_eq!(role("2025-12-24"), Some(DateRole::Due));
        // An emergency department's departure ends the stay.
        let ed = "EMERGENCY DEPARTMENT DISCHARGE SUMMARY\nPatient: Liam FORSTER   DOB: 19/02/2003\n\
             Arrival: 07/03/2026 23:48\nDeparture: 08/03/2026 04:15   Outcome: Discharged home\n\
             Completed by: Dr N. Osei      08/03/2026 04:22";
        assert_eq!(date_of(ed, Region::Uk).as_deref(), Some("2026-03-08"));
        // An appointment card's weekday date is the appointment, to come.
        let card = "Outpatients Department\nTralee General Hospital\nAPPOINTMENT CARD\n\
             Name: Mr Liam Sugrue\nDate: Tue 14 April 2026       Time: 10.15am";
        let u = understand(&lines(card), Region::Ie);
        assert_eq!(u.doc_type.code, DocumentType::Other);
        assert_eq!(u.document_date, None);
        // A record verified and signed under its rows of doses is not a dose.
        let record = "CERTIFICATE OF IMMUNIZATION STATUS\nStudent: Aria   Birthdate: 03/28/2019\n\
             Vaccine     Dose 1      Dose 2\nDTaP        05/30/19    04/02/24\nMMR         04/01/20    04/02/24\n\
             Record verified by: Evergreen Family Medicine       Date: 08/11/2025";
        assert_eq!(date_of(record, Region::Us).as_deref(), Some("2024-04-02"));
    }

    #[test]
    fn procedure_rooms_receipts_and_requests_are_named_for_what_they_are() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let kind = |t: &str| guess_type(&lines(t)).code;
        assert_eq!(
            kind(
                "Heart & Vascular Institute\nCARDIAC CATHETERIZATION LABORATORY REPORT\nProcedure Date: Apr 8, 2026\nFindings: LAD 70%"
            ),
            DocumentType::OperativeNote
        );
        assert_eq!(
            kind(
                "HÔPITAL RÉGIONAL\nRÉSUMÉ DE SÉJOUR\nAdmission : 22 février 2026   Départ : 1er mars 2026\nMédication au départ :"
            ),
            DocumentType::DischargeSummary
        );
        assert_eq!(
            kind(
                "HARMON DRUG #212\nPATIENT MEDICATION INFORMATION / RECEIPT\nRX# 6620418-01\nPrescriber: CORRIGAN, NP\nDate Written: 01/05/2026\nAMOXICILLIN 875 MG TABLET   Qty: 20\nRefills remaining: 0"
            ),
            DocumentType::Prescription
        );
        assert_eq!(
            kind(
                "Dr. Amrita Chaudhary\nBayview Walk-In Clinic\nDOB: 22/10/1979\nRx: Nitrofurantoin 100 mg PO BID x 5 days\n    M: 10 caps"
            ),
            DocumentType::Prescription
        );
        // A till receipt's "RX 7731520" is no prescription.
        assert_eq!(
            kind(
                "HARBOR DRUG #2290\nRX 7731520  ATORVASTATIN 40MG   12.00\nSUBTOTAL 12.00\nTOTAL $12.00\nthis is a receipt"
            ),
            DocumentType::Other
        );
        assert_eq!(
            kind(
                "HÔPITAL DE CHICOUTIMI\nAVIS DE RENDEZ-VOUS\nDate : mardi 14 avril 2026\nApportez : votre carte d'assurance maladie"
            ),
            DocumentType::Other
        );
        assert_eq!(
            kind(
                "MAPLE GROVE COUNSELING\nSTATEMENT / SUPERBILL\nInsurance: Northstar   Member ID NHP55810422\nDOS  CPT  Charge"
            ),
            DocumentType::Other
        );
    }

    #[test]
    fn letters_from_walk_in_clinics_slips_and_requests() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        // A walk-in clinic's letter to the family doctor is a letter.
        let letter = "VeraCall Health Canada - Virtual Walk-In (Ontario)\nDate: 06/03/2026\n\
             Dr. Fatima Qureshi\nRE: HOLLIS, Jerome       DOB: 02/12/1983\nDear Dr. Qureshi,\n\
             Your patient had a virtual (video) visit with me on 05/03/2026 for back pain.\n\
             Please arrange follow-up if he is not improving within 4-6 weeks.\nSincerely,\n\
             Dr. Kwame Asante, MD CCFP";
        let u = understand(&lines(letter), Region::Ca);
        assert_eq!(u.doc_type.code, DocumentType::ClinicLetter);
        assert_eq!(u.document_date.as_deref(), Some("2026-03-05"));
        // "PO Box" is an address, not "by mouth"; zeros for o's are read as letters.
        assert_eq!(letters_for_zeros("min0r"), "minor");
        assert_eq!(letters_for_zeros("s26-04411"), "s26-04411");
        assert_eq!(
            guess_type(&lines(
                "SUMMITP0INT URGENT CARE\nMIN0R PR0CEDURE REC0RD\nProc: trephination"
            ))
            .code,
            DocumentType::OperativeNote
        );
        // A repeat slip dated only by its "Last issued" column: its latest is this issue.
        let slip = "REPEAT PRESCRIPTION - RIGHT HAND SIDE - TEAR OFF AND KEEP\n\
             Patient:  Mrs Joan ASHWORTH     DOB  28/02/1944\n\
             Drug                                  Last issued     Qty\n\
             Amlodipine 5mg tablets                20/02/2026      28\n\
             Levothyroxine 75microgram tablets     09/01/2026      56\n\
             Medication review due:  31/07/2026";
        let u = understand(&lines(slip), Region::Uk);
        assert_eq!(u.doc_type.code, DocumentType::Prescription);
        assert_eq!(u.document_date.as_deref(), Some("2026-02-20"));
        // A records request is given when the patient signs it, not on the dates asked.
        let request = "VeraCall Health - Request for Access to / Release of Protected Health Information\n\
             Patient: Roderick Ampofo          DOB: 06/03/1979\n\
             Dates of service: from 12/01/2025 to 03/01/2026\n\
             Signature: Roderick Ampofo (e-signature)      Date: 03/09/2026";
        let u = understand(&lines(request), Region::Us);
        assert_eq!(u.doc_type.code, DocumentType::Other);
        assert_eq!(u.document_date.as_deref(), Some("2026-03-09"));
        // An operation note's own date is its event, whatever is dated before it.
        let op = "MINOR SURGERY RECORD - Boyle Family Practice\nPatient: Thomas Conlon   DOB 12/12/1962\n\
             Date of procedure: 05/03/2026\nConsent: written, signed 19/02/2026 (scanned to chart)\n\
             Procedure: elliptical excision, lesion L upper back\nClosure: 4/0 Prolene x 4";
        assert_eq!(
            understand(&lines(op), Region::Ie).document_date.as_deref(),
            Some("2026-03-05")
        );
        // A cumulative table's header of dates: its latest column is this sample's.
        let cumulative = "Test Results Report\nPatient: Mr Alasdair Lamont   DoB 17 Jun 1966\n\
             21-Jan-2026    07-Jul-2025    13-Jan-2025\n\
             Total cholesterol   4.1   5.8   6.2   mmol/L\nHbA1c   41   44   46   mmol/mol\n\
             Latest sample received at lab 22-Jan-2026; reported 23-Jan-2026";
        assert_eq!(
            understand(&lines(cumulative), Region::Uk)
                .document_date
                .as_deref(),
            Some("2026-01-21")
        );
    }

    #[test]
    fn pharmacy_labels_renewals_orders_and_samples_in_letters() {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let date_of = |t: &str, r: Region| understand(&lines(t), r).document_date;
        // A pharmacy label's "Date:" is its filling when the writing is dated.
        let label = "Broadway Community Pharmacy\nRx# 4418276                         Date: 04/18/2024\n\
             LEVOTHYROXINE 88MCG TAB   TAKE 1 TABLET BY MOUTH ONCE DAILY\nQty: 90    Refills left: 2\n\
             Orig. Rx date: 02/05/2024       Use before: 02/05/2025";
        assert_eq!(date_of(label, Region::Ca).as_deref(), Some("2024-02-05"));
        // A renewal's signature is the new prescription.
        let renewal = "PRESCRIPTION RENEWAL REQUEST\nFrom: Glebe Corner Pharmacy\n\
             Drug: Apixaban 5 mg tablet - 1 tab BID       Qty 60\n\
             Last filled: 02/03/2026       Original Rx date: 11/09/2025\n\
             [x] Renew as above - Refills: 5\nSignature: H. Qureshi MD          Date: 06/03/2026";
        assert_eq!(date_of(renewal, Region::Ca).as_deref(), Some("2026-03-06"));
        // An order dates itself.
        let order = "STANDARD WRITTEN ORDER - DURABLE MEDICAL EQUIPMENT\n\
             Beneficiary: Harold J Brezinski      DOB 04/17/1941\nOrder date: 02/06/2026\n\
             E0143    Walker, folding, wheeled      1";
        assert_eq!(date_of(order, Region::Us).as_deref(), Some("2026-02-06"));
        // A sample collected, quoted in a referral, is history.
        let referral = "Champlain Family Medicine\nFebruary 24, 2026\nReferral to: Green Mountain Gastroenterology\n\
             Dear Dr. Archambault,\nI saw Ms. Haugen-Tremblay on 02/19/2026 to establish care.\n\
             A stool H. pylori antigen collected 02/21/2026 was positive.\n\
             I would appreciate your assessment.\nSincerely,";
        assert_eq!(date_of(referral, Region::Us).as_deref(), Some("2026-02-19"));
    }

    #[test]
    fn letters_written_on_the_day_quoted_results_notes_headers_and_stamps() {
        let date = |text: &str, region: Region| understand_text(text, region).document_date;
        let role = |text: &str, region: Region, date: &str| {
            understand_text(text, region)
                .dates
                .iter()
                .find(|d| d.date == date)
                .map(|d| d.role)
        };
        // A letter written on the day of the visit it reports is dated by that visit; the
        // injury and the quoted histology's reporting are history.
        let seen = "KINGSGATE SPORTS INJURY CLINIC\n12 Kingsgate Mews, Edinburgh EH3 7BD\n\n\
                    10th March 2026\n\nDear Mr Munro,\nRe: Ms Kirsty Dalgleish, D.O.B. 19/12/1997\n\
                    Thank you for seeing this netball player whom I assessed today. She\n\
                    sustained a non-contact twisting injury to her left knee on 21/02/2026.\n\
                    Kind regards,";
        assert_eq!(date(seen, Region::Uk).as_deref(), Some("2026-03-10"));
        let quoted = "17th February 2026\n\nDear Dr Sutcliffe\nRE: Graham THRELFALL   DOB 30/01/1966\n\
                      I saw Mr Threlfall in clinic today to discuss the results of his colonoscopy of\n\
                      20/01/2026. Histology (reported 27/01/2026) confirmed a tubular adenoma.\n\
                      Yours sincerely";
        assert_eq!(date(quoted, Region::Uk).as_deref(), Some("2026-02-17"));
        assert_eq!(
            role(quoted, Region::Uk, "2026-01-27"),
            Some(DateRole::Other)
        );
        // (Not when the clinic's own date is given and the letter was typed later.)
        let typed = "Clinic date: 02/09/2025\nTyped: 04/09/2025\nDear Dr Shah,\n\
                     I reviewed this patient in clinic today. Depo-Medrone given in clinic today.\n\
                     Yours sincerely";
        assert_eq!(date(typed, Region::Uk).as_deref(), Some("2025-09-02"));
        // A sentence that ends before a date lends it no label ("whom I visited at home" /
        // "today. She had a fall on Sunday 12/10/2025").
        let fall = "14/10/2025\n\nDear Doctor,\nRE: Mrs Eileen Hanna (DOB 12/06/1949)\n\
                    I would be grateful if you would assess this lady whom I visited at home\n\
                    today. She had a fall on Sunday 12/10/2025 and cannot weight bear.\nKind regards";
        assert_eq!(date(fall, Region::Uk).as_deref(), Some("2025-10-14"));
        // A field line is no table header: "auth." on a funding line labels no date below.
        let stay = "INPATIENT DISCHARGE SUMMARY\nPatient: DALGLEISH Kirsty   DOB: 19/12/1997\n\
                    Admission: 31-Mar-2026             Discharge: 01-Apr-2026\n\
                    Funding: Halewood Medical Assurance, auth. HMA-7730-SRG-0413\n\n\
                    Procedure: L ACL reconstruction - 31-Mar-2026\n\
                    MRI pre-op 17-Mar-2026 confirmed complete ACL rupture.";
        assert_eq!(date(stay, Region::Uk).as_deref(), Some("2026-04-01"));
        // A cumulative report's dates before its "Units" and "Ref" columns.
        let cumulative = "GALWAY BAY UNIVERSITY HOSPITAL - CLINICAL CHEMISTRY\n\
                          CUMULATIVE REPORT      Printed: 16/06/2026 07:10\n\
                          KOWALSKI, ROBERT    DOB 22/04/1958\n\
                          \x20           14/06/26    14/06/26    15/06/26    Units    Ref\n\
                          hs-Troponin T   64 H   118 H   203 H   ng/L   <14\n\
                          CK              210    388 H   412 H   U/L    39-308";
        assert_eq!(date(cumulative, Region::Ie).as_deref(), Some("2026-06-15"));
        // A letter giving an appointment in its body: the attendance it follows is history.
        let appointment = "Emergency Department, Dunmore Road, Waterford  X91 KR54\n\n14 May 2026\n\n\
                           Patient MRN: W0552871   DOB: 29/01/2004\nDear Ms Tobin,\n\
                           Following your attendance at the Emergency Department on 12 May 2026, you have been\n\
                           given an appointment to return to the ED Review Clinic as follows:\n\
                           \x20  Date:    Tuesday 19 May 2026\nYours faithfully,";
        assert_eq!(date(appointment, Region::Ie).as_deref(), Some("2026-05-14"));
        // A message's "Sent:" stamp; an appointment "moved to:" a date alone below.
        let moved = "MyLakeshore - Message Center\nSubject: Appointment rescheduled\n\
                     Sent: Thu Feb 19 '26 4:52 PM\n\nDear Anthony,\n\
                     Dr. Ellison is out of the office on Tuesday, February 24. Your skin check has been moved to:\n\n\
                     \x20   Monday, March 2, 2026 at 2:40 PM\nThank you,";
        assert_eq!(date(moved, Region::Us).as_deref(), Some("2026-02-19"));
        assert_eq!(role(moved, Region::Us, "2026-03-02"), Some(DateRole::Due));
        // A record's reconciliation, a job's start date and a traveller's departure are
        // no doses; a dose row is no dose to come after a start date.
        let record = "IMMUNISATION RECORD - HEALTHCARE WORKER\n\
                      DOB: 07/10/2001      Role: Staff Nurse      Start date: 05/01/2026\n\
                      Hepatitis B (Engerix B)\n   Dose 1    12/01/2026    Batch AHBVC917AA\n\
                      \x20  Dose 2    09/02/2026    Batch AHBVC917AA\n   Dose 3    due 09/03/2026\n\
                      Source: registry (reconciled 02/03/2026)\n\
                      Destination: Tanzanie - départ 2026-03-15";
        assert_eq!(date(record, Region::Uk).as_deref(), Some("2026-02-09"));
        // A recheck to come; an admission in the history ("Hx ... (adm").
        let referral = "REFERRAL / AUTHORIZATION REQUEST\nReferral date: Mar 23 '26\n\
                        Patient: Calderon Pineda, Ernesto        DOB: 02/14/1971\n\
                        Reason: plantar ulcer, not improving. Hx R leg cellulitis (adm 12/28/25).\n\
                        Please recheck HbA1c in 3 months (around 06/23/2026).";
        assert_eq!(date(referral, Region::Us).as_deref(), Some("2026-03-23"));
        assert_eq!(
            role(referral, Region::Us, "2026-06-23"),
            Some(DateRole::Due)
        );
        // A note's header appointment and a consultation's own time stamp are its visit;
        // a contact note's plan is to come.
        let podiatry = "HSE Community Podiatry\nDIABETIC FOOT REVIEW - CLINICAL NOTE\n\n\
                        Client: Bernard Mc Grath        DOB 28-02-1955\n\
                        Appt: 13-01-2026  10:15    Clinician: Sinead Kavanagh, Podiatrist\n\
                        Last seen: 14-10-2025\nS: Attends for 3-monthly review.\n\
                        P: Callus debrided.\n   Next review: 14-04-2026 (3/12)";
        assert_eq!(date(podiatry, Region::Ie).as_deref(), Some("2026-01-13"));
        let dietitian = "Community Nutrition & Dietetic Service - Bolton\nConsultation Record\n\n\
                         Patient: Mrs Janet Ollerton       DOB 04 Dec 1963\n\
                         18 Feb 2026 14:00   Dietitian: Kirsty Haworth   Face to face\n\
                         Reason for referral: HbA1c 62 mmol/mol (08/01/2026).\n\
                         Plan: telephone review 4/52 - booked 18/03/2026.";
        assert_eq!(date(dietitian, Region::Uk).as_deref(), Some("2026-02-18"));
        let contact = "Children's Speech & Language Therapy\n\nCONTACT NOTE\n\
                       Name: Ruairidh MacLeod        DOB: 27/08/2020\n\
                       Date of contact: 10/03/2026   Time: 09:30-10:15\n\
                       Plan: next session 17/03/2026.\n\
                       Episode review at end of block, approx 21/04/2026.";
        let u = understand_text(contact, Region::Uk);
        assert_eq!(u.doc_type.code, DocumentType::ConsultationNote);
        assert_eq!(u.document_date.as_deref(), Some("2026-03-10"));
        // Seen for a recall examination; an examination completed on a date.
        let dental = "REFERRAL\nDate: January 6, 2026\nPatient: Ethan Schaefer   DOB: 02/11/2008\n\
                      Reason for referral: extraction of #17 and #32.\n\
                      Findings: Pt seen for recall exam 12/29/2025; pericoronitis #32.";
        assert_eq!(date(dental, Region::Us).as_deref(), Some("2025-12-29"));
        let ortho = "March 27, 2026\n\nRE: Sofia Delgado    DOB 6/19/2013\nDear Dr. Cardenas,\n\
                     Thank you for referring Sofia. We completed her initial orthodontic\n\
                     examination and records on 3/24/2026.\nSincerely,";
        assert_eq!(date(ortho, Region::Us).as_deref(), Some("2026-03-24"));
    }

    #[test]
    fn spanish_dates_fax_machines_registries_and_a_letter_s_own_field() {
        let date = |text: &str, region: Region| understand_text(text, region).document_date;
        // Spanish months, "de" between the parts, a plain "Fecha:", a letter's greeting
        // and closing, a visit thanked for.
        let carta = "Sunridge Community Health Center\n1418 E. Alder St. - Yakima, WA 98901\n\n\
                     15 de febrero de 2026\n\nRe: resultados de laboratorio  (F. nac. 07/22/1986)\n\
                     Estimada Sra. Hernández:\n\
                     Gracias por su visita del 10 de febrero de 2026. Le escribo con los resultados.\n\
                     Atentamente,\nDaniela Okafor, FNP-C";
        let u = understand_text(carta, Region::Us);
        assert_eq!(u.document_date.as_deref(), Some("2026-02-10"));
        assert!(
            u.dates
                .iter()
                .any(|d| d.date == "2026-02-15" && d.role == DateRole::Issued)
        );
        let consentimiento = "CONSENTIMIENTO GENERAL PARA TRATAMIENTO / GENERAL CONSENT FOR TREATMENT\n\
                              Nombre del paciente: Mateo Ríos Delgado\nFecha de nacimiento: 10/04/2025\n\
                              Yo, el paciente o su representante legal, doy mi consentimiento.\n\
                              Firma del paciente/representante: Yesenia Delgado\nFecha: 10/20/2025";
        assert_eq!(
            date(consentimiento, Region::Us).as_deref(),
            Some("2025-10-20")
        );
        // A fax machine's header line, known by its number and page counter.
        let card = "01/06/2026 13:22   (919)555-0164   BRIGHTLEAF FAMILY MED   P.3/4\n--- FRONT ---\n\
                    Carolina Heritage Health Plan          PPO Select\nMember ID:  CHX884120375\n\
                    Effective Date: 01/01/2026\nRx BIN: 004336    Rx PCN: ADV\nCard issued 12/15/2025";
        assert_eq!(date(card, Region::Us).as_deref(), Some("2025-12-15"));
        // A letter's own date's field wins over the title before it.
        let notice = "Radiotherapy Department\n\nAPPOINTMENT NOTIFICATION      Date of letter: 12/01/2026\n\
                      Hospital No: G6602913        DOB: 19/01/1952\nDear Mr Ó Flatharta,\n\
                      An appointment has been made for your radiotherapy planning CT scan:\n\
                      \x20  Date:      Wednesday 21st January 2026\nLe meas,";
        assert_eq!(date(notice, Region::Ie).as_deref(), Some("2026-01-12"));
        // An ED letter's "Departed:" ends the stay.
        let ed = "Royal Pennine Infirmary - Emergency Department\nED DISCHARGE LETTER\n\
                  Patient: Jordan WHITWORTH   DOB: 04/11/2001\n\
                  Arrived: 28/12/2025 23:47          Departed: 29/12/2025 04:10\n\
                  Outcome: Discharged home.\nFollow-up: fracture clinic will telephone on 02/01/2026";
        assert_eq!(date(ed, Region::Uk).as_deref(), Some("2025-12-29"));
        // A procedure note's date of service after an earlier consent.
        let extraction = "SUNRIDGE CHC - DENTAL\nPROCEDURE NOTE: SURGICAL EXTRACTION\n\
                          Pt: Ernesto Calderón Pineda       DOB 02/14/1971\nDOS 02-03-2026\n\
                          Consent: written consent signed 01-27-2026, reviewed again today.\n\
                          Procedure: sectioned #19, roots delivered. EBL minimal. Hemostasis achieved.\n\
                          F/U post-op check 02-10-2026.";
        assert_eq!(date(extraction, Region::Us).as_deref(), Some("2026-02-03"));
        // A vaccination record's reporting to the registry is no dose.
        let registro = "SUNRIDGE CHC - REGISTRO DE VACUNACIÓN / VACCINE ADMINISTRATION RECORD\n\
                        Fecha de nacimiento / DOB: 11/03/1979\n\
                        Vacuna / Vaccine          Fecha / Date    Lote / Lot    Sitio\n\
                        Tdap                      01/14/2026      TD55102       LD\n\
                        Hep B (Heplisav-B) #2     Próxima / Next due: 02/11/2026\n\
                        Reported to the state registry: 01/15/2026";
        assert_eq!(date(registro, Region::Us).as_deref(), Some("2026-01-14"));
    }

    #[test]
    fn recordings_calls_and_checks_are_read_by_their_fields() {
        let date = |text: &str, region: Region| understand_text(text, region).document_date;
        // A recorder's fitting and removal on one line, a time between them.
        let holter = "CARDIAC PHYSIOLOGY DEPARTMENT\n24 HOUR AMBULATORY ECG (HOLTER) REPORT\n\
                      Name: Ms Leanne CARTWRIGHT      DOB: 15/05/1994\n\
                      Recorder fitted: 19/01/2026 10:32      Removed: 20/01/2026 10:40\n\
                      Conclusion: Paroxysmal SVT.\n\
                      Analysed by: J. Pearce        Date: 22/01/2026\n\
                      Verified by: Dr S. Iqbal      Date: 23/01/2026";
        assert_eq!(date(holter, Region::Uk).as_deref(), Some("2026-01-20"));
        // A recording's start and end, a weekday before each.
        let abpm = "AMBULATORY BLOOD PRESSURE MONITORING REPORT\nPatient: Mr Kwame ASANTE   DOB: 30/10/1982\n\
                    Start: Mon 02/03/2026 09:15        End: Tue 03/03/2026 09:05\n\
                    Daytime mean 146 93 79\n\
                    Reported by: Dr L. Sutherland   05.03.2026";
        assert_eq!(date(abpm, Region::Uk).as_deref(), Some("2026-03-03"));
        // A call's "Date/time of call:" is the consultation, not the result quoted.
        let call = "ANTICOAGULATION SERVICE - TELEPHONE CONSULTATION RECORD\n\
                    Patient: Mary-Kate Doherty   DOB: 22/03/1938\n\
                    Date/time of call: 10/03/2026  11:20\n\
                    INR result (POC, district nurse visit 09/03/2026): 4.6\n\
                    Plan: Repeat INR 13/03/2026 (district nurse).";
        assert_eq!(date(call, Region::Ie).as_deref(), Some("2026-03-10"));
        // A device clinic's "Check date:", not the physician's review days later.
        let device = "PACING & DEVICE CLINIC - INTERROGATION REPORT\nPatient: Bridget Lynch   DOB 17 Oct 1936\n\
                      Device: pacemaker - implanted 05 Jun 2019\n\
                      Check type: In-clinic       Check date: 08 Jan 2026\n\
                      Next: remote transmission 09 Apr 2026\n\
                      Reviewed: Dr F. Quirke, Consultant Cardiologist     12 Jan 2026";
        assert_eq!(date(device, Region::Ie).as_deref(), Some("2026-01-08"));
        // A consultation's time stamp dates it; the history's days and the plan's do not.
        let note = "Beaumont Lane Surgery - Consultation\n04-Mar-2026 11:20   Telephone   Dr Rina Patel (GP)\n\
                    Patient: Chloe BARNES   DOB 09-Oct-2001\n\
                    History\nMissed 2 pills - started new packet Sun 01/03,\n\
                    missed Mon and Tue (02/03 and 03/03). UPSI Sat 28/02.\n\
                    Plan      Pregnancy test 21 days after UPSI (21/03/2026).";
        assert_eq!(date(note, Region::Uk).as_deref(), Some("2026-03-04"));
        // An appointment letter's "Referral date:" is the referral's.
        let intake = "CARDIOVASCULAR PREVENTION & REHABILITATION CENTRE\n\nJanuary 22, 2026\n\n\
                      Re: Your Cardiac Rehabilitation Intake Appointment\n\
                      Referral date: January 9, 2026  (CABG x3, surgery December 17, 2025)\n\
                      Your intake assessment has been booked:\n    Date:      Tuesday, February 10, 2026";
        let u = understand_text(intake, Region::Ca);
        assert_eq!(u.document_date.as_deref(), Some("2026-01-22"));
        let referred = u.dates.iter().find(|d| d.date == "2026-01-09");
        assert_eq!(referred.map(|d| d.role), Some(DateRole::Other));
        // A swab taken before a referral is the history's.
        let referral = "HEALTHLINK - OUTPATIENT REFERRAL\nDate: 02/05/2020     Priority: Routine\n\
                        Patient:  Mary KEHOE     DOB: 30/01/1974\nReason for referral:\n\
                        Recurrent otitis externa. Swab taken\n14/01/2020 grew Pseudomonas aeruginosa.";
        assert_eq!(date(referral, Region::Ie).as_deref(), Some("2020-05-02"));
        // A dose "from" a date is to come.
        let travel = "TRAVEL VACCINATION RECORD\nTraveller: Mr Oliver GRANT   DOB: 30 Apr 1999\n\
                      Date       Vaccine                 Batch      Dose\n\
                      05/01/26   Hepatitis A (Havrix)    AHAVB911   1 of 2\n\
                      26/01/26   Rabies (Rabipur)        4017A      3 of 3\n\
                      Boosters: Hep A dose 2 from 05/07/26 (6-12 months).";
        assert_eq!(date(travel, Region::Uk).as_deref(), Some("2026-01-26"));
        // A consent's claimant signs in a section of the form after the doctor's.
        let ime = "CONSENT TO INDEPENDENT MEDICAL EXAMINATION\n\
                   Claimant:   Ms Rhiannon Beddoe     Date of birth: 30 June 1983\n\
                   SECTION A - to be completed by the examining doctor\n\
                   I will explain to the claimant the purpose of this examination.\n\
                   Signed:  O. Prothero                Date: 26/02/2026\n\
                   SECTION B - to be completed by the claimant\n\
                   1. I consent to being examined by the doctor named above.   [X]\n\
                   Signature:  R. Beddoe               Date: 02/03/2026";
        assert_eq!(date(ime, Region::Uk).as_deref(), Some("2026-03-02"));
    }

    #[test]
    fn lists_sentences_faxes_and_deadlines_are_read_as_written() {
        let date = |text: &str, region: Region| understand_text(text, region).document_date;
        // Three sessions in a sentence begun on the line above: "23" is a day, no year.
        let letter = "ADULT MENTAL HEALTH PSYCHOLOGY SERVICE\n\n13 February 2026\n\n\
                      Re: Tomas DEVLIN    DOB 30.01.1996\nDear Dr Mulkerrin,\n\
                      I am writing following my assessment of Tomas, whom I met for three assessment sessions\n\
                      on 9 January, 23 January and 6 February 2026.\n\
                      Plan: 12 sessions of cognitive therapy, weekly, starting 27/02/2026.\nYours sincerely,";
        let u = understand_text(letter, Region::Ie);
        assert_eq!(u.document_date.as_deref(), Some("2026-02-06"));
        assert!(u.dates.iter().all(|d| !d.date.starts_with("2023")));
        // A visit told in a long sentence, a weekday before its date.
        let radiotherapy = "Department of Radiation Oncology\nOur Ref: RT/0412    Date: 26 February 2026\n\
                            Re: Mr Sean Flaherty, DOB 19/01/1952\nDear Eamon,\n\
                            I reviewed Sean at the end of his radiotherapy on Tuesday 24th February. He\n\
                            completed 60 Gy in 20 fractions.\nYours sincerely,";
        assert_eq!(
            date(radiotherapy, Region::Ie).as_deref(),
            Some("2026-02-24")
        );
        // A fax machine's header whatever its sender is called, and in groups of digits.
        let referral = "FROM: BEDFORD COMMUNITY CLINIC  902 555 0133     23/01/2026 15:06     P 1/1\n\
                        REFERRAL REQUEST - GASTROENTEROLOGY\nDate of referral: 23/01/2026\n\
                        Patient: MacISAAC, Colin        DOB: 11/06/1983\n\
                        Reason for referral: Iron deficiency anaemia. Hb 98 g/L (09/01/2026),\n\
                        ferritin 6, MCV 71. Seen in clinic 20/01/2026 - no overt GI bleeding.";
        assert_eq!(date(referral, Region::Ca).as_deref(), Some("2026-01-20"));
        let ooh = "09/03/2026 07:58   ShannonCare OOH  061 555 901  ->  065 555 1234       P1/1\n\
                   SHANNONCARE OUT-OF-HOURS GP SERVICE\nConsultation report for patient's own GP\n\
                   Patient: Niamh O Dalaigh     D.O.B. 25/10/1990\n\
                   Call received: 08/03/2026 22:41      Seen: 08/03/2026 23:30\n\
                   Impression: Uncomplicated lower UTI.";
        assert_eq!(date(ooh, Region::Ie).as_deref(), Some("2026-03-08"));
        // A deadline "by" a date and a note issued "to" one are to come.
        let notice = "MENTAL HEALTH TRIBUNAL\nNOTICE OF HEARING      Date of this notice: 05/03/2026\n\
                      Patient:  Mr Kieran DOBBS\nApplication received: 02/03/2026\n\
                      The hearing will take place on:  Thursday 23 April 2026 at 10:00 am\n\
                      Reports must be sent to the Tribunal by 23/03/2026.";
        assert_eq!(date(notice, Region::Uk).as_deref(), Some("2026-03-05"));
        // A lot's expiry, a month and a year, fills its own column before "Date given".
        let record = "VACCINE ADMINISTRATION RECORD\nPatient: VAN DER BERG, Helen   DOB: 12/03/1941\n\
                      Vaccine          Mfr  Lot    Exp      Dose    Date given   By\n\
                      Zoster RZV #1    GSK  7Z93K  08/2027  0.5 mL  09/15/2025   R. Gutierrez\n\
                      Zoster RZV #2    GSK  9R41P  11/2027  0.5 mL  03/18/2026   R. Gutierrez\n\
                      VIS provided: PCV VIS 05/12/2023";
        assert_eq!(date(record, Region::Us).as_deref(), Some("2026-03-18"));
        // A statement's payments are no care; a physician's attestation mentioning the
        // patient is the physician's.
        let statement = "PATIENT STATEMENT\nStatement Date: 04/02/2024   Please pay by: 05/02/2024\n\
                         Date of Svc   Description                         Charges    Payments/Adj\n\
                         02/27/2024    EMERGENCY DEPT VISIT LEVEL 4        1,845.00\n\
                         02/28/2024    OBSERVATION PER HR X 18             3,150.00\n\
                         03/21/2024    KEYSTONE MUTUAL PAYMENT                        -4,922.40";
        assert_eq!(date(statement, Region::Us).as_deref(), Some("2024-02-28"));
        let consent = "INFORMED CONSENT FOR PROCEDURE\nPatient: Bradley S. Coleman   DOB: 12/09/1967\n\
                       Scheduled procedure date: 05/30/2023\n\
                       Physician attestation: I have discussed the above with the patient and\n\
                       answered all questions.\n   Signed: Anjali Mehta, MD        05/12/2023  3:41 PM\n\
                       Patient signature: Electronically signed by Bradley S. Coleman\n\
                       \x20  Date/Time: 05/14/2023 10:22 AM     via patient portal";
        assert_eq!(date(consent, Region::Us).as_deref(), Some("2023-05-14"));
        // A form's "PART 2 - Patient" and a substitute decision-maker's statement are
        // the patient's part, after the health professional's.
        let hse = "CONSENT FORM - ADULT PATIENT\nPatient name: Brigid HAYES   DOB: 07/01/1955\n\
                   PART 1 - Health professional\nI have explained the procedure.\n\
                   Signed: M Quinlan     Job title: Registrar     Date: 24/04/2024\n\
                   PART 2 - Patient\nI agree to the procedure described above.\n\
                   Signed: B. Hayes                               Date: 29/04/2024\n\
                   PART 3 - Confirmation of consent (on the day of the procedure)\n\
                   Signed: S. Ni Riain, CNM2                      Date: 08/05/2024";
        assert_eq!(date(hse, Region::Ie).as_deref(), Some("2024-04-29"));
        let sdm = "CONSENT TO TREATMENT / PROCEDURE\nPatient: VAN DER BERG, Hendrika   DOB: 1931-09-14\n\
                   Practitioner's statement:\nI have explained to the SDM the nature of the treatment.\n\
                   Name: Dr. Olusegun Mensah        Signature: O. Mensah\n\
                   Date: 2026-03-04                 Time: 16:20\n\
                   SDM's statement:\nI consent to the treatment on behalf of the patient.\n\
                   Signature: P. van der Berg       Date: 2026-03-05";
        assert_eq!(date(sdm, Region::Ca).as_deref(), Some("2026-03-05"));
        // A prescription's only date, unlabelled, beside its title.
        let dental = "SEAFIELD DENTAL\nPRESCRIPTION                                       28-NOV-2025\n\
                      Patient:   Martina Feeney\nDOB:       02-FEB-1984\n\
                      Rx   Amoxicillin 500mg capsules\n     Sig: 1 capsule three times daily for 5 days\n\
                      Signed:  N. Gorman";
        assert_eq!(date(dental, Region::Ie).as_deref(), Some("2025-11-28"));
    }

    #[test]
    fn wishes_teams_doses_and_quoted_papers_are_read_for_what_they_are() {
        let code = |text: &str, region: Region| understand_text(text, region).doc_type.code;
        let date = |text: &str, region: Region| understand_text(text, region).document_date;
        // A POLST is a patient's wishes, no consent to a procedure; it is made when the
        // patient signs, and a proxy's paper quoted in it is another's.
        let polst = "PHYSICIAN ORDERS FOR LIFE-SUSTAINING TREATMENT (POLST)\n\
                     Patient Last Name: KRAMER         First: Harriet\n\
                     Date of Birth: 02/28/1932\n\
                     A. CARDIOPULMONARY RESUSCITATION: [X] Do Not Attempt Resuscitation/DNR\n\
                     Consent given by: [X] Health care agent (health care proxy signed 05/22/2019)\n\
                     Signature of Patient or Legally Recognized Decisionmaker:\n\
                        Harriet L. Kramer                                   Date: 11/04/2025\n\
                     Signature of Physician/NP/PA:\n\
                        Signature: T Beaulieu                               Date: 11/06/2025\n\
                     Next review due: 05/06/2026";
        assert_eq!(code(polst, Region::Us), DocumentType::Other);
        assert_eq!(date(polst, Region::Us).as_deref(), Some("2025-11-04"));
        // A team's meeting on a case, its histology quoted with its report date.
        let mdt = "COLORECTAL MULTIDISCIPLINARY TEAM MEETING - OUTCOME\n\
                   Northgate General Hospital            Meeting date: Thursday 12 February 2026\n\
                   Patient: Derek Hollings   DOB 23/07/1958\n\
                   Histology: sigmoid adenocarcinoma (H26-01873, reported 03/02/26)\n\
                   OUTCOME: laparoscopic high anterior resection, provisional date 10/03/2026.";
        assert_eq!(code(mdt, Region::Uk), DocumentType::Other);
        assert_eq!(date(mdt, Region::Uk).as_deref(), Some("2026-02-12"));
        // Vaccines received are given; a statement's insurer's "PMT" is no care.
        let school = "HSE School Immunisation Team\n\
RECORD OF VACCINATION - Junior Infants Programme\n\
                      Child's name: Saoirse Ni Bhriain      Date of birth: 14/06/2020\n\
                      Your child received the following vaccines at school on 21 October 2025:\n\
                       MMR dose 2 (Measles, Mumps, Rubella)     M-M-RVaxPro   X019888\n\
                      Record issued: 22/10/2025";
        assert_eq!(date(school, Region::Ie).as_deref(), Some("2025-10-21"));
        let statement = "PATIENT STATEMENT\n\
Statement Date: 11/20/2012\n\
                         DATE OF SVC  DESCRIPTION                       CHARGES    CREDITS\n\
                         10/19/2012   ORTHO CLINIC FOLLOW-UP             220.00\n\
                         11/02/2012   INS PMT - MIDWEST BCBS                      -1,102.40";
        assert_eq!(date(statement, Region::Us).as_deref(), Some("2012-10-19"));
        // A consent's "PATIENT: I have read" is the patient's statement; a planned
        // procedure's date is to come.
        let sact = "CONSENT FORM FOR SYSTEMIC ANTI-CANCER THERAPY (SACT)\n\
                    Patient name: Grainne Fitzsimons     Date of birth: 04/02/1981\n\
                    HEALTH PROFESSIONAL: I have explained the treatment and its risks.\n\
                     Name: Dr Roisin Hegarty     Signature: R Hegarty          Date: 28/01/2026\n\
                    Planned procedure date: 09/02/2026\n\
                    PATIENT: I have read the information and I agree to treatment.\n\
                     Signature: Grainne Fitzsimons                             Date: 02/02/2026";
        assert_eq!(date(sact, Region::Ie).as_deref(), Some("2026-02-02"));
        // A visit in a referral's request sentence; a referrer's paper "dated" after a
        // comma is the referrer's.
        let referral = "Castlebar Road Medical Centre\n\
06/01/2026\n\
Re: Cian WALSH      DOB: 23/09/2019\n\
                        Dear Doctor,\n\
I would be grateful if you would see Cian, aged 6, whom I saw with his mother\n\
                        on 5th January with a cough.\n\
Yours sincerely,";
        assert_eq!(date(referral, Region::Ie).as_deref(), Some("2026-01-05"));
        let eyes = "Moorview Eye Unit - Outpatient Record\n\
Patient: WHITFIELD, Margaret   DOB: 23-Jun-1951\n\
                    Clinic: Glaucoma New Patient (GLA-NP)   Attendance: 09-Feb-2026 10:40\n\
                    Ref from: Specsavers Harrogate, GOS18 dated 11/12/2025 - raised IOP\n\
                    Plan: Review 4/12 - appt booked 11-May-2026";
        assert_eq!(date(eyes, Region::Uk).as_deref(), Some("2026-02-09"));
        // A Seattle hospital writes month first for a Canadian patient.
        let seattle = "NORTHWEST CHILDREN'S MEDICAL CENTER - Seattle, Washington\n\
                       PEDIATRIC HOSPITAL MEDICINE - DISCHARGE SUMMARY\n\
                       Patient: FRASER, Rowan               DOB: 08/10/2019\n\
                       Home address: 402-1150 Cardero Pl, Vancouver, BC V6G 2S9, Canada\n\
                       Admit date: 02/05/2026               Discharge date: 02/07/2026";
        assert_eq!(date(seattle, Region::Ca).as_deref(), Some("2026-02-07"));
    }

    #[test]
    fn echoes_covers_signatures_and_slips_date_what_they_carry() {
        let date = |text: &str, region: Region| understand_text(text, region).document_date;
        // A numeric date that repeats one with its month's name decides the order.
        let bmd = "CREDIT RIVER MEDICAL IMAGING\n\
2200 Dundas St E, Mississauga ON L4X 0X0\n\
                   BONE MINERAL DENSITY REPORT\n\
Patient: REYES, Lourdes   DOB: 10/08/1956\n\
                   Exam date: 03/12/2024     Scanner: Hologic Horizon A\n\
                   Previous exam: 11/04/2021\n\
                   Dictated: Mar 12, 2024     Signed: Dr. R. Szabo, Radiologist  03/12/2024 11:47";
        assert_eq!(date(bmd, Region::Ca).as_deref(), Some("2024-03-12"));
        // A fax cover sheet dates its sending, not the notes it carries.
        let cover = "FEB 19 2026 09:47AM    TORBAY ROAD FAMILY PRACTICE    7095550172   p.1\n\
\n\
                     TORBAY ROAD FAMILY PRACTICE\n\
141 Torbay Rd, St. John's NL A1A 2H1\n\
\n\
                     FAX COVER SHEET\n\
Date: 19/02/2026                Pages (incl. cover): 4\n\
                     RE: Patient WHELAN, Patrick    DOB 04/08/1977\n\
                     Please find attached the requested records: clinic notes (2025-09-03 and 2025-11-27).";
        assert_eq!(date(cover, Region::Ca).as_deref(), Some("2026-02-19"));
        // Quebec's "Signature de l'usager" and a form's "PATIENT: name  Date:" are the
        // patient's signatures, after the physician's.
        let quebec = "CONSENTEMENT À UNE INTERVENTION CHIRURGICALE\n\
Usager : TRUDEL, Lise   DDN : 1962-02-14\n\
                      Médecin : Dr Benoît Lachance    Signature : B. Lachance    Date : 2026-01-06\n\
                      SECTION 2 — USAGER OU REPRÉSENTANT\n\
Je consens à l'intervention décrite ci-dessus.\n\
                      Signature de l'usager : L. Trudel                     Date : 2026-01-09";
        assert_eq!(date(quebec, Region::Ca).as_deref(), Some("2026-01-09"));
        let us = "INFORMED CONSENT FOR SURGERY OR SPECIAL PROCEDURE\n\
Patient: Lucia Navarro   DOB: 12/01/1988\n\
                  PHYSICIAN: I have explained the above to the patient.\n\
                     M. Tran MD                      Date: 02/24/26\n\
                  PATIENT:   L. Navarro              Date: 3/9/2026     Time: 06:50";
        assert_eq!(date(us, Region::Us).as_deref(), Some("2026-03-09"));
        // A repeat slip's "Last issued" column over an acute item issued before.
        let slip = "REPEAT MEDICATION - tick the items you need\n\
                       Drug                                Last issued   Issues   Review date\n\
                    [ ] Metformin 500mg tabs  1 BD  (112)   12-Feb-2026   4/6      01-Jul-2026\n\
                    [ ] Lansoprazole 15mg caps 1 OD (28)    20-Jan-2026   2/6      01-Jul-2026\n\
                    Acute (not on repeat): Clarithromycin 500mg tabs (14) - issued 03-Dec-2025";
        assert_eq!(date(slip, Region::Uk).as_deref(), Some("2026-02-12"));
        // A follow-up at a clinic, its place between, is to come; a request's date is
        // another paper's; the last dose after a stay's "Date de départ" is to come.
        let tetanus = "IMMUNISATION RECORD - TETANUS\n\
Patient: Callum BRIGHTWELL   DOB: 17/05/2001\n\
                       Given by: J. Amesbury, ENP        Date given: 22/06/2025 16:05\n\
                       Follow-up: Hand clinic, Oxford - 25/06/2025 (referral sent)";
        assert_eq!(date(tetanus, Region::Uk).as_deref(), Some("2025-06-22"));
        let ncs = "NERVE CONDUCTION STUDIES AND EMG\n\
Name: Mr Dennis OKONJO   DOB: 30/09/1966\n\
                   Referred by: Mr A Fairclough        Date of request: 14/11/2025\n\
                   Date of study: 22/01/2026\n\
Conclusion: Moderate right carpal tunnel syndrome.";
        assert_eq!(date(ncs, Region::Uk).as_deref(), Some("2026-01-22"));
        let sommaire = "SOMMAIRE D'HOSPITALISATION\n\
Usager : LAVOIE, Gilles\n\
                        Date d'admission : 14 décembre 2025           Date de départ : 19 décembre 2025\n\
                        Médicaments au départ :\n\
- Prednisone 40 mg die — dernière dose le 20 décembre";
        assert_eq!(date(sommaire, Region::Ca).as_deref(), Some("2025-12-19"));
    }

    #[test]
    fn journeys_readings_estimates_and_medication_lists_are_not_the_event() {
        let u = |text: &str, region: Region| understand_text(text, region);
        // A traveller's departure and doses to take are to come; the doses given date it.
        let travel = "SUMMIT TRAVEL & IMMUNIZATION CLINIC\n\
IMMUNIZATION RECORD\n\
                      Patient: Benjamin A. Whitaker          DOB: Jun 30, 1972\n\
                      Trip: Kenya / Tanzania safari, depart Apr 4, 2025\n\
                      Vaccine                 Lot        Dose    Route/Site    Date given\n\
                      Yellow Fever (YF-VAX)   UJ812AA    0.5 mL  SC  L arm     03/12/2025\n\
                      Typhoid oral (Vivotif)  71624      4 caps  PO            03/12/2025\n\
                        take 1 cap every other day on 3/14, 3/16, 3/18, 3/20 (cold water)";
        assert_eq!(
            u(travel, Region::Us).document_date.as_deref(),
            Some("2025-03-12")
        );
        // An insurer's denial on a statement is no care.
        let statement = "PATIENT STATEMENT\n\
Statement date: 02/20/2026\n\
                         Date of svc   CPT     Description                           Amount\n\
                         02/05/2026    99204   New patient visit, travel consult     $245.00\n\
                         02/11/2026    Insurance - denied, not a covered benefit     $  0.00";
        assert_eq!(
            u(statement, Region::Us).document_date.as_deref(),
            Some("2026-02-05")
        );
        // A report's reading is its issue; a specimen accessioned, quoted in a letter, is
        // the history's; an estimate's service start is to come.
        let mammo = "SCREENING MAMMOGRAM REPORT\n\
Patient: Hollis, Margaret E.     DOB: 05-21-1968\n\
                     Exam: 3D SCREENING MAMMOGRAM BILATERAL     Date: 10-09-2025\n\
                     IMPRESSION: NEGATIVE.\n\
                     Read by: Deborah Lindgren, MD          Date read: 10-10-2025";
        assert_eq!(
            u(mammo, Region::Us).document_date.as_deref(),
            Some("2025-10-09")
        );
        let letter = "Cascade Dermatology Group\n\
April 22, 2025\n\
RE: Bethany Holloway    DOB: 12/08/1979\n\
                      Dear Dr. Iyer,\n\
Thank you for referring Ms. Holloway, whom I saw in clinic on April 17, 2025.\n\
                      I performed a shave biopsy that day; pathology (accessioned 04/18/2025)\n\
                      returned a mildly atypical compound nevus.\n\
Sincerely,";
        assert_eq!(
            u(letter, Region::Us).document_date.as_deref(),
            Some("2025-04-17")
        );
        let estimate = "GOOD FAITH ESTIMATE FOR HEALTH CARE ITEMS AND SERVICES\n\
                        Patient: Priyanka Venkataraman          DOB: 04/29/1990\n\
                        Estimate date: 09/26/2022\n\
Expected service start: 10/03/2022";
        assert_eq!(
            u(estimate, Region::Us).document_date.as_deref(),
            Some("2022-09-26")
        );
        // "Assessed by me on May 20" is the referrer's visit.
        let referral = "REFERRAL - Breastfeeding / Lactation & Tongue-tie Assessment\n\
                        To: Halton Infant Feeding Clinic\n\
Date: May 21, 2026\n\
                        Patient: Baby Boy NGUYEN (Theo)     DOB: May 9, 2026\n\
                        Assessed by me on May 20 for a weight check and feeding concerns.";
        assert_eq!(
            u(referral, Region::Ca).document_date.as_deref(),
            Some("2026-05-20")
        );
        // A care home's transfer form, its medicines' doses and abbreviations a little
        // ahead of its DNACPR's mention, is no prescription.
        let transfer = "ELMS VIEW CARE HOME (Nursing)\n\
                        HOSPITAL TRANSFER FORM  -  \"RED BAG\"       Keep with resident at all times\n\
                        Resident: Walter BRIGGS             DOB 07/07/1933\n\
                        Date/time of transfer: 14/02/2026 21:45   To: Royal Derby Hospital ED\n\
                        Reason: unwitnessed fall approx 20:50, ? # L hip\n\
                        Allergies: Penicillin (rash)\n\
                        DNACPR: YES - original in bag (dated 03/10/2025)      ReSPECT form: YES\n\
                        Pain: PAINAD 6/10 - Oramorph 2.5mg given 21:05\n\
                        Medicines: MAR copy attached (printed 14/02/2026), last round 18:00\n\
                        Anticoagulant: Edoxaban 30mg OD - last dose 09:00 today\n\
                        Completed by: RN Grace Adeyemi      Sig: G.Adeyemi";
        assert_ne!(
            u(transfer, Region::Uk).doc_type.code,
            DocumentType::Prescription
        );
    }

    #[test]
    fn narrow_rules_stay_narrow() {
        let date = |text: &str, region: Region| understand_text(text, region).document_date;
        // A visit's insurer beside its date is no payment row.
        let note = "OFFICE VISIT NOTE\nDate of Service: 02/05/2026   Insurance: Aetna PPO\n\
                    Patient: Jane Doe   DOB: 04/11/1980\nAssessment: acute sinusitis.";
        assert_eq!(date(note, Region::Us).as_deref(), Some("2026-02-05"));
        // A report's own verification in a parenthesis is its own.
        let lab = "LABORATORY REPORT\nPatient: Jane Doe   DOB: 04/11/1980\n\
                   Status: FINAL (Verified 03/03/2026)\nTSH 2.1 mIU/L (0.4-4.0)";
        assert_eq!(date(lab, Region::Us).as_deref(), Some("2026-03-03"));
        // "Seattle protocol" in an Irish report names biopsies, not a place.
        let ogd = "ENDOSCOPY UNIT - Mercy Vale University Hospital, Cork\nOGD REPORT\n\
                   Patient: Sean Murphy   DOB: 08/02/1967\nProcedure date: 11/02/2026\n\
                   Findings: Barrett's segment C3M5; biopsies per Seattle protocol.\n\
                   Previous OGD 04/03/2023.";
        assert_eq!(date(ogd, Region::Ie).as_deref(), Some("2026-02-11"));
        // A consent's heading "Patient: name   Date:" is no signature of the patient's.
        let consent = "CONSENT FOR PROCEDURE\nPatient: Jane Doe   Date: 03/01/2026\n\
                       Procedure: colonoscopy\nPhysician statement: I have explained the risks.\n\
                       Signed: Dr A Khan                  Date: 03/02/2026\n\
                       Patient signature: Jane Doe        Date: 03/05/2026";
        assert_eq!(date(consent, Region::Us).as_deref(), Some("2026-03-05"));
    }
}
