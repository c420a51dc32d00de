#!/usr/bin/env python3
"""Makes tests/understand/set.jsonl: a labelled evaluation set for `medidocs understand`.

Each line is one document's text with its expected type, document date and dates with their
roles, for a patient in Ireland, the UK, the US or Canada. Documents are written from
templates with several wordings each (titles, labels, date forms: 14/03/2026, 3/14/2026,
14 March 2026, March 14, 2026, 2026-03-14, 14-Mar-2026), a date of birth beside the service
date on most, letters from the US for Irish patients and the reverse, and Canadian documents
whose numeric dates nothing decides (expected `ambiguous`). Every name, place and number is
invented. Deterministic (a fixed seed).

    python3 scripts/make-understand-set.py            writes tests/understand/set.jsonl
    python3 scripts/make-understand-set.py --check    fails if the file differs
"""
import datetime
import json
import os
import random
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "tests", "understand", "set.jsonl")

FIRST = ["Aoife", "Ciaran", "Niamh", "Padraig", "Siobhan", "Declan", "Emily", "Jacob", "Olivia",
         "Mason", "Chloe", "Liam", "Sarah", "Noah", "Grace", "Ethan"]
LAST = ["Imaginary", "Fictional", "Madeup", "Placeholder", "Example", "Sample", "Testcase", "Notreal"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


class Doc:
    def __init__(self, rng, region):
        self.rng = rng
        self.region = region
        self.dates = []  # (role, iso)
        # How this document writes numeric dates: its region's way, unless it says otherwise.
        self.order = {"ie": "dmy", "uk": "dmy", "us": "mdy", "ca": rng.choice(["dmy", "mdy"])}[region]
        self.style = rng.choice(["numeric", "numeric", "named", "iso"])
        self.ambiguous_expected = False
        self.reported = []  # service dates that date the report, not the event

    def name(self):
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def day(self, start=(2018, 1, 1), end=(2026, 11, 30)):
        a = datetime.date(*start).toordinal()
        b = datetime.date(*end).toordinal()
        return datetime.date.fromordinal(self.rng.randint(a, b))

    def fmt(self, d, style=None):
        style = style or self.style
        if style == "iso":
            return d.isoformat()
        if style == "named":
            form = self.rng.choice(["dmy", "mdy", "dash"])
            if form == "dmy":
                return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
            if form == "mdy":
                return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
            return f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d.year}"
        sep = self.rng.choice(["/", "/", ".", "-"]) if self.order == "dmy" else "/"
        if self.order == "dmy":
            return f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year}"
        return f"{d.month}/{d.day}/{d.year}"

    def date(self, role, d, style=None):
        text = self.fmt(d, style)
        self.dates.append((role, d.isoformat()))
        return text


def dob(doc):
    return doc.date("birth", doc.day((1935, 1, 1), (2012, 12, 31)))


def address(doc):
    """A sender's address where the document was written: Ireland or the UK for day-first
    dates, the US for month-first, Canada (which decides nothing) for a Canadian patient."""
    if doc.region == "ca":
        return doc.rng.choice(["Fictional Health Centre, Toronto, ON M5V 2T6",
                               "Madeup Clinic, Halifax, NS B3H 1V7"])
    if doc.order == "dmy":
        return doc.rng.choice(["St Fictional's Hospital, Dublin 4, Ireland",
                               "Mercy Madeup University Hospital, Cork",
                               "Example Road Clinic, Galway",
                               "Imaginary Health Centre, London"])
    return doc.rng.choice(["Fictional General Hospital, 55 Main St, Boston, MA 02115",
                           "Placeholder Medical Group, Austin, TX 78701",
                           "Sample Clinic, 10 Park Ave, New York, NY 10016"])


def lab(doc, r):
    title = r.choice(["LABORATORY REPORT", "Laboratory Results", "Pathology Report", "Blood Test Results",
                      "Haematology and Biochemistry"])
    service = doc.day()
    lines = [title, address(doc), f"Patient: {doc.name()}", f"{r.choice(['DOB', 'Date of birth', 'D.O.B.'])}: {dob(doc)}",
             f"{r.choice(['Collected', 'Collection date', 'Specimen date', 'Date collected'])}: {doc.date('service', service)}",
             "Test Result Units Reference range"]
    for t in r.sample([("Haemoglobin", "13.8", "g/dL", "13.0-17.0"), ("White cell count", "6.1", "x10^9/L", "4.0-11.0"),
                       ("Platelets", "250", "x10^9/L", "150-400"), ("Sodium", "139", "mmol/L", "133-146"),
                       ("Creatinine", "78", "umol/L", "59-104"), ("HbA1c", "41", "mmol/mol", "20-41"),
                       ("Cholesterol", "4.9", "mmol/L", "<5.0")], 4):
        lines.append(" ".join(t))
    if r.random() < 0.5:
        rep = service + datetime.timedelta(days=r.randint(0, 2))
        lines.append(f"{r.choice(['Reported', 'Report date', 'Date reported'])}: {doc.date('service', rep)}")
        # The report dates the document less directly than the collection.
        doc.reported.append(rep.isoformat())
    return "lab_report", lines


def imaging(doc, r):
    kind = r.choice(["Chest X-ray", "Ultrasound abdomen", "MRI lumbar spine", "CT head", "Mammogram"])
    title = r.choice(["RADIOLOGY REPORT", "Diagnostic Imaging Report", f"{kind} report", "Imaging Report"])
    lines = [title, address(doc), f"Name: {doc.name()}   DOB: {dob(doc)}",
             f"{r.choice(['Examination date', 'Date of exam', 'Study date', 'Date of scan'])}: {doc.date('service', doc.day())}",
             f"Examination: {kind}", "Clinical indication: pain, query cause.",
             r.choice(["Findings: no acute abnormality.", "Findings: normal appearances throughout."]),
             r.choice(["Impression: normal study.", "Conclusion: no significant abnormality."]),
             f"Reported by: Dr {doc.name()}, Consultant Radiologist"]
    return "imaging_report", lines


def prescription(doc, r):
    title = r.choice(["PRESCRIPTION", "Prescription", "Repeat prescription", "Rx"])
    lines = [title, address(doc), f"Patient: {doc.name()}", f"DOB: {dob(doc)}",
             f"{r.choice(['Date', 'Date prescribed', 'Date:'])} {doc.date('service', doc.day())}".replace("Date: ", "Date: ").replace("Date:: ", "Date: "),
             r.choice(["Amoxicillin 500 mg capsules", "Ramipril 5 mg tablets", "Atorvastatin 20 mg tablets"]),
             r.choice(["Sig: take one three times a day", "Take one tablet daily", "Take one capsule three times daily"]),
             f"{r.choice(['Qty', 'Quantity', 'Dispense'])}: {r.choice([21, 28, 30, 90])}",
             f"Refills: {r.choice([0, 1, 2, 5])}" if doc.region in ("us", "ca") else "Repeats: 0",
             f"Prescriber: Dr {doc.name()}"]
    return "prescription", lines


def referral(doc, r):
    title = r.choice(["Referral letter", "REFERRAL", "Re: Referral", "Urgent referral"])
    lines = [address(doc), f"{r.choice(['Date:', 'Dated'])} {doc.date('issued', doc.day())}", title,
             f"Dear {r.choice(['Dr', 'Doctor', 'Colleague'])},",
             f"Re: {doc.name()}, DOB {dob(doc)}",
             r.choice(["I would be grateful if you could see this patient with chest pain on exertion.",
                       "I am referring this lady with a six month history of knee pain.",
                       "Thank you for seeing this gentleman with worsening shortness of breath."]),
             "Reason for referral: assessment and management.",
             "Yours sincerely,", f"Dr {doc.name()}, General Practitioner"]
    return "referral_letter", lines


def discharge(doc, r):
    title = r.choice(["DISCHARGE SUMMARY", "Discharge Summary", "Inpatient discharge letter"])
    adm = doc.day()
    dis = adm + datetime.timedelta(days=r.randint(1, 12))
    lines = [title, address(doc), f"Patient: {doc.name()}", f"Date of birth: {dob(doc)}",
             f"{r.choice(['Date of admission', 'Admission date', 'Admitted'])}: {doc.date('service', adm)}",
             f"{r.choice(['Date of discharge', 'Discharge date', 'Discharged'])}: {doc.date('service', dis)}",
             "Diagnosis: community acquired pneumonia.",
             "Hospital course: treated with intravenous antibiotics and improved.",
             "Discharge medications: amoxicillin 500 mg three times daily for five days."]
    if r.random() < 0.5:
        fu = dis + datetime.timedelta(days=r.randint(14, 60))
        lines.append(f"{r.choice(['Follow-up', 'Review in clinic on', 'Next appointment'])}: {doc.date('due', fu)}")
    return "discharge_summary", lines


def clinic(doc, r):
    seen = doc.day()
    typed = seen + datetime.timedelta(days=r.randint(1, 10))
    lines = [address(doc), r.choice(["Outpatient Clinic Letter", "Cardiology Outpatients", "Clinic letter",
                                     "Rheumatology Clinic"]),
             f"{r.choice(['Date typed', 'Date:', 'Dictated'])} {doc.date('issued', typed)}".replace("typed ", "typed: "),
             f"{r.choice(['Clinic date', 'Seen in clinic on', 'Date of clinic'])}: {doc.date('service', seen)}",
             f"Re: {doc.name()} (DOB {dob(doc)})", "Dear Dr " + r.choice(LAST) + ",",
             r.choice(["I reviewed this patient in clinic today. His blood pressure is well controlled.",
                       "I saw this lady in the outpatient clinic. Her joint pain has settled on treatment."]),
             "Plan: continue current medication.", "Yours sincerely,", f"Dr {doc.name()}, Consultant"]
    return "clinic_letter", lines


def consult(doc, r):
    title = r.choice(["Consultation note", "Progress Note", "Office Visit", "Consult Note"])
    lines = [title, f"Patient: {doc.name()}   DOB: {dob(doc)}",
             f"{r.choice(['Date of visit', 'Visit date', 'Date of service', 'Encounter date'])}: {doc.date('service', doc.day())}",
             f"{r.choice(['Chief complaint', 'Presenting complaint'])}: cough for two weeks.",
             r.choice(["HPI: dry cough, no fever, non-smoker.", "History of present illness: dry cough worse at night."]),
             "Examination: chest clear, vital signs normal.", "Assessment: post-viral cough.",
             "Plan: reassurance, review if not settling."]
    return "consultation_note", lines


def operative(doc, r):
    title = r.choice(["OPERATION NOTE", "Operative Report", "Operative note"])
    lines = [title, address(doc), f"Patient: {doc.name()}  DOB: {dob(doc)}",
             f"{r.choice(['Date of operation', 'Date of surgery', 'Date of procedure'])}: {doc.date('service', doc.day())}",
             f"Surgeon: Mr {doc.name()}", f"Anaesthetist: Dr {doc.name()}",
             r.choice(["Procedure performed: laparoscopic cholecystectomy.", "Operation performed: right inguinal hernia repair."]),
             "Findings: as expected.", "Incision: standard.", "Closure: absorbable sutures.",
             "Estimated blood loss: 20 ml.", "Post-operative instructions: routine."]
    return "operative_note", lines


def vaccination(doc, r):
    title = r.choice(["Vaccination Record", "Immunisation record", "COVID-19 Vaccination Card", "Immunization History"])
    lines = [title, f"Name: {doc.name()}", f"Date of birth: {dob(doc)}", "Vaccine Dose Date Batch"]
    first = doc.day((2019, 1, 1), (2025, 6, 30))
    for k in range(r.randint(1, 3)):
        d = first + datetime.timedelta(days=60 * k)
        lines.append(f"{r.choice(['Influenza', 'COVID-19 mRNA', 'Hepatitis B', 'Tetanus'])} dose {k + 1} given on {doc.date('service', d)} lot {r.randint(1000, 9999)}")
    if r.random() < 0.5:
        lines.append(f"Next dose due: {doc.date('due', first + datetime.timedelta(days=365))}")
    return "vaccination_record", lines


def insurance(doc, r):
    insurer = r.choice(["Madeup Health Insurance", "Fictional Care Plan", "Notreal Mutual"])
    lines = [insurer, r.choice(["Member card", "Health Insurance Card", "Insurance card"]),
             f"Member: {doc.name()}", f"Member ID: {r.randint(10**8, 10**9)}",
             f"Group number: {r.randint(1000, 9999)}" if doc.region in ("us", "ca") else f"Policy number: {r.randint(10**6, 10**7)}",
             f"{r.choice(['Valid until', 'Expires', 'Expiry'])}: {doc.date('due', doc.day((2026, 1, 1), (2029, 12, 31)))}"]
    if doc.region == "us":
        lines += ["RxBIN 004336 RxPCN ADV", "Copay: $25 office visit"]
    if r.random() < 0.5:
        lines.append(f"DOB: {dob(doc)}")
    return "insurance_card", lines


def consent(doc, r):
    proc = r.choice(["colonoscopy", "knee arthroscopy", "cataract surgery"])
    lines = [r.choice(["CONSENT FORM", f"Consent to {proc}", "Patient consent form"]), address(doc),
             f"Patient: {doc.name()}  Date of birth: {dob(doc)}",
             f"Procedure: {proc}",
             "I understand the risks, benefits and alternatives of this procedure.",
             "I have had the opportunity to ask questions.", "I consent to the procedure described above.",
             f"Signature of patient: ________  Date: {doc.date('service', doc.day())}",
             "Witness: ________"]
    return "consent_form", lines


def other(doc, r):
    kind = r.choice(["sick", "fit", "appointment", "invoice", "diet"])
    if kind == "sick":
        lines = ["Medical certificate", f"This is to certify that {doc.name()} was unfit for work.",
                 f"Date: {doc.date('issued', doc.day())}", f"Dr {doc.name()}"]
    elif kind == "fit":
        lines = ["Fitness to travel", f"{doc.name()} is fit to fly.", f"Date: {doc.date('issued', doc.day())}"]
    elif kind == "appointment":
        lines = ["Appointment reminder", f"Dear {doc.name()},",
                 f"Your next appointment is on {doc.date('due', doc.day((2026, 12, 1), (2027, 6, 30)))} at 10:30.",
                 "Please arrive ten minutes early."]
    elif kind == "invoice":
        lines = ["Invoice", f"Patient: {doc.name()}", f"Invoice date: {doc.date('issued', doc.day())}",
                 "Amount due: 60.00", "Thank you."]
    else:
        lines = ["Healthy eating leaflet", "Eat five portions of fruit and vegetables a day.",
                 "Drink plenty of water.", "Limit salt and sugar."]
    return "other", lines


KINDS = [lab, imaging, prescription, referral, discharge, clinic, consult, operative, vaccination,
         insurance, consent, other]


def expected_date(dates, reported=()):
    """The latest date of the event itself (a report's date only when nothing else dates
    it), else the latest issue date; never a date of birth."""
    service = [d for role, d in dates if role == "service" and d not in reported] or \
        [d for role, d in dates if role == "service"]
    issued = [d for role, d in dates if role == "issued"]
    return max(service) if service else (max(issued) if issued else None)


def make():
    rng = random.Random(20261202)
    out = []
    for kind in KINDS:
        for j in range(14):
            region = ["ie", "us", "uk", "ca", "ie", "us", "ie", "us", "ca", "uk", "ie", "us", "ca", "ie"][j]
            doc = Doc(rng, region)
            # Letters from abroad: an Irish patient's US letter, a US patient's Irish one.
            if j in (6, 7):
                doc.order = "mdy" if region == "ie" else "dmy"
            doc_type, lines = kind(doc, rng)
            # A Canadian document's numeric dates are decided only by one of them with a
            # day over 12; otherwise each whose day and month could swap is ambiguous.
            decided = region != "ca" or doc.style != "numeric" or any(
                datetime.date.fromisoformat(d).day > 12 for _, d in doc.dates)
            dates = []
            for role, d in doc.dates:
                day = datetime.date.fromisoformat(d)
                swappable = doc.style == "numeric" and day.day <= 12 and day.day != day.month
                dates.append({"role": role, "date": d, "ambiguous": swappable and not decided})
            entry = {"id": f"{doc_type}-{j + 1:02d}", "region": region, "text": "\n".join(lines) + "\n",
                     "type": doc_type, "document_date": expected_date(doc.dates, doc.reported), "dates": dates}
            out.append(entry)
    return out


def main():
    entries = make()
    text = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
    if sys.argv[1:] == ["--check"]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit("tests/understand/set.jsonl differs from what scripts/make-understand-set.py makes")
        print(f"the understanding set is reproduced ({len(entries)} documents)")
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {len(entries)} documents to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
