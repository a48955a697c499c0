// The live status page served at `GET /` of the metrics endpoint: one self-contained HTML document (inline CSS and
// script, no external resource of any kind) that polls `status.json` (relative: it works behind a reverse proxy
// under any path prefix) and redraws itself without reloading. Read-only: it sends nothing but GETs of status.json.
// Every state is written in words (UP, DOWN, DRAINED...); colour only repeats what the text says.
import { createHash } from 'node:crypto';

/** Default seconds between two refreshes (`?refresh=N` on the page's address: 1 to 60). */
export const STATUS_PAGE_REFRESH_SECONDS = 2;

const STYLE = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f23; --muted: #5a6470; --line: #d0d7de; --head: #f3f5f7;
  --ok: #116329; --ok-bg: #dafbe1; --bad: #a40e26; --bad-bg: #ffebe9; --warn: #7d4e00; --warn-bg: #fff8c5; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --head: #161b22;
  --ok: #3fb950; --ok-bg: #12261e; --bad: #ff7b72; --bad-bg: #301418; --warn: #d29922; --warn-bg: #2b2111; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 0.75rem; background: var(--bg); color: var(--fg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 1.25rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.05rem; margin: 0; word-break: break-all; }
.muted { color: var(--muted); }
#live { padding: 0.4rem 0.6rem; border-radius: 6px; margin: 0.5rem 0; font-weight: 600; }
#live.ok { background: var(--ok-bg); color: var(--ok); }
#live.stale { background: var(--bad-bg); color: var(--bad); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 0.75rem; margin: 0.5rem 0 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
section.virtual { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 1rem; overflow: hidden; }
section.virtual > header { background: var(--head); padding: 0.5rem 0.75rem; }
.tags { display: flex; flex-wrap: wrap; gap: 0.3rem; margin-top: 0.3rem; }
.tag { border: 1px solid var(--line); border-radius: 999px; padding: 0 0.5rem; font-size: 0.85rem; white-space: nowrap; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-top: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.health { white-space: nowrap; }
.state { font-weight: 700; white-space: nowrap; padding: 0 0.35rem; border-radius: 4px; }
.state.good { color: var(--ok); background: var(--ok-bg); }
.state.bad { color: var(--bad); background: var(--bad-bg); }
.state.warn { color: var(--warn); background: var(--warn-bg); }
.note { display: block; font-size: 0.85rem; color: var(--muted); }
#events td:first-child { white-space: nowrap; }
footer { margin-top: 1rem; font-size: 0.85rem; }
@media (max-width: 40rem) { body { padding: 0.4rem; } th, td { padding: 0.25rem 0.4rem; } dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { margin-top: 0.3rem; } }
`;

const SCRIPT = `
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var seconds = Math.min(60, Math.max(1, Number(params.get("refresh")) || ${STATUS_PAGE_REFRESH_SECONDS}));
  var refreshes = 0, lastGood = null;

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (attrs[k] === undefined || attrs[k] === null) continue;
      if (k === "text") node.textContent = String(attrs[k]); else if (k === "cls") node.className = attrs[k]; else node.setAttribute(k, String(attrs[k]));
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }
  function state(text, kind) { return el("span", { cls: "state " + kind, text: text }); }
  function note(text) { return el("span", { cls: "note", text: text }); }
  function ms(iso) { return iso ? Date.parse(iso) : NaN; }
  function ago(fromIso, nowMs) {
    var s = Math.max(0, Math.round((nowMs - ms(fromIso)) / 1000));
    if (!isFinite(s)) return "";
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }
  function clock(iso) { var d = new Date(iso); return isNaN(d) ? "" : d.toLocaleString(); }
  function si(n, unit) {
    if (n === undefined || n === null) return "-";
    var steps = ["", "k", "M", "G", "T"], i = 0;
    while (n >= 1000 && i < steps.length - 1) { n /= 1000; i++; }
    var shown = i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 1 : 0);
    return unit ? shown + " " + steps[i] + unit : shown + steps[i];
  }
  function host(address, port) { return (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port; }
  function virtualName(v) {
    if (v.fwmark !== null && v.fwmark !== undefined) return "FWM " + v.fwmark + (v.family === "inet6" ? " (IPv6)" : "");
    return v.protocol.toUpperCase() + " " + host(v.address, v.port);
  }

  function fact(dl, name, value) { dl.appendChild(el("dt", { text: name })); dl.appendChild(el("dd", null, value)); }

  function director(report) {
    var d = report.daemon, dl = el("dl", { cls: "facts", id: "director" });
    var sync = d.stateSync;
    var role = sync ? sync.role + (sync.configured ? "" : " (no syncinterface: no sync daemon)") + (sync.ok ? "" : " - NOT AS WANTED" + (sync.lastError ? ": " + sync.lastError.message : ""))
      : "none (no state sync)";
    var h = d.health;
    fact(dl, "Health", h ? el("span", { id: "health", "data-level": h.level },
      state(h.level.toUpperCase(), h.level === "ok" ? "good" : h.level === "degraded" ? "warn" : "bad"),
      h.level === "ok" ? "" : " " + h.reasons.map(function (r) { return r.message; }).join("; ")) : "-");
    fact(dl, "Role", el("span", { id: "role", text: role }));
    fact(dl, "IPVS backend", el("span", { id: "backend", text: d.backend.name + (d.backend.inMemory ? " (in memory: the kernel table is not touched)" : "") }));
    var wd = d.watchdog;
    fact(dl, "Checker watchdog", wd ? (wd.ok ? state("OK", "good") : el("span", null, state("STALE", "bad"), " " + wd.reasons.map(function (r) { return r.message; }).join("; "))) : "-");
    fact(dl, "Last kernel sync", d.lastSync ? el("span", null, state(d.lastSync.ok ? "OK" : "FAILED", d.lastSync.ok ? "good" : "bad"), " " + ago(d.lastSync.at, ms(report.generatedAt)) + " ago: " + (d.lastSync.message || "")) : "none yet");
    if (d.kernelOps) fact(dl, "Kernel operations", d.kernelOps.applied + " applied, " + d.kernelOps.failed + " refused, " + d.kernelOps.driftRepairs + " repairs, " + d.kernelOps.syncs + " passes");
    fact(dl, "Last reload", d.lastReload ? el("span", null, state(d.lastReload.ok ? "OK" : "REFUSED", d.lastReload.ok ? "good" : "bad"), " " + clock(d.lastReload.at) + (d.lastReload.message ? ": " + d.lastReload.message : "")) : "none since the start");
    if (d.kernelStats && !d.kernelStats.ok) fact(dl, "Traffic", el("span", null, state("UNAVAILABLE", "warn"), " kernel not read: " + (d.kernelStats.error || "")));
    var an = d.announce;
    if (an) fact(dl, "Route announcement", el("span", { id: "announce" },
      state(an.lastError ? "FAILING" : an.guard === "connected" ? "OK" : "NO GUARD", an.lastError ? "bad" : an.guard === "connected" ? "good" : "warn"),
      " " + an.driver + "; announced: " + (an.announced.length ? an.announced.join(", ") : "nothing") + (an.lastError ? "; last error: " + an.lastError : "")));
    fact(dl, "Daemon", "pid " + d.pid + ", up " + ago(d.startedAt, ms(report.generatedAt)) + ", " + d.configFile);
    return dl;
  }

  function healthCell(r, now) {
    var td = el("td", { cls: "health" });
    var label = r.health === "up" ? state("UP", "good") : r.health === "down" ? state("DOWN", "bad") : state("UNKNOWN", "warn");
    td.appendChild(label);
    if (r.since) td.appendChild(document.createTextNode(" for " + ago(r.since, now)));
    if (r.maintenance) td.appendChild(note("maintenance (maintenancedir)"));
    if (r.rising) td.appendChild(note("rising: " + r.rising.successes + " of " + r.rising.needed + " checks passed"));
    return td;
  }

  function weightCell(r) {
    var td = el("td", { cls: "num" }, String(r.weight) + " / " + (r.kernelWeight === null ? "-" : r.kernelWeight));
    if (r.override !== null && r.override !== undefined) td.appendChild(note("override " + r.override + " (ldir weight)"));
    if (r.slowStart) td.appendChild(note("slow start " + r.slowStart.weight + " -> " + r.slowStart.target));
    if (r.checkWeight !== null && r.checkWeight !== undefined) td.appendChild(note("check reports " + r.checkWeight));
    if (r.drained) td.appendChild(el("span", { cls: "note" }, state("DRAINED", "warn"), " by hand"));
    if (r.draining) td.appendChild(el("span", { cls: "note" }, state("DRAINING", "warn"), " removed from the config"));
    if (!r.inKernel) td.appendChild(note("not in the kernel table"));
    return td;
  }

  function checkCell(r, now) {
    var c = r.lastCheck;
    if (!c) return el("td", { cls: "muted", text: "no result yet" });
    return el("td", null, state(c.up ? "PASS" : "FAIL", c.up ? "good" : "bad"), " " + c.reason,
      note(c.durationMs.toFixed(1) + " ms, " + ago(c.at, now) + " ago"));
  }

  function num(n, unit) { return el("td", { cls: "num", text: si(n, unit) }); }

  function realRow(v, r, now) {
    var t = r.traffic;
    var key = host(r.address, r.port);
    var tr = el("tr", { "data-real": key, "data-health": r.health },
      el("td", null, el("strong", { text: key }), note(r.forward)),
      healthCell(r, now), weightCell(r), checkCell(r, now));
    if (t) [num(t.activeConns), num(t.inactiveConns), num(t.cps), num(t.inPps), num(t.outPps), num(t.inBps, "B"), num(t.outBps, "B")].forEach(function (c) { tr.appendChild(c); });
    else for (var i = 0; i < 7; i++) tr.appendChild(el("td", { cls: "num muted", text: "-" }));
    return tr;
  }

  function virtualSection(v, now, announce) {
    var up = v.realsUp, total = v.realsTotal;
    var forwards = Array.from(new Set(v.reals.map(function (r) { return r.forward; }))).join(", ") || "-";
    var tags = el("div", { cls: "tags" },
      el("span", { cls: "tag" }, "reals ", state(up + "/" + total + " UP", up === total && total > 0 ? "good" : up === 0 ? "bad" : "warn")),
      el("span", { cls: "tag", text: "scheduler " + v.scheduler }),
      el("span", { cls: "tag", text: "forwarding " + forwards }));
    if (v.persistent) tags.appendChild(el("span", { cls: "tag", text: "persistent " + v.persistent + "s" }));
    if (v.quorum && v.quorum.configured) {
      var q = v.quorum;
      tags.appendChild(el("span", { cls: "tag" }, "quorum ", state(q.state.toUpperCase(), q.state === "up" ? "good" : q.state === "down" ? "bad" : "warn"),
        " " + q.serving + " serving, needs " + q.quorum + (q.hysteresis ? " (hysteresis " + q.hysteresis + ")" : "")));
    }
    if (v.fallback) {
      tags.appendChild(el("span", { cls: "tag" }, "fallback " + host(v.fallback.address, v.fallback.port) + " ",
        v.fallbackActive ? state("IN SERVICE", "bad") : state("STANDING BY", "good")));
    }
    var announced = announce && announce.virtuals.filter(function (a) { return a.virtualId === v.id; })[0];
    if (announced) {
      var words = { "announced": ["ANNOUNCED", "good"], "withdrawn": ["WITHDRAWN", "bad"], "pending-announce": ["ANNOUNCE PENDING", "warn"], "pending-withdraw": ["WITHDRAW PENDING", "warn"] }[announced.state] || [announced.state.toUpperCase(), "warn"];
      tags.appendChild(el("span", { cls: "tag", "data-announce": announced.state }, "route " + announced.prefix + " ", state(words[0], words[1]),
        announced.dueInS !== undefined ? " in " + announced.dueInS + "s" : ""));
    }
    if (v.draining) tags.appendChild(el("span", { cls: "tag" }, state("DRAINING", "warn"), " removed from the config"));
    if (v.traffic) tags.appendChild(el("span", { cls: "tag", text: v.traffic.activeConns + " active, " + v.traffic.inactiveConns + " inactive, " + si(v.traffic.cps) + " conn/s, " + si(v.traffic.inBps, "B") + "/s in, " + si(v.traffic.outBps, "B") + "/s out" }));
    var head = el("tr", null);
    ["Real", "Health", "Weight (config / kernel)", "Last check", "Active", "Inactive", "Conn/s", "Pkt/s in", "Pkt/s out", "Bytes/s in", "Bytes/s out"]
      .forEach(function (h, i) { head.appendChild(el("th", { cls: i >= 4 ? "num" : null, scope: "col", text: h })); });
    var body = el("tbody");
    v.reals.forEach(function (r) { body.appendChild(realRow(v, r, now)); });
    if (v.reals.length === 0) body.appendChild(el("tr", null, el("td", { colspan: 11, cls: "muted", text: "no real servers" })));
    return el("section", { cls: "virtual", "data-virtual": v.id },
      el("header", null, el("h2", { text: virtualName(v) }), tags),
      el("div", { cls: "scroll" }, el("table", null, el("thead", null, head), body)));
  }

  function events(report) {
    var list = (report.events || []).slice().reverse();
    var body = el("tbody");
    list.forEach(function (e) {
      body.appendChild(el("tr", { "data-kind": e.kind },
        el("td", { title: e.at, text: clock(e.at) }), el("td", null, state(e.ok ? "OK" : "PROBLEM", e.ok ? "good" : "bad")),
        el("td", { text: e.kind }), el("td", { text: e.text })));
    });
    if (list.length === 0) body.appendChild(el("tr", null, el("td", { colspan: 4, cls: "muted", text: "no events since the start" })));
    return el("table", { id: "events" }, el("thead", null, el("tr", null, el("th", { text: "Time" }), el("th", { text: "Result" }), el("th", { text: "Kind" }), el("th", { text: "Event" }))), body);
  }

  function render(report) {
    var now = ms(report.generatedAt);
    document.title = (report.virtualServices.some(function (v) { return v.realsUp < v.realsTotal; }) ? "(!) " : "") + "ldir status - " + location.host;
    document.getElementById("director").replaceWith(director(report));
    var vs = el("div", { id: "virtuals" });
    report.virtualServices.forEach(function (v) { vs.appendChild(virtualSection(v, now, report.daemon.announce)); });
    if (report.virtualServices.length === 0) vs.appendChild(el("p", { cls: "muted", text: "No virtual services configured." }));
    document.getElementById("virtuals").replaceWith(vs);
    var ev = el("div", { id: "event-list", cls: "scroll" }, events(report));
    document.getElementById("event-list").replaceWith(ev);
  }

  function live(ok, text) {
    var box = document.getElementById("live");
    box.className = ok ? "ok" : "stale";
    box.textContent = text;
  }

  function refresh() {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, Math.max(5000, seconds * 3000));
    fetch("status.json", { cache: "no-store", signal: controller.signal, headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) return res.text().then(function (t) { throw new Error("HTTP " + res.status + ": " + t.slice(0, 200)); });
        return res.json();
      })
      .then(function (report) {
        render(report);
        lastGood = report.generatedAt;
        live(true, "LIVE: updated " + clock(report.generatedAt) + ", every " + seconds + " s");
      })
      .catch(function (err) {
        live(false, "STALE: cannot read the director's status (" + (err && err.message ? err.message : String(err)) + ")" +
          (lastGood ? "; what you see is from " + clock(lastGood) : ""));
      })
      .finally(function () {
        clearTimeout(timer);
        refreshes++;
        document.body.setAttribute("data-refreshes", String(refreshes));
        setTimeout(refresh, seconds * 1000);
      });
  }
  refresh();
})();
`;

const HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>ldir status</title>
<style>${STYLE}</style>
</head>
<body data-refreshes="0">
<h1>ldir director status</h1>
<div id="live" class="stale" role="status" aria-live="polite">LOADING: waiting for the first status.json</div>
<noscript><p>This page needs JavaScript to load its data; the same data as JSON: <a href="status.json">status.json</a>.</p></noscript>
<dl class="facts" id="director"></dl>
<h2 class="muted">Virtual services</h2>
<div id="virtuals"></div>
<h2 class="muted">Recent events (newest first)</h2>
<div id="event-list" class="scroll"></div>
<footer class="muted">Read-only view of <code>ldir status --json</code> (<a href="status.json">status.json</a>); nothing here changes the director.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;

const digest = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The page's bytes. */
export const STATUS_PAGE_HTML: Buffer = Buffer.from(HTML, 'utf8');

/**
 * The page's Content-Security-Policy: its own inline style and script (by hash) and `connect-src 'self'` for
 * status.json; nothing else loads, no form posts, no framing.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${digest(SCRIPT)}`,
  `style-src ${digest(STYLE)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
