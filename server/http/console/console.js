// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The Sluice web console (issue #15): one page, no framework, no network but the broker's own
// admin listener (`api/v1/...`, server/http/console_api.ts). Views are picked by the URL's hash:
// #/ (cluster), #/topics, #/topics/NAME, #/groups, #/groups/ID. Every string from the broker is
// put in the page as text (never as HTML): topic names, group ids and record contents are the
// clients'. Rates and lag over time are kept here, in rings of the last samples polled.
"use strict";

const API = "api/v1/";
const POLL_MS = 2000;
const TAIL_MS = 1000;
const RING = 150;
const COLORS = ["#2557d6", "#d6572a", "#2e7d32", "#8e44ad", "#b26a00", "#00838f"];

/** The timers of the view on screen; cleared when the view changes. */
let viewTimers = [];
/** Counter samples of /rates, oldest first. */
const rateRing = [];
/** Lag samples per group: [{ t, total, byPartition: Map }]. */
const lagRings = new Map();

// ---- DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function table(headers, rows, attrs) {
  return h(
    "table",
    attrs,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        headers.map((x) => {
          const [text, cls] = Array.isArray(x) ? x : [x];
          return h("th", { class: cls }, text);
        }),
      ),
    ),
    h("tbody", null, rows),
  );
}

function num(v) {
  return h("td", { class: "num" }, v === null || v === undefined ? "–" : v.toLocaleString("en"));
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function setStatus(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

function message(el, text, isError) {
  el.textContent = text;
  el.className = `message ${isError ? "error" : "ok"}`;
}

// ---- API

/** GETs started before the page was parsed (see `prefetch`), taken once by `api`. */
const early = new Map();

function get(path) {
  const p = fetch(API + path).then(async (res) => {
    let body;
    try {
      body = await res.json();
    } catch {
      throw new Error(`GET ${path}: HTTP ${res.status}`);
    }
    if (!res.ok) {
      const e = new Error(body?.error?.message ?? `HTTP ${res.status}`);
      e.code = body?.error?.code;
      e.status = res.status;
      throw e;
    }
    return body;
  });
  p.catch(() => {}); // handled by whoever takes it
  return p;
}

/** Start the first view's requests while the page is still being parsed. */
function prefetch() {
  const [section, ...rest] = location.hash.replace(/^#\/?/, "").split("?")[0].split("/");
  const arg = rest.join("/");
  let paths;
  if (section === "topics" && arg !== "") paths = [`topics/${arg}`, "rates"];
  else if (section === "topics") paths = ["topics", "rates"];
  else if (section === "groups" && arg !== "") paths = [`groups/${arg}`];
  else if (section === "groups") paths = ["groups"];
  else paths = ["overview", "rates"];
  // the landing view's data, put in the page by the broker (server/http/console.ts)
  const boot = document.getElementById("sluice-boot");
  let data;
  try {
    data = boot === null ? undefined : JSON.parse(boot.textContent);
  } catch {
    data = undefined;
  }
  for (const p of paths) {
    early.set(p, data?.[p] !== undefined ? Promise.resolve(data[p]) : get(p));
  }
}

async function api(path, options) {
  if ((options?.method ?? "GET") === "GET") {
    const first = early.get(path);
    early.delete(path);
    return await (first ?? get(path));
  }
  const init = { method: options?.method ?? "GET", headers: {} };
  if (options?.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers["content-type"] = "application/json";
  }
  const res = await fetch(API + path, init);
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`${init.method} ${path}: HTTP ${res.status}`);
  }
  if (!res.ok) {
    const e = new Error(body?.error?.message ?? `HTTP ${res.status}`);
    e.code = body?.error?.code;
    e.status = res.status;
    throw e;
  }
  return body;
}

const enc = encodeURIComponent;

// ---- record contents: text, JSON, hex

function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder("utf-8");

function formatBytes(b64, format) {
  if (b64 === null) return "null";
  const b = fromBase64(b64);
  if (format === "hex") {
    const parts = [];
    for (const x of b) parts.push(x.toString(16).padStart(2, "0"));
    return parts.join(" ");
  }
  const text = utf8.decode(b);
  if (format === "json") {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return `(not JSON) ${text}`;
    }
  }
  return text;
}

// ---- charts (canvas)

function drawChart(canvas, series, unit) {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400;
  const hgt = canvas.clientHeight || 180;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hgt * dpr);
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, hgt);
  const left = 64;
  const bottom = hgt - 18;
  const top = 8;
  const right = w - 8;
  let tMin = Infinity;
  let tMax = -Infinity;
  let vMax = 0;
  for (const s of series) {
    for (const p of s.points) {
      tMin = Math.min(tMin, p.t);
      tMax = Math.max(tMax, p.t);
      vMax = Math.max(vMax, p.v);
    }
  }
  g.strokeStyle = "#dde1e8";
  g.fillStyle = "#697386";
  g.font = "11px system-ui, sans-serif";
  g.lineWidth = 1;
  const yMax = vMax === 0 ? 1 : niceCeil(vMax);
  for (let i = 0; i <= 4; i++) {
    const y = bottom - ((bottom - top) * i) / 4;
    g.beginPath();
    g.moveTo(left, y);
    g.lineTo(right, y);
    g.stroke();
    g.fillText(shortNumber((yMax * i) / 4) + unit, 4, y + 4);
  }
  if (!Number.isFinite(tMin)) {
    g.fillText("waiting for samples…", left + 8, (top + bottom) / 2);
    return;
  }
  const span = Math.max(tMax - tMin, 1);
  g.fillText(`last ${Math.round(span / 1000)} s`, right - 70, hgt - 4);
  series.forEach((s, i) => {
    g.strokeStyle = s.color ?? COLORS[i % COLORS.length];
    g.lineWidth = 2;
    g.beginPath();
    s.points.forEach((p, j) => {
      const x = left + ((right - left) * (p.t - tMin)) / span;
      const y = bottom - ((bottom - top) * p.v) / yMax;
      if (j === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  });
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function shortNumber(v) {
  if (v >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(1)}`;
}

function chart(title, series, unit) {
  const canvas = h("canvas", { class: "chart" });
  const legend = h(
    "div",
    { class: "legend" },
    series.map((s, i) =>
      h(
        "span",
        null,
        h("i", { style: `background:${s.color ?? COLORS[i % COLORS.length]}` }),
        s.label,
      )
    ),
  );
  const box = h("section", null, h("h2", null, title), canvas, legend);
  requestAnimationFrame(() => drawChart(canvas, series, unit));
  return box;
}

/** Per-second rates between successive samples of a counter. */
function ratePoints(ring, pick) {
  const out = [];
  for (let i = 1; i < ring.length; i++) {
    const dt = (ring[i].timeMs - ring[i - 1].timeMs) / 1000;
    if (dt <= 0) continue;
    out.push({ t: ring[i].timeMs, v: Math.max(0, (pick(ring[i]) - pick(ring[i - 1])) / dt) });
  }
  return out;
}

async function sampleRates() {
  const r = await api("rates");
  if (rateRing.length === 0) {
    // the broker's history of the totals (sampled every second since the console was first used)
    for (const x of r.history) rateRing.push({ ...x, topics: {} });
  }
  // samples closer than half a second apart make no rate worth drawing
  const last = rateRing[rateRing.length - 1];
  if (last !== undefined && r.timeMs - last.timeMs < 500) rateRing.pop();
  rateRing.push(r);
  if (rateRing.length > RING) rateRing.shift();
  return r;
}

// ---- views

function every(ms, fn) {
  viewTimers.push(setInterval(() => {
    fn().catch((e) => setStatus(e.message, true));
  }, ms));
}

async function showCluster(main) {
  const [o] = await Promise.all([api("overview"), sampleRates()]);
  const render = (o) => {
    const b = o.broker;
    document.getElementById("broker").textContent =
      `broker ${b.nodeId} · ${b.mode} · cluster ${b.clusterId}`;
    const stats = h(
      "div",
      { class: "stats" },
      stat("Brokers", o.brokers.length),
      stat("Controller", o.controller),
      stat("Topics", o.topics),
      stat("Partitions", o.partitions),
      stat("Under-replicated", o.underReplicated, o.underReplicated > 0, "under-replicated"),
      stat("Offline", o.offline, o.offline > 0, "offline"),
      stat("Connections", b.connections),
    );
    const brokers = table(
      ["Id", "Host", "Port", "Rack", "State", "Role"],
      o.brokers.map((x) =>
        h(
          "tr",
          { class: x.live ? null : "bad" },
          h("td", null, x.id + (x.self ? " (this broker)" : "")),
          h("td", null, x.host),
          h("td", { class: "num" }, String(x.port)),
          h("td", null, x.rack ?? "–"),
          h("td", null, x.live ? "live" : "not registered"),
          h("td", null, x.controller ? "controller" : ""),
        )
      ),
      { id: "brokers" },
    );
    const problems = [
      ...o.offlinePartitions.map((p) => [p, "offline"]),
      ...o.underReplicatedPartitions.map((p) => [p, "under-replicated"]),
    ];
    const problemList = problems.length === 0
      ? h("p", { class: "muted" }, "Every partition has a leader and a full ISR.")
      : table(
        ["Partition", "Problem"],
        problems.map(([p, what]) =>
          h(
            "tr",
            { class: "bad" },
            h(
              "td",
              null,
              h("a", { href: `#/topics/${enc(p.topic)}` }, `${p.topic}-${p.partition}`),
            ),
            h("td", null, what),
          )
        ),
      );
    const dynamic = [
      ...Object.entries(b.dynamicConfigs.broker).map(([k, v]) => [k, v, `broker ${b.nodeId}`]),
      ...Object.entries(b.dynamicConfigs.default).map(([k, v]) => [k, v, "cluster default"]),
    ];
    return [
      h("h1", null, "Cluster"),
      h("section", null, stats),
      h(
        "div",
        { class: "grid" },
        chart("Produce (records/s)", [{
          label: "records in",
          points: ratePoints(rateRing, (r) => r.total.messagesIn),
        }], "/s"),
        chart("Throughput (bytes/s)", [
          { label: "bytes in (produce)", points: ratePoints(rateRing, (r) => r.total.bytesIn) },
          { label: "bytes out (consume)", points: ratePoints(rateRing, (r) => r.total.bytesOut) },
        ], ""),
      ),
      h("section", null, h("h2", null, "Brokers"), brokers),
      h("section", null, h("h2", null, "Partitions needing attention"), problemList),
      h(
        "section",
        null,
        h("h2", null, "Broker configs changed at run time"),
        dynamic.length === 0
          ? h("p", { class: "muted" }, "None: every broker config is server.properties'.")
          : table(
            ["Name", "Value", "Scope"],
            dynamic.map(([k, v, scope]) =>
              h("tr", null, h("td", null, k), h("td", null, v), h("td", null, scope))
            ),
            { id: "dynamic-configs" },
          ),
      ),
    ];
  };
  main.replaceChildren(...render(o));
  every(POLL_MS, async () => {
    const [o2] = await Promise.all([api("overview"), sampleRates()]);
    main.replaceChildren(...render(o2));
  });
}

function stat(label, value, isBad, id) {
  return h(
    "div",
    { class: `stat${isBad ? " bad" : ""}`, "data-stat": id ?? label.toLowerCase() },
    h("b", null, String(value)),
    label,
  );
}

async function showTopics(main) {
  const [list] = await Promise.all([api("topics"), sampleRates()]);
  const msg = h("div", { class: "message" });
  const name = h("input", { name: "name", placeholder: "topic name", required: true });
  const partitions = h("input", { name: "partitions", type: "number", min: 1, value: "1" });
  const rf = h("input", { name: "replicationFactor", type: "number", min: -1, value: "-1" });
  const configs = h("input", { name: "configs", placeholder: "k=v,k2=v2 (optional)" });
  const form = h(
    "form",
    {
      id: "create-topic",
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const c = {};
          for (const kv of configs.value.split(",").map((s) => s.trim()).filter(Boolean)) {
            const i = kv.indexOf("=");
            if (i < 1) throw new Error(`Config "${kv}" is not k=v`);
            c[kv.slice(0, i)] = kv.slice(i + 1);
          }
          const r = await api("topics", {
            method: "POST",
            body: {
              name: name.value,
              partitions: Number(partitions.value),
              replicationFactor: Number(rf.value),
              configs: c,
            },
          });
          message(msg, `Created topic ${r.name} with ${r.partitions} partition(s)`, false);
          await refresh();
        } catch (e) {
          message(msg, e.message, true);
        }
      },
    },
    h("label", null, "Name", name),
    h("label", null, "Partitions", partitions),
    h("label", null, "Replication factor", rf),
    h("label", null, "Configs", configs),
    h("button", { type: "submit" }, "Create topic"),
  );
  const tableBox = h("section", null);
  const rates = (topic) => {
    const pts = ratePoints(rateRing, (r) => r.topics[topic]?.messagesIn ?? 0);
    return pts.length === 0 ? null : pts[pts.length - 1].v;
  };
  const render = (list) => {
    tableBox.replaceChildren(
      h("h2", null, `Topics (${list.topics.length})`),
      table(
        [
          "Name",
          ["Partitions", "num"],
          ["RF", "num"],
          ["Records", "num"],
          ["Size", "num"],
          ["Records in/s", "num"],
          ["Under-replicated", "num"],
          ["Offline", "num"],
        ],
        list.topics.map((t) =>
          h(
            "tr",
            { class: t.offline > 0 ? "bad" : null, "data-topic": t.name },
            h(
              "td",
              null,
              h("a", { href: `#/topics/${enc(t.name)}` }, t.name),
              t.internal ? h("span", { class: "muted" }, " (internal)") : null,
            ),
            num(t.partitions),
            num(t.replicationFactor),
            num(t.records),
            h("td", { class: "num" }, bytes(t.sizeBytes)),
            h("td", { class: "num" }, rates(t.name)?.toFixed(1) ?? "–"),
            num(t.underReplicated),
            num(t.offline),
          )
        ),
        { id: "topics" },
      ),
    );
  };
  const refresh = async () => {
    const [l] = await Promise.all([api("topics"), sampleRates()]);
    render(l);
  };
  render(list);
  main.replaceChildren(
    h("h1", null, "Topics"),
    h("section", null, h("h2", null, "Create a topic"), form, msg),
    tableBox,
  );
  every(POLL_MS, refresh);
}

async function showTopic(main, name) {
  const t = await api(`topics/${enc(name)}`);
  await sampleRates();
  let tab = location.hash.includes("?records") ? "records" : "partitions";
  const body = h("div", null);
  const tabs = h("div", { class: "tabs" });
  const header = h("div", null);
  const renderHeader = (t) => {
    let size = 0;
    let records = 0;
    for (const p of t.partitions) {
      size += p.sizeBytes ?? 0;
      records += (p.highWatermark ?? 0) - (p.logStartOffset ?? 0);
    }
    header.replaceChildren(
      h("h1", null, `Topic ${t.name}`),
      h(
        "section",
        null,
        h(
          "div",
          { class: "stats" },
          stat("Partitions", t.partitions.length),
          stat("Records", records.toLocaleString("en")),
          stat("Size", bytes(size)),
          stat("Topic id", t.id),
        ),
      ),
    );
  };
  const select = (which) => {
    tab = which;
    for (const b of tabs.children) b.className = b.dataset.tab === tab ? "active" : "";
    stopTail();
    render();
  };
  for (
    const [id, label] of [["partitions", "Partitions"], ["configs", "Configs"], [
      "records",
      "Records",
    ], ["actions", "Actions"]]
  ) {
    tabs.append(h("button", { type: "button", "data-tab": id, onclick: () => select(id) }, label));
  }
  let current = t;
  let stopTail = () => {};
  const render = () => {
    renderHeader(current);
    if (tab === "partitions") body.replaceChildren(partitionsView(current));
    else if (tab === "configs") body.replaceChildren(configsView(current, (t2) => (current = t2)));
    else if (tab === "records") {
      const r = recordsView(current);
      stopTail = r.stop;
      body.replaceChildren(r.el);
    } else body.replaceChildren(actionsView(current));
  };
  main.replaceChildren(header, tabs, body);
  select(tab);
  every(POLL_MS, async () => {
    current = await api(`topics/${enc(name)}`);
    renderHeader(current);
    if (tab === "partitions") body.replaceChildren(partitionsView(current));
  });
  viewTimers.push({ stop: () => stopTail() });
}

function partitionsView(t) {
  return h(
    "section",
    null,
    table(
      [
        ["Partition", "num"],
        ["Leader", "num"],
        "Replicas",
        "ISR",
        ["Log start", "num"],
        ["High watermark", "num"],
        ["Log end", "num"],
        ["Records", "num"],
        ["Size", "num"],
        ["Segments", "num"],
      ],
      t.partitions.map((p) =>
        h(
          "tr",
          { class: p.leader === -1 ? "bad" : null, "data-partition": p.partition },
          num(p.partition),
          h("td", { class: "num" }, p.leader === -1 ? "offline" : String(p.leader)),
          h("td", null, p.replicas.join(", ")),
          h("td", { class: p.isr.length < p.replicas.length ? "error" : null }, p.isr.join(", ")),
          num(p.logStartOffset),
          num(p.highWatermark),
          num(p.logEndOffset),
          num(p.highWatermark === null ? null : p.highWatermark - p.logStartOffset),
          h("td", { class: "num" }, p.local ? bytes(p.sizeBytes) : "not on this broker"),
          num(p.segments),
        )
      ),
      { id: "partitions" },
    ),
  );
}

function configsView(t, updated) {
  const msg = h("div", { class: "message" });
  const box = h("section", null);
  const draw = (t) => {
    const rows = t.configs.map((c) => {
      const input = h("input", { value: c.value, "data-config": c.name, size: 24 });
      return h(
        "tr",
        { "data-config-row": c.name },
        h("td", null, c.name),
        h("td", null, c.readOnly ? c.value : input),
        h("td", { class: c.source === "topic" ? null : "muted" }, c.source),
        h(
          "td",
          null,
          c.readOnly ? null : h("button", {
            type: "button",
            class: "secondary",
            "data-action": "save",
            onclick: () =>
              change({ set: { [c.name]: input.value } }, `Set ${c.name}=${input.value}`),
          }, "Save"),
          c.source === "topic" && !c.readOnly
            ? h("button", {
              type: "button",
              class: "secondary",
              "data-action": "default",
              onclick: () => change({ delete: [c.name] }, `${c.name} is back to its default`),
            }, "Use default")
            : null,
        ),
      );
    });
    box.replaceChildren(
      h("h2", null, "Configs"),
      msg,
      table(["Name", "Value", "Source", ""], rows, { id: "configs" }),
    );
  };
  const change = async (body, done) => {
    try {
      const t2 = await api(`topics/${enc(t.name)}/configs`, { method: "PATCH", body });
      updated(t2);
      draw(t2);
      message(msg, done, false);
    } catch (e) {
      message(msg, e.message, true);
    }
  };
  draw(t);
  return box;
}

function actionsView(t) {
  const msg = h("div", { class: "message", id: "action-message" });
  const count = h("input", {
    type: "number",
    name: "count",
    min: t.partitions.length + 1,
    value: String(t.partitions.length + 1),
  });
  const confirmName = h("input", { name: "confirm", placeholder: `type ${t.name} to confirm` });
  return h(
    "section",
    null,
    h("h2", null, "Add partitions"),
    h(
      "form",
      {
        id: "add-partitions",
        onsubmit: async (ev) => {
          ev.preventDefault();
          try {
            const r = await api(`topics/${enc(t.name)}/partitions`, {
              method: "POST",
              body: { count: Number(count.value) },
            });
            message(msg, `Topic ${t.name} now has ${r.partitions.length} partitions`, false);
          } catch (e) {
            message(msg, e.message, true);
          }
        },
      },
      h("label", null, "New partition count", count),
      h("button", { type: "submit" }, "Add partitions"),
    ),
    h("h2", null, "Delete the topic"),
    h(
      "form",
      {
        id: "delete-topic",
        onsubmit: async (ev) => {
          ev.preventDefault();
          if (confirmName.value !== t.name) {
            message(msg, `Type the topic's name (${t.name}) to delete it`, true);
            return;
          }
          try {
            await api(`topics/${enc(t.name)}`, { method: "DELETE" });
            location.hash = "#/topics";
          } catch (e) {
            message(msg, e.message, true);
          }
        },
      },
      h("label", null, "Topic name", confirmName),
      h("button", { type: "submit", class: "danger" }, "Delete topic"),
    ),
    msg,
  );
}

function recordsView(t) {
  const msg = h("div", { class: "message" });
  const partition = h(
    "select",
    { name: "partition" },
    t.partitions.length > 1 ? h("option", { value: "" }, "all") : null,
    t.partitions.map((p) => h("option", { value: String(p.partition) }, String(p.partition))),
  );
  const from = h(
    "select",
    { name: "from" },
    h("option", { value: "beginning" }, "the beginning"),
    h("option", { value: "offset" }, "an offset"),
    h("option", { value: "timestamp" }, "a timestamp"),
    h("option", { value: "end" }, "the end"),
  );
  const at = h("input", { name: "at", placeholder: "offset, or time (ISO or ms)", size: 26 });
  const limit = h("input", { name: "limit", type: "number", min: 1, max: 500, value: "50" });
  const format = h(
    "select",
    { name: "format" },
    h("option", { value: "text" }, "text"),
    h("option", { value: "json" }, "JSON"),
    h("option", { value: "hex" }, "hex"),
  );
  const tail = h("input", { type: "checkbox", name: "tail" });
  const rows = h("tbody", null);
  const list = h(
    "table",
    { id: "records" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Partition", "Offset", "Timestamp", "Key", "Value", "Headers"].map((x) =>
          h("th", null, x)
        ),
      ),
    ),
    rows,
  );
  let shown = [];
  let next = null;
  let timer;
  const draw = () => {
    const f = format.value;
    rows.replaceChildren(
      ...shown.map((r) =>
        h(
          "tr",
          { "data-offset": r.offset, "data-partition": r.partition },
          num(r.partition),
          num(r.offset),
          h(
            "td",
            null,
            new Date(r.timestamp).toISOString(),
            r.timestampType === "LogAppendTime" ? " (log append)" : "",
          ),
          h("td", null, h("pre", { class: "value key" }, formatBytes(r.key, f))),
          h(
            "td",
            null,
            h("pre", { class: "value val" }, formatBytes(r.value, f)),
            r.truncated ? h("span", { class: "muted" }, `(cut; ${r.valueSize} bytes)`) : null,
          ),
          h(
            "td",
            null,
            h(
              "pre",
              { class: "value headers" },
              r.headers.map((x) => `${x.key}=${formatBytes(x.value, f)}`).join("\n"),
            ),
          ),
        )
      ),
    );
  };
  const query = () => {
    const q = new URLSearchParams({ limit: limit.value });
    if (partition.value !== "") q.set("partition", partition.value);
    if (from.value === "offset") q.set("offset", at.value.trim());
    else if (from.value === "timestamp") {
      const s = at.value.trim();
      const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
      if (Number.isNaN(ms)) throw new Error(`"${s}" is not a time: give an ISO time or epoch ms`);
      q.set("timestamp", String(ms));
    } else q.set("from", from.value);
    return q;
  };
  const load = async () => {
    try {
      const r = await api(`topics/${enc(t.name)}/records?${query()}`);
      shown = r.records;
      next = r.next;
      draw();
      message(msg, `${r.records.length} record(s)`, false);
    } catch (e) {
      message(msg, e.message, true);
    }
  };
  const poll = async () => {
    if (next === null) return;
    const q = new URLSearchParams({ limit: "500" });
    if (partition.value !== "") q.set("partition", partition.value);
    q.set("positions", Object.entries(next).map(([p, o]) => `${p}:${o}`).join(","));
    try {
      const r = await api(`topics/${enc(t.name)}/records?${q}`);
      next = r.next;
      if (r.records.length > 0) {
        shown = [...shown, ...r.records].slice(-Number(limit.value || 50));
        draw();
      }
      message(
        msg,
        `live: ${shown.length} record(s) shown, polling every ${TAIL_MS / 1000} s`,
        false,
      );
    } catch (e) {
      message(msg, e.message, true);
    }
  };
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  tail.addEventListener("change", async () => {
    stop();
    if (tail.checked) {
      if (next === null) await load();
      timer = setInterval(poll, TAIL_MS);
    }
  });
  format.addEventListener("change", draw);
  const form = h(
    "form",
    {
      id: "browse",
      onsubmit: (ev) => {
        ev.preventDefault();
        load();
      },
    },
    h("label", null, "Partition", partition),
    h("label", null, "From", from),
    h("label", null, "Offset / time", at),
    h("label", null, "Limit", limit),
    h("button", { type: "submit" }, "Show records"),
    h("label", null, "Show as", format),
    h("label", null, "Live tail", tail),
  );
  return { el: h("section", null, h("h2", null, "Records"), form, msg, list), stop };
}

async function showGroups(main) {
  const render = (list) =>
    h(
      "section",
      null,
      h("h2", null, `Consumer groups (${list.groups.length})`),
      list.groups.length === 0 ? h("p", { class: "muted" }, "No groups on this broker.") : table(
        ["Group", "Type", "State", "Protocol type", ["Members", "num"], ["Partitions", "num"], [
          "Lag",
          "num",
        ]],
        list.groups.map((g) =>
          h(
            "tr",
            { "data-group": g.groupId },
            h("td", null, h("a", { href: `#/groups/${enc(g.groupId)}` }, g.groupId)),
            h("td", null, g.type),
            h("td", null, g.state),
            h("td", null, g.protocolType),
            num(g.members),
            num(g.partitions),
            num(g.lag),
          )
        ),
        { id: "groups" },
      ),
    );
  const box = h("div", null, render(await api("groups")));
  main.replaceChildren(h("h1", null, "Consumer groups"), box);
  every(POLL_MS, async () => box.replaceChildren(render(await api("groups"))));
}

function recordLag(g) {
  let ring = lagRings.get(g.groupId);
  if (ring === undefined) lagRings.set(g.groupId, ring = []);
  const byPartition = new Map();
  for (const o of g.offsets) byPartition.set(`${o.topic}-${o.partition}`, o.lag ?? 0);
  ring.push({ t: g.timeMs, total: g.lag, byPartition });
  if (ring.length > RING) ring.shift();
  return ring;
}

function assignmentText(list) {
  return list.map((a) => `${a.topic}: ${a.partitions.join(", ")}`).join("; ") || "–";
}

async function showGroup(main, id) {
  const g = await api(`groups/${enc(id)}`);
  const msg = h("div", { class: "message", id: "reset-message" });
  const topics = [...new Set(g.offsets.map((o) => o.topic))];
  const topic = h("select", { name: "topic" }, topics.map((t) => h("option", { value: t }, t)));
  const to = h(
    "select",
    { name: "to" },
    ["earliest", "latest", "offset", "timestamp"].map((x) => h("option", { value: x }, x)),
  );
  const value = h("input", { name: "value", placeholder: "offset, or time (ISO or ms)", size: 24 });
  const reset = h(
    "form",
    {
      id: "reset-offsets",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = { topic: topic.value, to: to.value };
        try {
          if (to.value === "offset") {
            body.offset = Number(value.value.trim() === "" ? NaN : value.value);
          }
          if (to.value === "timestamp") {
            const s = value.value.trim();
            body.timestamp = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
          }
          const r = await api(`groups/${enc(id)}/reset-offsets`, { method: "POST", body });
          message(
            msg,
            `Reset ${r.topic}: ${r.offsets.map((o) => `${o.partition}→${o.offset}`).join(", ")}`,
            false,
          );
          await refresh();
        } catch (e) {
          message(msg, e.message, true);
        }
      },
    },
    h("label", null, "Topic", topic),
    h("label", null, "To", to),
    h("label", null, "Offset / time", value),
    h("button", { type: "submit" }, "Reset offsets"),
  );
  const live = h("div", null);
  const render = (g) => {
    const ring = recordLag(g);
    const keys = g.offsets.map((o) => `${o.topic}-${o.partition}`);
    const series = [{ label: "total lag", points: ring.map((s) => ({ t: s.t, v: s.total })) }];
    if (keys.length > 1 && keys.length <= 5) {
      for (const k of keys) {
        series.push({
          label: k,
          points: ring.map((s) => ({ t: s.t, v: s.byPartition.get(k) ?? 0 })),
        });
      }
    }
    live.replaceChildren(
      h(
        "section",
        null,
        h(
          "div",
          { class: "stats" },
          stat("State", g.state, false, "state"),
          stat("Members", g.members.length, false, "members"),
          stat("Total lag", g.lag.toLocaleString("en"), false, "lag"),
          g.type === "consumer"
            ? stat("Group epoch", g.groupEpoch, false, "generation")
            : stat("Generation", g.generationId, false, "generation"),
          stat("Protocol", g.protocol || "–", false, "protocol"),
        ),
      ),
      chart("Lag over time (records)", series, ""),
      h(
        "section",
        null,
        h("h2", null, "Members"),
        g.members.length === 0 ? h("p", { class: "muted" }, "No active members.") : table(
          // a consumer-protocol (KIP-848) group: each member's epoch and target assignment too
          g.type === "consumer"
            ? ["Member", "Client id", "Host", "Instance", "Epoch", "Assignment", "Target"]
            : ["Member", "Client id", "Host", "Instance", "Assignment"],
          g.members.map((m) =>
            h(
              "tr",
              { "data-member": m.memberId },
              h("td", null, m.memberId),
              h("td", null, m.clientId),
              h("td", null, m.clientHost),
              h("td", null, m.groupInstanceId ?? "–"),
              g.type === "consumer" ? h("td", { class: "num" }, String(m.memberEpoch)) : null,
              h("td", null, assignmentText(m.assignment)),
              g.type === "consumer"
                ? h("td", { class: "target" }, assignmentText(m.targetAssignment))
                : null,
            )
          ),
          { id: "members" },
        ),
      ),
      h(
        "section",
        null,
        h("h2", null, "Offsets and lag"),
        table(
          ["Topic", ["Partition", "num"], ["Committed", "num"], ["High watermark", "num"], [
            "Lag",
            "num",
          ], "Member"],
          g.offsets.map((o) =>
            h(
              "tr",
              { "data-offset-row": `${o.topic}-${o.partition}` },
              h("td", null, h("a", { href: `#/topics/${enc(o.topic)}` }, o.topic)),
              num(o.partition),
              num(o.committedOffset),
              num(o.highWatermark),
              h("td", { class: "num lag" }, o.lag === null ? "–" : o.lag.toLocaleString("en")),
              h("td", null, o.memberId ?? "–"),
            )
          ),
          { id: "offsets" },
        ),
      ),
    );
  };
  const refresh = async () => render(await api(`groups/${enc(id)}`));
  render(g);
  main.replaceChildren(
    h("h1", null, `Group ${id}`),
    live,
    h(
      "section",
      null,
      h("h2", null, "Reset offsets"),
      h(
        "p",
        { class: "muted" },
        "Only while the group has no active members, as Kafka's kafka-consumer-groups --reset-offsets. Offsets beyond the log move to its nearest end.",
      ),
      reset,
      msg,
    ),
  );
  every(POLL_MS, refresh);
}

// ---- routing

async function route() {
  for (const t of viewTimers) {
    if (typeof t === "object") t.stop();
    else clearInterval(t);
  }
  viewTimers = [];
  const main = document.getElementById("main");
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  const [section, ...rest] = path.split("/");
  const arg = rest.length > 0 ? decodeURIComponent(rest.join("/")) : undefined;
  for (const a of document.querySelectorAll("header nav a")) {
    a.className = a.dataset.nav === (section || "cluster") ? "active" : "";
  }
  try {
    if (section === "topics" && arg !== undefined) await showTopic(main, arg);
    else if (section === "topics") await showTopics(main);
    else if (section === "groups" && arg !== undefined) await showGroup(main, arg);
    else if (section === "groups") await showGroups(main);
    else await showCluster(main);
    setStatus("", false);
  } catch (e) {
    main.replaceChildren(
      h("h1", null, "Error"),
      h("p", { class: "error", id: "view-error" }, e.message),
    );
    setStatus(e.message, true);
  }
  // the first data on screen: what bench/console_load.ts measures
  if (document.documentElement.dataset.ready !== "1") {
    performance.mark("sluice-console-data");
    document.documentElement.dataset.ready = "1";
  }
}

addEventListener("hashchange", () => {
  early.clear();
  route();
});
prefetch();
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", route);
else route();
