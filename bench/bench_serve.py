"""The server under load, over loopback: the real `main.py serve` in a subprocess, fed 640×480 JPEG frames with
one face (the astronaut, JPEG quality 85 as the live page sends). Prints round-trip ms per frame (p50/p95) and
total frames/s for 1, 4 and 16 streaming clients (each a WebSocket with one frame in flight), the error count,
POST /api/recognize requests/s, the server's RSS before and after a soak of continuous streaming, and the
single-process frame loop (Recognizer() on the same decoded frame, in this process) to compare against, with
an in-process breakdown of what one streamed frame costs the server and the targets next to the figures.

    python bench/bench_serve.py [--model PATH] [--seconds 15] [--clients 1,4,16] [--post-seconds 10]
                                [--post-clients 4] [--soak-seconds 300] [--soak-clients 4] [--loop-seconds 10]

Talks only to 127.0.0.1 (proxies ignored); every phase is bounded in time (and frames per client); the server
is always stopped at the end, also on Ctrl-C or an error. The clients run in this process, on the same cores as
the server: their CPU share is printed with each row.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

import cv2
import numpy as np
from common import ROOT, frame_one_face, host_header, median_ms, network_cost

HEADER_BYTES = 4
REPLY_TIMEOUT_S = 10.0
MAX_FRAMES_PER_CLIENT = 200_000
TARGET_P50_MS = 15.0
TARGET_RATIO = 0.8
TARGET_RSS_MB = 50.0
TICK = os.sysconf("SC_CLK_TCK")


# ---- the server process --------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Server:
    """`main.py serve` on a free loopback port; stopped (terminate, then kill) by :meth:`stop`."""

    def __init__(self, model=None):
        python = ROOT / ".venv" / "bin" / "python"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench-serve-", suffix=".log")
        cmd = [str(python if python.exists() else sys.executable), "main.py", "serve", "--host", "127.0.0.1",
               "--port", str(self.port)] + (["--model", model] if model else [])
        # own session: a Ctrl-C reaches only this script, which then stops the server itself
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout=120.0):
        import httpx
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise SystemExit(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    r = http.get(self.base + "/api/health")
                    if r.status_code == 200:
                        return r.json()
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise SystemExit(f"the server did not answer /api/health within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n=3000):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-n:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


# ---- clients ---------------------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.rtt, self.server_ms = [], []
        self.error_replies = self.failed = self.wrong_faces = self.dropped = 0
        self.messages, self.per_client = [], []

    def fail(self, e):
        self.failed += 1
        if len(self.messages) < 5:
            self.messages.append(f"{type(e).__name__}: {e}"[:200])


async def stream_client(url, message_for, deadline, stats, compression="deflate"):
    """One WebSocket, one frame in flight: send, wait for the reply, send the next, until ``deadline``."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException
    try:
        async with connect(url, proxy=None, open_timeout=REPLY_TIMEOUT_S, close_timeout=2, max_size=2 ** 22,
                           compression=compression) as ws:
            seq = 0
            stats.per_client.append(0)
            me = len(stats.per_client) - 1
            while time.perf_counter() < deadline and seq < MAX_FRAMES_PER_CLIENT:
                seq += 1
                t0 = time.perf_counter()
                await ws.send(message_for(seq))
                reply = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
                rtt = (time.perf_counter() - t0) * 1e3
                if reply.get("type") != "faces" or reply.get("seq") != seq:
                    stats.error_replies += 1
                    if len(stats.messages) < 5:
                        stats.messages.append(str(reply)[:200])
                    continue
                stats.rtt.append(rtt)
                stats.per_client[me] += 1
                stats.server_ms.append(reply["ms"])
                stats.wrong_faces += len(reply["faces"]) != 1
                stats.dropped = max(stats.dropped, reply.get("dropped", 0))
    except (OSError, asyncio.TimeoutError, WebSocketException, ValueError) as e:
        stats.fail(e)


async def post_client(http, url, body, deadline, stats):
    import httpx
    while time.perf_counter() < deadline and len(stats.rtt) < MAX_FRAMES_PER_CLIENT:
        t0 = time.perf_counter()
        try:
            r = await http.post(url, content=body, headers={"content-type": "image/jpeg"})
        except httpx.HTTPError as e:
            stats.fail(e)
            await asyncio.sleep(0.1)
            continue
        rtt = (time.perf_counter() - t0) * 1e3
        if r.status_code != 200:
            stats.error_replies += 1
            if len(stats.messages) < 5:
                stats.messages.append(f"{r.status_code} {r.text[:150]}")
            continue
        reply = r.json()
        stats.rtt.append(rtt)
        stats.server_ms.append(reply["ms"])
        stats.wrong_faces += len(reply["faces"]) != 1


def measured(server_pid, run):
    """Run a phase (a coroutine factory): its wall seconds, the server's CPU seconds and this process's CPU %."""
    wall0, cpu0, own0 = time.perf_counter(), cpu_s(server_pid), time.process_time()
    result = asyncio.run(run())
    wall = time.perf_counter() - wall0
    return result, wall, cpu_s(server_pid) - cpu0, 100 * (time.process_time() - own0) / wall


def stream_phase(server, jpeg, clients, seconds, compression="deflate", rss_every=0.0):
    """``clients`` streaming clients for ``seconds``; optionally samples the server's RSS every ``rss_every`` s."""
    url = f"ws://127.0.0.1:{server.port}/api/stream"
    stats, samples = Stats(), []

    async def run():
        deadline = time.perf_counter() + seconds

        async def sampler():
            start = time.perf_counter()
            while True:
                samples.append(((time.perf_counter() - start), rss_mb(server.proc.pid)))
                await asyncio.sleep(rss_every)
        sampling = asyncio.create_task(sampler()) if rss_every else None
        await asyncio.gather(*(stream_client(url, lambda seq: seq.to_bytes(HEADER_BYTES, "little") + jpeg,
                                             deadline, stats, compression) for _ in range(clients)))
        if sampling:
            sampling.cancel()
    _, wall, server_cpu, own_cpu = measured(server.proc.pid, run)
    return {"stats": stats, "wall": wall, "server_cpu": server_cpu, "client_cpu": own_cpu, "rss": samples,
            "rss_end": rss_mb(server.proc.pid)}


def post_phase(server, jpeg, clients, seconds):
    import httpx
    stats = Stats()

    async def run():
        deadline = time.perf_counter() + seconds
        async with httpx.AsyncClient(trust_env=False, timeout=REPLY_TIMEOUT_S) as http:
            await asyncio.gather(*(post_client(http, server.base + "/api/recognize", jpeg, deadline, stats)
                                   for _ in range(clients)))
    _, wall, server_cpu, own_cpu = measured(server.proc.pid, run)
    return {"stats": stats, "wall": wall, "server_cpu": server_cpu, "client_cpu": own_cpu,
            "rss_end": rss_mb(server.proc.pid)}


def ping_rtt_ms(server, n=300):
    """WebSocket round trip with no recognition: text {"type": "ping"} → {"type": "pong"}, median ms."""
    from websockets.asyncio.client import connect

    async def run():
        async with connect(f"ws://127.0.0.1:{server.port}/api/stream", proxy=None, open_timeout=REPLY_TIMEOUT_S,
                           close_timeout=2) as ws:
            times = []
            for i in range(n + 20):
                t0 = time.perf_counter()
                await ws.send('{"type": "ping"}')
                await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S)
                if i >= 20:
                    times.append((time.perf_counter() - t0) * 1e3)
            return statistics.median(times), ws.response.headers.get("Sec-WebSocket-Extensions") or "none"
    return asyncio.run(run())


# ---- in-process references ---------------------------------------------------------------------------------------

def frame_loop(rec, frame, seconds):
    """Recognizer called on one decoded frame in a loop: frames/s, median ms, CPU ms per frame."""
    for _ in range(10):
        rec(frame)
    times, end, cpu0 = [], time.perf_counter() + seconds, time.process_time()
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        rec(frame)
        times.append(time.perf_counter() - t0)
    return len(times) / sum(times), 1e3 * statistics.median(times), 1e3 * (time.process_time() - cpu0) / len(times)


def deflate(data):
    """permessage-deflate as negotiated here (12-bit window; websockets' client defaults)."""
    c = zlib.compressobj(wbits=-12, memLevel=5)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


def breakdown(model, jpeg):
    """What the server does for one streamed frame, stage by stage, in this process (median ms, one at a time)."""
    from emorec.core.boxes import crop_faces
    from emorec.core.preprocess import as_gray_frame, flip_tta
    from emorec.server.app import _recognize_message
    from emorec.server.http import decode_image
    from emorec.server.options import ServeOptions
    from emorec.server.pool import EnginePool
    pool = EnginePool(model, 0)
    rec = pool.recognizer(ServeOptions().recognizer)
    frame = decode_image(jpeg)
    gray = as_gray_frame(frame)
    boxes = rec.boxes(gray)
    crops = crop_faces(gray, boxes)
    message = (1).to_bytes(HEADER_BYTES, "little") + jpeg
    reply = _recognize_message(rec, message)
    deflated = deflate(jpeg)
    return {
        "permessage-deflate: client compresses the JPEG": median_ms(lambda: deflate(jpeg)),
        "permessage-deflate: server inflates it": median_ms(lambda: zlib.decompressobj(-12).decompress(deflated)),
        "decode (server: PIL + EXIF + RGB→BGR)": median_ms(lambda: decode_image(jpeg)),
        "decode (cv2.imdecode, for comparison)": median_ms(lambda: cv2.imdecode(np.frombuffer(jpeg, np.uint8),
                                                                                cv2.IMREAD_COLOR)),
        "to gray": median_ms(lambda: as_gray_frame(frame)),
        "detect (Haar, one pool engine)": median_ms(lambda: pool.detect(gray)),
        "classify (face + mirror, 1 LiteRT thread)": median_ms(lambda: flip_tta(pool.classify, crops)),
        "whole recognizer (pool)": median_ms(lambda: rec(frame)),
        "JSON of the reply (as send_json)": median_ms(lambda: json.dumps(reply, separators=(",", ":"),
                                                                         ensure_ascii=False).encode()),
        "whole message → reply dict": median_ms(lambda: _recognize_message(rec, message)),
    }, pool.size


# ---- report --------------------------------------------------------------------------------------------------------

def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def row(name, r, count_name="frames"):
    s = r["stats"]
    n = len(s.rtt)
    errors = s.error_replies + s.failed
    spread = f"{min(s.per_client) / r['wall']:.1f}–{max(s.per_client) / r['wall']:.1f}" if s.per_client else "-"
    return (f"{name:22s} {n:6d} {n / r['wall']:7.1f} {spread:>9s} {pct(s.rtt, 50):7.2f} {pct(s.rtt, 95):7.2f} "
            f"{pct(s.server_ms, 50):7.2f} {errors:6d} {s.wrong_faces:6d} {100 * r['server_cpu'] / r['wall']:5.0f} % "
            f"{1e3 * r['server_cpu'] / max(1, n):6.1f} {r['client_cpu']:6.0f} % {r['rss_end']:6.1f}")


HEAD = (f"{'':22s} {'frames':>6s} {'total/s':>7s} {'client/s':>9s} {'p50 ms':>7s} {'p95 ms':>7s} {'srv ms':>7s} "
        f"{'errors':>6s} {'≠1face':>6s} {'srv CPU':>7s} {'CPU ms':>6s} {'client':>8s} {'RSS MB':>6s}")
LEGEND = ("client/s: slowest–fastest client; srv ms: median of the replies' ms (recognition incl. waiting for an "
          "engine, no decode);\nsrv CPU: server process CPU (200 % = both cores); CPU ms: server CPU per frame; "
          "client: this process's CPU; RSS: server RSS after the row")


def ok(flag):
    return "met" if flag else "MISSED"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model .h5 (default: the shipped model)")
    p.add_argument("--seconds", type=float, default=15.0, help="seconds per streaming setting")
    p.add_argument("--clients", default="1,4,16", help="comma-separated numbers of streaming clients")
    p.add_argument("--post-seconds", type=float, default=10.0)
    p.add_argument("--post-clients", type=int, default=4)
    p.add_argument("--soak-seconds", type=float, default=300.0, help="continuous streaming for the RSS check")
    p.add_argument("--soak-clients", type=int, default=4)
    p.add_argument("--loop-seconds", type=float, default=10.0, help="single-process frame loop duration")
    args = p.parse_args()
    settings = [int(c) for c in args.clients.split(",")]

    def on_signal(signum, frame):
        # our own handler (asyncio.run then keeps it): raised at once, inside or outside the event loop
        raise KeyboardInterrupt(f"stopped by signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    from emorec.core.recognizer import Recognizer
    jpeg = cv2.imencode(".jpg", frame_one_face(), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    print(host_header(args.model or ""))
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(other processes share this machine); frame 640×480 JPEG q85, {len(jpeg) / 1e3:.1f} kB", flush=True)

    rec = Recognizer(args.model)
    loop_fps, loop_ms, loop_cpu = frame_loop(rec, decoded, args.loop_seconds)
    print(f"single-process frame loop (Recognizer(), {rec.classifier.num_threads} LiteRT threads, flip TTA "
          f"{'on' if rec.tta else 'off'}): {loop_fps:.1f} frames/s, {loop_ms:.2f} ms/frame, "
          f"{loop_cpu:.1f} CPU ms/frame", flush=True)
    stages, engines = breakdown(args.model, jpeg)
    print(f"one streamed frame's server-side work, in-process (median ms, {engines} engines; "
          f"{network_cost(args.model or '')}):")
    for name, ms in stages.items():
        print(f"  {name:44s} {ms:7.2f}")

    server = Server(args.model)
    try:
        info = server.wait_ready()
        pid = server.proc.pid
        rss_start = rss_mb(pid)
        print(f"server: pid {pid}, port {server.port}, model {info['model']}, {info['engines']} engines, "
              f"TTA {info['tta']}; RSS {rss_start:.1f} MB before any streaming", flush=True)
        ping_ms, extensions = ping_rtt_ms(server)
        print(f"WebSocket ping→pong round trip (no recognition): {ping_ms:.2f} ms median; "
              f"negotiated extensions: {extensions}", flush=True)

        print(f"\nstreaming, one frame in flight per client, {args.seconds:g} s per setting\n{LEGEND}")
        print(HEAD)
        stream_phase(server, jpeg, 2, 2.0)                        # warm-up, not reported
        results, no_deflate = {}, None
        for n in settings:
            results[n] = stream_phase(server, jpeg, n, args.seconds)
            print(row(f"{n} client{'s' if n > 1 else ''}", results[n]), flush=True)
            if n == 1:
                no_deflate = stream_phase(server, jpeg, 1, args.seconds, compression=None)
                print(row("1 client, no deflate", no_deflate), flush=True)
        post = post_phase(server, jpeg, args.post_clients, args.post_seconds)
        print(row(f"POST /api/recognize ×{args.post_clients}", post), flush=True)

        rss_before = rss_mb(pid)
        print(f"\nsoak: {args.soak_clients} clients streaming for {args.soak_seconds:g} s; RSS {rss_before:.1f} MB "
              "before", flush=True)
        soak = stream_phase(server, jpeg, args.soak_clients, args.soak_seconds,
                            rss_every=max(1.0, args.soak_seconds / 10))
        rss_after = soak["rss_end"]
        print(HEAD)
        print(row("soak", soak))
        print("RSS MB over the soak: " + ", ".join(f"{t:.0f} s {m:.1f}" for t, m in soak["rss"])
              + f", end {rss_after:.1f}", flush=True)
    finally:
        server.stop()
    loop_fps_after, _, _ = frame_loop(rec, decoded, min(args.loop_seconds, 5.0))

    failures = [m for r in (*results.values(), no_deflate, post, soak) if r for m in r["stats"].messages]
    if failures:
        print("\nfirst errors: " + " | ".join(failures[:5]))
    one, many = results.get(1), results.get(max(settings))
    print(f"\nsummary (load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}; frame loop re-measured "
          f"after: {loop_fps_after:.1f} frames/s vs {loop_fps:.1f} before)")
    if one:
        p50 = pct(one["stats"].rtt, 50)
        print(f"  1 client p50 round trip      {p50:8.2f} ms        target ≤ {TARGET_P50_MS:g} ms          "
              f"{ok(p50 <= TARGET_P50_MS)}")
    if many:
        s = many["stats"]
        fps = len(s.rtt) / many["wall"]
        errors = s.error_replies + s.failed
        ratio = fps / loop_fps
        print(f"  {max(settings)} clients total              {fps:8.1f} frames/s  = {ratio:.2f}× the frame loop "
              f"({loop_fps:.1f}/s); target ≥ {TARGET_RATIO:.2f}×   {ok(ratio >= TARGET_RATIO)}")
        print(f"  {max(settings)} clients errors             {errors:8d}           target 0              "
              f"{ok(errors == 0)}")
    post_n = len(post["stats"].rtt)
    print(f"  POST /api/recognize          {post_n / post['wall']:8.1f} req/s     p50 {pct(post['stats'].rtt, 50):.2f} ms "
          f"({args.post_clients} clients)")
    growth = rss_after - rss_before
    print(f"  server RSS                   {rss_start:.1f} MB at start, {rss_before:.1f} MB before the soak, "
          f"{rss_after:.1f} MB after {args.soak_seconds:g} s")
    print(f"  RSS growth over the soak     {growth:8.1f} MB        target < {TARGET_RSS_MB:g} MB          "
          f"{ok(growth < TARGET_RSS_MB)}")
    since = rss_after - rss_start
    print(f"  RSS growth since server start {since:7.1f} MB        (includes the one-time rise of the first busy "
          f"settings: see the RSS column) {ok(since < TARGET_RSS_MB)}")
    phases = [*results.values(), no_deflate, post, soak]
    print(f"  errors in all phases         {sum(r['stats'].error_replies + r['stats'].failed for r in phases if r):8d}"
          f"           (error replies + failed connections; frames with ≠ 1 face: "
          f"{sum(r['stats'].wrong_faces for r in phases if r)})")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as e:
        raise SystemExit(f"interrupted ({e or 'Ctrl-C'}); no server left running") from None
