// ferry ui: the connection panel, the two table lists with search, the preview, and
// the job's copies. Plain DOM, text set with textContent only (values are data, never
// markup). The token travels in an HttpOnly cookie the server set; this script never
// sees it.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
};

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: "same-origin", ...options });
  const body = await res.json().catch(() => ({ error: res.status + " " + res.statusText }));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

// api's options for a POST of `body` as JSON.
const jsonPost = (body) => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

const PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP"];
const NEEDED = { source: ["SELECT"], target: ["SELECT", "INSERT", "UPDATE", "DELETE"] };

function showSide(s) {
  const card = $("#conn-" + s.side);
  const status = $(".status", card);
  const dl = $("dl", card);
  dl.replaceChildren();
  const item = (name, value) => dl.append(el("dt", { text: name }), el("dd", {}, value));
  if (s.url) item("URL", s.url);
  if (s.ok) {
    status.textContent = "connected";
    status.className = "status ok";
    item("server", s.version);
    item("TLS", s.tls || "no");
    const chips = el("span");
    for (const p of PRIVILEGES) {
      const has = s.privileges.includes(p);
      if (has || NEEDED[s.side].includes(p)) {
        chips.append(el("span", { class: has ? "chip" : "chip missing", text: p,
          title: has ? "granted" : "not granted: a copy needs it" }));
      }
    }
    item("privileges", chips);
    item("tables", String(s.tables));
  } else {
    status.textContent = s.configured ? "not connected" : "not configured";
    status.className = "status bad";
    if (s.error) item("error", el("span", { class: "error", text: s.error }));
  }
}

async function loadConnections(method = "GET") {
  for (const side of ["source", "target"]) {
    const status = $(".status", $("#conn-" + side));
    status.textContent = "testing…";
    status.className = "status";
  }
  const path = method === "POST" ? "/api/connections/test" : "/api/connections";
  const c = await api(path, { method });
  showSide(c.source);
  showSide(c.target);
  for (const s of [c.source, c.target]) {
    if (s.ok) loadTables(s.side);
    else {
      $("#tables-" + s.side).replaceChildren();
      $("#count-" + s.side).textContent = "";
    }
  }
}

const lists = { source: [], target: [] };
const chosen = { source: null, target: null };

async function loadTables(side) {
  try {
    const t = await api("/api/tables/" + side);
    lists[side] = t.tables;
    renderTables(side);
  } catch (e) {
    $("#count-" + side).textContent = e.message;
  }
}

function renderTables(side) {
  const q = $("#search-" + side).value.trim().toLowerCase();
  const shown = lists[side].filter((t) => t.name.toLowerCase().includes(q));
  const ul = $("#tables-" + side);
  ul.replaceChildren(...shown.map((t) => {
    const li = el("li", { "data-table": t.name, title: "Preview " + t.name },
      el("span", { class: "name", text: t.name }),
      el("span", { class: "num", text: "~" + t.rows + " rows" }),
      el("span", { class: "num", text: t.size }));
    if (chosen[side] === t.name) li.classList.add("chosen");
    li.addEventListener("click", () => choose(side, t.name, li));
    return li;
  }));
  const all = lists[side].length;
  $("#count-" + side).textContent = q
    ? shown.length + " of " + all + " tables match"
    : all + " tables";
}

// A click picks the side's table (one per side) and previews it; with one on each
// side the pair can be mapped.
function choose(side, table, li) {
  chosen[side] = table;
  document.querySelectorAll("#tables-" + side + " li.chosen")
    .forEach((x) => x.classList.remove("chosen"));
  li.classList.add("chosen");
  const pair = $("#pair");
  if (chosen.source && chosen.target) {
    pair.hidden = false;
    $("#add-pair").textContent = "Add " + chosen.source + " → " + chosen.target + " to the job";
    $("#pair-text").textContent = chosen.source + " → " + chosen.target;
  }
  preview(side, table);
}

async function preview(side, table) {
  const pane = $("#preview");
  pane.hidden = false;
  $("#preview-title").textContent = side + " · " + table;
  $("#preview-note").textContent = "loading…";
  const tbl = $("#preview-table");
  tbl.replaceChildren();
  try {
    const p = await api("/api/preview/" + side + "/" + encodeURIComponent(table));
    tbl.append(el("thead", {}, el("tr", {}, ...p.columns.map((c) => el("th", { text: c })))));
    const body = el("tbody");
    for (const row of p.rows) {
      body.append(el("tr", {}, ...row.map((c) => {
        const cls = [c.null ? "null" : "", c.binary ? "binary" : "", c.cut_from ? "cut" : ""];
        const td = el("td", { class: cls.join(" ").trim(), text: c.text });
        if (c.cut_from) td.title = "cut: the whole value is " + c.cut_from +
          (c.binary ? " bytes" : " characters");
        return td;
      })));
    }
    tbl.append(body);
    $("#preview-note").textContent = p.rows.length === 0
      ? "(0 rows)"
      : "the first " + p.rows.length + " rows; NULL in italics, binary as 0x…";
    pane.setAttribute("data-loaded", table);
  } catch (e) {
    $("#preview-note").textContent = "";
    tbl.append(el("caption", { class: "error", text: e.message }));
  }
}

// One copy as a grid: target columns down the side, where each value comes from.
function copyGrid(c) {
  const kind = (origin) => origin.startsWith("default") ? "origin-default"
    : origin.startsWith("server") || origin.startsWith("left") ? "origin-none" : "";
  const extra = [];
  if (c.server_filled.length) extra.push("left to the server: " + c.server_filled.join(", "));
  if (c.unused_source.length) extra.push("source columns not copied: " + c.unused_source.join(", "));
  return el("div", { class: "copy", "data-copy": c.name },
    el("h3", { text: c.from + " → " + c.to }),
    el("p", { class: "muted",
      text: c.mode + ", pages of " + c.page + (c.key.length ? ", key " + c.key.join(", ") : "") +
        (c.transform ? ", with a transform" : "") + " (" + c.location + ")" }),
    el("table", {},
      el("thead", {}, el("tr", {}, el("th", { text: "target column" }),
        el("th", { text: "source column" }), el("th", { text: "how" }))),
      el("tbody", {}, ...c.columns.map((col) =>
        el("tr", {}, el("td", { text: col.name }), el("td", { text: col.source || "" }),
          el("td", { class: kind(col.origin), text: col.origin }))))),
    ...extra.map((x) => el("p", { class: "muted", text: x })),
    ...c.warnings.map((w) => el("p", { class: "error", text: w })));
}

async function showMapping() {
  const pane = $("#mapping");
  pane.hidden = false;
  pane.removeAttribute("data-loaded");
  $("#mapping-title").textContent = "copy { from = \"" + chosen.source + "\", to = \"" +
    chosen.target + "\" }";
  $("#mapping-problems").textContent = "resolving…";
  $("#mapping-copy").replaceChildren();
  $("#try-rows").replaceChildren();
  try {
    const m = await api("/api/mapping?from=" + encodeURIComponent(chosen.source) +
      "&to=" + encodeURIComponent(chosen.target));
    $("#mapping-problems").textContent = m.problems.join("\n");
    $("#mapping-copy").replaceChildren(...m.copies.map(copyGrid));
  } catch (e) {
    $("#mapping-problems").textContent = e.message;
  }
  pane.setAttribute("data-loaded", chosen.source + "->" + chosen.target);
}

// try's answer as elements: each row with what the mode would do.
function tryParts(t) {
  const parts = t.problems.map((p) => el("p", { class: "error", text: p }));
  for (const c of t.copies) {
    parts.push(el("p", { class: "muted", text: c.mode + " into " + c.target +
      (c.resolves_on ? ", rows resolved on " + c.resolves_on : "") + ", written by " +
      c.written_by + "; " + c.rows.length + " rows" }));
    for (const r of c.rows) {
      parts.push(el("div", { class: "try-row", "data-key": r.key },
        el("h4", {}, r.key + " ", el("span", { class: "action " + r.action, text: r.action })),
        el("p", { class: "muted", text: r.why }),
        el("table", {},
          el("thead", {}, el("tr", {}, ...["column", "from", "value", "now", ""].map((h) =>
            el("th", { text: h })))),
          el("tbody", {}, ...r.columns.map((col) => el("tr", { "data-column": col.column },
            el("td", { text: col.column }), el("td", { text: col.from }),
            el("td", { text: col.value }), el("td", { text: col.now ?? "" }),
            el("td", { class: "mark", text: col.mark }))))),
        ...r.notes.map((n) => el("p", { class: "muted", text: n }))));
    }
  }
  return parts;
}

// try's answer to `request` (api's arguments) shown in `box`, then marked `loaded`.
async function showTry(box, loaded, ...request) {
  box.removeAttribute("data-loaded");
  box.replaceChildren(el("p", { class: "muted", text: "trying…" }));
  try {
    box.replaceChildren(...tryParts(await api(...request)));
  } catch (e) {
    box.replaceChildren(el("p", { class: "error", text: e.message }));
  }
  box.setAttribute("data-loaded", loaded);
}

// `try`: the pair's first rows through the copy, each with what the mode would do.
function tryRows() {
  return showTry($("#try-rows"), chosen.source + "->" + chosen.target,
    "/api/try?from=" + encodeURIComponent(chosen.source) +
      "&to=" + encodeURIComponent(chosen.target), { method: "POST" });
}

async function loadJob() {
  await loadTransforms();
  await showJobGrids(await api("/api/job"));
}

for (const side of ["source", "target"]) {
  $("#search-" + side).addEventListener("input", () => renderTables(side));
}
$("#show-mapping").addEventListener("click", () => showMapping().catch(report));
$("#try").addEventListener("click", () => tryRows().catch(report));
$("#retest").addEventListener("click", () => loadConnections("POST").catch(report));

function report(e) {
  $("#job-problems").textContent = e.message;
  $("#job").hidden = false;
}

// After every script of the page has run (grid.js, save.js).
window.addEventListener("DOMContentLoaded", () => {
  loadJob().catch(report);
  loadConnections().catch(report);
});
