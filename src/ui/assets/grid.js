// ferry ui: the editable mapping grid. One grid per editable copy of the job and per
// pair added from the table lists; every edit lands in one model (the contract's edit
// model, `editModel()`), which check, try and save all send. Check findings are shown
// in the cells of their columns. Text is set with textContent only.
"use strict";

const MODES = {
  insert: "insert: adds new rows; a row whose key is already in the target is left as it is (ignored)",
  overwrite: "overwrite: a row whose key is already in the target is deleted and inserted again; unmapped columns get their defaults",
  upsert: "upsert: a row whose key is already in the target has its mapped columns updated, the rest kept",
};
const NONE = "";
let transforms = [];
let job = { path: null, sha: null, copies: [] };
// Each grid: { key, index, from, to, mode, page, columns: [{name, origin, key, lua, same}],
//   state: {column: {source, transform, dkind, dvalue}}, base: JSON of the first state,
//   sources: [...], node }
const grids = [];

async function loadTransforms() {
  try {
    transforms = await api("/api/transforms");
  } catch (e) {
    transforms = [];
  }
}

// What the page shows but does not edit: a Lua function of the job's own, or a default
// of bytes that are not text.
function readOnly(e) {
  if (!e) return null;
  if (e.lua) return e.lua;
  if (e.default && typeof e.default === "object") {
    return "default = 0x" + (e.default.hex || JSON.stringify(e.default));
  }
  return null;
}

// The state of a column as the job file states it (its `edit`), or as copy maps it.
function stateOf(col) {
  const e = col.edit || { target: col.name };
  const s = { source: col.source || NONE, transform: "", dkind: "", dvalue: "" };
  if (e.source !== undefined) s.source = e.source;
  if (e.transform) s.transform = e.transform;
  if (e.sql !== undefined) { s.source = NONE; s.dkind = "sql"; s.dvalue = e.sql; }
  else if (e.default === null) { s.source = NONE; s.dkind = "null"; }
  else if (e.default !== undefined) { s.source = NONE; s.dkind = "value"; s.dvalue = String(e.default); }
  return s;
}

function entryOf(name, s) {
  if (s.source) {
    const e = { target: name, source: s.source };
    if (s.transform) e.transform = s.transform;
    return e;
  }
  if (s.dkind === "null") return { target: name, default: null };
  if (s.dkind === "value") return { target: name, default: s.dvalue };
  if (s.dkind === "sql") return { target: name, sql: s.dvalue };
  return { target: name };
}

function gridDirty(g) {
  return g.index === null || JSON.stringify([g.mode, g.page, g.state]) !== g.base;
}

// The edit model: every new copy and every existing copy the page changed, with the
// columns whose state differs from what the file says.
function editModel() {
  const copies = [];
  for (const g of grids) {
    if (!gridDirty(g)) continue;
    const base = JSON.parse(g.base)[2];
    const columns = [];
    for (const c of g.columns) {
      if (c.lua) continue;
      const s = g.state[c.name];
      if (JSON.stringify(s) === JSON.stringify(base[c.name])) continue;
      columns.push(entryOf(c.name, s));
    }
    copies.push({ index: g.index, from: g.from, to: g.to, mode: g.mode, page: g.page, columns });
  }
  return { copies };
}

function anyDirty() {
  return grids.some(gridDirty);
}

function markDirty() {
  const dirty = anyDirty();
  $("#dirty").hidden = !dirty;
  for (const g of grids) g.node.classList.toggle("dirty", gridDirty(g));
  // Rows tried before this edit no longer show what the copy would write: say so.
  for (const box of document.querySelectorAll(".try-box[data-loaded]")) {
    if (!box.querySelector(".stale")) {
      box.prepend(el("p", { class: "stale",
        text: "These rows were tried before the last edit: Try again to see it." }));
    }
  }
  scheduleCheck();
}

window.addEventListener("beforeunload", (e) => {
  if (anyDirty()) {
    e.preventDefault();
    e.returnValue = "";
  }
});

async function sourceColumns(table) {
  try {
    const p = await api("/api/preview/source/" + encodeURIComponent(table) + "?rows=1");
    return p.columns;
  } catch (e) {
    return [];
  }
}

// A grid for a copy view (from GET /api/job or /api/mapping, or an unresolved pair's,
// which has its source columns already).
async function addGrid(c, index) {
  const sources = c.sources || await sourceColumns(c.from);
  // Columns nothing fills that the server can (nullable, a default, auto_increment) are
  // rows too: the page may give them a source or a default.
  const filled = new Set(c.columns.map((col) => col.name));
  c = { ...c, columns: c.columns.concat((c.server_filled || []).filter((n) => !filled.has(n))
    .map((n) => ({ name: n, source: null, origin: "left to the server" }))) };
  const g = {
    key: index === null ? "new:" + c.from + "->" + c.to : "copy:" + index,
    index, from: c.from, to: c.to, mode: c.mode, page: c.page, sources,
    location: c.location, keyCols: c.key || [],
    columns: c.columns.map((col) => ({
      name: col.name, origin: col.origin, lua: readOnly(col.edit),
      same: sources.includes(col.name) ? col.name : null,
    })),
    state: {},
  };
  for (const col of c.columns) g.state[col.name] = stateOf(col);
  g.base = JSON.stringify([g.mode, g.page, g.state]);
  g.state = JSON.parse(JSON.stringify(g.state));
  g.node = renderGrid(g);
  grids.push(g);
  $("#grids").hidden = false;
  $("#grid-list").append(g.node);
  markDirty();
  return g;
}

function option(value, text, selected) {
  return el("option", { value, text, selected });
}

function renderGrid(g) {
  const modeNote = el("p", { class: "muted mode-note", text: MODES[g.mode] || "" });
  const mode = el("select", { class: "mode", title: "what the copy does to a row whose key exists" },
    ...Object.keys(MODES).map((m) => option(m, m, m === g.mode)));
  mode.addEventListener("change", () => {
    g.mode = mode.value;
    modeNote.textContent = MODES[g.mode];
    markDirty();
  });
  const page = el("input", { type: "number", class: "page", min: 1, value: g.page });
  page.addEventListener("change", () => {
    const n = parseInt(page.value, 10);
    if (n > 0) { g.page = n; markDirty(); } else page.value = g.page;
  });
  const tryButton = el("button", { type: "button", class: "try-edits", text: "Try the first 10 rows" });
  const tryBox = el("div", { class: "try-box" });
  tryButton.addEventListener("click", () => tryGrid(g, tryBox).catch(report));
  const body = el("tbody", {}, ...g.columns.map((c) => renderRow(g, c)));
  const head = el("div", { class: "grid-head" },
    el("h3", {}, g.from + " → " + g.to + " ",
      el("span", { class: "chip", text: g.index === null ? "new copy" : g.location }),
      el("span", { class: "unsaved", text: "● unsaved" })),
    el("label", {}, "mode ", mode), el("label", {}, "page size ", page), tryButton);
  if (g.index === null) {
    const remove = el("button", { type: "button", class: "remove", text: "Remove" });
    remove.addEventListener("click", () => {
      grids.splice(grids.indexOf(g), 1);
      g.node.remove();
      markDirty();
    });
    head.append(remove);
  }
  return el("div", { class: "grid-copy", "data-grid": g.key },
    head, modeNote,
    el("div", { class: "copy-findings" }),
    el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ...["target column", "source column", "transform",
        "when nothing fills it", "check"].map((h) => el("th", { text: h })))),
      body),
    tryBox);
}

function renderRow(g, c) {
  const name = el("td", { class: "col-name" }, el("span", { text: c.name }));
  if (g.keyCols.includes(c.name)) name.append(el("span", { class: "chip", text: "key" }));
  const origin = el("div", { class: "muted origin", text: c.origin });
  name.append(origin);
  const findings = el("td", { class: "findings" });
  if (c.lua) {
    return el("tr", { "data-column": c.name, class: "readonly" }, name,
      el("td", { colSpan: 3 }, el("code", { text: c.lua }),
        el("div", { class: "muted", text: "the job's own Lua: edit it in the file" })),
      findings);
  }
  const s = g.state[c.name];
  const source = el("select", { class: "source" }, option(NONE, "— none —", s.source === NONE),
    ...g.sources.map((n) => option(n, n === c.same ? n + " (same name)" : n, n === s.source)));
  const transform = el("select", { class: "transform" }, option("", "—", !s.transform),
    ...transforms.map((t) => {
      const o = option(t.name, t.name, t.name === s.transform);
      o.title = t.doc + (t.example ? "  e.g. " + t.example : "");
      return o;
    }));
  const dkind = el("select", { class: "dkind" }, option("", "—", s.dkind === ""),
    option("value", "value", s.dkind === "value"), option("null", "NULL", s.dkind === "null"),
    option("sql", "sql", s.dkind === "sql"));
  const dvalue = el("input", { type: "text", class: "dvalue", value: s.dvalue,
    placeholder: "a value" });
  const first = JSON.stringify(s);
  const sync = () => {
    origin.textContent = JSON.stringify(s) === first ? c.origin : describe(c, s);
    transform.disabled = !s.source;
    dkind.disabled = !!s.source;
    dvalue.disabled = !!s.source || s.dkind === "" || s.dkind === "null";
    dvalue.placeholder = s.dkind === "sql" ? "an SQL expression, e.g. NOW()" : "a value";
  };
  let typing = null;
  source.addEventListener("change", () => {
    s.source = source.value;
    if (s.source) { s.dkind = ""; s.dvalue = ""; dkind.value = ""; dvalue.value = ""; }
    else { s.transform = ""; transform.value = ""; }
    sync(); markDirty();
  });
  transform.addEventListener("change", () => { s.transform = transform.value; sync(); markDirty(); });
  dkind.addEventListener("change", () => {
    s.dkind = dkind.value;
    if (s.dkind === "null" || s.dkind === "") { s.dvalue = ""; dvalue.value = ""; }
    sync(); markDirty();
  });
  dvalue.addEventListener("input", () => {
    s.dvalue = dvalue.value;
    sync();
    clearTimeout(typing);
    typing = setTimeout(markDirty, 300);
  });
  sync();
  return el("tr", { "data-column": c.name }, name, el("td", {}, source), el("td", {}, transform),
    el("td", { class: "default" }, dkind, dvalue), findings);
}

// Where a column's value comes from once edited (the plan's wording is for the file).
function describe(c, s) {
  if (s.source) {
    const from = s.source === c.same ? "same name" : "from " + s.source;
    return s.transform ? from + " through " + s.transform : from;
  }
  if (s.dkind === "null") return "default NULL";
  if (s.dkind === "value") return "default '" + s.dvalue + "'";
  if (s.dkind === "sql") return "default sql \"" + s.dvalue + "\"";
  return "nothing fills it (the server may)";
}

// The job as GET /api/job (or a save) answers it: its file, its problems, and its
// copies: editable ones as grids, the rest as the read-only view.
async function showJobGrids(j) {
  job = j;
  if (j.path) $("#job-path").textContent = j.path;
  $("#job-problems").textContent = (j.problems || []).join("\n");
  for (const g of grids.splice(0)) g.node.remove();
  const readOnly = [];
  for (const c of j.copies) {
    if (c.editable === false || c.editable === undefined) readOnly.push(c);
    else await addGrid(c, c.index);
  }
  $("#job").hidden = !readOnly.length && !(j.problems || []).length;
  const box = $("#copies");
  box.replaceChildren(...readOnly.map((c) => {
    const view = copyGrid(c);
    if (c.why) view.insertBefore(el("p", { class: "muted", text: "not editable on the page: " + c.why }), view.children[1]);
    return view;
  }));
  markDirty();
}

// The pair picked in the table lists, as a new copy.
async function addPair() {
  const key = "new:" + chosen.source + "->" + chosen.target;
  const have = grids.find((g) => g.key === key);
  if (have) { have.node.scrollIntoView(); return; }
  const m = await api("/api/mapping?from=" + encodeURIComponent(chosen.source) +
    "&to=" + encodeURIComponent(chosen.target));
  // A pair copy cannot take as it is (a NOT NULL column nothing fills): the grid is
  // built from the two tables' columns, matched by name as copy matches them, and the
  // plan's problems show until the edits mend them.
  const c = m.copies.length ? m.copies[0] : await unresolvedPair(chosen.source, chosen.target);
  const g = await addGrid(c, null);
  if (!m.copies.length) {
    g.node.querySelector(".copy-findings").append(...m.problems.map((p) =>
      el("p", { class: "error", text: p })));
  }
  g.node.scrollIntoView();
}

async function unresolvedPair(from, to) {
  const [sources, targets] = await Promise.all([sourceColumns(from),
    api("/api/preview/target/" + encodeURIComponent(to) + "?rows=1").then((p) => p.columns)]);
  const match = (t) => sources.find((s) => s === t) ||
    sources.find((s) => s.toLowerCase() === t.toLowerCase());
  return {
    from, to, mode: "insert", page: 5000, location: "", key: [], sources,
    columns: targets.map((t) => {
      const s = match(t);
      return { name: t, source: s || null, origin: s ? "same name" : "nothing fills it yet" };
    }),
  };
}

// Check: debounced after edits, at once from the button. Only the latest answer shows.
let checkTimer = null;
let checkSeq = 0;
function scheduleCheck() {
  clearTimeout(checkTimer);
  if (!grids.length) return;
  checkTimer = setTimeout(() => runCheck().catch(report), 1200);
}

async function runCheck() {
  clearTimeout(checkTimer);
  const seq = ++checkSeq;
  const status = $("#check-summary");
  status.textContent = "checking…";
  $("#grids").removeAttribute("data-checked");
  const edits = editModel();
  try {
    const r = await api("/api/check", jsonPost(edits.copies.length ? { edits } : {}));
    if (seq !== checkSeq) return;
    showFindings(r);
  } catch (e) {
    if (seq !== checkSeq) return;
    status.textContent = "check failed: " + e.message;
    status.className = "error";
  }
  $("#grids").setAttribute("data-checked", String(seq));
}

function gridFor(f) {
  return grids.find((g) => f.index !== null ? g.index === f.index
    : g.index === null && g.from === f.from && g.to === f.to);
}

function badge(f) {
  const cls = f.blocking ? "finding blocking" : "finding note";
  const box = el("div", { class: cls, "data-kind": f.kind },
    el("strong", { text: f.kind }),
    el("span", { class: "level", text: f.blocking ? "blocking" : f.accepted ? "accepted" : "note" }),
    el("div", { class: "finding-message", text: f.message }));
  if (f.examples.length) {
    box.append(el("ul", { class: "examples" }, ...f.examples.slice(0, 5).map((x) =>
      el("li", { text: x.key + "  " + x.value }))));
  }
  if (f.fix) box.append(el("div", { class: "fix", text: "fix: " + f.fix }));
  return box;
}

function showFindings(r) {
  for (const g of grids) {
    g.node.querySelectorAll("table.grid tr[data-column]").forEach((tr) => {
      tr.classList.remove("has-blocking", "has-note");
      tr.querySelector("td.findings").replaceChildren();
    });
    g.node.querySelector(".copy-findings").replaceChildren();
  }
  const loose = [];
  for (const f of r.cells) {
    const g = gridFor(f);
    const tr = g && g.node.querySelector("table.grid tr[data-column=\"" + CSS.escape(f.column) + "\"]");
    if (!tr) { loose.push(f); continue; }
    tr.classList.add(f.blocking ? "has-blocking" : "has-note");
    tr.querySelector("td.findings").append(badge(f));
  }
  for (const f of r.copy_findings) {
    const g = gridFor(f);
    if (g) g.node.querySelector(".copy-findings").append(badge(f));
    else loose.push(f);
  }
  const problems = $("#check-problems");
  problems.replaceChildren(...r.problems.map((p) => el("p", { class: "error", text: p })),
    ...loose.map((f) => el("div", {}, el("span", { text: f.from + " → " + f.to + ": " }), badge(f))));
  $("#check-summary").textContent = r.summary;
  $("#check-summary").className = r.blocking ? "error" : r.problems.length ? "error" : "ok";
}

// `try` with the page's edits: the copy's first rows as a run would write them.
function tryGrid(g, box) {
  return showTry(box, g.key, "/api/try",
    jsonPost({ edits: editModel(), copy: { index: g.index, from: g.from, to: g.to } }));
}

$("#add-pair").addEventListener("click", () => addPair().catch(report));
$("#check").addEventListener("click", () => runCheck().catch(report));
