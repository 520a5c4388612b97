// ferry ui, runs: start `ferry run` of the job file as saved, watch it live (server-sent
// events: each copy's progress, the log, state changes, the summary), pause, throttle
// or stop it, and list this page's runs and the job's resume state. Text is set with
// textContent only. Wrapped in a function: app.js has globals of its own, and its
// helpers are used here.
"use strict";
(() => {
  // `$`, `el`, `api` and `jsonPost` are app.js's (loaded first).
  const num = (n) => (n === null || n === undefined ? "" : Number(n).toLocaleString("en-US"));
  const rows = (n) => num(n) + (n === 1 ? " row" : " rows");
  const secs = (s) => {
    if (s === null || s === undefined) return "";
    s = Math.round(s);
    if (s >= 3600) return Math.floor(s / 3600) + "h" + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
    if (s >= 60) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return s + "s";
  };

  let source = null;   // the EventSource of the run shown
  let shown = null;    // its id
  let going = false;   // a run is going (the Run button waits)
  let lastState = null; // the state shown, to refresh the list when it changes
  const LOG_LINES = 2000;

  function setButtons(state) {
    const live = state === "running" || state === "paused";
    $("#run-pause").disabled = state !== "running";
    $("#run-continue").disabled = state !== "paused";
    $("#run-stop").disabled = !live;
    $("#run-throttle").disabled = !live;
    $("#run-unthrottle").disabled = !live;
    $("#run-rate").disabled = !live;
    going = live;
    $("#run-start").disabled = live;
  }

  function showState(s) {
    const badge = $("#run-state");
    let text = s.state;
    if (s.stopping && (s.state === "running" || s.state === "paused")) text = "stopping after the current page";
    badge.textContent = text;
    badge.className = "badge state-" + s.state;
    $("#run-rate-now").textContent = s.rows_per_s ? "throttled to " + num(s.rows_per_s) + " rows/s" : "";
    if (s.exit !== null && s.exit !== undefined) {
      $("#run-exit").textContent = "exit status " + s.exit;
      $("#run-exit").className = s.exit === 0 ? "exit ok" : "exit bad";
    }
    $("#run-error").textContent = s.error || "";
    const report = $("#run-report");
    report.hidden = !s.report;
    report.textContent = s.report || "";
    setButtons(s.state);
    $("#run-progress").classList.toggle("paused", s.state === "paused");
    // The list and the resume state follow the run's changes (paused, ended, ...).
    if (s.state !== lastState) {
      lastState = s.state;
      refresh();
    }
  }

  function showProgress(p) {
    const box = $("#run-progress");
    let row = [...box.children].find((r) => r.dataset.copy === p.copy);
    if (!row) {
      row = el("div", { class: "copy-progress", "data-copy": p.copy },
        el("span", { class: "name", text: p.copy }),
        el("progress", { max: 100, value: 0 }),
        el("span", { class: "pct" }),
        el("span", { class: "figures muted" }));
      box.append(row);
    }
    row.querySelector("progress").value = p.percent;
    row.querySelector(".pct").textContent = p.percent.toFixed(1) + "%";
    const parts = [num(p.rows) + " / " + num(p.total) + " rows"];
    if (p.finished) {
      parts.push("finished");
    } else {
      parts.push(num(p.rows_per_s) + " rows/s");
      if (p.eta_s !== null && !box.classList.contains("paused")) parts.push("ETA " + secs(p.eta_s));
      if (p.phase) parts.push(p.phase);
    }
    row.querySelector(".figures").textContent = parts.join(" · ");
    row.classList.toggle("finished", !!p.finished);
  }

  function showLog(l) {
    const log = $("#run-log");
    const line = el("div", { class: "line " + l.level + (l.detail ? " detail" : ""), text: l.text });
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(line);
    while (log.childElementCount > LOG_LINES) log.firstElementChild.remove();
    if (atEnd) log.scrollTop = log.scrollHeight;
  }

  const COLUMNS = ["copy", "mode", "status", "read", "written", "inserted", "updated",
    "unchanged", "ignored", "conflicts", "skipped", "rejected", "seconds", "rows_per_s"];

  function showSummary(s) {
    const box = $("#run-summary");
    box.replaceChildren();
    if (!s.copies.length) return;
    const table = el("table", { id: "run-summary-table" });
    table.append(el("tr", {}, ...COLUMNS.map((c) => el("th", { text: c.replace("_per_s", "/s") }))));
    for (const c of s.copies) {
      table.append(el("tr", {}, ...COLUMNS.map((k) => el("td", {
        class: typeof c[k] === "number" ? "num" : "",
        text: typeof c[k] === "number" && k !== "seconds" ? num(c[k]) : String(c[k]),
      }))));
    }
    box.append(el("h3", { text: "Summary" }), el("div", { class: "scroll" }, table));
    const rejects = $("#run-rejects");
    rejects.replaceChildren();
    for (const r of s.rejects) {
      if (!r.entries && !r.rejected) continue;
      const t = el("table", { class: "rejects" });
      t.append(el("tr", {}, el("th", { text: "source key" }), el("th", { text: "error" })));
      for (const e of r.first) {
        t.append(el("tr", {}, el("td", { text: JSON.stringify(e.key) }), el("td", { text: e.error })));
      }
      rejects.append(
        el("h3", { text: "Rejects of " + r.copy }),
        el("p", { class: "muted", text: rows(r.rejected) + " rejected in this run; " + r.path + " holds " +
          num(r.entries) + (r.entries > r.first.length ? " (the first " + r.first.length + " below)" : "") +
          "; `ferry run JOB --replay FILE` copies them again" }),
        el("div", { class: "scroll" }, t));
    }
  }

  function watch(id) {
    if (source) source.close();
    shown = id;
    $("#run-live").hidden = false;
    $("#run-title").textContent = "Run " + id;
    for (const s of ["#run-progress", "#run-log", "#run-summary", "#run-rejects"]) $(s).replaceChildren();
    for (const s of ["#run-exit", "#run-error", "#run-state", "#run-rate-now"]) $(s).textContent = "";
    $("#run-state").className = "badge";
    $("#run-report").hidden = true;
    lastState = null;
    source = new EventSource("/api/runs/" + id + "/events");
    // Each (re)connection starts with the log so far and the last progress: what was
    // shown goes, so nothing shows twice.
    source.addEventListener("open", () => {
      for (const s of ["#run-progress", "#run-log"]) $(s).replaceChildren();
    });
    const on = (kind, f) => source.addEventListener(kind, (e) => f(JSON.parse(e.data)));
    on("progress", showProgress);
    on("log", showLog);
    on("state", showState);
    on("summary", showSummary);
    // The `state` event before `end` has refreshed the list and the resume state.
    on("end", () => {
      source.close();
      source = null;
    });
  }

  async function start(resume) {
    $("#run-note").textContent = "";
    try {
      const r = await api("/api/runs", jsonPost({ resume, no_check: $("#run-no-check").checked }));
      watch(r.id);
      refresh();
    } catch (e) {
      $("#run-note").textContent = e.message;
    }
  }

  async function control(what, body = {}) {
    if (shown === null) return;
    try {
      showState(await api("/api/runs/" + shown + "/" + what, jsonPost(body)));
    } catch (e) {
      $("#run-note").textContent = e.message;
    }
  }

  let asked = 0; // refreshes asked; an answer older than the newest is dropped
  // Reads this page's runs and the job's resume state and shows them; the list read.
  async function refresh() {
    const mine = ++asked;
    let list;
    try {
      list = await api("/api/runs");
    } catch (e) {
      if (mine === asked) $("#run-note").textContent = e.message;
      return null;
    }
    if (mine === asked) showList(list);
    return list;
  }

  function showList(list) {
    $("#run-job").textContent = list.job ? list.job + " (log: " + list.log + ")" : "no job file: save the job first";
    if (!going) $("#run-start").disabled = !list.job;
    const runs = $("#run-list");
    runs.replaceChildren();
    if (list.runs.length) {
      runs.append(el("tr", {}, ...["run", "started", "options", "state", "exit"].map((h) => el("th", { text: h }))));
      for (const r of list.runs) {
        const opts = [r.resume ? "--resume" : "", r.no_check ? "--no-check" : ""].join(" ").trim();
        const tr = el("tr", { class: "clickable", title: "show this run" },
          el("td", { text: String(r.id) }), el("td", { text: r.started }), el("td", { text: opts }),
          el("td", { text: r.state }), el("td", { text: r.exit === null ? "" : String(r.exit) }));
        tr.addEventListener("click", () => watch(r.id));
        runs.append(tr);
      }
    }
    $("#run-none").hidden = list.runs.length > 0;
    const saved = $("#run-saved");
    saved.replaceChildren();
    if (list.saved_error) saved.append(el("p", { class: "error", text: list.saved_error }));
    const s = list.saved;
    if (!s) return;
    if (s.running) saved.append(el("p", { text: "running now: " + s.running }));
    if (!s.copies.length) {
      saved.append(el("p", { class: "muted", text: "no saved state in the " + s.store }));
      return;
    }
    const t = el("table", { id: "run-saved-table" });
    t.append(el("tr", {}, ...["copy", "status", "read", "written", "since mark"].map((h) => el("th", { text: h }))));
    for (const c of s.copies) {
      t.append(el("tr", { class: c.resumable ? "resumable" : "" }, el("td", { text: c.copy }),
        el("td", { text: c.status }), el("td", { class: "num", text: num(c.read) }),
        el("td", { class: "num", text: num(c.written) }), el("td", { text: c.mark || "" })));
    }
    saved.append(el("p", { class: "muted", text: "state in the " + s.store }), t);
    if (s.copies.some((c) => c.resumable)) {
      const b = el("button", { id: "run-resume-saved", type: "button", text: "Resume",
        title: "ferry run --resume: go on from each copy's last committed page" });
      b.disabled = going;
      b.addEventListener("click", () => start(true));
      saved.append(el("p", {}, b, " ", el("span", { class: "muted",
        text: "stopped midway: goes on from the last committed page, finished copies are skipped" })));
    }
  }

  $("#run-start").addEventListener("click", () => start($("#run-resume").checked));
  $("#run-pause").addEventListener("click", () => control("pause"));
  $("#run-continue").addEventListener("click", () => control("resume"));
  $("#run-stop").addEventListener("click", () => control("stop"));
  $("#run-throttle").addEventListener("click", () => {
    const n = Number($("#run-rate").value);
    if (n > 0) control("throttle", { rows_per_s: n });
  });
  $("#run-unthrottle").addEventListener("click", () => control("throttle", { rows_per_s: null }));
  $("#run-refresh").addEventListener("click", refresh);
  // The save dialog (another script) says when the job file changed: the job to run
  // and its resume state are read again.
  document.addEventListener("ferry:job-saved", refresh);
  setButtons("done");
  refresh().then((list) => {
    // A page opened mid-run (or after one) shows the newest run: its log so far and
    // last progress come first on the stream.
    if (list && list.runs.length && shown === null) watch(list.runs[0].id);
  });
})();
