// The session browser: plain JS over the /v1 API, no build step, nothing from a CDN.
// The API key lives in sessionStorage (gone when the tab closes); EventSource cannot send
// headers, so live streams use a one-minute read-only token from POST /v1/stream-token.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { key: sessionStorage.getItem("rs-key") || "", user: "", cursor: null,
                current: null, lastSeq: 0, source: null, tenantSource: null, reload: null };

function showError(text) {
  const box = $("#error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + state.key };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers,
                                  body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.detail || data.title || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit",
                                       minute: "2-digit", second: "2-digit" });
}

// -- the session list --------------------------------------------------------------------

function sessionItem(s) {
  const li = document.createElement("li");
  li.dataset.id = s.id;
  li.className = s.id === state.current ? "selected" : "";
  const name = document.createElement("div");
  name.className = "name";
  name.textContent = s.name || s.id;
  const sub = document.createElement("div");
  sub.className = "sub";
  sub.textContent = `${s.total_messages} message${s.total_messages === 1 ? "" : "s"} · ` +
                    `${s.token_count} tokens · ${when(s.last_activity)}`;
  li.append(name, sub);
  li.addEventListener("click", () => openSession(s.id));
  return li;
}

async function listSessions(more) {
  if (!state.key || !state.user) return;
  const q = $("#search").value.trim();
  const list = $("#sessions");
  let page;
  try {
    if (q) {
      page = await api("GET", `/v1/sessions/search?user_id=${encodeURIComponent(state.user)}` +
                              `&name=${encodeURIComponent(q)}`);
      page.next_cursor = null;
    } else {
      const cursor = more && state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "";
      page = await api("GET", `/v1/sessions?user_id=${encodeURIComponent(state.user)}` +
                              `&limit=20${cursor}`);
    }
  } catch (e) { showError(e.message); return; }
  if (!more) list.replaceChildren();
  for (const s of page.sessions) list.append(sessionItem(s));
  state.cursor = page.next_cursor;
  $("#more").hidden = !page.next_cursor;
  if (!list.children.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "no sessions";
    list.append(li);
  }
}

function reloadSoon() {  // tenant events arrive in bursts: one reload per second at most
  if (state.reload) return;
  state.reload = setTimeout(() => { state.reload = null; listSessions(false); loadStats(); }, 1000);
}

// -- one session -------------------------------------------------------------------------

function messageRow(m, fresh) {
  const tr = document.createElement("tr");
  tr.className = `role-${m.role}` + (fresh ? " fresh" : "");
  tr.dataset.seq = m.seq;
  for (const text of [m.seq, m.role, m.tokens, when(m.created_at), m.content ||
                      JSON.stringify(m.tool_calls || [])]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  tr.lastChild.className = "content";
  return tr;
}

function addMessage(m, fresh) {
  if (m.seq <= state.lastSeq) return;
  $("#messages tbody").append(messageRow(m, fresh));
  state.lastSeq = m.seq;
}

function showMeta(s) {
  $("#session-title").textContent = s.name || s.id;
  $("#session-meta").textContent =
    `id ${s.id} · user ${s.user_id || "-"} · v${s.version} · window ${s.message_count} ` +
    `messages, ${s.token_count} tokens · ${s.total_messages} ever · created ${when(s.created_at)}`;
}

async function openSession(id) {
  closeStream();
  state.current = id;
  for (const li of document.querySelectorAll("#sessions li")) {
    li.classList.toggle("selected", li.dataset.id === id);
  }
  let s, history;
  try {
    [s, history] = await Promise.all([api("GET", `/v1/sessions/${id}`),
                                      api("GET", `/v1/sessions/${id}/messages?view=history`)]);
  } catch (e) { showError(e.message); return; }
  if (state.current !== id) return;
  $("#empty").hidden = true;
  $("#session").hidden = false;
  showMeta(s);
  $("#messages tbody").replaceChildren();
  state.lastSeq = 0;
  for (const m of history.messages) addMessage(m, false);
  openStream(id);
}

async function openStream(id) {
  let token;
  try { token = (await api("POST", "/v1/stream-token")).token; }
  catch (e) { showError(e.message); return; }
  if (state.current !== id) return;
  const url = `/v1/sessions/${id}/events?token=${encodeURIComponent(token)}` +
              `&last_event_id=${state.lastSeq}`;
  const source = new EventSource(url);
  state.source = source;
  source.addEventListener("ready", (ev) => {
    $("#live").textContent = "live";
    $("#live").classList.add("on");
    showMeta(JSON.parse(ev.data));
  });
  source.addEventListener("message", (ev) => addMessage(JSON.parse(ev.data), true));
  source.addEventListener("cleared", () => {
    $("#messages tbody").replaceChildren();
  });
  source.addEventListener("created", () => openSession(id));  // a new incarnation: reload
  source.addEventListener("deleted", () => { closeStream(); showDeleted(id); });
  source.addEventListener("expired", () => { closeStream(); showDeleted(id); });
  source.onerror = () => {
    $("#live").textContent = "reconnecting";
    $("#live").classList.remove("on");
    if (source.readyState === EventSource.CLOSED && state.source === source) {
      // the token expired or the server restarted: a new token, resuming after lastSeq
      setTimeout(() => { if (state.current === id) openStream(id); }, 2000);
    }
  };
}

function closeStream() {
  if (state.source) state.source.close();
  state.source = null;
  $("#live").textContent = "offline";
  $("#live").classList.remove("on");
}

function showDeleted(id) {
  if (state.current !== id) return;
  state.current = null;
  $("#session").hidden = true;
  $("#empty").hidden = false;
  $("#empty").textContent = `Session ${id} was deleted.`;
  const li = document.querySelector(`#sessions li[data-id="${CSS.escape(id)}"]`);
  if (li) li.remove();
}

async function clearSession() {
  const id = state.current;
  if (!id || !confirm(`Clear every message of session ${id}? This cannot be undone.`)) return;
  try {
    await api("POST", `/v1/sessions/${id}/clear`);
    $("#messages tbody").replaceChildren();
  } catch (e) { showError(e.message); }
}

async function deleteSession() {
  const id = state.current;
  if (!id || !confirm(`Delete session ${id} and all its data? This cannot be undone.`)) return;
  try {
    await api("DELETE", `/v1/sessions/${id}`);
    closeStream();
    showDeleted(id);
  } catch (e) { showError(e.message); }
}

// -- stats -------------------------------------------------------------------------------

async function loadStats() {
  if (!state.key) return;
  let s;
  try { s = await api("GET", "/v1/stats"); } catch (e) { showError(e.message); return; }
  const day = s.hourly.reduce((acc, h) => [acc[0] + h.messages, acc[1] + h.tokens], [0, 0]);
  $("#totals").textContent = `${s.active} active sessions · ${day[0]} messages, ` +
                             `${day[1]} tokens in 24 h · ${s.messages} messages ever`;
  const svg = $("#chart");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const max = Math.max(1, ...s.hourly.map((h) => h.messages));
  const w = 240 / s.hourly.length;
  s.hourly.forEach((h, i) => {
    const height = Math.round((h.messages / max) * 62);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", (i * w + 1).toFixed(1));
    rect.setAttribute("y", String(68 - height));
    rect.setAttribute("width", (w - 2).toFixed(1));
    rect.setAttribute("height", String(height));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${new Date(h.hour).getHours()}:00 · ${h.messages} messages, ${h.tokens} tokens`;
    rect.append(title);
    svg.append(rect);
    if (i % 6 === 0 || i === s.hourly.length - 1) {
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", (i * w).toFixed(1));
      label.setAttribute("y", "78");
      label.textContent = `${new Date(h.hour).getHours()}h`;
      svg.append(label);
    }
  });
}

async function openTenantStream() {
  if (state.tenantSource) state.tenantSource.close();
  let token;
  try { token = (await api("POST", "/v1/stream-token")).token; } catch (e) { return; }
  const source = new EventSource(`/v1/events?token=${encodeURIComponent(token)}`);
  state.tenantSource = source;
  for (const type of ["created", "appended", "deleted", "cleared", "expired"]) {
    source.addEventListener(type, reloadSoon);
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && state.tenantSource === source) {
      setTimeout(openTenantStream, 5000);
    }
  };
}

// -- wiring ------------------------------------------------------------------------------

async function useKey() {
  try {
    await api("GET", "/v1/stats");
    $("#key-state").textContent = "key accepted";
    sessionStorage.setItem("rs-key", state.key);
    loadStats();
    openTenantStream();
    listSessions(false);
  } catch (e) {
    $("#key-state").textContent = e.status === 401 ? "unknown key" : e.message;
  }
}

$("#key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.key = $("#key").value.trim();
  useKey();
});
$("#user-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.user = $("#user").value.trim();
  state.cursor = null;
  listSessions(false);
});
$("#more").addEventListener("click", () => listSessions(true));
$("#clear").addEventListener("click", clearSession);
$("#delete").addEventListener("click", deleteSession);
if (state.key) { $("#key").value = state.key; useKey(); }
