// Shared by the live and upload pages: the server's classes, colours and video file types (defined once, in
// Python, and fetched from /api/health), drawing faces on a canvas, probability bars, CSV and download helpers.
"use strict";

const emorec = {
  info: null,

  async load() {
    const r = await fetch("/api/health");
    if (!r.ok) throw new Error(`the server answered ${r.status} to /api/health`);
    emorec.info = await r.json();
    return emorec.info;
  },

  // How the server was started, for "is it still running?" hints (known once /api/health has answered).
  serveHint() {
    return emorec.info ? `Is <code>${emorec.escape(emorec.info.serve_command)}</code> still running?`
      : "Is the emorec server still running?";
  },

  escape(text) {
    return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  },

  // Readable text on a colour: black on light colours, white on dark ones.
  textOn(hex) {
    const n = parseInt(hex.slice(1), 16);
    const lum = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
    return lum > 128 ? "#000" : "#fff";
  },

  // Faces (boxes in frame pixels) onto ctx, scaled by `scale`; `mirrorWidth` (frame width) mirrors boxes.
  drawFaces(ctx, faces, scale, selectedId, mirrorWidth) {
    const font = Math.max(13, Math.round(ctx.canvas.width / 36));
    ctx.font = `600 ${font}px system-ui, sans-serif`;
    ctx.textBaseline = "bottom";
    for (const f of faces) {
      let [x, y, w, h] = f.box;
      if (mirrorWidth) x = mirrorWidth - x - w;
      [x, y, w, h] = [x * scale, y * scale, w * scale, h * scale];
      const color = emorec.info.colors[f.label];
      ctx.lineWidth = f.id === selectedId ? 4 : 2.5;
      ctx.strokeStyle = color;
      ctx.strokeRect(x, y, w, h);
      const text = `${f.label} ${Math.round(100 * f.confidence)}%`;
      const tw = ctx.measureText(text).width + 10, th = font + 6;
      const ty = y - th >= 0 ? y - th : Math.min(ctx.canvas.height - th, y + h);
      ctx.fillStyle = color;
      ctx.fillRect(x - ctx.lineWidth / 2, ty, tw, th);
      ctx.fillStyle = emorec.textOn(color);
      ctx.fillText(text, x + 5 - ctx.lineWidth / 2, ty + th - 3);
    }
  },

  // One row per emotion in `el`: name, bar, percentage; `face` null shows empty bars.
  drawBars(el, face) {
    if (!el.childElementCount) {
      for (const name of emorec.info.classes) {
        const row = document.createElement("div");
        row.className = "bar";
        row.innerHTML = `<span class="name">${name}</span><span class="track"><span class="fill"></span></span>` +
          `<span class="pct">–</span>`;
        row.querySelector(".fill").style.background = emorec.info.colors[name];
        el.appendChild(row);
      }
    }
    emorec.info.classes.forEach((name, i) => {
      const row = el.children[i], p = face ? face.probs[name] : 0;
      row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
      row.querySelector(".pct").textContent = face ? `${Math.round(100 * p)}%` : "–";
      row.classList.toggle("top", !!face && face.label === name);
    });
  },

  // One CSV row per face, in the server's per-face CSV format (the window's recordings and analyze use it).
  csvRows(frame, timeS, faces) {
    return faces.map((f) => emorec.info.csv_columns.map((c) => {
      if (c === "frame") return frame;
      if (c === "time_s") return timeS.toFixed(3);
      if (c === "id") return f.id;
      if (c === "label") return f.label;
      if (c === "confidence") return f.confidence.toFixed(6);
      const box = { x: 0, y: 1, w: 2, h: 3 }[c];
      if (box !== undefined) return f.box[box];
      return f.probs[c].toFixed(6);
    }).join(","));
  },

  download(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  },

  stamp() {
    const d = new Date(), p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  },

  // The largest face, or the one with id `selectedId` while it is still there.
  shownFace(faces, selectedId) {
    return faces.find((f) => f.id === selectedId) ||
      faces.reduce((a, f) => (!a || f.box[2] * f.box[3] > a.box[2] * a.box[3] ? f : a), null);
  },
};
