// The playground's trainer: its own instance of playground.wasm, so that
// training does not stop the page. It takes {src, files} (the model and
// the data files by name), posts {kind, line} for each line nnc run
// prints, then {done: result}.
"use strict";
importScripts("wasm_exec.js", "memfs.js");
const go = new Go();
const loaded = WebAssembly.instantiateStreaming(fetch("playground.wasm"), go.importObject).then(r => {
  go.run(r.instance);
});
onmessage = async e => {
  await loaded;
  memfs.clear();
  for (const [name, text] of Object.entries(e.data.files || {})) memfs.set(name, text);
  const result = globalThis.nnc.train(e.data.src, (kind, line) => postMessage({ kind, line }));
  postMessage({ done: result });
};
