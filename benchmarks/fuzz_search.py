"""Fuzzed search bodies against the embedded engine: every answer must be OpenSearch's (issue 20).

    .venv/bin/python benchmarks/fuzz_search.py --bodies 100000 --seed 1
    .venv/bin/python benchmarks/fuzz_search.py --bodies 2000 --seed 7 --cluster-url http://127.0.0.1:9200

Bodies are made by :mod:`tests.search_fuzz` (valid requests for every feature localnode serves,
one to three mutations each: wrong types, nulls, huge/negative/non-finite numbers, unknown keys,
renamed or removed keys, subtrees of other requests, nesting hundreds of levels deep, wide bools),
sent in process (``pinsearch.connect("embedded://...")``) to an index with every field type the
engine maps. Reported: bodies tried, answers by HTTP status, the 5xx answers by error type (each
must be one OpenSearch 2.19.1 itself answers with a 5xx, ``ALLOWED_5XX``), and *internal errors*:
an exception escaping the client, a 5xx OpenSearch would not give, or a body not in OpenSearch's
shape. Internal errors must be 0; the first few are printed with their request.

``--cluster-url`` also sends each body to a real node (without the LTR seeds, at nesting depths it
answers) and counts the answers whose status or error type differ.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pinsearch  # noqa: E402
from tests.differential.harness import call, compare_errors  # noqa: E402
from tests.search_fuzz import INDEX, MAPPING, cause_of, documents, generate, problems  # noqa: E402

COMPARABLE_DEPTHS = (20, 31, 32, 100, 246, 300)


def load(client: Any) -> None:
    client.indices.delete(index=INDEX, ignore=[404])
    client.indices.create(index=INDEX, body=MAPPING)
    lines = []
    for doc in documents():
        doc = dict(doc)
        lines.append(json.dumps({"index": {"_index": INDEX, "_id": doc.pop("_id")}}))
        lines.append(json.dumps(doc))
    result = client.bulk(body="\n".join(lines) + "\n", refresh="true")
    if result.get("errors"):
        raise SystemExit(f"loading the fuzz index failed: {result}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bodies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cluster-url", help="also compare every answer with this real OpenSearch node")
    parser.add_argument("--show", type=int, default=5, help="internal errors printed in full")
    args = parser.parse_args(argv)

    data = Path(tempfile.mkdtemp(prefix="fuzz-search-"))
    local = pinsearch.connect(f"embedded://{data / 'data'}")
    real = pinsearch.connect(args.cluster_url, timeout=120) if args.cluster_url else None
    try:
        load(local)
        if real is not None:
            load(real)
        rng = random.Random(args.seed)
        statuses: collections.Counter[int] = collections.Counter()
        apis: collections.Counter[str] = collections.Counter()
        server_errors: collections.Counter[str] = collections.Counter()
        internal: list[str] = []
        differences: collections.Counter[str] = collections.Counter()
        examples: dict[str, str] = {}
        started = time.perf_counter()
        for _ in range(args.bodies):
            if real is None:
                request = generate(rng)
            else:
                request = generate(rng, ltr=False, depths=COMPARABLE_DEPTHS)
            apis[request.api] += 1
            try:
                answer = call(local, "POST", request.url(), request.payload(), request.params)
            except Exception as exc:  # noqa: BLE001 - an exception escaping the client is the finding
                internal.append(f"{type(exc).__name__}: {exc} <- {request.url()} {request.params} "
                                f"{(request.payload() or '')[:500]}")
                continue
            statuses[answer.status] += 1
            if answer.status >= 500 and isinstance(answer.body, dict) and "error" in answer.body:
                kind, _ = cause_of(answer.body)
                server_errors[kind] += 1
            found = problems(answer.status, answer.body, request.api)
            if found:
                internal.append(f"{found[0]} <- {request.url()} {request.params} {(request.payload() or '')[:500]}")
            if real is not None:
                other = call(real, "POST", request.url(), request.payload(), request.params)
                if answer.is_error or other.is_error:
                    diffs = compare_errors(answer, other)
                    if diffs:
                        key = f"local {answer.status} {answer.error_type} / real {other.status} {other.error_type}"
                        differences[key] += 1
                        examples.setdefault(key, f"{request.url()} {request.params} {(request.payload() or '')[:300]}")
        elapsed = time.perf_counter() - started
    finally:
        pinsearch.close(local)
        if real is not None:
            real.indices.delete(index=INDEX, ignore=[404])
            real.transport.close()
        shutil.rmtree(data, ignore_errors=True)

    print(f"bodies tried: {args.bodies} (seed {args.seed}; {dict(sorted(apis.items()))}) in {elapsed:.1f} s "
          f"({args.bodies / elapsed:.0f} bodies/s)")
    print("answers by HTTP status: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())))
    if server_errors:
        print("5xx answers (each one OpenSearch 2.19.1 also answers with a 5xx): "
              + ", ".join(f"{kind}: {count}" for kind, count in server_errors.most_common()))
    print(f"internal errors: {len(internal)}")
    for line in internal[:args.show]:
        print(f"  {line}")
    if real is not None:
        print(f"answers differing from the real node (status or error type): {sum(differences.values())}")
        for key, count in differences.most_common(20):
            print(f"  {count}: {key}")
            if args.show:
                print(f"      e.g. {examples[key]}")
    return 1 if internal else 0


if __name__ == "__main__":
    raise SystemExit(main())
