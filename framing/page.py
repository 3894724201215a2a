"""The page of `framing serve`: paste or choose an article, score it, read it highlighted.

It renders the markup of the HTML report (framing/report.py: same CSS, colours, legend, frame
tags, tooltips and profile table), but in the browser, from the JSON of POST /v1/score, so that
the threshold sliders can re-decide the labels from the returned probabilities without a new
request. User text only ever enters the DOM through textContent and attributes, never as
markup. One file, no external resources; a Content-Security-Policy allows only this page's own
script (by hash) and requests to this server."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass

from framing.model.framer import Framer
from framing.report import COLOURS, CSS, SHORT, legend_html

PAGE_CSS = """
textarea{width:100%;box-sizing:border-box;font:inherit;min-height:9rem;padding:.4rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}
button{font:inherit;padding:.2rem .9rem;cursor:pointer}
#status{min-height:1.7em;margin:.3rem 0} #status.error{color:#c92a2a;font-weight:600}
.sliders{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,25rem),1fr));gap:0 1.2rem;border:1px solid #ddd;border-radius:.3rem;padding:.3rem .8rem;margin:.6rem 0}
.sliders label{display:grid;grid-template-columns:2.8rem minmax(0,11.5rem) minmax(4rem,1fr) 2.6rem;align-items:center;font-size:.9rem}
.sliders .row{grid-column:1/-1}
.sliders output{font-variant-numeric:tabular-nums;width:2.6rem;text-align:right}
@media (max-width:40rem){body{margin:.5rem auto;line-height:1.6} h2{margin-top:1.5rem}
 table.profile{font-size:.8rem} table.profile td,table.profile th{padding:.1rem .3rem} .bar{max-width:4rem}}
"""

_SCRIPT = r"""
"use strict";
const cfg = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
let result = null;  // the last answer of the API: documents with probabilities
const thresholds = {...cfg.thresholds};

function el(tag, props = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function fixed(x, digits) {  // Python's f"{x:.3f}": an exact tie goes to the even digit (toFixed rounds it up)
  const exact = x.toFixed(20), cut = exact.indexOf(".") + 1 + digits;
  if (!/^50*$/.test(exact.slice(cut))) return x.toFixed(digits);
  const down = exact.slice(0, cut);
  return Number(down.at(-1)) % 2 === 0 ? down : (Number(down) + 10 ** -digits).toFixed(digits);
}
function decide(probs) { return cfg.labels.filter((l) => probs[l] >= thresholds[l]); }
function strongest(s, labels) { return labels.reduce((a, b) => (s.probs[b] > s.probs[a] ? b : a)); }

// The same markup as framing/report.py's to_html, built node by node.
function renderDocument(doc) {
  const section = el("section", {class: "doc"});
  section.append(el("h2", {}, doc.id));
  const decided = doc.sentences.map((s) => decide(s.probs));
  const table = el("table", {class: "profile"});
  const head = el("tr");
  for (const h of ["frame", "sentences", "share", ""]) head.append(el("th", {}, h));
  table.append(head);
  const n = Math.max(1, doc.sentences.length);
  for (const l of cfg.labels) {
    const count = decided.filter((ls) => ls.includes(l)).length;
    const share = Math.round((count / n) * 1000) / 1000;
    const tr = el("tr", {"data-label": l});
    tr.append(el("td", {}, l), el("td", {}, String(count)), el("td", {}, `${Math.round(share * 100)}%`));
    const bar = el("span", {class: "bar"});
    bar.style.setProperty("--c", cfg.colours[l]);
    bar.style.width = `${(share * 12).toFixed(2)}rem`;
    const td = el("td");
    td.append(bar);
    tr.append(td);
    table.append(tr);
  }
  section.append(table);
  let p = el("p");
  doc.sentences.forEach((s, i) => {
    if (i > 0 && doc.text.slice(doc.sentences[i - 1].end, s.start).includes("\n")) {
      section.append(p);  // a paragraph break in the article
      p = el("p");
    }
    const labels = decided[i];
    const span = el("span", {class: labels.length ? "s framed" : "s", "data-index": String(s.index)}, s.text);
    span.style.setProperty("--c", labels.length ? cfg.colours[strongest(s, labels)] : "transparent");
    span.title = cfg.labels.map((l) => `${l}: ${fixed(s.probs[l], 3)}${labels.includes(l) ? " ✓" : ""}`).join("\n");
    p.append(span);
    for (const l of labels) {
      const tag = el("span", {class: "tag"}, cfg.short[l]);
      tag.style.background = cfg.colours[l];
      p.append(tag);
    }
    p.append(" ");
  });
  section.append(p);
  return section;
}

function render() {
  $("results").replaceChildren(...(result ? result.documents.map(renderDocument) : []));
  $("controls").hidden = !result;
}

function rows() {  // one record per sentence, as `framing score --format jsonl` writes them
  return result.documents.flatMap((d) => d.sentences.map((s) => ({
    document: d.id, index: s.index, start: s.start, end: s.end, text: s.text, probs: s.probs, labels: decide(s.probs)})));
}
function csvCell(v) { v = String(v); return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v; }
function download(name, type, text) {
  const a = el("a", {download: name, href: URL.createObjectURL(new Blob([text], {type}))});
  document.body.append(a);
  a.click();
  a.remove();
}

async function score(event) {
  event.preventDefault();
  const file = $("file").files[0];
  const text = $("text").value;
  if (!file && !text.trim()) { status("Paste an article or choose a file first.", true); return; }
  const headers = {};
  if (cfg.auth) headers.Authorization = `Bearer ${$("key").value}`;
  let body;
  if (file) {
    body = new FormData();
    body.append("file", file);
  } else {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify({text});
  }
  $("score").disabled = true;
  status("Scoring…");
  try {
    const response = await fetch(file ? "v1/score/file" : "v1/score", {method: "POST", headers, body});
    const answer = await response.json();
    if (!response.ok) throw new Error(`[${answer.code}] ${answer.message}`);
    result = answer;
    const n = result.documents.reduce((a, d) => a + d.sentences.length, 0);
    status(`Scored ${result.documents.length} document(s), ${n} sentence(s).`);
    render();
  } catch (err) {
    status(err.message, true);
  } finally {
    $("score").disabled = false;
  }
}
function status(message, error = false) {
  $("status").textContent = message;
  $("status").className = error ? "error" : "";
}

for (const input of document.querySelectorAll(".sliders input")) {
  input.addEventListener("input", () => {
    thresholds[input.dataset.label] = Number(input.value);
    input.nextElementSibling.textContent = Number(input.value).toFixed(2);
    render();
  });
}
$("reset").addEventListener("click", () => {
  for (const input of document.querySelectorAll(".sliders input")) {
    input.value = cfg.thresholds[input.dataset.label];
    input.dispatchEvent(new Event("input"));
  }
});
$("form").addEventListener("submit", score);
$("dl-jsonl").addEventListener("click", () =>
  download("framing.jsonl", "application/x-ndjson", rows().map((r) => JSON.stringify(r)).join("\n") + "\n"));
$("dl-csv").addEventListener("click", () => {
  const header = ["document", "index", "start", "end", "text", ...cfg.labels.map((l) => `p_${l}`), "labels"];
  const lines = rows().map((r) => [r.document, r.index, r.start, r.end, r.text, ...cfg.labels.map((l) => r.probs[l]), r.labels.join(";")]);
  download("framing.csv", "text/csv", [header, ...lines].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n");
});
"""


@dataclass
class Page:
    html: str
    headers: dict[str, str]


def render_page(framer: Framer, auth: bool = False) -> Page:
    esc = html.escape
    name = framer.path.name if framer.path else "model"
    config = {"labels": framer.labels, "thresholds": framer.thresholds, "colours": COLOURS, "short": SHORT, "auth": auth}
    sliders = "".join(
        f"<label><span class='tag' style='background:{COLOURS[l]}'>{SHORT[l]}</span>{esc(l)}"
        f"<input type='range' min='0' max='1' step='0.01' value='{t}' data-label='{esc(l)}' aria-label='threshold {esc(l)}'>"
        f"<output>{t:.2f}</output></label>" for l, t in framer.thresholds.items())
    key = "<input type='password' id='key' placeholder='API key' autocomplete='off'>" if auth else ""
    body = (
        f"<h1>Frame scorer</h1><p class='meta'>Model: {esc(name)} · Paste a Korean news article or choose a file "
        "(.txt, .html, .jsonl; UTF-8, UTF-16 or CP949), then press Score. Hover a sentence for its probabilities.</p>"
        "<form id='form'><textarea id='text' placeholder='기사 본문을 붙여 넣으세요 · paste an article' aria-label='article text'></textarea>"
        "<div class='row'><input type='file' id='file' accept='.txt,.html,.htm,.jsonl' aria-label='article file'>"
        f"{key}<button id='score' type='submit'>Score</button></div></form><p id='status' role='status'></p>"
        f"<div id='controls' hidden>{legend_html()}<fieldset class='sliders'><legend>Thresholds</legend>{sliders}"
        "<div class='row'><button type='button' id='reset'>Model thresholds</button></div></fieldset>"
        "<div class='row'><button type='button' id='dl-jsonl'>Download JSONL</button>"
        "<button type='button' id='dl-csv'>Download CSV</button></div></div><div id='results'></div>")
    data = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    page = (f"<!doctype html><html lang='ko'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'><title>framing</title>"
            f"<style>{CSS}{PAGE_CSS}</style></head><body>{body}"
            f"<script type='application/json' id='config'>{data}</script><script>{_SCRIPT}</script></body></html>\n")
    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; connect-src 'self'; "
           "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return Page(page, {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})
