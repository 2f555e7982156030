"""Kill test at scale: SIGKILL a process that is writing, reopen, and count the acknowledged documents lost.

    python benchmarks/bench_kill.py --kills 100                 # the long run (BENCHMARKS.md, "Kill test")
    python benchmarks/bench_kill.py --kills 5 --json            # the short run of the test suite

Every round is one process on the same embedded data directory (``pinsearch.connect("embedded://DIR")``):

1. it opens the engine, which recovers from the previous round's SIGKILL (commit point + translog
   replay; a torn, never acknowledged translog tail is cut and logged),
2. it checks every document acknowledged in *all* earlier rounds (``_mget`` by id, in chunks; the
   documents of the round just killed also by content), that no index is red, and that ``_count``
   is at least the number acknowledged, and prints the result as one JSON line,
3. it writes: ``--threads`` threads send ``_bulk`` requests of ``--batch`` new documents to two
   indices (thread 0 also flushes every ``--flush-every`` bulks, so kills land in flushes and
   translog rolls too, and the background refresh and merges run as usual). After each bulk
   response without errors the thread appends ``thread batch count`` to the round's ack file and
   fsyncs it: a document counts as acknowledged only once its line is durably in that file,
4. the driver waits until the round has acknowledged at least one bulk, sleeps a random
   0..``--max-delay`` s, and sends SIGKILL.

A last process checks the final round. Reported: kills, acknowledged bulks and documents, documents
lost (must be 0), red indices (must be 0), torn translog tails cut at reopen (harmless: never
acknowledged), documents present without an acknowledgement (the bulks in flight at a kill), time.
Exit status 0 only if nothing acknowledged was lost and no index went red.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INDICES = ("kill-0", "kill-1")

ROUND = r'''
import json, logging, os, sys, threading, time

data, run, threads, batch, acks_dir, flush_every, write = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]),
    sys.argv[7] == "write")
INDICES = ("kill-0", "kill-1")


class Notes(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


notes = Notes()   # the engine's log ("localnode", "localnode.translog" ...): torn tails cut, red indices
logging.getLogger("localnode").addHandler(notes)
logging.getLogger("localnode").setLevel(logging.INFO)
logging.getLogger("localnode").propagate = False

import pinsearch
from opensearchpy import TransportError

started = time.perf_counter()
es = pinsearch.connect("embedded://" + data, timeout=120)
health = es.cluster.health()
opened = time.perf_counter() - started


def acked(round_no):
    path = os.path.join(acks_dir, f"round-{round_no}.log")
    if not os.path.exists(path):
        return []
    with open(path, "rb") as fh:
        raw = fh.read()
    lines = raw.split(b"\n")[:-1]   # a line without its newline was not fully logged: not acknowledged
    return [tuple(int(x) for x in line.split()) for line in lines]


def source(r, t, b, i):
    return {"run": r, "t": t, "b": b, "i": i, "title": f"pin {r} {t} {b} {i} red shoes"}


report = {"event": "recovered", "run": run, "open_s": round(opened, 3), "health": health["status"],
          "red": [], "checked": 0, "missing": 0, "wrong_source": 0, "acked": 0, "count": None,
          "torn_tails": 0, "torn_bytes": 0, "notes": []}
try:
    red = [name for name, row in ((r["index"], r) for r in es.cat.indices(format="json")) if row["health"] == "red"]
    report["red"] = red
    wanted = {name: [] for name in INDICES}
    last_round = {}
    for r in range(run):
        for t, b, n in acked(r):
            ids = [f"{r}-{t}-{b}-{i}" for i in range(n)]
            wanted[INDICES[t % 2]].extend(ids)
            if r == run - 1:
                last_round.update({doc_id: source(r, t, b, i) for i, doc_id in enumerate(ids)})
    report["acked"] = sum(len(v) for v in wanted.values())
    missing = wrong = 0
    for index, ids in wanted.items():
        for start in range(0, len(ids), 2000):
            chunk = ids[start:start + 2000]
            fetch_source = any(doc_id in last_round for doc_id in chunk)
            docs = es.mget(index=index, body={"ids": chunk}, _source=fetch_source)["docs"]
            for doc in docs:
                if not doc.get("found"):
                    missing += 1
                elif fetch_source and doc["_id"] in last_round and doc["_source"] != last_round[doc["_id"]]:
                    wrong += 1
            report["checked"] += len(chunk)
    report["missing"], report["wrong_source"] = missing, wrong
    report["check_s"] = round(time.perf_counter() - started - opened, 3)
    if report["acked"]:
        report["count"] = sum(es.count(index=index)["count"] for index in INDICES if es.indices.exists(index=index))
except TransportError as exc:
    report["error"] = f"{exc.status_code} {exc.error}: {exc.info}"
for message in notes.messages:
    if "discarded" in message:
        report["torn_tails"] += 1
        report["torn_bytes"] += int(message.split("discarded ", 1)[1].split(" ", 1)[0])
report["notes"] = [m for m in notes.messages if "discarded" in m or "red" in m][:5]
print(json.dumps(report), flush=True)
if not write or report["red"] or "error" in report:
    os._exit(0)   # no clean close: it would flush, and the next round should replay a translog

ack = os.open(os.path.join(acks_dir, f"round-{run}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
ack_lock = threading.Lock()


def writer(t):
    index = INDICES[t % 2]
    b = 0
    while True:
        lines = []
        for i in range(batch):
            lines.append(json.dumps({"index": {"_index": index, "_id": f"{run}-{t}-{b}-{i}"}}))
            lines.append(json.dumps(source(run, t, b, i)))
        response = es.bulk(body="\n".join(lines) + "\n")
        if response["errors"]:
            print(json.dumps({"event": "bulk_error", "items": [i for i in response["items"]
                                                               if "error" in next(iter(i.values()))][:3]}),
                  flush=True)
            os._exit(3)
        with ack_lock:   # acknowledged: logged durably, only after the bulk response
            os.write(ack, f"{t} {b} {batch}\n".encode())
            os.fsync(ack)
        b += 1
        if t == 0 and flush_every and b % flush_every == 0:
            es.indices.flush(index=index)


for t in range(threads):
    threading.Thread(target=writer, args=(t,), daemon=True).start()
print(json.dumps({"event": "writing"}), flush=True)
while True:
    time.sleep(60)
'''


def run_round(data: Path, acks: Path, run: int, args: argparse.Namespace, *, write: bool,
              rng: random.Random) -> dict[str, Any]:
    """One process: recover + check (+ write until SIGKILLed). Returns the check's report."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", ROUND, str(data), str(run), str(args.threads), str(args.batch), str(acks),
               str(args.flush_every), "write" if write else "check"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=60)
            raise RuntimeError(f"round {run} died while recovering: {proc.stderr.read() if proc.stderr else ''}")
        report: dict[str, Any] = json.loads(line)
        if not write or report["red"] or "error" in report:
            proc.wait(timeout=60)
            return report
        if json.loads(proc.stdout.readline() or "{}").get("event") != "writing":
            raise RuntimeError(f"round {run} did not start writing: {proc.stderr.read() if proc.stderr else ''}")
        ack_file = acks / f"round-{run}.log"
        deadline = time.monotonic() + 60
        while (not ack_file.exists() or ack_file.stat().st_size == 0) and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"round {run} writer exited ({proc.returncode}): "
                                   f"{proc.stdout.read()} {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.005)
        time.sleep(rng.uniform(0, args.max_delay))
        if proc.poll() is not None:
            raise RuntimeError(f"round {run} writer exited ({proc.returncode}) before the kill: "
                               f"{proc.stdout.read()} {proc.stderr.read() if proc.stderr else ''}")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        return report
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def bench(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-kill-"))
    data, acks = workdir / "data", workdir / "acks"
    if data.exists():
        shutil.rmtree(data)
    if acks.exists():
        shutil.rmtree(acks)
    acks.mkdir(parents=True)
    started = time.perf_counter()
    reports = []
    kills = 0
    try:
        for run in range(args.kills + 1):   # the last round only checks the last kill
            report = run_round(data, acks, run, args, write=run < args.kills, rng=rng)
            reports.append(report)
            kills += run < args.kills and not (report["red"] or "error" in report)
            if not args.json:
                print(f"round {run:4d}: opened in {report['open_s']:.2f}s, {report['health']:6s}, "
                      f"check {report.get('check_s', 0):.2f}s, "
                      f"checked {report['checked']:7d} acknowledged, missing {report['missing']}, "
                      f"torn tail cut {report['torn_bytes']} B", flush=True)
            if report["red"] or report["missing"] or report["wrong_source"] or "error" in report:
                break
        elapsed = time.perf_counter() - started
        last = reports[-1]
        acked_bulks = sum(len((acks / f"round-{r}.log").read_bytes().split(b"\n")) - 1
                          for r in range(args.kills) if (acks / f"round-{r}.log").exists())
        summary = {
            "kills": kills,
            "rounds": len(reports),
            "threads": args.threads, "batch": args.batch, "flush_every": args.flush_every,
            "max_delay_s": args.max_delay, "seed": args.seed,
            "acknowledged_bulks": acked_bulks,
            "acknowledged_documents": last["acked"],
            "documents_checked_in_total": sum(r["checked"] for r in reports),
            "documents_lost": last["missing"] + sum(r["missing"] for r in reports[:-1]),
            "documents_with_wrong_source": sum(r["wrong_source"] for r in reports),
            "red_indices": sorted({name for r in reports for name in r["red"]}),
            "errors": [r["error"] for r in reports if "error" in r],
            "unacknowledged_documents_present": (last["count"] - last["acked"]) if last["count"] is not None else None,
            "torn_tails_cut": sum(r["torn_tails"] for r in reports),
            "torn_bytes_cut": sum(r["torn_bytes"] for r in reports),
            "max_open_s": max(r["open_s"] for r in reports),
            "elapsed_s": round(elapsed, 1),
        }
        summary["ok"] = (summary["documents_lost"] == 0 and not summary["red_indices"] and not summary["errors"]
                         and summary["documents_with_wrong_source"] == 0 and len(reports) == args.kills + 1)
        return summary
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs (rounds that write), default 100")
    parser.add_argument("--threads", type=int, default=3, help="writer threads per process (default 3)")
    parser.add_argument("--batch", type=int, default=100, help="documents per bulk request (default 100)")
    parser.add_argument("--flush-every", type=int, default=25,
                        help="thread 0 flushes its index every N bulks (0: never; default 25)")
    parser.add_argument("--max-delay", type=float, default=0.5,
                        help="the kill comes 0..S seconds after the round's first acknowledged bulk (default 0.5)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--dir", help="work directory (default: a temporary one, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    parser.add_argument("--json", action="store_true", help="print only the summary, as JSON")
    parser.add_argument("--out", help="also write the summary JSON to this file")
    args = parser.parse_args(argv)
    summary = bench(args)
    text = json.dumps(summary, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        print(f"kills: {summary['kills']}, acknowledged documents: {summary['acknowledged_documents']} "
              f"({summary['acknowledged_bulks']} bulks), documents lost: {summary['documents_lost']}, "
              f"red indices: {len(summary['red_indices'])}, torn tails cut: {summary['torn_tails_cut']} "
              f"({summary['torn_bytes_cut']} bytes), unacknowledged documents present: "
              f"{summary['unacknowledged_documents_present']}, {summary['elapsed_s']} s")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
