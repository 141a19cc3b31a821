// The switchyard console's script: polls the JSON API (api/...) and draws
// the page from it. No framework and no build step; every text from Redis
// is put in the page as text (textContent), never as HTML.
"use strict";

const POLL_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";

// An element: el("td", {class: "n"}, "12") or el(SVG tag) via svg().
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}
function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}
function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
function $(id) { return document.getElementById(id); }
function replaceBody(table, rows) { table.tBodies[0].replaceChildren(...rows); }

async function api(path, options) {
  const response = await fetch("api/" + path, options);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function number(n) { return n === null || n === undefined ? "-" : Number(n).toLocaleString("en"); }
function rate(r) { return r === null || r === undefined ? "–" : (r >= 10 ? r.toFixed(0) : r.toFixed(1)) + "/s"; }
function ago(ms) {
  if (ms === null || ms === undefined) return "-";
  const s = ms / 1000;
  if (s < 10) return s.toFixed(1) + "s";
  if (s < 120) return Math.round(s) + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  return Math.round(s / 3600) + "h";
}

// ---- The flow: per source stream, source → each route (its validators and
// router) → the streams it writes. Counts and rates are the streams' own
// (every entry ever added, every daemon's), so they are exact however many
// routes share a stream.

function drawFlow(overview) {
  const streams = Object.fromEntries(overview.streams.map(s => [s.stream, s]));
  const rates = overview.rates.streams;
  const rateOf = stream => rates[stream] ? rates[stream].now : null;
  const sources = [...new Set(overview.routes.map(r => r.source))];
  const pictures = sources.map(source => {
    const routes = overview.routes.filter(r => r.source === source);
    const outputs = [];
    for (const r of routes) {
      for (const [stream, role] of [...r.targets.map(t => [t, "target"]), [r.rejected, "rejected"], [r["dead-letters"], "dead-letters"]]) {
        if (!outputs.some(o => o[0] === stream)) outputs.push([stream, role]);
      }
    }
    const SW = 170, RW = 300, H = 46, ROW = H + 12, GAP = 70;
    const rows = Math.max(routes.length, outputs.length);
    const height = rows * ROW + 24;
    const routeX = 10 + SW + GAP, outX = routeX + RW + GAP;
    const width = outX + SW + 140;
    const picture = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `routes reading ${source}` });
    const box = (x, y, w, cls, title, line2, stream) => svg("g", {},
      svg("rect", { class: "box " + cls, x, y, width: w, height: H, rx: 5 }),
      svg("text", { x: x + 8, y: y + 18 }, title),
      svg("text", { x: x + 8, y: y + 36, class: stream ? "count" : "", "data-stream": stream }, line2));
    const routeY = i => 10 + i * ROW + (rows - routes.length) * ROW / 2;
    const outY = i => 10 + i * ROW + (rows - outputs.length) * ROW / 2;
    const sourceY = (height - H) / 2;
    const s = streams[source] || {};
    const inRate = rateOf(source);
    routes.forEach((r, i) => {
      const y = routeY(i);
      picture.append(svg("path", { class: "edge" + (inRate ? " busy" : ""),
        d: `M ${10 + SW} ${sourceY + H / 2} C ${routeX - GAP / 2} ${sourceY + H / 2}, ${routeX - GAP / 2} ${y + H / 2}, ${routeX} ${y + H / 2}` }));
      const match = r.matches.map(m => `${m.field} ∈ {${m.values.join(", ")}}`).join(", ");
      picture.append(box(routeX, y, RW, "plugin", `${r.name}${match ? "  ·  " + match : ""}`,
        [...r.validators, r.router].join(" → ")));
      for (const [stream] of outputs.filter(([o]) => [...r.targets, r.rejected, r["dead-letters"]].includes(o))) {
        const j = outputs.findIndex(o => o[0] === stream);
        const oy = outY(j);
        picture.append(svg("path", { class: "edge" + (rateOf(stream) ? " busy" : ""),
          d: `M ${routeX + RW} ${y + H / 2} C ${outX - GAP / 2} ${y + H / 2}, ${outX - GAP / 2} ${oy + H / 2}, ${outX} ${oy + H / 2}` }));
      }
    });
    picture.append(box(10, sourceY, SW, "source", source, number(s.added) + " jobs", source));
    picture.append(svg("text", { x: 10, y: sourceY + H + 16, class: "rate" }, "in " + rate(inRate)));
    outputs.forEach(([stream, role], j) => {
      const y = outY(j);
      picture.append(box(outX, y, SW, role, stream, number((streams[stream] || {}).added) + " jobs", stream));
      picture.append(svg("text", { x: outX + SW + 8, y: y + 28, class: "rate" },
        role.replace("-", " ") + " · " + rate(rateOf(stream))));
    });
    return picture;
  });
  $("flow").replaceChildren(...pictures);
}

// ---- Tables of streams.

function drawOutputs(overview) {
  const rates = overview.rates.streams;
  replaceBody($("outputs"), overview.streams.filter(s => s.role !== "source").map(s =>
    el("tr", { "data-stream": s.stream },
      el("td", {}, el("code", {}, s.stream)), el("td", {}, s.role),
      el("td", { class: "n", id: "jobs-" + s.stream }, number(s.added)),
      el("td", { class: "n" }, number(s.length)),
      el("td", { class: "n" }, rate(rates[s.stream] ? rates[s.stream].now : null)))));
}

function drawSources(report) {
  replaceBody($("sources"), report.sources.map(s => {
    const consumers = s.consumers.map(c => `${c.name} (${c.pending}, ${ago(c["idle-ms"])})`).join(", ");
    return el("tr", {},
      el("td", {}, el("code", {}, s.stream)),
      el("td", { class: "n" }, number(s.length)),
      el("td", { class: "n" + (s.lag > 0 ? " warn" : "") }, (s["lag-exact"] ? "" : "~") + number(s.lag)),
      el("td", { class: "n" }, number(s.pending)),
      el("td", { class: "n" }, s.pending ? ago(s["oldest-pending-ms"]) : "-"),
      el("td", {}, s["group-exists"] ? consumers : "(no group yet)"));
  }));
}

function drawDaemons(daemons) {
  if (!daemons.length) {
    $("daemons").replaceChildren(el("p", { class: "bad" }, "No daemon alive (no heartbeat in the last 15 s)."));
    return;
  }
  $("daemons").replaceChildren(...daemons.map(d => el("div", { class: "daemon", "data-consumer": d.consumer },
    el("div", {}, el("strong", {}, d.consumer), " ",
      el("span", { class: "muted" }, `v${d.version} · pid ${d.pid} · seen ${ago(d["seen-ms-ago"])} ago · ${d["in-flight"]} in flight`)),
    el("div", {}, "plugins: ", ...d.plugins.map(p => el("code", { class: "plugin-version" }, p))),
    d["last-reload-error"]
      ? el("div", { class: "bad reload" }, `last reload FAILED (${d["reloads-failed"]} failed, ${d["reloads-ok"]} ok): `, d["last-reload-error"])
      : el("div", { class: "ok reload" }, `reloads: ${d["reloads-ok"]} ok, ${d["reloads-failed"]} failed`),
    (d.shadow || []).map(s => el("div", { class: "shadow" + (s.live === s.would ? "" : " warn") },
      `shadow ${s.shadow} on ${s.route}: `, el("strong", {}, number(s.count)),
      ` jobs ${s.live} → would ${s.would}`)))));
}

// ---- Rate charts: one small line chart per stream, the last hour.

function drawCharts(overview) {
  const W = 260, H = 70;
  const charts = [];
  const since = overview.rates["since-ms"];
  const now = overview["now-ms"];
  for (const s of overview.streams) {
    const series = (overview.rates.streams[s.stream] || {}).series || [];
    const start = Math.max(now - 3600e3, since || now);
    const span = Math.max(now - start, 1);
    const top = Math.max(1, ...series.map(p => p[1]));
    const points = series.map(([t, r]) =>
      `${(W * (t - start) / span).toFixed(1)},${(H - H * r / top).toFixed(1)}`).join(" ");
    charts.push(el("div", { class: "chart" },
      el("div", {}, el("code", {}, s.stream), " ", el("span", { class: "muted" }, `peak ${rate(series.length ? top : null)}`)),
      svg("svg", { width: W, height: H + 2, viewBox: `0 0 ${W} ${H + 2}` },
        svg("line", { class: "axis", x1: 0, y1: H, x2: W, y2: H }),
        series.length ? svg("polyline", { class: "line", points }) : svg("text", { x: 4, y: H / 2 }, "collecting…"))));
  }
  $("charts").replaceChildren(...charts);
}

// ---- Rejections and dead letters.

let actionsOn = false;

function jobLink(id) {
  if (!id) return "-";
  return el("a", { href: "#job=" + encodeURIComponent(id) }, id);
}

function drawLetters(letters) {
  replaceBody($("letter-groups"), letters.groups.map(g => el("tr", {},
    el("td", { class: g.role === "dead-letters" ? "bad" : "warn" }, g.role.replace("-", " ")),
    el("td", { class: "reason" }, g.reason),
    el("td", { class: "n" }, number(g.count)),
    el("td", {}, ...g.jobs.map(j => [jobLink(j), " "])),
    el("td", {}, actionsOn && g.role === "dead-letters"
      ? el("button", { onclick: () => replay({ stream: streamOf(letters, g), reason: g.reason }) }, "replay all")
      : null))));
  replaceBody($("letters"), letters.letters.map(l => el("tr", {},
    el("td", {}, el("a", { href: `#entry=${encodeURIComponent(l.stream)}/${l.id}` }, l.id)),
    el("td", {}, el("code", {}, l.stream)),
    el("td", {}, jobLink(l["job-id"])),
    el("td", {}, l.reason || l.error || "-", l.errors ? el("div", { class: "muted" }, l.errors.join("; ")) : null),
    el("td", {}, actionsOn && l.role === "dead-letters"
      ? el("button", { onclick: () => replay({ stream: l.stream, id: l.id }) }, "replay") : null))));
}

function streamOf(letters, group) {
  const letter = letters.letters.find(l => l.role === group.role && (l.reason || "(no reason given)") === group.reason);
  return letter ? letter.stream : "";
}

async function replay(request) {
  let token = sessionStorage.getItem("switchyard-token");
  if (!token) token = prompt("Bearer token for the console's actions:");
  if (!token) return;
  let by = sessionStorage.getItem("switchyard-by") || prompt("Your name (logged with the action):");
  if (!by) return;
  const what = request.id ? `dead letter ${request.id}` : `every dead letter of ${request.stream} with reason “${request.reason}”`;
  if (!confirm(`Replay ${what} onto its source?`)) return;
  try {
    const done = await api("actions/replay", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify({ ...request, by }),
    });
    sessionStorage.setItem("switchyard-token", token);
    sessionStorage.setItem("switchyard-by", by);
    alert(`Replayed ${done.replayed}.`);
  } catch (e) {
    sessionStorage.removeItem("switchyard-token");
    alert("Replay refused: " + e.message);
  }
  refresh();
}

// ---- Search: a job id, or STREAM/ENTRY-ID; also from the address
// (#job=ID, #entry=STREAM/ID), so a result can be linked to.

function fields(map) {
  return el("dl", {}, ...Object.entries(map || {}).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function drawJob(job) {
  if (!job.found) return [el("p", { class: "verdict bad", id: "search-verdict" }, job.message)];
  const status = job.status || "?";
  const cls = status === "ACCEPTED" ? "ok" : status === "REJECTED" ? "warn" : "bad";
  const parts = [
    el("p", { class: "verdict" }, "Job ", el("strong", { id: "search-job" }, job["job-id"]), " is ",
      el("strong", { class: cls, id: "search-status" }, status),
      job.record.targets ? [" → ", el("code", {}, job.record.targets)] : null),
  ];
  if (job.reason) parts.push(el("p", {}, "Reason: ", el("strong", { id: "search-reason" }, job.reason)));
  if (job.errors && job.errors.length) {
    parts.push(el("ul", { id: "search-errors" }, ...job.errors.map(e => el("li", {}, e))));
  }
  parts.push(el("p", {}, "Decided by: ",
    job.plugins.length ? job.plugins.map(p => el("code", { class: "decided-by" }, p)) : el("span", { class: "muted" }, "no plugin (decided by the daemon)")));
  const fold = (cls, title, code, map) => el("details", { class: cls },
    el("summary", {}, title, " ", el("code", {}, code)), fields(map));
  parts.push(fold("record", "Status record", job.key, job.record));
  if (job["source-entry"]) {
    const e = job["source-entry"];
    parts.push(fold("sent", "Sent as", `${e.stream} ${e.id}`, e.fields));
  }
  for (const o of job.outcomes) {
    parts.push(fold("outcome", "Written to", `${o.stream} ${o.id}`, o.fields));
  }
  for (const m of job["outcomes-not-found"]) {
    parts.push(el("p", { class: "muted" }, `No entry of this job found in ${m} near its settle time (trimmed, or replayed).`));
  }
  return parts;
}

async function search(query) {
  query = query.trim();
  if (!query) return;
  $("search-input").value = query;
  const out = $("search-result");
  out.replaceChildren(el("p", { class: "muted" }, "looking…"));
  try {
    const entry = query.match(/^(.+)\/(\d+(?:-\d+)?)$/);
    if (entry) {
      const found = await api(`entry/${encodeURIComponent(entry[1])}/${entry[2]}`);
      if (!found.found) { out.replaceChildren(el("p", { class: "verdict bad", id: "search-verdict" }, found.message)); return; }
      out.replaceChildren(el("h3", {}, "Entry ", el("code", {}, `${found.stream} ${found.id}`), found.role ? ` (${found.role})` : ""),
        fields(found.entry.fields), ...(found.job ? drawJob(found.job) : []));
    } else {
      out.replaceChildren(...drawJob(await api("job/" + encodeURIComponent(query))));
    }
  } catch (e) {
    out.replaceChildren(el("p", { class: "bad", id: "search-verdict" }, "Search failed: " + e.message));
  }
}

function searchFromAddress() {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith("job=")) search(hash.slice(4));
  else if (hash.startsWith("entry=")) search(hash.slice(6));
}

// ---- Polling.

async function refresh() {
  const problems = [];
  const take = async (path, draw) => {
    try { draw(await api(path)); } catch (e) { problems.push(`${path}: ${e.message}`); }
  };
  await take("overview", o => {
    actionsOn = o.actions;
    $("config").textContent = `${o.config} · group ${o.group}`;
    drawFlow(o); drawOutputs(o); drawCharts(o);
  });
  await Promise.all([
    take("streams", drawSources),
    take("daemons", drawDaemons),
    take("letters", drawLetters),
  ]);
  $("error").textContent = problems.join(" · ");
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  document.body.dataset.loaded = "true";
}

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("submit", event => {
    event.preventDefault();
    const q = $("search-input").value.trim();
    const kind = /^(.+)\/(\d+(?:-\d+)?)$/.test(q) ? "entry=" : "job=";
    location.hash = kind + encodeURIComponent(q);
  });
  window.addEventListener("hashchange", searchFromAddress);
  searchFromAddress();
  refresh();
  setInterval(refresh, POLL_MS);
});
