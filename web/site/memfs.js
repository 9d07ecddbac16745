// memfs: files held in memory, for the playground's wasm to read as if
// from disk (a model's csv("file.csv") data). Load it after wasm_exec.js,
// whose stand-in for Node's fs answers every call but writes to the
// console with ENOSYS: memfs answers open, stat, fstat, lstat, read and
// close for the files in globalThis.memfs.files (name → Uint8Array), a
// relative name, with or without "./".
"use strict";
(() => {
  const fs = globalThis.fs;
  const files = {};
  const open = {};
  let nextFD = 100;
  const err = code => Object.assign(new Error(code), { code });
  const norm = p => p.replace(/^(\.\/)+/, "");
  const stat = data => ({
    dev: 0, ino: 0, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, size: data.length, blksize: 4096,
    blocks: Math.ceil(data.length / 512), atimeMs: 0, mtimeMs: 0, ctimeMs: 0, isDirectory: () => false,
  });
  const byPath = (path, cb, f) => {
    const data = files[norm(path)];
    if (data === undefined) cb(err("ENOENT"));
    else f(data);
  };
  fs.open = (path, flags, mode, cb) => {
    if (flags !== 0) return cb(err("EROFS"));
    byPath(path, cb, data => { const fd = nextFD++; open[fd] = { data, pos: 0 }; cb(null, fd); });
  };
  fs.stat = fs.lstat = (path, cb) => byPath(path, cb, data => cb(null, stat(data)));
  const origFstat = fs.fstat, origClose = fs.close, origRead = fs.read;
  fs.fstat = (fd, cb) => open[fd] ? cb(null, stat(open[fd].data)) : origFstat(fd, cb);
  fs.close = (fd, cb) => { if (open[fd]) { delete open[fd]; cb(null); } else origClose(fd, cb); };
  fs.read = (fd, buf, off, len, pos, cb) => {
    const f = open[fd];
    if (!f) return origRead(fd, buf, off, len, pos, cb);
    const at = pos === null ? f.pos : pos;
    const n = Math.max(0, Math.min(len, f.data.length - at));
    buf.set(f.data.subarray(at, at + n), off);
    if (pos === null) f.pos += n;
    cb(null, n);
  };
  globalThis.memfs = {
    files,
    set(name, text) { files[norm(name)] = new TextEncoder().encode(text); },
    clear() { for (const k in files) delete files[k]; },
  };
})();
