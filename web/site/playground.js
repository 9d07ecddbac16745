// The playground page: an editor whose diagnostics nnc's front end (in
// playground.wasm) marks at their line and column as you type, the IR
// after any pass, the Go that nnc build writes, and training in a Web
// Worker with the loss and accuracy plotted epoch by epoch.
"use strict";
const $ = id => document.getElementById(id);
const src = $("src"), backdrop = $("backdrop"), gutter = $("gutter"), diagList = $("diags");
const csvName = $("csvname"), csv = $("csv");
let ready = false;

const escape = s => s.replace(/[&<>]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);

// files returns the data files the model may read, by name.
function files() {
  const name = csvName.value.trim();
  return name && csv.value ? { [name]: csv.value } : {};
}
function syncFiles() {
  memfs.clear();
  for (const [name, text] of Object.entries(files())) memfs.set(name, text);
}

// Diagnostics: a mark under the word at each line:col in the backdrop
// behind the text, the line number in red, and the list below.
let diags = [];
function render() {
  const lines = src.value.split("\n");
  const byLine = {};
  for (const d of diags) if (d.line > 0) (byLine[d.line] = byLine[d.line] || []).push(d);
  backdrop.innerHTML = lines.map((text, i) => {
    const ds = byLine[i + 1];
    if (!ds) return escape(text);
    const d = ds[0];
    const at = Math.max(0, Math.min(text.length, d.col - 1));
    let end = at;
    while (end < text.length && /[\w.]/.test(text[end])) end++;
    if (end === at) end = Math.min(text.length, at + 1);
    const mark = `<mark class="diag ${d.severity}" data-line="${d.line}" data-col="${d.col}" title="${escape(d.msg)}">${escape(text.slice(at, end)) || " "}</mark>`;
    return escape(text.slice(0, at)) + mark + escape(text.slice(end));
  }).join("\n") + "\n";
  gutter.innerHTML = lines.map((_, i) => byLine[i + 1] ? `<span class="bad">${i + 1}</span>` : `${i + 1}`).join("\n") + "\n";
  syncScroll();
}
function syncScroll() {
  backdrop.scrollTop = src.scrollTop;
  backdrop.scrollLeft = src.scrollLeft;
  gutter.scrollTop = src.scrollTop;
}
src.addEventListener("scroll", syncScroll);

function showDiags(r) {
  diags = r.diags || [];
  diagList.innerHTML = "";
  for (const d of diags) {
    const li = document.createElement("li");
    li.className = d.severity;
    li.dataset.line = d.line;
    li.dataset.col = d.col;
    li.textContent = d.text;
    li.onclick = () => goTo(d.line, d.col);
    diagList.appendChild(li);
  }
  if (r.error) {
    const li = document.createElement("li");
    li.textContent = r.error;
    diagList.appendChild(li);
  }
  if (r.ok && !diags.length) {
    const li = document.createElement("li");
    li.className = "ok";
    li.textContent = "no errors";
    diagList.appendChild(li);
  }
  render();
}
function goTo(line, col) {
  const lines = src.value.split("\n");
  let at = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
  at += Math.max(0, col - 1);
  src.focus();
  src.setSelectionRange(at, at);
}

// On every edit: check, and refresh the IR.
let timer = 0;
function changed() {
  render();
  clearTimeout(timer);
  timer = setTimeout(refresh, 150);
}
function refresh() {
  if (!ready) return;
  syncFiles();
  showDiags(nnc.check(src.value));
  showIR();
}
src.addEventListener("input", changed);
csv.addEventListener("input", changed);
csvName.addEventListener("input", changed);
src.addEventListener("keydown", e => {
  if (e.key === "Tab") {
    e.preventDefault();
    const s = src.selectionStart;
    src.setRangeText("    ", s, src.selectionEnd, "end");
    changed();
  }
});

// Tabs.
let tab = "ir";
for (const b of document.querySelectorAll("[data-tab]")) {
  b.onclick = () => {
    tab = b.dataset.tab;
    for (const o of document.querySelectorAll("[data-tab]")) o.classList.toggle("on", o === b);
    for (const t of ["ir", "go", "train"]) $("tab-" + t).hidden = t !== tab;
    if (tab === "ir") showIR();
  };
}

function showIR() {
  if (!ready || tab !== "ir") return;
  const r = nnc.ir(src.value, $("after").value, $("forward").checked ? "forward" : "");
  $("ir").textContent = r.ok ? r.text : (r.error || "the model has errors: see the list under the editor");
}
$("after").onchange = showIR;
$("forward").onchange = showIR;

$("build").onclick = () => {
  syncFiles();
  const r = nnc.build(src.value);
  $("go").textContent = r.ok ? r.text : (r.error || (r.diags || []).map(d => d.text).join("\n"));
};

// Training, in a Web Worker.
let worker = null;
const log = $("trainlog"), plot = $("plot");
const training = { lines: [], points: [], done: false, result: null };
function drawPlot() {
  const g = plot.getContext("2d"), w = plot.width, h = plot.height;
  const L = 58, R = 40, T = 24, B = 22; // margins: loss axis, accuracy axis, legend, epochs
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui";
  g.strokeStyle = "#d0d5dd";
  g.lineWidth = 1;
  g.strokeRect(L, T, w - L - R, h - T - B);
  const pts = training.points;
  const withAcc = pts.length > 0 && pts.every(p => !isNaN(p.accuracy));
  const legend = [["#2563eb", "loss"], ...(withAcc ? [["#12b76a", "accuracy"]] : [])];
  let lx = L;
  for (const [color, name] of legend) {
    g.fillStyle = color;
    g.fillRect(lx, 8, 14, 3);
    g.fillText(name, lx + 18, 13);
    lx += 30 + g.measureText(name).width;
  }
  if (!pts.length) return;
  const n = pts[0].epochs;
  const losses = pts.map(p => p.loss);
  let lo = Math.min(...losses), hi = Math.max(...losses);
  if (hi - lo < 1e-12) { lo -= 0.5 * Math.abs(lo) + 1e-3; hi += 0.5 * Math.abs(hi) + 1e-3; }
  const X = e => L + (n > 1 ? (e - 1) / (n - 1) : 0.5) * (w - L - R);
  const Y = (v, a, b) => T + (1 - (v - a) / (b - a)) * (h - T - B);
  const line = (color, val, a, b) => {
    g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 2;
    g.beginPath();
    pts.forEach((p, i) => { const x = X(p.epoch), y = Y(val(p), a, b); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke();
    if (pts.length <= 100) for (const p of pts) { g.beginPath(); g.arc(X(p.epoch), Y(val(p), a, b), 2.5, 0, 7); g.fill(); }
  };
  line("#2563eb", p => p.loss, lo, hi);
  g.fillStyle = "#2563eb";
  g.textAlign = "right";
  g.fillText(hi.toPrecision(4), L - 4, T + 8);
  g.fillText(lo.toPrecision(4), L - 4, h - B);
  if (withAcc) {
    line("#12b76a", p => p.accuracy, 0, 1);
    g.fillStyle = "#12b76a";
    g.textAlign = "left";
    g.fillText("1", w - R + 4, T + 8);
    g.fillText("0", w - R + 4, h - B);
  }
  g.fillStyle = "#667085";
  g.textAlign = "left";
  g.fillText("epoch 1", L, h - 6);
  g.textAlign = "right";
  g.fillText(String(n), w - R, h - 6);
  g.textAlign = "left";
}
function stopWorker() {
  if (worker) worker.terminate();
  worker = null;
  $("train").disabled = false;
  $("stop").disabled = true;
}
$("stop").onclick = () => { stopWorker(); $("trainstatus").textContent = "stopped"; };
$("train").onclick = () => {
  stopWorker();
  training.lines = []; training.points = []; training.done = false; training.result = null;
  log.textContent = "";
  drawPlot();
  $("train").disabled = true;
  $("stop").disabled = false;
  $("trainstatus").textContent = "training…";
  const t0 = performance.now();
  worker = new Worker("worker.js");
  worker.onmessage = e => {
    const m = e.data;
    if (m.done) {
      training.done = true;
      training.result = m.done;
      const r = m.done;
      if (!r.ok) log.textContent += (r.error || (r.diags || []).map(d => d.text).join("\n")) + "\n";
      $("trainstatus").textContent = (r.ok ? "done" : "failed") + " in " + ((performance.now() - t0) / 1000).toFixed(1) + " s";
      stopWorker();
      return;
    }
    training.lines.push(m);
    log.textContent += m.line + "\n";
    log.scrollTop = log.scrollHeight;
    const ep = /^epoch (\d+)\/(\d+)\s+loss (\S+)(?:\s+accuracy (\S+))?/.exec(m.line);
    if (m.kind === "out" && ep) {
      training.points.push({ epoch: +ep[1], epochs: +ep[2], loss: +ep[3], accuracy: ep[4] === undefined ? NaN : +ep[4] });
      drawPlot();
    }
  };
  worker.onerror = e => { log.textContent += "worker: " + e.message + "\n"; training.done = true; stopWorker(); };
  worker.postMessage({ src: src.value, files: files() });
};

// Examples, as the repository has them.
async function loadExample(name) {
  const get = async f => (await fetch("examples/" + f)).text();
  src.value = await get(name + ".nn");
  if (name === "iris") { csvName.value = "iris.csv"; csv.value = await get("iris.csv"); }
  else { csvName.value = ""; csv.value = ""; }
  changed();
}
$("example").onchange = () => loadExample($("example").value);

globalThis.playground = {
  get ready() { return ready; },
  setSource(text) { src.value = text; refresh(); },
  diags: () => diags,
  training,
};
globalThis.nncReady = () => {
  ready = true;
  for (const p of ["none", ...nnc.passes()]) {
    const o = document.createElement("option");
    o.value = p;
    o.textContent = p;
    $("after").appendChild(o);
  }
  $("after").value = nnc.passes().slice(-1)[0];
  $("status").textContent = "";
  refresh();
};
loadExample("seed");
const go = new Go();
WebAssembly.instantiateStreaming(fetch("playground.wasm"), go.importObject)
  .then(r => go.run(r.instance))
  .catch(err => { $("status").textContent = "could not load playground.wasm: " + err; });
