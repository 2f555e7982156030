"""Burst test of ``pinsearch serve``: many concurrent loopback connections opened at the same instant.

A ``pinsearch serve`` process on 127.0.0.1 (port 0, a fresh data directory with a small index) and
this process as the client: each round opens ``--connections`` TCP connections at once (asyncio,
one event loop, all connects issued in the same tick after a shared start signal), each sends one
request and reads the whole answer, then the connection closes. Counted per round: answers by
status, connection resets, refused connections, timeouts and other errors, and the latency from
the connect call to the last byte of the answer (p50/p95/p99/max) plus the round's wall time.

Requests (``--request``): ``get`` is ``GET /`` (the cluster info), ``search`` a small
``POST /burst/_search`` (a ``match`` on a 200-document index), ``mixed`` alternates the two.

Everything stays on loopback; every loop is bounded (``--rounds`` rounds, ``--timeout`` seconds per
connection, ``--connections`` at most 5000).

    python benchmarks/bench_burst.py --connections 500 --rounds 5 --request mixed
    python benchmarks/bench_burst.py --url http://127.0.0.1:9200    # an already running server
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
INDEX = "burst"
WORDS = ["soup", "lentil", "tomato", "basil", "bedroom", "plants", "boho", "kitchen", "bowl", "garden",
         "winter", "summer", "vegan", "bread", "coffee", "table", "lamp", "chair", "rug", "poster"]
SEARCH_BODY = json.dumps({"query": {"match": {"title": "soup basil"}}, "size": 5}).encode()


def start_server(data_dir: Path, extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    script = Path(sys.executable).with_name("pinsearch")
    command = [str(script)] if script.exists() else [sys.executable, "-c",
                                                     "import sys; from pinsearch.cli import main; sys.exit(main())"]
    proc = subprocess.Popen(command + ["serve", "--json", "--data", str(data_dir), "--port", "0", *extra],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.wait(timeout=30)
        raise RuntimeError(f"pinsearch serve exited ({proc.returncode}) before printing its URL")
    return proc, json.loads(line)["url"]


def load_index(host: str, port: int) -> None:
    """A 200-document index for the ``search`` requests (created through the HTTP API itself)."""
    conn = http.client.HTTPConnection(host, port, timeout=60)
    headers = {"Content-Type": "application/json"}
    try:
        conn.request("PUT", f"/{INDEX}", body=json.dumps({"mappings": {"properties": {"title": {"type": "text"}}}}),
                     headers=headers)
        conn.getresponse().read()
        lines = []
        for i in range(200):
            title = " ".join(WORDS[(i * k + 3) % len(WORDS)] for k in range(1, 6))
            lines.append(json.dumps({"index": {"_index": INDEX, "_id": str(i)}}))
            lines.append(json.dumps({"title": title}))
        conn.request("POST", "/_bulk?refresh=true", body=("\n".join(lines) + "\n").encode(),
                     headers={"Content-Type": "application/x-ndjson"})
        response = conn.getresponse()
        out = json.loads(response.read())
        if response.status != 200 or out.get("errors"):
            raise RuntimeError(f"bulk load failed: {response.status} {str(out)[:300]}")
    finally:
        conn.close()


def request_bytes(kind: str, host_header: str) -> bytes:
    if kind == "get":
        return (f"GET / HTTP/1.1\r\nHost: {host_header}\r\nAccept: application/json\r\n"
                f"Connection: close\r\n\r\n").encode()
    return (f"POST /{INDEX}/_search HTTP/1.1\r\nHost: {host_header}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(SEARCH_BODY)}\r\nConnection: close\r\n\r\n").encode() + SEARCH_BODY


async def one(host: str, port: int, payload: bytes, go: asyncio.Event, timeout: float) -> tuple[str, float]:
    """One connection: connect, send, read to EOF. Returns (outcome, seconds)."""
    await go.wait()
    started = time.perf_counter()
    writer = None
    try:
        async def exchange() -> bytes:
            nonlocal writer
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(payload)
            await writer.drain()
            return await reader.read()  # Connection: close -> EOF ends the answer

        data = await asyncio.wait_for(exchange(), timeout)
        elapsed = time.perf_counter() - started
        if not data:
            return "closed without answer", elapsed
        status_line = data.split(b"\r\n", 1)[0].split()
        return (f"status {status_line[1].decode()}" if len(status_line) >= 2 else "garbled answer"), elapsed
    except ConnectionResetError:
        return "reset", time.perf_counter() - started
    except ConnectionRefusedError:
        return "refused", time.perf_counter() - started
    except (asyncio.TimeoutError, TimeoutError):
        return "timeout", time.perf_counter() - started
    except OSError as exc:
        return f"error {type(exc).__name__}", time.perf_counter() - started
    finally:
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def burst(host: str, port: int, connections: int, kind: str, timeout: float) -> dict[str, Any]:
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    kinds = ["get", "search"] if kind == "mixed" else [kind]
    payloads = [request_bytes(kinds[i % len(kinds)], host_header) for i in range(connections)]
    go = asyncio.Event()
    tasks = [asyncio.create_task(one(host, port, payloads[i], go, timeout)) for i in range(connections)]
    await asyncio.sleep(0.05)  # every task is parked on the event: the connects start in one tick
    started = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    outcomes = Counter(outcome for outcome, _ in results)
    latencies = sorted(seconds for outcome, seconds in results if outcome == "status 200")

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {"connections": connections, "ok_200": outcomes.get("status 200", 0),
            "resets": outcomes.get("reset", 0), "refused": outcomes.get("refused", 0),
            "timeouts": outcomes.get("timeout", 0),
            "other": {k: v for k, v in outcomes.items() if k not in ("status 200", "reset", "refused", "timeout")},
            "latency_ms": {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
                           "max": round(latencies[-1] * 1000, 1) if latencies else None,
                           "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None},
            "wall_s": round(wall, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=500, help="connections opened at once per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--request", choices=("get", "search", "mixed"), default="mixed")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per connection before it counts as a timeout")
    parser.add_argument("--url", default=None, help="an already running server on loopback (default: start one)")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra `pinsearch serve` argument (repeatable)")
    parser.add_argument("--out", default=None, help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 5000 or not 1 <= args.rounds <= 100:
        parser.error("--connections must be 1..5000 and --rounds 1..100")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.connections + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.connections + 1000), hard))

    proc = None
    tmp = tempfile.TemporaryDirectory(prefix="pinsearch-burst-")
    try:
        if args.url:
            url = args.url
        else:
            proc, url = start_server(Path(tmp.name) / "data", [a for arg in args.serve_arg for a in arg.split()])
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 9200
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error("the burst only targets a loopback server")
        if args.request != "get":
            load_index(host, port)
        rounds = []
        for number in range(args.rounds):
            result = asyncio.run(burst(host, port, args.connections, args.request, args.timeout))
            rounds.append(result)
            print(json.dumps({"round": number + 1, **result}), flush=True)
            time.sleep(0.5)  # let TIME_WAIT / handler threads settle between rounds
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        tmp.cleanup()
    total = {key: sum(r[key] for r in rounds) for key in ("connections", "ok_200", "resets", "refused", "timeouts")}
    summary = {"benchmark": "bench_burst", "request": args.request, "connections_per_round": args.connections,
               "rounds": args.rounds, "total": total,
               "worst_p99_ms": max((r["latency_ms"]["p99"] or 0) for r in rounds),
               "worst_max_ms": max((r["latency_ms"]["max"] or 0) for r in rounds),
               "median_wall_s": statistics.median(r["wall_s"] for r in rounds),
               "python": platform.python_version(), "rounds_detail": rounds}
    print(json.dumps({k: v for k, v in summary.items() if k != "rounds_detail"}), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
