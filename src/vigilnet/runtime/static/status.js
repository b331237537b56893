// The hub status page: renders /status.json and each Server-Sent Event
// from /events.  Every value comes from the snapshot, which carries text
// peers wrote (hub names, alert details): it is only ever set as
// textContent, never parsed as HTML.
"use strict";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function list(value) {
  return Array.isArray(value) ? value : [];
}

function describe(item) {
  if (item === null || typeof item !== "object") return String(item);
  return Object.keys(item).sort().map((k) => k + "=" + JSON.stringify(item[k])).join(", ");
}

function renderAlerts(alerts) {
  const ul = document.getElementById("alerts");
  ul.replaceChildren();
  for (const a of alerts) {
    const li = el("li", "alert");
    li.dataset.kind = String(a && a.kind);
    li.appendChild(el("span", "kind", a && a.kind));
    li.appendChild(document.createTextNode(
      " " + String(a && a.subject) + " in epoch " + String(a && a.epoch) + ": "));
    li.appendChild(el("span", "detail", a && a.detail));
    ul.appendChild(li);
  }
  document.getElementById("no-alerts").hidden = alerts.length > 0;
  document.getElementById("alerts-section").classList.toggle("active", alerts.length > 0);
}

function renderHubs(hubs) {
  const body = document.querySelector("#hubs tbody");
  body.replaceChildren();
  for (const h of hubs) {
    const tr = el("tr", "hub state-" + String(h && h.state).replace(/[^a-z_-]/g, ""));
    tr.dataset.hub = String(h && h.name);
    tr.appendChild(el("td", "name", h && h.name));
    tr.appendChild(el("td", "state", h && h.state));
    tr.appendChild(el("td", "epoch", h && h.epoch));
    tr.appendChild(el("td", "round", h && h.round));
    const seen = h && h.last_seen_ms;
    tr.appendChild(el("td", "seen", typeof seen === "number" ? seen + " ms ago" : "never"));
    body.appendChild(tr);
  }
}

function renderPartitions(partitions) {
  const ul = document.getElementById("partitions");
  ul.replaceChildren();
  for (const p of partitions) ul.appendChild(el("li", "partition", describe(p)));
  document.getElementById("no-partitions").hidden = partitions.length > 0;
}

function render(snapshot) {
  document.getElementById("node").textContent = String(snapshot.node);
  document.getElementById("epoch").textContent = String(snapshot.epoch);
  renderAlerts(list(snapshot.alerts));
  renderHubs(list(snapshot.hubs));
  renderPartitions(list(snapshot.partitions));
  document.getElementById("updated").textContent = new Date().toLocaleTimeString();
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
}

function connection(state) {
  const span = document.getElementById("connection");
  span.textContent = state;
  span.className = "connection " + (state === "live" ? "live" : "lost");
}

function start() {
  fetch("/status.json", { cache: "no-store" })
    .then((r) => r.json())
    .then(render)
    .catch(() => connection("no status"));
  // EventSource reconnects by itself after an error (the server sends retry).
  const events = new EventSource("/events");
  events.addEventListener("status", (e) => {
    render(JSON.parse(e.data));
    connection("live");
  });
  events.onerror = () => connection("reconnecting");
}

document.addEventListener("DOMContentLoaded", start);
