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

function freeImages() {
  while (blobs.length) URL.revokeObjectURL(blobs.pop());
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
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

function docCard(d) {
  const thumb = d.renditions.find((r) => r.name === "thumb" && r.page === 1);
  const holder = el("div", { class: "noimg" }, d.status === "READY" ? "…" : "no preview");
  if (thumb) image(thumb.href, "first page of the document").then((img) => holder.replaceWith(img));
  const reason = d.reason ? el("div", { class: "meta" }, d.reason.message) : null;
  return el("button", { class: "doc", "data-document": d.id, onclick: () => openDocument(d.id) },
    holder,
    el("div", {}, el("span", { class: "status " + d.status }, d.status), " ", kind(d.mime)),
    el("div", { class: "meta" }, when(d.created_at) + " · " + d.pages + (d.pages === 1 ? " page" : " pages")),
    reason);
}

async function loadDocuments(more) {
  $("list-error").textContent = "";
  const status = $("status-filter").value;
  let path = "/v1/patients/" + encodeURIComponent(patient) + "/documents?limit=24";
  if (status) path += "&status=" + status;
  if (more && cursor) path += "&cursor=" + encodeURIComponent(cursor);
  if (!more) { freeImages(); $("docs").replaceChildren(); }
  try {
    const page = await (await api(path)).json();
    for (const d of page.documents) $("docs").append(docCard(d));
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
$("status-filter").addEventListener("change", () => loadDocuments(false));
$("more").addEventListener("click", () => loadDocuments(true));

// ------------------------------------------------------------------ search

function highlight(text, terms) {
  const span = el("span");
  const words = text.split(/(\s+)/);
  for (const w of words) {
    const lw = w.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
    if (lw && terms.some((t) => lw.startsWith(t))) span.append(el("mark", {}, w));
    else span.append(w);
  }
  return span;
}

$("search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("q").value.trim();
  const box = $("results");
  box.replaceChildren();
  box.hidden = false;
  if (!q) { box.hidden = true; return; }
  try {
    const r = await (await api("/v1/patients/" + encodeURIComponent(patient) + "/search?q=" + encodeURIComponent(q))).json();
    const terms = q.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    box.append(el("h2", {}, r.results.length + " of " + r.searched + " documents match “" + q + "”"));
    for (const res of r.results) {
      const item = el("div", { class: "hit", "data-result": res.document_id },
        el("button", { class: "link", onclick: () => openDocument(res.document_id) }, "Document of " + when(res.created_at)));
      for (const h of res.hits) item.append(el("div", {}, el("span", { class: "meta" }, "page " + h.page + ": "), highlight(h.text, terms)));
      box.append(item);
    }
  } catch (e) {
    box.append(el("p", { class: "error" }, "Search failed: " + e.message));
  }
});

// ------------------------------------------------------------------ one document

async function openDocument(id) {
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
    if (d.status !== "READY") return;
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

$("back").addEventListener("click", () => {
  $("doc-view").hidden = true;
  $("patient-panel").hidden = false;
});

if (token) signIn(token).catch(() => { sessionStorage.removeItem("medidocs-token"); token = ""; });
