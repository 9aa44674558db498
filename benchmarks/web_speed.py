"""The web app under load: the assessment endpoint and the dashboard, 200 concurrent clients on loopback.

    python benchmarks/web_speed.py                 # demo registry (published cases + 381 synthetic + 3 clinic)
    python benchmarks/web_speed.py --duration 30   # longer runs
    python benchmarks/web_speed.py --pg postgresql://u@host/empty_db --workers 2   # a team's setup
    python benchmarks/collect.py

Measured, never asserted.  The server is ``leiosurv``'s app under uvicorn (one
process, as ``leiosurv serve`` runs it) in a subprocess; the load generator is
this process: 200 clients, each on its own keep-alive HTTP/1.1 connection
(raw asyncio streams, so the generator costs little CPU), signed in as the
demo clinician, sending the CSRF header.  Two load shapes per endpoint:

* **paced** — each client sends one request per ``--interval`` seconds (default
  1 s, jittered), i.e. 200 clinicians each clicking once a second: the offered
  load is 200 requests/s; latency is what one user waits;
* **saturated** — each client sends its next request as soon as the last
  answered (closed loop): the throughput is the server's maximum, and the
  latency is mostly queueing (Little's law: 200 clients / throughput).

With ``--workers N`` the server is N uvicorn worker processes behind one port
(``leiosurv serve --workers N``: ``app_from_environment``, every shared state in
the database); with ``--pg URL`` the demo registry is loaded into that (empty)
PostgreSQL database instead of a SQLite file.

Both processes share the machine's 2 cores (with the other engineers' work);
the load average is recorded.  Every dashboard request also appends its audit
row (a committed write).  Writes ``results/web_speed.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLIENTS = 200
FINDINGS = {"findings": {"excision_date": "2026-10-01", "site": "left thigh", "depth": "dermal", "atypia": "moderate",
                         "mitoses": {"count": 20}, "necrosis": "absent", "margins": "negative",
                         "immunohistochemistry": {"sma": "positive", "desmin": "positive", "h_caldesmon": "positive",
                                                  "s100": "negative", "sox10": "negative"}}}
SERVER = """
import os, sys, uvicorn
from leiosurv.interfaces.web import Settings, create_app
db, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
common = dict(host="127.0.0.1", port=port, log_level="warning", access_log=False, backlog=4096,
              limit_concurrency=10000)
if workers == 1:
    app = create_app(Settings(db=db, secret_key="bench-" + "k" * 40, secure_cookies=False))
    uvicorn.run(app, **common)
else:  # as leiosurv serve --workers N runs it
    os.environ.update(LEIOSURV_WEB_DB=db, LEIOSURV_SECRET_KEY="bench-" + "k" * 40)
    uvicorn.run("leiosurv.interfaces.web:app_from_environment", factory=True, workers=workers, **common)
"""


AT_SCALE = (
    "The same at 10^6 patients: the next section (a registry built by `registry_scale.py --n 1000000 "
    "--replicate-from 2000`, 2,000 imported patients replicated to 1,000,000, then `web_speed.py --db ... "
    "--label '1e6 patients'`)."
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            headers.setdefault(k.strip().lower(), v.strip())
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers


def _request(method: str, path: str, port: int, body: bytes = b"", extra: str = "") -> bytes:
    h = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n{extra}"
    if body:
        h += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (h + "\r\n").encode() + body


async def _login(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"username": "demo-clinician", "password": "demo-password"}).encode()
    writer.write(_request("POST", "/api/v1/session", port, body))
    status, data, headers = await _read_response(reader)
    writer.close()
    assert status == 200, (status, data[:200])
    cookie = headers["set-cookie"].split(";", 1)[0]
    return f"Cookie: {cookie}\r\nX-CSRF-Token: {json.loads(data)['csrf_token']}\r\n"


async def _run(port: int, auth: str, method: str, path: str, body: bytes, duration: float,
               interval: float | None) -> dict:
    raw = _request(method, path, port, body, auth)
    lat: list[float] = []
    errors = {"status": 0, "io": 0}
    stop = time.perf_counter() + duration

    async def client(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        rnd = random.Random(i)
        if interval:
            await asyncio.sleep(rnd.uniform(0, interval))
        next_at = time.perf_counter()
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                writer.write(raw)
                status, _, _ = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError):
                errors["io"] += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            t1 = time.perf_counter()
            if status != 200:
                errors["status"] += 1
            elif t1 <= stop:
                lat.append(t1 - t0)
            if interval:
                next_at += interval * rnd.uniform(0.8, 1.2)
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        writer.close()

    t_start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    wall = min(time.perf_counter(), stop) - t_start
    lat.sort()

    def q(p: float) -> float:
        return 1000 * lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")

    return {"requests": len(lat), "throughput": len(lat) / wall, "p50_ms": q(0.50), "p95_ms": q(0.95),
            "p99_ms": q(0.99), "mean_ms": 1000 * statistics.fmean(lat) if lat else float("nan"),
            "errors": errors, "seconds": round(wall, 1)}


def _demo_registry(path: Path | str) -> dict:
    from leiosurv.interfaces.web import load_demo
    from leiosurv.registry import Registry

    reg = Registry(path, create=True)
    t0 = time.perf_counter()
    load_demo(reg)
    counts = reg.counts()
    reg.close()
    return {"load_s": time.perf_counter() - t0, "patients": counts["patient"], "encounters": counts["encounter"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between a paced client's requests")
    ap.add_argument("--db", default=None, help="an existing registry with the demo users (default: a fresh demo)")
    ap.add_argument("--pg", default=None, help="an empty PostgreSQL database to load the demo into")
    ap.add_argument("--workers", type=int, default=1, help="server processes (uvicorn workers)")
    ap.add_argument("--label", default=None)
    args = ap.parse_args()
    if args.label is None:
        args.label = "demo registry" + (", PostgreSQL" if args.pg else "") + (
            f", {args.workers} workers" if args.workers > 1 else "")
    tmp = Path(tempfile.mkdtemp(prefix="leiosurv-web-speed-"))
    info: dict = {}
    db = args.db
    if args.pg:
        db = args.pg
        info = _demo_registry(db)
    elif db is None:
        db = str(tmp / "web.sqlite")
        info = _demo_registry(Path(db))
    else:
        from leiosurv.registry import Registry

        reg = Registry(db)
        counts = reg.counts()
        reg.close()
        info = {"patients": counts["patient"], "encounters": counts["encounter"]}
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    srv = subprocess.Popen([sys.executable, "-c", SERVER, db, str(port), str(args.workers)], env=env)
    try:
        for _ in range(1200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        if args.workers > 1:
            time.sleep(30)  # the socket is bound by the supervisor: give every worker time to import the app
        load = os.getloadavg()
        auth = asyncio.run(_login(port))
        runs = {}
        endpoints = {"assessment": ("POST", "/api/v1/assessments", json.dumps(FINDINGS).encode()),
                     "dashboard": ("GET", "/api/v1/dashboard", b"")}
        for name, (method, path, body) in endpoints.items():
            asyncio.run(_run(port, auth, method, path, body, 3.0, 0.5))  # warm-up
            for shape, interval in (("paced", args.interval), ("saturated", None)):
                r = asyncio.run(_run(port, auth, method, path, body, args.duration, interval))
                runs[f"{name}/{shape}"] = r
                print(f"{name:10} {shape:9} {r['throughput']:7.1f} req/s  p50 {r['p50_ms']:7.1f}  "
                      f"p95 {r['p95_ms']:7.1f}  p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}", flush=True)
    finally:
        srv.terminate()
        srv.wait(10)
    res = {"when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": platform.machine(),
           "cores": os.cpu_count(), "load": [round(x, 2) for x in load], "clients": CLIENTS,
           "duration": args.duration, "interval": args.interval, "label": args.label, "registry": info,
           "database": "PostgreSQL" if db.startswith("postgresql") else "SQLite", "workers": args.workers,
           "command": "python benchmarks/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "runs": runs}
    _write(res)


def _write(r: dict) -> None:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    key = "web_speed" if r["label"] == "demo registry" else "web_speed_" + re.sub(r"\W+", "_", r["label"]).strip("_")
    (out / f"{key}.json").write_text(json.dumps(r, indent=1) + "\n")
    reg = r["registry"]
    size = (f"{reg['patients']:,} patients, {reg['encounters']:,} encounters"
            + (f" (loaded in {reg['load_s']:.0f} s)" if reg.get("load_s") else "") if reg else "given with --db")
    goals = {"assessment": 50.0, "dashboard": 200.0}
    lines = [f"## Web app under load: {r['label']} (`web_speed.py`)", "",
             f"Measured {r['when']} on {r['machine']}, {r['cores']} cores shared by the server, the load generator "
             f"and other work (load average {' / '.join(map(str, r['load']))} at the start). Command: "
             f"`{r['command']}`. Registry: {r.get('database', 'SQLite')}, {size}; "
             f"{r.get('workers', 1)} server process(es). {r['clients']} concurrent clients, each on its own "
             f"keep-alive connection, signed in as a clinician; {r['duration']:.0f} s per run after a warm-up. "
             f"*Paced*: each client sends one request every {r['interval']:g} s (jittered ±20 %), "
             f"{r['clients'] / r['interval']:.0f} requests/s offered. *Saturated*: each client sends the next request "
             "as soon as the last is answered (the server's maximum throughput; latency there is mostly queueing).",
             "", "| endpoint | load | throughput (req/s) | p50 (ms) | p95 (ms) | p99 (ms) | errors |",
             "|---|---|---|---|---|---|---|"]
    for k, v in r["runs"].items():
        ep, shape = k.split("/")
        lines.append(f"| {ep} | {shape} | {v['throughput']:.0f} | {v['p50_ms']:.1f} | {v['p95_ms']:.1f} | "
                     f"{v['p99_ms']:.1f} | {v['errors']['status'] + v['errors']['io']} |")
    lines += ["", "| goal (p95, 200 clients) | paced | saturated |", "|---|---|---|"]
    for ep, g in goals.items():
        cells = []
        for shape in ("paced", "saturated"):
            v = r["runs"].get(f"{ep}/{shape}")
            cells.append("not run" if v is None else ("met" if v["p95_ms"] < g else "**NOT met**")
                         + (f" ({v['p95_ms']:.0f} ms)" if v else ""))
        lines.append(f"| {ep} under {g:.0f} ms | {cells[0]} | {cells[1]} |")
    if key == "web_speed":
        lines += ["", AT_SCALE]
    if r.get("workers", 1) > 1 or r.get("database") == "PostgreSQL":
        lines += ["", "Every request checks the session against the database (user active, role, session epoch); "
                  "every dashboard request also asks the database for the newest write (its cache key) and "
                  "appends a hash-chained audit row under the audit trail's lock (an advisory lock on "
                  "PostgreSQL, held to the commit). The assessment is not audited (no patient is named)."]
    (out / f"{key}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / (key + '.md')}")


if __name__ == "__main__":
    main()
