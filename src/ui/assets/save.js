// ferry ui: the save dialog. Save shows the diff the page's edits make to the job file
// (POST /api/job/diff: nothing written), then writes it (POST /api/job/save) against
// the file's sha as the page read it: a file changed on disk since is a 409, and the
// dialog offers to reload. Without a job file the dialog asks for a path.
"use strict";

let pending = null;

function saveBody() {
  const body = { edits: editModel(), base: job.sha ?? null };
  if (!job.path) body.path = $("#save-path").value.trim();
  return body;
}

async function post(path, body) {
  const res = await fetch(path, { credentials: "same-origin", ...jsonPost(body) });
  const answer = await res.json().catch(() => ({ error: res.status + " " + res.statusText }));
  return { status: res.status, answer };
}

function diffLines(text) {
  return text.split("\n").map((line) => {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "diff-file"
      : line.startsWith("@@") ? "diff-hunk"
      : line.startsWith("+") ? "diff-add" : line.startsWith("-") ? "diff-del" : "";
    return el("div", { class: cls, text: line || " " });
  });
}

async function openSave() {
  const dialog = $("#save-dialog");
  $("#save-path-row").hidden = !!job.path;
  $("#save-file").textContent = job.path || "a new job file";
  $("#save-status").textContent = "";
  $("#save-status").className = "";
  $("#save-reload").hidden = true;
  if (!dialog.open) dialog.showModal();
  if (!job.path && !$("#save-path").value.trim()) {
    $("#diff").replaceChildren();
    $("#save-notes").replaceChildren();
    $("#save-problems").replaceChildren();
    $("#save-go").disabled = true;
    $("#save-status").textContent = "Give the job file's path, then Show the diff.";
    return;
  }
  await showDiff();
}

async function showDiff() {
  dialogState("loading");
  const body = saveBody();
  const { status, answer } = await post("/api/job/diff", body);
  if (status === 409) {
    conflict(answer);
    return;
  }
  if (status !== 200) {
    dialogState("error", answer.error || "the diff failed (" + status + ")");
    return;
  }
  pending = body;
  $("#save-file").textContent = answer.path || job.path || body.path;
  $("#diff").replaceChildren(...diffLines(answer.diff || "(no change)"));
  $("#save-notes").replaceChildren(...(answer.notes || []).map((n) =>
    el("p", { class: "note", text: n })));
  $("#save-problems").replaceChildren(...(answer.problems || []).map((p) =>
    el("p", { class: "error", text: p })));
  dialogState("ready");
}

function dialogState(state, message = "") {
  const status = $("#save-status");
  $("#save-go").disabled = state !== "ready";
  $("#save-dialog").setAttribute("data-state", state);
  status.className = state === "error" || state === "conflict" ? "error" : "muted";
  status.textContent = {
    loading: "reading the diff…",
    ready: "Nothing is written until you press Save.",
    saving: "saving…",
  }[state] || message;
}

async function doSave() {
  if (!pending) return;
  dialogState("saving");
  const { status, answer } = await post("/api/job/save", pending);
  if (status === 409) {
    conflict(answer);
    return;
  }
  if (status !== 200) {
    dialogState("error", answer.error || "saving failed (" + status + ")");
    return;
  }
  pending = null;
  await showJobGrids(answer);
  $("#save-dialog").setAttribute("data-state", "saved");
  $("#save-status").className = "ok";
  $("#save-status").textContent = "Saved " + (answer.path || "") + ".";
  $("#save-go").disabled = true;
  document.dispatchEvent(new CustomEvent("ferry:job-saved", { detail: answer }));
}

// The file changed on disk since the page read it (409, from the diff or the save):
// nothing is written; the dialog offers to read the file again.
function conflict(answer) {
  pending = null;
  $("#diff").replaceChildren();
  $("#save-notes").replaceChildren();
  $("#save-problems").replaceChildren();
  dialogState("conflict", answer.error ||
    "The job file changed on disk since the page read it: nothing was written.");
  $("#save-reload").hidden = false;
}

// A 409: read the file again; the page's unsaved edits are dropped.
async function reloadJob() {
  await showJobGrids(await api("/api/job"));
  $("#save-dialog").close();
}

$("#save").addEventListener("click", () => openSave().catch(report));
$("#save-show").addEventListener("click", () => showDiff().catch(report));
$("#save-go").addEventListener("click", () => doSave().catch(report));
$("#save-cancel").addEventListener("click", () => $("#save-dialog").close());
$("#save-reload").addEventListener("click", () => reloadJob().catch(report));
