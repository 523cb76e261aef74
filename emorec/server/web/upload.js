// The upload page: images are recognized at once (POST /api/recognize) and drawn here; videos become jobs
// (POST /api/jobs) whose progress is polled until their files (the same as `main.py analyze`) are ready.
"use strict";

const drop = document.getElementById("drop"), input = document.getElementById("files");
const results = document.getElementById("results");

// A video goes to /api/jobs; its name endings are the server's own list (from /api/health).
function isVideo(file) {
  const dot = file.name.lastIndexOf(".");
  const ending = dot < 0 ? "" : file.name.slice(dot).toLowerCase();
  return file.type.startsWith("video/") || emorec.info.video_extensions.includes(ending);
}

function card(file) {
  const el = document.createElement("div");
  el.className = "card";
  el.innerHTML = `<h3></h3><div class="body"></div><div class="summary"></div><div class="links"></div>`;
  el.querySelector("h3").textContent = file.name;
  results.prepend(el);
  return el;
}

function fail(el, text) {
  const s = el.querySelector(".summary");
  s.className = "summary error";
  s.textContent = text;
}

async function errorText(response) {
  try { return (await response.json()).error; } catch { return `the server answered ${response.status}`; }
}

function describe(faces) {
  if (!faces.length) return "no face found";
  return `${faces.length} face${faces.length === 1 ? "" : "s"}: ` +
    faces.map((f) => `${f.label} (${Math.round(100 * f.confidence)}% sure)`).join(", ");
}

async function recognizeImage(file) {
  const el = card(file);
  const response = await fetch("/api/recognize", { method: "POST", body: file });
  if (!response.ok) return fail(el, await errorText(response));
  const result = await response.json();
  const image = await createImageBitmap(file, { imageOrientation: "from-image" });
  const canvas = document.createElement("canvas");
  canvas.width = result.width;
  canvas.height = result.height;
  const c = canvas.getContext("2d");
  c.drawImage(image, 0, 0, result.width, result.height);
  emorec.drawFaces(c, result.faces, 1, null, 0);
  el.querySelector(".body").appendChild(canvas);
  el.querySelector(".summary").textContent = describe(result.faces);
  const link = document.createElement("a");
  link.href = "#";
  link.textContent = "download annotated PNG";
  link.onclick = (e) => {
    e.preventDefault();
    canvas.toBlob((b) => emorec.download(b, file.name.replace(/\.[^.]*$/, "") + "-annotated.png"), "image/png");
  };
  el.querySelector(".links").appendChild(link);
}

function uploadVideo(file, el, bar) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/jobs?name=${encodeURIComponent(file.name)}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) { bar.value = e.loaded / e.total; el.querySelector(".summary").textContent = `uploading… ${Math.round(100 * bar.value)} %`; }
    };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { body = { error: `the server answered ${xhr.status}` }; }
      resolve(xhr.status < 300 ? body : { error: body.error || `the server answered ${xhr.status}` });
    };
    xhr.onerror = () => resolve({ error: "the upload failed (connection lost)" });
    xhr.send(file);
  });
}

async function analyzeVideo(file) {
  const el = card(file);
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  el.querySelector(".body").appendChild(bar);
  const job = await uploadVideo(file, el, bar);
  if (job.error) { bar.remove(); return fail(el, job.error); }
  for (;;) {
    const response = await fetch(`/api/jobs/${job.id}`);
    if (!response.ok) { bar.remove(); return fail(el, await errorText(response)); }
    const state = await response.json();
    bar.value = state.progress || 0;
    el.querySelector(".summary").textContent = state.status === "running"
      ? `analysing… frame ${state.frames_done} of ${state.frames_total || "?"}` : state.status;
    if (state.status === "failed") { bar.remove(); return fail(el, state.error); }
    if (state.status === "done") {
      bar.remove();
      el.querySelector(".summary").textContent = state.summary;
      if (state.files.annotated) {     // H.264 mp4: plays here, and seeks (the server answers range requests)
        const video = document.createElement("video");
        video.src = state.files.annotated;
        video.controls = video.muted = video.playsInline = true;
        video.preload = "metadata";
        video.className = "annotated";
        el.querySelector(".body").appendChild(video);
      }
      if (state.files.timeline) {
        const img = document.createElement("img");
        img.src = state.files.timeline;
        img.alt = "timeline of the emotions in the video";
        el.querySelector(".body").appendChild(img);
      }
      for (const [name, url] of Object.entries(state.files)) {
        const a = document.createElement("a");
        a.href = url;
        a.download = "";
        a.textContent = name.replace("_", " ");
        el.querySelector(".links").appendChild(a);
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function handle(files) {
  for (const file of files) {
    const work = ready.then(() => (isVideo(file) ? analyzeVideo(file) : recognizeImage(file)));
    work.catch((e) => fail(card(file), `${e.message || e}`));
  }
}

drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); handle(e.dataTransfer.files); });
input.addEventListener("change", () => { handle(input.files); input.value = ""; });

const ready = emorec.load();   // the server's classes, colours and video types, which handle() needs
ready.then((info) => {          // which network answers uploads (serve --upload-model; else the live one)
  document.getElementById("model").textContent = `Model: ${info.upload_model}`;
}, (e) => {
  drop.innerHTML = `<p class="error">The emorec server cannot be reached (${emorec.escape(e.message)}). ${emorec.serveHint()}</p>`;
});
