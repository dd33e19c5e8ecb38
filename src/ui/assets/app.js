// fabx ui: one stream of server-sent events keeps the page current; a transaction's
// detail is fetched when clicked. Text goes in through textContent only.
"use strict";

const state = { status: null, channels: new Map(), selected: null, tx: null };
const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

// Ledger bytes: text, or {"base64": "..."}.
function bytes(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? JSON.stringify(value) : "base64:" + value.base64;
}

// A key as typed, or quoted when it holds control characters (Fabric's own keys and
// composite keys start with U+0000).
function key(text) {
  return /[\u0000-\u001f]/.test(text) ? JSON.stringify(text) : text;
}

function channel(name) {
  if (!state.channels.has(name)) {
    state.channels.set(name, { blocks: [], error: null });
  }
  return state.channels.get(name);
}

// ---- status: header, nodes, chaincodes, picture

function renderStatus(status) {
  state.status = status;
  const note = $("#network-note");
  if (status.error) {
    $("#network-state").textContent = "unreachable";
    $("#network-state").className = "badge stopped";
    note.textContent = status.error;
    note.hidden = false;
    return;
  }
  $("#network-name").textContent = status.network;
  $("#network-state").textContent = status.state.replace("_", " ");
  $("#network-state").className = "badge " + status.state;
  $("#engine").textContent = status.engine;
  note.hidden = status.up;
  note.textContent = status.up ? "" : "The network is not up: `fabx up` starts it; this page follows.";
  const rows = status.nodes.map((n) =>
    el("tr", { "data-node": n.host },
      el("td", {}, n.host, el("div", { class: "note" }, n.kind)),
      el("td", {}, n.msp_id),
      el("td", { class: n.state }, n.state,
        n.state_database && n.state_database.state
          ? el("div", { class: "note" }, "couchdb: " + n.state_database.state) : null),
      el("td", { class: "mono" }, n.addresses.join(" ")),
      el("td", {}, n.channels.map((c) => c.name + " (" + c.height + ")").join(", "),
        n.error ? el("div", { class: "note" }, n.error) : null)));
  $("#nodes tbody").replaceChildren(...rows);
  const chaincodes = [];
  for (const c of status.channels) {
    for (const cc of c.chaincodes) {
      const packages = cc.packages.map((p) =>
        el("div", {}, p.msp_id + ": ",
          el("span", { class: "mono" }, p.package_id || "not installed"),
          p.containers.map((s) => el("span", { class: s.state }, " " + s.state))));
      chaincodes.push(el("tr", { "data-chaincode": cc.name },
        el("td", {}, c.channel), el("td", {}, cc.name), el("td", {}, cc.version),
        el("td", {}, cc.sequence), el("td", { class: "mono" }, cc.endorsement_policy || "default"),
        el("td", {}, packages)));
    }
    if (c.error) chaincodes.push(el("tr", {}, el("td", {}, c.channel), el("td", { colspan: 5, class: "note" }, c.error)));
  }
  if (chaincodes.length === 0) {
    chaincodes.push(el("tr", {}, el("td", { colspan: 6, class: "note" }, "None committed: `fabx deploy NAME`.")));
  }
  $("#chaincodes tbody").replaceChildren(...chaincodes);
  for (const c of status.channels) channel(c.channel);
  renderChannels();
  renderPicture(status);
}

// Orgs side by side with their nodes; chaincode servers below; lines for who dials whom.
function renderPicture(status) {
  const svg = $("#picture");
  const NS = "http://www.w3.org/2000/svg";
  const shape = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const orgs = [];
  for (const n of status.nodes) {
    let org = orgs.find((o) => o.msp_id === n.msp_id);
    if (!org) orgs.push(org = { msp_id: n.msp_id, kind: n.kind, nodes: [] });
    org.nodes.push(n);
  }
  const W = 190, NODE = 26, GAP = 16;
  const where = new Map();
  const parts = [];
  orgs.forEach((org, i) => {
    const x = 10 + i * (W + GAP);
    const height = 24 + org.nodes.length * (NODE + 6);
    parts.push(shape("rect", { class: "org", x, y: 10, width: W, height, rx: 5 }));
    parts.push(shape("text", { x: x + 8, y: 26 }, org.msp_id));
    org.nodes.forEach((n, j) => {
      const y = 34 + j * (NODE + 6);
      const g = shape("g", { class: "node " + n.state });
      g.append(shape("rect", { x: x + 8, y, width: W - 16, height: NODE, rx: 4 }));
      g.append(shape("text", { x: x + 14, y: y + 17 }, n.host));
      parts.push(g);
      where.set(n.host, { x: x + W / 2, top: y, bottom: y + NODE, kind: n.kind, msp_id: n.msp_id });
    });
  });
  const bottom = Math.max(60, ...[...where.values()].map((p) => p.bottom)) + 20;
  const lines = [];
  const orderers = [...where.values()].filter((p) => p.kind === "orderer");
  for (const peer of [...where.values()].filter((p) => p.kind === "peer")) {
    if (orderers.length) lines.push(shape("line", { x1: peer.x, y1: peer.top, x2: orderers[0].x, y2: orderers[0].bottom }));
  }
  const servers = [];
  for (const c of status.channels) {
    for (const cc of c.chaincodes) {
      for (const p of cc.packages) {
        for (const s of p.containers) {
          if (!servers.find((v) => v.container === s.container)) servers.push({ ...s, msp_id: p.msp_id, name: cc.name });
        }
      }
    }
  }
  servers.forEach((s, i) => {
    const x = 10 + i * (W + GAP), y = bottom + 20;
    const g = shape("g", { class: "node " + s.state });
    g.append(shape("rect", { x, y, width: W, height: NODE, rx: 4 }));
    g.append(shape("text", { x: x + 6, y: y + 17 }, s.name + " (" + s.msp_id + ")"));
    parts.push(g);
    for (const peer of [...where.values()].filter((p) => p.kind === "peer" && p.msp_id === s.msp_id)) {
      lines.push(shape("line", { class: "chaincode", x1: peer.x, y1: peer.bottom, x2: x + W / 2, y2: y }));
    }
  });
  const width = 20 + Math.max(orgs.length, servers.length) * (W + GAP);
  const height = servers.length ? bottom + 20 + NODE + 10 : bottom;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.height = orgs.length ? Math.min(height, 420) + "px" : "0";
  svg.style.maxWidth = width + "px";
  svg.replaceChildren(...lines, ...parts);
}

// ---- blocks

function renderChannels() {
  if (!state.selected && state.channels.size) state.selected = [...state.channels.keys()][0];
  const buttons = [...state.channels.keys()].map((name) =>
    el("button", { class: name === state.selected ? "active" : "", "data-channel": name,
      onclick: () => { state.selected = name; renderChannels(); renderBlocks(); } }, name));
  $("#channels").replaceChildren(...buttons);
}

function blockItem(name, block, fresh) {
  const txs = block.transactions.map((t) =>
    el("div", { class: "tx" + (state.tx === t.tx_id ? " selected" : ""), "data-tx": t.tx_id,
      onclick: () => showTx(name, t.tx_id) },
      el("span", {}, t.kind),
      el("span", {}, [t.chaincode, t.function].filter(Boolean).join(" ") || t.creator_msp),
      el("span", { class: "validation " + (t.validation || "") }, t.validation || "-")));
  return el("li", { class: "block" + (fresh ? " new" : ""), "data-block": block.number },
    el("h3", {}, "Block " + block.number, " · ", block.transactions.length + " tx"), txs);
}

const SHOWN = 300;

function renderBlocks() {
  const c = state.channels.get(state.selected);
  const note = $("#channel-note");
  note.hidden = !(c && c.error);
  note.textContent = c && c.error ? c.error : "";
  const items = c ? c.blocks.slice(-SHOWN).reverse().map((b) => blockItem(state.selected, b, false)) : [];
  $("#blocks").replaceChildren(...items);
}

function addBlock(data) {
  const c = channel(data.channel);
  c.error = null;
  c.blocks.push(data);
  if (data.channel !== state.selected) return;
  $("#channel-note").hidden = true;
  const list = $("#blocks");
  list.prepend(blockItem(data.channel, data, true));
  while (list.children.length > SHOWN) list.lastChild.remove();
}

// ---- one transaction

async function showTx(name, txId) {
  state.tx = txId;
  for (const node of document.querySelectorAll(".tx")) node.classList.toggle("selected", node.dataset.tx === txId);
  const detail = $("#tx-detail");
  detail.replaceChildren(el("p", { class: "note" }, "Loading " + txId + "…"));
  const answer = await fetch(`/api/tx/${encodeURIComponent(name)}/${encodeURIComponent(txId)}`);
  const tx = await answer.json();
  if (state.tx !== txId) return;
  if (!answer.ok) {
    detail.replaceChildren(el("p", { class: "note" }, tx.error || answer.statusText));
    return;
  }
  detail.replaceChildren(...describe(tx));
}

function describe(tx) {
  const party = (p) => p.msp_id + (p.name ? " " + p.name : "");
  const fields = [
    ["transaction", el("span", { class: "mono" }, tx.tx_id || "-")],
    ["block", tx.block + ", transaction " + tx.index],
    ["channel", tx.channel],
    ["type", tx.kind],
    ["timestamp", tx.timestamp || "-"],
    ["validation", el("span", { class: tx.validation === "VALID" ? "VALID" : "invalid" }, tx.validation || "-")],
    ["creator", party(tx.creator)],
  ];
  if (tx.chaincode) {
    fields.push(["chaincode", tx.chaincode]);
    fields.push(["arguments", el("span", { class: "mono" }, tx.args.map(bytes).join(" "))]);
  }
  if (tx.endorsers.length) fields.push(["endorsers", tx.endorsers.map(party).join(", ")]);
  if (tx.response) fields.push(["response", tx.response.status + (tx.response.message ? " " + tx.response.message : "") + " " + bytes(tx.response.payload)]);
  if (tx.event) fields.push(["event", tx.event.name + " " + bytes(tx.event.payload)]);
  const out = [el("dl", {}, fields.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]))];
  for (const ns of tx.rwsets) {
    const rows = [];
    for (const r of ns.reads) rows.push(el("tr", { class: "read" }, el("td", {}, "read"), el("td", { class: "mono" }, key(r.key)), el("td", { class: "mono" }, r.version ? "version " + r.version.join(":") : "absent")));
    for (const w of ns.writes) rows.push(el("tr", { class: "write", "data-key": w.key }, el("td", {}, w.deleted ? "delete" : "write"), el("td", { class: "mono" }, key(w.key)), el("td", { class: "mono" }, w.deleted ? "" : bytes(w.value))));
    for (const c of ns.collections) {
      for (const h of c.reads) rows.push(el("tr", {}, el("td", {}, "read (" + c.collection + ")"), el("td", { class: "mono" }, h), el("td", {}, "hash")));
      for (const w of c.writes) rows.push(el("tr", { class: "private-write" }, el("td", {}, (w.deleted ? "delete" : "write") + " (" + c.collection + ")"), el("td", { class: "mono" }, w.key_hash), el("td", { class: "mono" }, w.deleted ? "" : w.value_hash)));
    }
    if (ns.range_queries) rows.push(el("tr", {}, el("td", {}, "range queries"), el("td", {}, ns.range_queries), el("td", {})));
    out.push(el("h4", {}, "namespace " + ns.namespace));
    out.push(el("table", { class: "rwset", "data-namespace": ns.namespace }, el("tbody", {}, rows)));
  }
  return out;
}

// ---- events

function connect() {
  const events = new EventSource("/api/events");
  events.addEventListener("status", (e) => renderStatus(JSON.parse(e.data)));
  events.addEventListener("reset", (e) => {
    const data = JSON.parse(e.data);
    const c = channel(data.channel);
    c.blocks = [];
    c.error = null;
    renderChannels();
    if (data.channel === state.selected) renderBlocks();
  });
  events.addEventListener("block", (e) => addBlock(JSON.parse(e.data)));
  events.addEventListener("unavailable", (e) => {
    const data = JSON.parse(e.data);
    channel(data.channel).error = "Blocks unavailable: " + data.error;
    renderChannels();
    if (data.channel === state.selected) renderBlocks();
  });
  events.onerror = () => {
    $("#network-state").textContent = "fabx ui is not answering";
    $("#network-state").className = "badge stopped";
  };
}

connect();
