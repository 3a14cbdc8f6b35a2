// convgrad's interactive page: step through the overlays of one convolution layer.
// Data: #convgrad-json is the JSON document of `--json --overlays all` (numbers as computed);
// #convgrad-view holds every number as the terminal shows it (display text, no float noise),
// arrays canonical (N, C, *spatial), A_prev and dA_prev padded. No number is formatted here.
"use strict";
(function () {
  const doc = JSON.parse(document.getElementById("convgrad-json").textContent);
  const view = JSON.parse(document.getElementById("convgrad-view").textContent);
  const g = view.geom;
  const arrays = view.arrays;
  const backwardMade = view.command === "backward";
  const D = g.dims;
  const prod = (xs) => xs.reduce((a, b) => a * b, 1);
  const P = prod(g.padded), K = prod(g.kernel), O = prod(g.output);
  const Cg = g.C_in / g.groups, perGroup = g.C_out / g.groups;
  const shown = view.shown;
  const LIST_MAX = 200;
  const CELLS_MAX = 40000; // an array of one sample with more entries is not drawn (the browser would crawl)

  // -- indices and labels ------------------------------------------------------------------
  function unravel(flat, shape) {
    const out = new Array(shape.length);
    for (let d = shape.length - 1; d >= 0; d--) { out[d] = flat % shape[d]; flat = Math.floor(flat / shape[d]); }
    return out;
  }
  function ravel(index, shape) {
    let flat = 0;
    for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + index[d];
    return flat;
  }
  function label(name, index) { return index.length ? name + "[" + index.join(",") + "]" : name; }
  function activationLabel(name, n, c, spatial) {
    const f = view.form;
    if (f.kind === "bare") return label(name, spatial);
    const inner = f.channels_last ? spatial.concat([c]) : [c].concat(spatial);
    return label(name, f.kind === "unbatched" ? inner : [n].concat(inner));
  }
  function kernelLabel(name, co, ci, taps) {
    const f = view.form;
    if (f.kind === "bare") return label(name, taps);
    return label(name, f.channels_last ? taps.concat([ci, co]) : [co, ci].concat(taps));
  }
  function biasLabel(name, co) { return view.form.kind === "bare" ? name : label(name, [co]); }
  const padFlat = (n, c, sp) => (n * g.C_in + c) * P + ravel(sp, g.padded);
  function interiorOf(sp) { return sp.map((v, d) => v - g.pad_before[d]); }
  function inInput(sp) { return sp.every((v, d) => v >= g.pad_before[d] && v < g.pad_before[d] + g.input[d]); }
  function aLabel(name, n, c, sp) { return inInput(sp) ? activationLabel(name, n, c, interiorOf(sp)) : "padding"; }
  const paren = (t) => (t.startsWith("-") ? "(" + t + ")" : t);

  // -- overlays ----------------------------------------------------------------------------
  const ov = doc.overlays; // n, c_out, position, window_start: as in the JSON
  function firstChannel(co) { return Math.floor(co / perGroup) * Cg; }
  function tapPosition(o, t) { return t.map((v, d) => ov[o].window_start[d] + g.pad_before[d] + v * g.dilation[d]); }
  function kernelTap(t) { return g.flip ? t.map((v, d) => g.kernel[d] - 1 - v) : t; }
  function tapOf(o, sp) { // the tap of overlay o that lands on padded position sp, or null
    const t = new Array(D);
    for (let d = 0; d < D; d++) {
      const off = sp[d] - ov[o].window_start[d] - g.pad_before[d];
      if (off < 0 || off % g.dilation[d] !== 0 || off / g.dilation[d] >= g.kernel[d]) return null;
      t[d] = off / g.dilation[d];
    }
    return t;
  }
  const zText = (o) => view.overlays[o][0];

  // -- state -------------------------------------------------------------------------------
  const state = { step: 1, backward: backwardMade, sample: shown ? ov[0].n : 0, channel: -1, filter: -1,
                  pinned: null, timer: null };
  const cells = {}; // key -> {flat: td}
  let marked = [];
  let touched = [];
  // running totals after the current step, as display text
  const run = backwardMade ? { W: new Array(arrays.W.length).fill("0"), b: new Array(g.C_out).fill("0"),
                               A: new Array(arrays.A_pad.length).fill("0"), upTo: 0 } : null;

  function advance(to) { // running totals after overlays 1..to
    if (to < run.upTo) { run.W.fill("0"); run.b.fill("0"); run.A.fill("0"); run.upTo = 0; }
    for (let o = run.upTo; o < to; o++) {
      const data = view.overlays[o], co = ov[o].c_out, c0 = firstChannel(co);
      const rdW = data[5];
      for (let j = 0; j < rdW.length; j++) run.W[co * Cg * K + j] = rdW[j];
      run.b[co] = data[6];
      const rdA = data[7];
      for (let ci = 0; ci < Cg; ci++) for (let tf = 0; tf < K; tf++) {
        const sp = tapPosition(o, unravel(tf, g.kernel));
        run.A[padFlat(ov[o].n, c0 + ci, sp)] = rdA[ci * K + tf];
      }
    }
    run.upTo = to;
  }

  // -- drawing grids -----------------------------------------------------------------------
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // one spatial map (1-D: a row, 2-D: a grid, 3-D and up: 2-D slices); cell(spatialIndex) -> td
  function spatialMap(shape, cell) {
    const rows = shape.length >= 2 ? shape[shape.length - 2] : 1;
    const cols = shape[shape.length - 1];
    const lead = shape.slice(0, Math.max(0, shape.length - 2));
    const box = el("div", { class: "slices" });
    for (let s = 0; s < prod(lead); s++) {
      const li = unravel(s, lead);
      const wrap = el("div");
      if (lead.length) wrap.appendChild(el("div", { class: "label" }, "slice [" + li.join(", ") + ", :, :]"));
      const table = el("table", { class: "grid" });
      for (let r = 0; r < rows; r++) {
        const tr = el("tr");
        for (let c = 0; c < cols; c++) tr.appendChild(cell(shape.length >= 2 ? li.concat([r, c]) : [c]));
        table.appendChild(tr);
      }
      wrap.appendChild(table);
      box.appendChild(wrap);
    }
    return box;
  }
  function td(key, flat, text, title, cls) {
    const e = el("td", { "data-a": key, "data-i": String(flat), title: title }, text);
    if (cls) e.className = cls;
    cells[key][flat] = e;
    return e;
  }
  function section(key, title, backwardOnly) {
    const s = el("div", { class: "array" + (backwardOnly ? " backward-only" : ""), id: "grid-" + key });
    s.appendChild(el("h2", null, title));
    const maps = el("div", { class: "maps" });
    s.appendChild(maps);
    cells[key] = {};
    return maps;
  }
  function tooBig(maps, count) {
    if (count <= CELLS_MAX) return false;
    maps.appendChild(el("p", { class: "note" }, count.toLocaleString("en") + " entries: too many to draw here; the totals below and `--json` have them all."));
    return true;
  }
  function map(maps, caption, kind, index) {
    const m = el("div", { class: "map", "data-kind": kind, "data-index": String(index) });
    if (caption) m.appendChild(el("div", { class: "label" }, caption));
    maps.appendChild(m);
    return m;
  }
  const leftovers = view.audits.leftovers;
  function isLeftover(sp) {
    return leftovers.some((l) => inInput(sp) && l.indices.includes(sp[l.axis] - g.pad_before[l.axis]));
  }
  function activationGrid(key, name, texts, n) {
    const maps = section(key, name === "A_prev" ? "A_prev (padded, sample " + n + ")" : "dA_prev so far (" + (P > prod(g.input) ? "padding kept, " : "") + "sample " + n + ")", key === "dA");
    if (tooBig(maps, g.C_in * P)) return maps.parentNode;
    for (let c = 0; c < g.C_in; c++) {
      const m = map(maps, g.C_in > 1 ? "channel " + c : "", "channel", c);
      m.appendChild(spatialMap(g.padded, (sp) => {
        const flat = padFlat(n, c, sp);
        const inside = inInput(sp);
        let cls = inside ? "" : "pad";
        if (!inside && key === "dA" && view.audits.crop !== null) cls += " crop";
        if (isLeftover(sp)) cls += " left";
        const title = inside ? activationLabel(name, n, c, interiorOf(sp)) : name === "A_prev" ? "padding" : "padding (discarded)";
        return td(key, flat, texts[flat], title, cls.trim());
      }));
    }
    return maps.parentNode;
  }
  function outputGrid(key, name, texts, n) {
    const maps = section(key, name + " (sample " + n + ")", key === "dZ");
    if (tooBig(maps, g.C_out * O)) return maps.parentNode;
    for (let co = 0; co < g.C_out; co++) {
      const m = map(maps, g.C_out > 1 ? "filter " + co : "", "filter", co);
      m.appendChild(spatialMap(g.output, (pos) => {
        const flat = (n * g.C_out + co) * O + ravel(pos, g.output);
        return td(key, flat, texts[flat], activationLabel(name, n, co, pos));
      }));
    }
    return maps.parentNode;
  }
  function kernelGrid(key, name, texts, title) {
    const maps = section(key, title, key === "dW");
    if (tooBig(maps, g.C_out * Cg * K)) return maps.parentNode;
    for (let co = 0; co < g.C_out; co++) for (let ci = 0; ci < Cg; ci++) {
      const caption = g.C_out * Cg > 1 ? "filter " + co + ", channel " + (firstChannel(co) + ci) : "";
      const m = map(maps, caption, "filter", co);
      m.setAttribute("data-channel", String(firstChannel(co) + ci));
      m.appendChild(spatialMap(g.kernel, (t) => {
        const flat = (co * Cg + ci) * K + ravel(t, g.kernel);
        return td(key, flat, texts[flat], kernelLabel(name, co, ci, t));
      }));
    }
    return maps.parentNode;
  }
  function biasGrid(key, name, texts, title) {
    const maps = section(key, title, key === "db");
    const m = map(maps, "", "bias", 0);
    m.appendChild(spatialMap([g.C_out], (i) => td(key, i[0], texts[i[0]], biasLabel(name, i[0]))));
    return maps.parentNode;
  }

  function drawGrids() {
    const host = document.getElementById("grids");
    host.textContent = "";
    const n = state.sample;
    host.appendChild(activationGrid("A", "A_prev", arrays.A_pad, n));
    host.appendChild(kernelGrid("W", "W", arrays.W, "W"));
    if (arrays.b) host.appendChild(biasGrid("b", "b", arrays.b, "b"));
    host.appendChild(outputGrid("Z", "Z", arrays.Z, n));
    if (backwardMade) {
      host.appendChild(outputGrid("dZ", "dZ", arrays.dZ, n));
      host.appendChild(kernelGrid("dW", "dW", run.W, "dW so far"));
      host.appendChild(biasGrid("db", "db", run.b, "db so far"));
      host.appendChild(activationGrid("dA", "dA_prev", run.A, n));
    }
    filterMaps();
    marked = [];
    touched = [];
  }
  function filterMaps() {
    document.querySelectorAll("#grids .map").forEach((m) => {
      const kind = m.getAttribute("data-kind"), index = Number(m.getAttribute("data-index"));
      let hide = false;
      if (kind === "channel" && state.channel >= 0) hide = index !== state.channel;
      if (kind === "filter" && state.filter >= 0) hide = index !== state.filter;
      if (m.hasAttribute("data-channel") && state.channel >= 0) hide = hide || Number(m.getAttribute("data-channel")) !== state.channel;
      m.style.display = hide ? "none" : "";
    });
  }

  // -- one step ----------------------------------------------------------------------------
  function mark(key, flat, cls) {
    const e = cells[key] && cells[key][flat];
    if (e) { e.classList.add(cls); marked.push([e, cls]); }
  }
  function nested(texts, shape, offset) { // display texts (C order) as nested brackets
    if (!shape.length) return texts[offset || 0];
    const inner = prod(shape.slice(1));
    const parts = [];
    for (let i = 0; i < shape[0]; i++) parts.push(nested(texts, shape.slice(1), (offset || 0) + i * inner));
    return "[" + parts.join(", ") + "]";
  }
  function windowWords(o) {
    const names = D === 1 ? ["positions"] : D === 2 ? ["rows", "cols"] : D === 3 ? ["depth", "rows", "cols"] : null;
    return ov[o].window_start.map((s, d) => {
      const stop = s + g.dilation[d] * (g.kernel[d] - 1);
      const span = stop !== s ? s + ".." + stop : String(s);
      return (names ? names[d] : "axis " + d) + " " + span + (g.dilation[d] !== 1 && g.kernel[d] > 1 ? " step " + g.dilation[d] : "");
    }).join(", ");
  }
  function windowShape() { return Cg > 1 ? [Cg].concat(g.kernel) : g.kernel; }

  function setStep(k) {
    if (!shown) return;
    k = Math.max(1, Math.min(shown, k));
    state.step = k;
    const o = k - 1, n = ov[o].n, co = ov[o].c_out, c0 = firstChannel(co);
    if (n !== state.sample) { state.sample = n; document.getElementById("sample").value = String(n); drawGrids(); }
    for (const [e, cls] of marked) e.classList.remove(cls);
    marked = [];
    if (run) { advance(k); refreshRunning(); }
    for (let ci = 0; ci < Cg; ci++) for (let tf = 0; tf < K; tf++) {
      const t = unravel(tf, g.kernel);
      const sp = tapPosition(o, t);
      mark("A", padFlat(n, c0 + ci, sp), "win");
      mark("W", (co * Cg + ci) * K + tf, "ker");
      if (state.backward) {
        mark("dW", (co * Cg + ci) * K + tf, "changed");
        mark("dA", padFlat(n, c0 + ci, sp), "changed");
      }
    }
    mark("Z", o, "cur");
    mark("dZ", o, "cur");
    if (arrays.b) mark("b", co, "ker");
    if (state.backward) mark("db", co, "changed");
    describeStep(o);
    document.getElementById("slider").value = String(k);
    document.getElementById("counter").textContent = "overlay " + k + " of " + view.overlay_count;
  }
  function refreshRunning() {
    for (const [key, texts] of [["dW", run.W], ["db", run.b], ["dA", run.A]]) {
      const cs = cells[key];
      for (const flat in cs) if (cs[flat].textContent !== texts[flat]) cs[flat].textContent = texts[flat];
    }
  }
  function line(parent, label, text, cls) {
    const p = el("p");
    p.appendChild(el("b", null, label));
    p.appendChild(el("span", { class: "formula" + (cls ? " " + cls : "") }, text));
    parent.appendChild(p);
    return p;
  }
  function describeStep(o) {
    const host = document.getElementById("step");
    host.textContent = "";
    const n = ov[o].n, co = ov[o].c_out, pos = ov[o].position;
    const who = (g.N > 1 ? "sample " + n + ", " : "") + (g.C_out > 1 ? "filter " + co + ", " : "");
    line(host, "Overlay " + (o + 1) + ": ", who + "output position " + (pos.length === 1 ? pos[0] : "(" + pos.join(", ") + ")") + "; window on A_prev: " + windowWords(o));
    line(host, activationLabel("Z", n, co, pos) + " = ", zText(o), "zformula");
    if (!state.backward) return;
    const d = view.overlays[o];
    const ws = windowShape();
    line(host, activationLabel("dZ", n, co, pos) + " = ", d[1], "dz");
    line(host, "dW" + (g.C_out > 1 ? "[" + co + "]" : "") + " += dZ·A_slice = ", nested(d[2], ws) + "   →  dW so far " + nested(d[5], ws), "dwshare");
    line(host, biasLabel("db", co) + " += dZ = ", d[3] + "   →  db so far " + d[6], "dbshare");
    const share = d[4].map((t, j) => (inInput(tapPosition(o, unravel(j % K, g.kernel))) ? t : t + " (x)"));
    line(host, "dA_prev += dZ·W on the window = ", nested(share, ws) + "   →  on the window so far " + nested(d[7], ws), "dashare");
    if (share.some((t) => t.endsWith("(x)"))) host.appendChild(el("p", { class: "hint" }, "(x): lands in the padding and is discarded from dA_prev"));
    if (o + 1 === view.overlay_count) host.appendChild(el("p", { class: "hint" }, "Last overlay: the running totals are now the totals."));
  }

  // -- the --cell view: every overlay that touched one entry ----------------------------------
  function clearTouched() { for (const e of touched) e.classList.remove("touch", "pick"); touched = []; }
  function touch(key, flat, cls) {
    const e = cells[key] && cells[key][flat];
    if (e) { e.classList.add(cls); touched.push(e); }
  }
  function explainCell(key, flat) {
    const info = document.getElementById("info");
    info.textContent = "";
    clearTouched();
    touch(key, flat, "pick");
    const title = cells[key][flat].title;
    const terms = [];
    let header = "", total = "";
    if (key === "A" || key === "dA") {
      const [n, c, ...sp] = unravel(flat, [g.N, g.C_in].concat(g.padded));
      const back = key === "dA";
      for (let o = 0; o < shown; o++) {
        if (ov[o].n !== n) continue;
        const c0 = firstChannel(ov[o].c_out);
        if (c < c0 || c >= c0 + Cg) continue;
        const t = tapOf(o, sp);
        if (!t) continue;
        const ci = c - c0, wt = kernelTap(t), wflat = (ov[o].c_out * Cg + ci) * K + ravel(wt, g.kernel);
        const wl = kernelLabel("W", ov[o].c_out, ci, wt);
        const zl = activationLabel(back ? "dZ" : "Z", n, ov[o].c_out, ov[o].position);
        if (back) {
          const share = view.overlays[o][4][ci * K + ravel(t, g.kernel)];
          terms.push([o, zl + "·" + wl + " = " + paren(view.overlays[o][1]) + "·" + paren(arrays.W[wflat]) + " = " + share]);
        } else {
          terms.push([o, wl + "·" + title + " = " + paren(arrays.W[wflat]) + "·" + paren(arrays.A_pad[flat]) + "  in " + zl]);
        }
      }
      header = back ? title + ": the sum of dZ·W over the overlays whose window covers it" : title + " = " + arrays.A_pad[flat] + " is read by these overlays";
      if (back) total = "total = " + arrays.dA_pad[flat] + (inInput(sp) ? "" : ", discarded: it lands in the padding");
    } else if (key === "W" || key === "dW") {
      const [co, ci, ...t] = unravel(flat, [g.C_out, Cg].concat(g.kernel));
      const back = key === "dW";
      const at = kernelTap(t); // the tap of the window that meets this weight
      for (let o = 0; o < shown; o++) {
        if (ov[o].c_out !== co) continue;
        const sp = tapPosition(o, at), n = ov[o].n, c = firstChannel(co) + ci;
        const al = aLabel("A_prev", n, c, sp), av = arrays.A_pad[padFlat(n, c, sp)];
        if (back) {
          const zl = activationLabel("dZ", n, co, ov[o].position);
          terms.push([o, zl + "·" + al + " = " + paren(view.overlays[o][1]) + "·" + paren(av) + " = " + view.overlays[o][2][ci * K + ravel(at, g.kernel)]]);
        } else {
          terms.push([o, title + "·" + al + " = " + paren(arrays.W[flat]) + "·" + paren(av) + "  in " + activationLabel("Z", n, co, ov[o].position)]);
        }
      }
      header = back ? title + ": the sum of dZ·A_prev over the overlays of filter " + co : title + " = " + arrays.W[flat] + " is used by every overlay of filter " + co;
      if (back) total = "total = " + arrays.dW[flat];
    } else if (key === "Z" || key === "dZ") {
      if (flat >= shown) { info.appendChild(el("p", null, title + ": its overlay is past the ones this page holds.")); return; }
      info.appendChild(el("p", { class: "formula" }, activationLabel("Z", ov[flat].n, ov[flat].c_out, ov[flat].position) + " = " + zText(flat)));
      if (key === "dZ") info.appendChild(el("p", { class: "formula" }, title + " = " + arrays.dZ[flat]));
      touch("Z", flat, "touch");
      return;
    } else {
      info.appendChild(el("p", { class: "formula" }, title + " = " + cells[key][flat].textContent));
      return;
    }
    info.appendChild(el("p", { class: "formula", id: "info-header" }, header));
    const list = el("ul", { id: "info-terms" });
    for (const [o, text] of terms.slice(0, LIST_MAX)) {
      const li = el("li", { "data-overlay": String(o + 1) }, "#" + (o + 1) + "  " + text);
      li.className = "formula";
      list.appendChild(li);
      touch("Z", o, "touch");
    }
    for (const [o] of terms.slice(LIST_MAX)) touch("Z", o, "touch");
    info.appendChild(list);
    const more = terms.length > LIST_MAX ? " (the first " + LIST_MAX + " listed)" : "";
    info.appendChild(el("p", { class: "hint" }, terms.length + " overlay" + (terms.length === 1 ? "" : "s") + " touched it" + more + "; the list is numbered by overlay, and their Z cells are marked."));
    if (total) info.appendChild(el("p", { class: "formula", id: "info-total" }, total));
  }

  // -- static parts ------------------------------------------------------------------------
  function drawAudits() {
    const host = document.getElementById("audits");
    const items = [];
    const names = D === 1 ? ["positions"] : D === 2 ? ["rows", "cols"] : D === 3 ? ["depth", "rows", "cols"] : null;
    for (const l of leftovers) items.push(["left", "Stride leftover: " + (names ? names[l.axis] : "axis " + l.axis) + " " + l.indices.join(", ") + " of A_prev are read by no window (" + l.why + "); their dA_prev is 0."]);
    if (view.audits.crop !== null && backwardMade) items.push(["pad", "Padding crop: the gradient that lands on the padding (struck through in dA_prev) is discarded, |sum| " + view.audits.crop + "."]);
    if (g.pad_before.some((b, d) => b > 0 || g.padded[d] > g.input[d])) items.push(["pad", "Dashed cells are padding (zeros)."]);
    items.push(["win", "The current overlay's window on A_prev and its filter."]);
    items.push(["touch", "Overlays that touched the entry under the pointer."]);
    host.appendChild(el("h2", null, "Legend and audits"));
    const ul = el("ul");
    for (const [cls, text] of items) {
      const li = el("li");
      li.appendChild(el("span", { class: "swatch " + cls }));
      li.appendChild(document.createTextNode(" " + text));
      ul.appendChild(li);
    }
    host.appendChild(ul);
  }
  function drawTotals() {
    const host = document.getElementById("totals");
    host.appendChild(el("h2", null, "Totals"));
    const table = el("table");
    const shapes = doc.config.shapes;
    const f = view.form;
    function userToCanon(user, kernel) { // a user-form index -> canonical index
      if (f.kind === "bare") return [0, 0].concat(user);
      if (kernel) return f.channels_last ? [user[user.length - 1], user[user.length - 2]].concat(user.slice(0, -2)) : user;
      const u = f.kind === "unbatched" ? [0].concat(user) : user;
      return f.channels_last ? [u[0], u[u.length - 1]].concat(u.slice(1, -1)) : u;
    }
    function userNested(shape, at) {
      const walk = (prefix) => prefix.length === shape.length ? at(prefix)
        : "[" + Array.from({ length: shape[prefix.length] }, (_, i) => walk(prefix.concat([i]))).join(", ") + "]";
      return walk([]);
    }
    const rows = [["Z", userNested(shapes.Z, (u) => { const c = userToCanon(u, false); return arrays.Z[ravel(c, [g.N, g.C_out].concat(g.output))]; })]];
    if (backwardMade) {
      rows.push(["dW", userNested(shapes.dW, (u) => arrays.dW[ravel(userToCanon(u, true), [g.C_out, Cg].concat(g.kernel))])]);
      rows.push(["db", userNested(shapes.db, (u) => arrays.db[u.length ? u[0] : 0])]);
      rows.push(["dA_prev", userNested(shapes.dA_prev, (u) => { const c = userToCanon(u, false); return arrays.dA_pad[padFlat(c[0], c[1], c.slice(2).map((v, d) => v + g.pad_before[d]))]; })]);
    }
    for (const [name, text] of rows) {
      const tr = el("tr", { class: name.startsWith("d") ? "backward-only" : "" });
      tr.appendChild(el("td", null, name));
      tr.appendChild(el("td", { class: "formula", id: "total-" + name }, text));
      table.appendChild(tr);
    }
    host.appendChild(table);
  }

  // -- controls ----------------------------------------------------------------------------
  function setMode(backward) {
    state.backward = backward && backwardMade;
    document.body.classList.toggle("forward", !state.backward);
    document.getElementById("mode-forward").setAttribute("aria-pressed", String(!state.backward));
    document.getElementById("mode-backward").setAttribute("aria-pressed", String(state.backward));
    setStep(state.step);
  }
  function play(on) {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    if (on) {
      if (state.step >= shown) setStep(1);
      state.timer = setInterval(() => { if (state.step >= shown) play(false); else setStep(state.step + 1); }, 800);
    }
    document.getElementById("play").textContent = state.timer ? "pause" : "play";
  }
  function options(select, count, word, all) {
    if (all) select.appendChild(el("option", { value: "-1" }, all));
    for (let i = 0; i < count; i++) select.appendChild(el("option", { value: String(i) }, word + " " + i));
  }
  function init() {
    document.getElementById("title").textContent = view.title + " · " + view.overlay_count + " overlay" + (view.overlay_count === 1 ? "" : "s");
    document.getElementById("config").textContent = "A_prev (" + doc.config.shapes.A_prev.join(", ") + ") · W (" + doc.config.shapes.W.join(", ") + ") · " + view.config + " → Z (" + doc.config.shapes.Z.join(", ") + ")";
    if (shown < view.overlay_count) {
      const cap = document.getElementById("cap");
      cap.hidden = false;
      cap.textContent = "This page holds overlays 1-" + shown + " of " + view.overlay_count + " (so that it stays responsive); Z cells of the others show no formula, and the running totals stop at overlay " + shown + ". The totals are complete. Every overlay is in `convgrad " + view.command + " --json --overlays all`.";
    }
    const nav = document.getElementById("controls");
    const sample = document.getElementById("sample");
    options(sample, g.N, "sample");
    if (g.N === 1) document.getElementById("sample-box").hidden = true;
    sample.addEventListener("change", () => { state.sample = Number(sample.value); drawGrids(); setStep(state.step); });
    if (g.C_in > 1) {
      const s = el("select", { id: "channel" }); options(s, g.C_in, "channel", "all channels");
      s.addEventListener("change", () => { state.channel = Number(s.value); filterMaps(); });
      const l = el("label", null, "input "); l.appendChild(s); nav.insertBefore(l, document.getElementById("prev"));
    }
    if (g.C_out > 1) {
      const s = el("select", { id: "filter" }); options(s, g.C_out, "filter", "all filters");
      s.addEventListener("change", () => { state.filter = Number(s.value); filterMaps(); });
      const l = el("label", null, "output "); l.appendChild(s); nav.insertBefore(l, document.getElementById("prev"));
    }
    const slider = document.getElementById("slider");
    slider.max = String(Math.max(1, shown));
    slider.addEventListener("input", () => setStep(Number(slider.value)));
    document.getElementById("prev").addEventListener("click", () => setStep(state.step - 1));
    document.getElementById("next").addEventListener("click", () => setStep(state.step + 1));
    document.getElementById("play").addEventListener("click", () => play(!state.timer));
    document.getElementById("mode-forward").addEventListener("click", () => setMode(false));
    const bw = document.getElementById("mode-backward");
    bw.addEventListener("click", () => setMode(true));
    if (!backwardMade) { bw.disabled = true; bw.title = "made by convgrad forward: run convgrad backward --html for the gradients"; }
    document.addEventListener("keydown", (e) => {
      if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return; // they have their own keys
      if (e.target instanceof HTMLButtonElement && (e.key === " " || e.key === "Enter")) return; // presses the button
      if (e.key === "ArrowRight") setStep(state.step + 1);
      else if (e.key === "ArrowLeft") setStep(state.step - 1);
      else if (e.key === "Home") setStep(1);
      else if (e.key === "End") setStep(shown);
      else if (e.key === " ") play(!state.timer);
      else return;
      e.preventDefault();
    });
    const grids = document.getElementById("grids");
    const target = (e) => { const t = e.target.closest("td[data-a]"); return t && grids.contains(t) ? t : null; };
    grids.addEventListener("mouseover", (e) => {
      const t = target(e);
      if (t && state.pinned === null) explainCell(t.dataset.a, Number(t.dataset.i));
    });
    grids.addEventListener("click", (e) => {
      const t = target(e);
      if (!t) return;
      const key = t.dataset.a + ":" + t.dataset.i;
      state.pinned = state.pinned === key ? null : key;
      explainCell(t.dataset.a, Number(t.dataset.i));
    });
    drawAudits();
    drawTotals();
    drawGrids();
    setMode(backwardMade);
    if (!shown) document.getElementById("step").textContent = "No overlays.";
    document.body.setAttribute("data-ready", "true");
  }
  init();
})();
