// The live page: the browser's camera → frames over a WebSocket → faces drawn on a canvas.
// One frame is in flight at a time, so a slow network or server never builds a queue: the next frame is
// grabbed only when the last answer is back (the server also keeps only the newest frame it has).
"use strict";

const $ = (id) => document.getElementById(id);
const view = $("view"), ctx = view.getContext("2d");
const grab = document.createElement("canvas"), grabCtx = grab.getContext("2d");
const video = document.createElement("video");
video.muted = true;
video.playsInline = true;

const live = {
  ws: null, stream: null, seq: 0, inFlight: null, sentAt: new Map(),
  faces: [], frameW: 640, frameH: 480, selectedId: null,
  rtt: 0, fps: 0, replies: [], recording: null, started: 0, firstSeq: null, notice: null, barsFace: undefined,
};

function showMessage(lines, hint) {
  const m = $("message");
  m.hidden = !lines;
  if (lines) m.innerHTML = lines.map((l) => `<p>${l}</p>`).join("") + (hint ? `<p class="hint">${hint}</p>` : "");
}

function status(text) { $("status").textContent = text; }

// A confirmation (a snapshot or recording saved) stays on the status line for a few seconds, whatever the
// replies that come meanwhile; a recording in progress shows its count instead.
const NOTICE_MS = 6000;
function notice(text) {
  live.notice = { text, until: performance.now() + NOTICE_MS };
  status(text);
}
function idleStatus() {
  return live.notice && performance.now() < live.notice.until ? live.notice.text : "";
}

// The bars show the selected (or largest) face; they are redrawn only when that face's result is a new one
// (a reply, a click, a lost connection), not on every animation frame.
function showBars() {
  const face = emorec.shownFace(live.faces, live.selectedId);
  if (face === live.barsFace) return;
  live.barsFace = face;
  emorec.drawBars($("bars"), face);
}

function cameraError(e) {
  const name = e && e.name;
  if (name === "NotAllowedError" || name === "SecurityError")
    return ["Camera access was denied.", "Allow the camera for this page (the camera icon in the address bar), then reload. " +
      "You can still analyse files on the <a href=\"/upload\">Images &amp; videos</a> page."];
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError")
    return ["No camera found.", "Connect a webcam and reload, or analyse files on the <a href=\"/upload\">Images &amp; videos</a> page."];
  if (name === "NotReadableError" || name === "TrackStartError")
    return ["The camera is in use by another program.", "Close the other program (video call, camera app) and reload."];
  return [`The camera could not be started (${name || e}).`, "Reload to try again, or use the <a href=\"/upload\">Images &amp; videos</a> page."];
}

async function startCamera(deviceId) {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showMessage(["Browsers only allow the camera on localhost or over HTTPS."],
      `Open <b>http://127.0.0.1:${location.port || 80}/</b> on the machine running the server, or start it with ` +
      "<code>--cert</code> and <code>--key</code> to use it from other machines.");
    return false;
  }
  if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({
      video: deviceId ? { deviceId: { exact: deviceId }, width: 640, height: 480 } : { width: 640, height: 480 },
      audio: false,
    });
  } catch (e) {
    const [line, hint] = cameraError(e);
    showMessage([line], hint);
    return false;
  }
  video.srcObject = live.stream;
  await video.play();
  showMessage(null);
  await listCameras();
  return true;
}

async function listCameras() {
  const cams = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  const select = $("camera");
  $("camera-row").hidden = cams.length < 2;
  const current = live.stream && live.stream.getVideoTracks()[0].getSettings().deviceId;
  select.innerHTML = "";
  cams.forEach((c, i) => {
    const o = new Option(c.label || `Camera ${i + 1}`, c.deviceId);
    o.selected = c.deviceId === current;
    select.add(o);
  });
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/stream`;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { status("connected"); showMessage(null); sendFrame(); };
  ws.onmessage = (event) => onReply(JSON.parse(event.data));
  ws.onclose = () => {
    // Nothing on screen may look live while no answers come: boxes, bars and readout go, a message says why.
    live.inFlight = null;
    live.faces = [];
    live.fps = live.rtt = 0;
    live.replies = [];
    $("readout").textContent = "";
    showBars();
    status("");
    showMessage(["The connection to the emorec server was lost."],
      `Reconnecting… ${emorec.serveHint()}`);
    setTimeout(connect, 1000);
  };
  live.ws = ws;
}

function sendFrame() {
  if (!live.ws || live.ws.readyState !== WebSocket.OPEN || live.inFlight !== null || video.readyState < 2) {
    if (!live.inFlight) setTimeout(sendFrame, 30);
    return;
  }
  const w = video.videoWidth, h = video.videoHeight, scale = Math.min(1, 640 / w);
  grab.width = Math.round(w * scale);
  grab.height = Math.round(h * scale);
  grabCtx.drawImage(video, 0, 0, grab.width, grab.height);
  const seq = ++live.seq;
  live.inFlight = seq;
  grab.toBlob(async (blob) => {
    const body = new Uint8Array(4 + blob.size);
    new DataView(body.buffer).setUint32(0, seq, true);
    body.set(new Uint8Array(await blob.arrayBuffer()), 4);
    live.sentAt.set(seq, performance.now());
    if (live.ws.readyState === WebSocket.OPEN) live.ws.send(body);
    else live.inFlight = null;
  }, "image/jpeg", 0.85);
}

function onReply(msg) {
  if (msg.type === "faces" || msg.type === "error") {
    const now = performance.now(), sent = live.sentAt.get(msg.seq);
    live.sentAt.delete(msg.seq);
    if (sent !== undefined) live.rtt = live.rtt ? 0.8 * live.rtt + 0.2 * (now - sent) : now - sent;
    // frames/s: answers over the last 2 s of wall time (a mean of per-frame rates overstates uneven ones)
    live.replies.push(now);
    while (now - live.replies[0] > 2000) live.replies.shift();
    const span = now - live.replies[0];
    live.fps = span > 0 ? (live.replies.length - 1) * 1000 / span : 0;
    live.inFlight = null;
    if (msg.type === "faces") {
      live.faces = msg.faces;
      live.frameW = msg.width;
      live.frameH = msg.height;
      if (live.recording) {
        // Frame and time both from the start of the recording, as the window records a camera.
        if (live.firstSeq === null) live.firstSeq = msg.seq;
        live.recording.push(...emorec.csvRows(msg.seq - live.firstSeq, (now - live.started) / 1000, msg.faces));
      }
      status(live.recording ? `recording: ${live.recording.length} face rows` : idleStatus());
    } else {
      status(`server: ${msg.error}`);
    }
    $("readout").textContent = `${live.fps.toFixed(1)} frames/s · round trip ${live.rtt.toFixed(0)} ms · ` +
      `${live.faces.length} face${live.faces.length === 1 ? "" : "s"}`;
    showBars();
    // The next frame is a new one from the camera: never the same picture twice, so frames/s is never more
    // than the camera gives.
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => sendFrame());
    else sendFrame();
  }
}

function render() {
  if (video.readyState >= 2) {
    const w = video.videoWidth, h = video.videoHeight;
    if (view.width !== w || view.height !== h) { view.width = w; view.height = h; }
    const mirror = $("mirror").checked;
    ctx.save();
    if (mirror) { ctx.translate(w, 0); ctx.scale(-1, 1); }
    ctx.drawImage(video, 0, 0, w, h);
    ctx.restore();
    const scale = w / live.frameW;
    emorec.drawFaces(ctx, live.faces, scale, live.selectedId, mirror ? live.frameW : 0);
    $("snapshot").disabled = $("record").disabled = false;
  }
  requestAnimationFrame(render);
}

view.addEventListener("click", (e) => {
  const r = view.getBoundingClientRect(), mirror = $("mirror").checked;
  let x = ((e.clientX - r.left) / r.width) * live.frameW;
  const y = ((e.clientY - r.top) / r.height) * live.frameH;
  if (mirror) x = live.frameW - x;
  const hit = live.faces.find((f) => x >= f.box[0] && x <= f.box[0] + f.box[2] && y >= f.box[1] && y <= f.box[1] + f.box[3]);
  live.selectedId = hit ? hit.id : null;
  showBars();
});

$("snapshot").onclick = () => view.toBlob((b) => {
  const name = `emotions-${emorec.stamp()}.png`;
  emorec.download(b, name);
  notice(`snapshot saved: ${name} (in your downloads)`);
}, "image/png");

$("record").onclick = () => {
  const button = $("record");
  if (!live.recording) {
    live.recording = [];
    live.started = performance.now();
    live.firstSeq = null;
    button.textContent = "Stop recording";
    button.classList.add("on");
  } else {
    const rows = [emorec.info.csv_columns.join(","), ...live.recording];
    const name = `emotions-${emorec.stamp()}.csv`;
    emorec.download(new Blob([rows.join("\n") + "\n"], { type: "text/csv" }), name);
    notice(`recording saved: ${live.recording.length} face rows in ${name} (in your downloads)`);
    live.recording = null;
    button.textContent = "Record";
    button.classList.remove("on");
  }
};

$("camera").onchange = (e) => startCamera(e.target.value);

(async () => {
  try {
    await emorec.load();
  } catch (e) {
    showMessage(["The emorec server cannot be reached."], `${emorec.escape(e.message)}. ${emorec.serveHint()}`);
    return;
  }
  showBars();
  if (await startCamera()) {
    connect();
    requestAnimationFrame(render);
  }
})();
