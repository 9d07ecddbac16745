// The digits page: a drawing pad, the 28×28 input it makes of the drawing
// (as MNIST's were made: the ink's larger side scaled to 20 pixels, its
// centre of mass at the centre) and the model's class probabilities.
"use strict";
const pad = document.getElementById("pad"), ctx = pad.getContext("2d", { willReadFrequently: true });
const seen = document.getElementById("seen"), seenCtx = seen.getContext("2d");
const status = document.getElementById("status"), timing = document.getElementById("timing");
const W = pad.width, H = pad.height;

function clearPad() {
  ctx.fillStyle = "black";
  ctx.fillRect(0, 0, W, H);
}
clearPad();

// Drawing: white strokes, round ends, one segment per pointer event.
let last = null;
function at(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * W / r.width, (e.clientY - r.top) * H / r.height];
}
function stroke(from, to) {
  ctx.strokeStyle = "white";
  ctx.fillStyle = "white";
  ctx.lineWidth = 18;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
}
pad.addEventListener("pointerdown", e => {
  pad.setPointerCapture(e.pointerId);
  last = at(e);
  stroke(last, last);
  schedule();
});
pad.addEventListener("pointermove", e => {
  if (!last) return;
  const p = at(e);
  stroke(last, p);
  last = p;
  schedule();
});
for (const t of ["pointerup", "pointercancel"]) pad.addEventListener(t, () => { last = null; schedule(); });
document.getElementById("clear").onclick = () => { clearPad(); schedule(); };

// input28 returns the 784 values in [0, 1] the model sees.
function input28() {
  const px = ctx.getImageData(0, 0, W, H).data;
  const g = new Float64Array(W * H);
  let minX = W, minY = H, maxX = -1, maxY = -1, m = 0, mx = 0, my = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = px[4 * (y * W + x)] / 255;
      g[y * W + x] = v;
      if (v > 0) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x);
        minY = Math.min(minY, y); maxY = Math.max(maxY, y);
        m += v; mx += v * (x + 0.5); my += v * (y + 0.5);
      }
    }
  }
  const out = new Array(784).fill(0);
  if (maxX < 0) return out;
  const cx = mx / m, cy = my / m;
  const scale = Math.max(maxX - minX + 1, maxY - minY + 1) / 20; // pad pixels per input pixel
  const S = Math.max(4, Math.ceil(scale)); // samples per input pixel side
  for (let i = 0; i < 28; i++) {
    for (let j = 0; j < 28; j++) {
      let sum = 0;
      for (let a = 0; a < S; a++) {
        const sy = Math.floor(cy + (i - 14 + (a + 0.5) / S) * scale);
        if (sy < 0 || sy >= H) continue;
        for (let b = 0; b < S; b++) {
          const sx = Math.floor(cx + (j - 14 + (b + 0.5) / S) * scale);
          if (sx >= 0 && sx < W) sum += g[sy * W + sx];
        }
      }
      out[i * 28 + j] = Math.min(1, sum / (S * S));
    }
  }
  return out;
}

// Bars, one per class.
const bars = document.getElementById("bars"), rows = [];
for (let k = 0; k < 10; k++) {
  const label = document.createElement("div"), bar = document.createElement("div"), fill = document.createElement("div"), pct = document.createElement("div");
  label.textContent = k;
  bar.className = "bar";
  bar.appendChild(fill);
  bars.append(label, bar, pct);
  rows.push({ label, bar, fill, pct });
}

let pending = false, ready = false;
function schedule() {
  if (pending || !ready) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; predictNow(); });
}

// predictNow classifies the pad as it is and shows the result; it returns
// the input, the logits, the probabilities and the class (-1 for an empty
// pad).
function predictNow() {
  const x = input28();
  const img = seenCtx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(x[i] * 255);
    img.data.set([v, v, v, 255], 4 * i);
  }
  seenCtx.putImageData(img, 0, 0);
  const empty = x.every(v => v === 0);
  const t0 = performance.now();
  const r = globalThis.digits.predict(x);
  const ms = performance.now() - t0;
  let best = 0;
  for (let k = 1; k < 10; k++) if (r.logits[k] > r.logits[best]) best = k;
  rows.forEach((row, k) => {
    const p = empty ? 0 : r.probs[k];
    row.fill.style.width = (100 * p).toFixed(1) + "%";
    row.pct.textContent = empty ? "" : (100 * p).toFixed(1) + "%";
    for (const el of [row.label, row.bar, row.pct]) el.classList.toggle("best", !empty && k === best);
  });
  document.getElementById("guess").textContent = empty ? "·" : best;
  timing.textContent = empty ? "" : "forward pass: " + ms.toFixed(1) + " ms (this call, with its copying)";
  return { input: x, logits: r.logits, probs: r.probs, class: empty ? -1 : best };
}

// bench times n forward passes of the last input inside the wasm module
// and returns the milliseconds per pass.
function bench(n) {
  const t0 = performance.now();
  globalThis.digits.bench(n);
  return (performance.now() - t0) / n;
}

globalThis.digitsPage = { predictNow, bench, input28, clear: () => { clearPad(); return predictNow(); }, ready: false };
globalThis.digitsReady = () => {
  ready = true;
  globalThis.digitsPage.ready = true;
  status.textContent = "ready";
  predictNow();
};
const go = new Go();
WebAssembly.instantiateStreaming(fetch("digits.wasm"), go.importObject)
  .then(r => go.run(r.instance))
  .catch(err => { status.textContent = "could not load digits.wasm: " + err; });
