/* formguide web UI: the little the pages need beyond HTML (no library; every page works without it, less
   live). Show/hide toggles, clearing a multi-select, the training summary, starting a run and polling its
   task every 2 s, and the promotion confirmation. */
"use strict";

function $(sel, root) { return (root || document).querySelector(sel); }
function $all(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }
function selected(select) { return select ? Array.from(select.selectedOptions).map(o => o.value) : []; }

/* [data-toggle=id]: show/hide the element with that id, aria-expanded kept in step */
function setupToggles() {
  $all("[data-toggle]").forEach(btn => {
    btn.addEventListener("click", () => {
      const target = document.getElementById(btn.dataset.toggle);
      if (!target) return;
      const open = btn.getAttribute("aria-expanded") !== "true";
      btn.setAttribute("aria-expanded", String(open));
      if (target.classList.contains("nav")) target.classList.toggle("open", open);
      else target.hidden = !open;
      if (btn.dataset.labelOpen) btn.textContent = open ? btn.dataset.labelOpen : btn.dataset.labelClosed;
    });
  });
}

/* [data-clear=id]: unselect every option of a multi-select */
function setupClears() {
  $all("[data-clear]").forEach(btn => {
    btn.addEventListener("click", () => {
      const select = document.getElementById(btn.dataset.clear);
      if (!select) return;
      Array.from(select.options).forEach(o => { o.selected = false; });
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });
}

/* the training form: seasons follow the leagues chosen, the summary follows every field */
function seasonsFollowLeagues(form) {
  const leagues = $("#league", form), seasons = $("#season", form);
  if (!leagues || !seasons) return;
  const chosen = new Set(selected(leagues));
  Array.from(seasons.options).forEach(o => {
    const of = (o.dataset.leagues || "").split(" ");
    const usable = chosen.size === 0 || of.some(l => chosen.has(l));
    o.hidden = !usable;
    o.disabled = !usable;
    if (!usable) o.selected = false;
  });
}

function summarise(form) {
  const out = $("#summary-list", form);
  if (!out) return;
  const leagues = selected($("#league", form)), seasons = selected($("#season", form));
  const val = name => { const el = form.elements[name]; return el && el.value ? el.value : null; };
  const items = [];
  items.push(`sport: ${val("sport")}`);
  items.push(leagues.length ? `leagues: ${leagues.join(", ")}` + (leagues.length > 1 ? " (one after another, each its own model line)" : "")
                            : "leagues: none chosen yet");
  items.push(seasons.length ? `seasons: ${seasons.join(", ")}` : "seasons: every stored season");
  const from = val("date_from"), to = val("date_to");
  if (from) items.push(`events from ${from} on`);
  if (to) items.push(`results up to ${to} (later ones hidden)`);
  items.push(`model type: ${val("model_type") || "the sport's default"}`);
  if (val("bet_type")) items.push(`bet type: ${val("bet_type")}`);
  $all("[data-option]", form).forEach(el => items.push(`${el.dataset.option}: ${el.value}`));
  if (val("max_runtime")) items.push(`stop the task after ${val("max_runtime")} s`);
  out.replaceChildren(...items.map(t => { const li = document.createElement("li"); li.textContent = t; return li; }));
  const start = $("#start", form);
  if (start && start.dataset.canWrite === "true") start.disabled = leagues.length === 0;
}

function progressBlock(taskId, label) {
  const box = document.createElement("div");
  box.className = "progress";
  box.id = `task-${taskId}`;
  box.dataset.task = taskId;
  box.innerHTML = `<p><strong></strong> <span class="phase">queued</span></p>` +
    `<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><span></span></div>` +
    `<p class="outcome"></p>`;
  $("strong", box).textContent = label;
  const live = $("#live");
  if (live && live.dataset.canCancel === "true") {
    const form = document.createElement("form");
    form.className = "cancel";
    form.method = "post";
    form.action = `/training/tasks/${taskId}/cancel`;
    form.dataset.cancel = taskId;
    form.innerHTML = `<button class="btn btn-secondary btn-small" type="submit">Cancel</button>`;
    $("button", form).setAttribute("aria-label", `Cancel task ${taskId}`);
    $(".bar", box).after(form);
    setupCancel(form);
  }
  $(".bar", box).setAttribute("aria-label", `progress of ${label}`);
  return box;
}

function showTask(box, t) {
  const pct = Math.round((t.progress || 0) * 100);
  const bar = $(".bar", box);
  $("span", bar).style.width = `${pct}%`;
  bar.setAttribute("aria-valuenow", String(pct));
  const phase = t.phase && !["completed", "failed", "cancelled"].includes(t.status) ? ` · ${t.phase}` : "";
  $(".phase", box).textContent = `${t.status}${phase} · ${pct}%`;
  box.dataset.status = t.status;
  const outcome = $(".outcome", box);
  if (t.status === "completed") {
    box.classList.add("done");
    outcome.textContent = t.message || "completed";
    (t.models || []).forEach(m => {
      const a = document.createElement("a");
      a.href = `/models/${m.model_id}`;
      a.textContent = `open ${m.name} v${m.version}`;
      outcome.append(" ", a);
    });
  } else if (t.status === "failed" || t.status === "cancelled") {
    box.classList.add("failed");
    outcome.textContent = t.error || t.message || t.status;
    outcome.className = "outcome alert alert-error";
  } else if (t.message) {
    outcome.textContent = t.message;
  }
  const cancel = $("form.cancel", box);
  if (cancel && ["completed", "failed", "cancelled"].includes(t.status)) cancel.remove();
}

function poll(box) {
  const finished = ["completed", "failed", "cancelled"];
  const tick = async () => {
    try {
      const r = await fetch(`/training/tasks/${box.dataset.task}`, { headers: { Accept: "application/json" } });
      const t = await r.json();
      if (!r.ok) { showTask(box, { status: "failed", error: t.message }); return; }
      showTask(box, t);
      if (!finished.includes(t.status)) setTimeout(tick, 2000);
    } catch (e) {
      $(".outcome", box).textContent = "cannot reach the server; retrying";
      setTimeout(tick, 2000);
    }
  };
  tick();
}

function setupTraining() {
  const form = $("#train-form");
  if (!form) return;
  const sport = form.elements.sport;
  if (sport) sport.addEventListener("change", () => { window.location.search = `?sport=${encodeURIComponent(sport.value)}`; });
  form.addEventListener("change", () => { seasonsFollowLeagues(form); summarise(form); });
  form.addEventListener("input", () => summarise(form));
  seasonsFollowLeagues(form);
  summarise(form);
  const errors = $("#train-error"), live = $("#live");
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    errors.hidden = true;
    const start = $("#start", form);
    start.disabled = true;
    try {
      const r = await fetch(form.action, { method: "POST", body: new FormData(form),
                                           headers: { Accept: "application/json" } });
      const body = await r.json();
      if (!r.ok) { errors.textContent = body.message || `error ${r.status}`; errors.hidden = false; return; }
      body.tasks.forEach(t => {
        const box = progressBlock(t.task_id, t.label);
        live.prepend(box);
        poll(box);
      });
      $("#live-empty") && ($("#live-empty").hidden = true);
    } catch (e) {
      errors.textContent = `cannot reach the server: ${e}`;
      errors.hidden = false;
    } finally {
      start.disabled = false;
    }
  });
  $all("form[data-cancel]").forEach(setupCancel);
  $all("[data-task]").forEach(box => { if (!["completed", "failed", "cancelled"].includes(box.dataset.status)) poll(box); });
}

/* a task's Cancel button: posts without leaving the page; the next poll shows the outcome */
function setupCancel(form) {
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const box = form.closest("[data-task]");
    const r = await fetch(form.action, { method: "POST", headers: { Accept: "application/json" } });
    const body = await r.json();
    $(".outcome", box).textContent = body.message || `error ${r.status}`;
    if (r.ok) $("button", form).disabled = true;
  });
}

/* forms with data-confirm ask first; a confirmed post carries confirm=yes */
function setupConfirms() {
  $all("form[data-confirm]").forEach(form => {
    form.addEventListener("submit", ev => {
      if (!window.confirm(form.dataset.confirm)) { ev.preventDefault(); return; }
      const yes = form.elements.confirm;
      if (yes) yes.value = "yes";
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupToggles();
  setupClears();
  setupTraining();
  setupConfirms();
});
