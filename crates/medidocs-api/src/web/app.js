// The doctors' page: plain DOM, no framework, no build step. Every request carries the
// signed-in user's token; images are fetched with it and shown from blob: URLs. The token
// lives in this tab's sessionStorage only.
"use strict";

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("medidocs-token") || "";
let patient = null;
let cursor = null;
const blobs = [];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

async function api(path) {
  const resp = await fetch(path, { headers: { Authorization: "Bearer " + token } });
  if (!resp.ok) {
    let detail = resp.statusText;
    try { const p = await resp.json(); detail = p.detail || detail; if (p.code) detail += " (" + p.code + ")"; } catch (_) {}
    const err = new Error(detail);
    err.status = resp.status;
    throw err;
  }
  return resp;
}

async function image(path, alt) {
  const img = el("img", { alt });
  try {
    // In AWS the rendition is a presigned S3 URL the image loads by itself; here it is
    // fetched with the token.
    const link = await (await api(path + "?as=link")).json();
    if (link.href) {
      img.src = link.href;
      return img;
    }
    const blob = await (await api(path)).blob();
    const url = URL.createObjectURL(blob);
    blobs.push(url);
    img.src = url;
  } catch (e) {
    return el("div", { class: "noimg" }, "no image");
  }
  return img;
}

// The searchable PDF, fetched with the token (in AWS, through its presigned redirect) and
// saved under the name the API gives it (type and date).
async function downloadPdf(path) {
  const resp = await api(path);
  const named = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(await resp.blob());
  const a = el("a", { href: url, download: named ? named[1] : "document.pdf" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function freeImages() {
  while (blobs.length) URL.revokeObjectURL(blobs.pop());
}

// Times and days in the reader's own convention, with the month in words, so 03/04 never
// reads two ways.
function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

function kind(mime) {
  return (mime || "unknown type").replace("application/", "").replace("image/", "").toUpperCase();
}

// ------------------------------------------------------------------ sign in

async function signIn(t) {
  token = t.trim();
  const me = await (await api("/v1/me")).json();
  sessionStorage.setItem("medidocs-token", token);
  $("who").textContent = me.sub + " · " + me.role;
  $("signout").hidden = false;
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  const list = $("patients");
  list.replaceChildren();
  for (const p of me.patients) {
    list.append(el("li", {}, el("button", { "data-patient": p, onclick: () => openPatient(p) }, p)));
  }
  if (me.patients.length === 1) openPatient(me.patients[0]);
}

$("signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("signin-error").textContent = "";
  try { await signIn($("token").value); }
  catch (e) { $("signin-error").textContent = "Cannot sign in: " + e.message; token = ""; }
});

$("signout").addEventListener("click", () => {
  sessionStorage.removeItem("medidocs-token");
  location.reload();
});

// ------------------------------------------------------------------ a patient's documents

// What each type is called: one document, and a group of them.
const TYPES = {
  lab_report: ["Lab report", "Lab reports"],
  imaging_report: ["Imaging report", "Imaging reports"],
  prescription: ["Prescription", "Prescriptions"],
  referral_letter: ["Referral letter", "Referral letters"],
  discharge_summary: ["Discharge summary", "Discharge summaries"],
  clinic_letter: ["Clinic letter", "Clinic letters"],
  consultation_note: ["Consultation note", "Consultation notes"],
  operative_note: ["Operative note", "Operative notes"],
  vaccination_record: ["Vaccination record", "Vaccination records"],
  insurance_card: ["Insurance card", "Insurance cards"],
  consent_form: ["Consent form", "Consent forms"],
  other: ["Other document", "Other documents"],
};
const NOT_READ = "not_read";

function day(iso) {
  const d = new Date(iso + "T00:00:00Z");
  return isNaN(d) ? iso : d.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

function typeName(d) {
  return d.type ? TYPES[d.type.code][0] : (d.status === "READY" ? "Not read" : "Not read yet");
}

// When a document happened: its own date, or, lacking one, the day it came in (said so).
function dated(d) {
  if (d.document_date) {
    const own = d.dates.find((x) => x.date === d.document_date && (x.role === "service" || x.role === "issued"));
    const unsure = own && own.ambiguous ? " (day and month could be either way)" : "";
    return day(d.document_date) + unsure;
  }
  return "no date on it · came in " + day(d.sort_date);
}

function docCard(d) {
  const thumb = d.renditions.find((r) => r.name === "thumb" && r.page === 1);
  const holder = el("div", { class: "noimg" }, d.status === "READY" ? "…" : "no preview");
  if (thumb) image(thumb.href, "first page of the document").then((img) => holder.replaceWith(img));
  const reason = d.reason ? el("div", { class: "meta" }, d.reason.message) : null;
  const filed = d.type && d.type.source === "given" ? el("span", { class: "meta", title: "filed by staff" }, " · filed") : null;
  return el("button", { class: "doc", "data-document": d.id, "data-date": d.sort_date, "data-type": d.type ? d.type.code : NOT_READ, onclick: () => openDocument(d.id) },
    holder,
    el("div", {}, el("strong", { class: "dtype" }, typeName(d)), filed),
    el("div", { class: d.document_date ? "when" : "when undated", "data-testid": "document-date" }, dated(d)),
    el("div", { class: "meta" }, el("span", { class: "status " + d.status }, d.status), " " + kind(d.mime) + " · " + d.pages + (d.pages === 1 ? " page" : " pages")),
    reason);
}

// The timeline, grouped by type: a group per type, the group with the newest document
// first; within a group, newest first (the order the API gives).
function place(d) {
  if ($("view").value !== "timeline") { $("docs").append(docCard(d)); return; }
  const code = d.type ? d.type.code : NOT_READ;
  let group = document.querySelector('#docs .group[data-group="' + code + '"]');
  if (!group) {
    const title = code === NOT_READ ? "Not read yet" : TYPES[code][1];
    group = el("section", { class: "group", "data-group": code },
      el("h3", {}, title, " ", el("span", { class: "meta count" }, "")),
      el("div", { class: "docs" }));
    $("docs").append(group);
  }
  group.querySelector(".docs").append(docCard(d));
  const n = group.querySelectorAll(".doc").length;
  group.querySelector(".count").textContent = "(" + n + ")";
}

function listQuery() {
  const q = new URLSearchParams({ limit: "24" });
  const view = $("view").value;
  q.set("sort", view === "uploaded" ? "uploaded" : "date");
  if ($("status-filter").value) q.set("status", $("status-filter").value);
  if ($("type-filter").value) q.set("type", $("type-filter").value);
  if (view !== "uploaded") {
    if ($("from").value) q.set("from", $("from").value);
    if ($("to").value) q.set("to", $("to").value);
  }
  return q;
}

// A newer listing supersedes an older one still in flight: its answer is dropped.
let generation = 0;

async function loadDocuments(more) {
  const mine = more ? generation : ++generation;
  $("list-error").textContent = "";
  const q = listQuery();
  $("days").hidden = $("view").value === "uploaded";
  if (more && cursor) q.set("cursor", cursor);
  let path = "/v1/patients/" + encodeURIComponent(patient) + "/documents?" + q;
  try {
    const page = await (await api(path)).json();
    if (mine !== generation) return;
    if (!more) {
      freeImages();
      $("docs").replaceChildren();
      $("docs").className = $("view").value === "timeline" ? "timeline" : "docs";
    }
    for (const d of page.documents) place(d);
    if (!page.documents.length && !more) $("docs").append(el("p", { class: "meta" }, "No documents."));
    cursor = page.next;
    $("more").hidden = !cursor;
  } catch (e) {
    $("list-error").textContent = "Cannot list documents: " + e.message;
  }
}

function openPatient(p) {
  patient = p;
  for (const b of document.querySelectorAll("#patients button")) {
    b.setAttribute("aria-current", String(b.dataset.patient === p));
  }
  $("hint").hidden = true;
  $("doc-view").hidden = true;
  $("patient-panel").hidden = false;
  $("results").hidden = true;
  $("patient-title").textContent = "Patient " + p;
  loadDocuments(false);
}

$("open-patient").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const p = $("patient-id").value.trim();
  if (p) openPatient(p);
});
for (const id of ["status-filter", "type-filter", "view", "from", "to"]) {
  $(id).addEventListener("change", () => loadDocuments(false));
}
for (const [code, names] of Object.entries(TYPES)) {
  $("type-filter").append(el("option", { value: code }, names[1]));
  $("file-as").append(el("option", { value: code }, names[0]));
}
$("more").addEventListener("click", () => loadDocuments(true));

// ------------------------------------------------------------------ search

// A line with the words the index matched marked: [start, end) character ranges.
function highlight(text, ranges) {
  const span = el("span");
  const chars = Array.from(text);
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (start < at) continue;
    span.append(chars.slice(at, start).join(""), el("mark", {}, chars.slice(start, end).join("")));
    at = end;
  }
  span.append(chars.slice(at).join(""));
  return span;
}

// Searches the open patient's documents, or every patient of the caller's care teams,
// with the panel's type and day filters.
$("search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("q").value.trim();
  const box = $("results");
  box.replaceChildren();
  box.hidden = false;
  if (!q) { box.hidden = true; return; }
  const params = new URLSearchParams({ q });
  if ($("type-filter").value) params.set("type", $("type-filter").value);
  if ($("view").value !== "uploaded") {
    if ($("from").value) params.set("from", $("from").value);
    if ($("to").value) params.set("to", $("to").value);
  }
  const everyone = $("everyone").checked;
  const path = everyone ? "/v1/search?" : "/v1/patients/" + encodeURIComponent(patient) + "/search?";
  try {
    const resp = await api(path + params);
    const r = await resp.json();
    box.append(el("h2", {}, r.total + (r.total === 1 ? " document matches" : " documents match") + " “" + q + "”"
      + (everyone ? " across your patients" : "")));
    for (const res of r.results) {
      const title = (res.type && TYPES[res.type] ? TYPES[res.type][0] : "Document") + " · "
        + (res.document_date ? day(res.document_date) : when(res.created_at))
        + (everyone ? " · patient " + res.patient_id : "");
      const item = el("div", { class: "hit", "data-result": res.document_id },
        el("button", { class: "link", onclick: () => openDocument(res.document_id) }, title));
      for (const h of res.hits) {
        item.append(el("div", { "data-page": h.page },
          el("button", { class: "link meta", title: "show it on the page",
            onclick: () => openDocument(res.document_id, { page: h.page, boxes: h.boxes }) }, "page " + h.page),
          ": ", highlight(h.text, h.highlights)));
      }
      box.append(item);
    }
  } catch (e) {
    box.append(el("p", { class: "error" }, "Search failed: " + e.message));
  }
});

// A page image with boxes drawn over it (page-relative, from the top left).
async function imageWithBoxes(href, alt, boxes) {
  const img = await image(href, alt);
  if (img.tagName !== "IMG") return img;
  const shot = el("div", { class: "shot", "data-testid": "found-on-page" }, img);
  for (const b of boxes) {
    shot.append(el("div", { class: "found", style: "left:" + (b.left * 100) + "%;top:" + (b.top * 100)
      + "%;width:" + (b.width * 100) + "%;height:" + (b.height * 100) + "%" }));
  }
  return shot;
}

// ------------------------------------------------------------------ one document

// Opens a document; `found` (a search hit: its page and the matching words' boxes)
// shows that page's image at once, the words outlined on it.
async function openDocument(id, found) {
  $("patient-panel").hidden = true;
  $("doc-view").hidden = false;
  $("doc-error").textContent = "";
  const pages = $("doc-pages");
  pages.replaceChildren();
  try {
    const d = await (await api("/v1/documents/" + id)).json();
    $("doc-title").replaceChildren(el("span", { class: "status " + d.status }, d.status), " ", kind(d.mime) + " · " + when(d.created_at));
    $("doc-meta").textContent = d.pages + (d.pages === 1 ? " page" : " pages")
      + (d.text_source ? " · text from " + d.text_source.replace("_", " ") : "")
      + (d.reason ? " · " + d.reason.message : "");
    showUnderstanding(d);
    if (d.status !== "READY") return;
    if (d.pdf_href) {
      const save = el("button", { class: "link", "data-testid": "download-pdf" }, "Download PDF");
      save.addEventListener("click", () => downloadPdf(d.pdf_href).catch((e) => { $("doc-error").textContent = e.message; }));
      $("doc-meta").append(" · ", save);
    }
    const model = await (await api(d.pages_href)).json();
    for (const p of model.pages) {
      const text = el("div", { class: "text" });
      for (const line of p.lines) {
        text.append(el("span", line.confidence < 60 ? { class: "low", title: "low OCR confidence" } : {}, line.text), "\n");
      }
      const conf = p.mean_confidence == null ? "" : " · confidence " + Math.round(p.mean_confidence) + "%";
      const section = el("section", { class: "page", "data-page": p.page },
        el("h3", {}, "Page " + p.page + conf + (p.rotation ? " · turned " + p.rotation + "°" : "")), text);
      const preview = d.renditions.find((r) => r.name === "preview" && r.page === p.page);
      if (preview && found && found.page === p.page) {
        section.append(await imageWithBoxes(preview.href, "page " + p.page, found.boxes));
        pages.append(section);
        section.scrollIntoView();
        continue;
      }
      if (preview) {
        const toggle = el("button", { class: "link" }, "Show the page image");
        toggle.addEventListener("click", async () => { toggle.replaceWith(await image(preview.href, "page " + p.page)); });
        section.append(toggle);
      }
      pages.append(section);
    }
  } catch (e) {
    $("doc-error").textContent = "Cannot open the document: " + e.message;
  }
}

const ROLES = { service: "date of the visit or test", issued: "written or printed", birth: "date of birth", due: "due or follow-up", other: "other date" };

// What the document reads as and why, its dates, and filing it as another type.
function showUnderstanding(d) {
  const box = $("doc-understanding");
  box.replaceChildren();
  openDoc = d;
  $("filing").hidden = d.status !== "READY";
  if (!d.type) return;
  const t = d.type;
  const how = t.source === "given"
    ? "filed by staff"
    : "read from the text" + (t.confidence != null ? " · " + Math.round(t.confidence * 100) + "% sure" : "");
  box.append(el("p", { "data-testid": "reads-as" },
    el("strong", {}, typeName(d)), t.loinc ? " (LOINC " + t.loinc + ")" : "", " · " + how + " · dated ", el("strong", {}, dated(d))));
  if (t.evidence.length) box.append(el("p", { class: "meta" }, "Because of " + t.evidence.join(", ")));
  if (d.dates.length) {
    const list = el("ul", { class: "dates", "data-testid": "dates" });
    for (const x of d.dates) {
      list.append(el("li", {}, el("strong", {}, day(x.date)), " · " + ROLES[x.role] + " · “" + x.text + "”" + (x.ambiguous ? " · day and month could be either way" : "")));
    }
    box.append(list);
  }
  $("file-as").value = t.code;
}
let openDoc = null;

$("filing").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("doc-error").textContent = "";
  try {
    const resp = await fetch("/v1/documents/" + openDoc.id + "/type", {
      method: "PUT",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify({ document_type: $("file-as").value }),
    });
    if (!resp.ok) { const p = await resp.json(); throw new Error(p.detail || resp.statusText); }
    showUnderstanding(await resp.json());
    $("filed").textContent = "Filed.";
  } catch (e) {
    $("doc-error").textContent = "Cannot file the document: " + e.message;
  }
});

$("back").addEventListener("click", () => {
  $("doc-view").hidden = true;
  $("patient-panel").hidden = false;
  $("filed").textContent = "";
  // A filing may have moved a document to another group.
  loadDocuments(false);
});

if (token) signIn(token).catch(() => { sessionStorage.removeItem("medidocs-token"); token = ""; });
