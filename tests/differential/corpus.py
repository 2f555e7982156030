"""A multilingual real-text corpus for the differential tests, from the shared data sets.

Pages: Mozilla Readability's 130 test pages (English, French, Spanish, German, Czech, Portuguese,
Japanese, Chinese), with title, excerpt, byline, site, language and the main text of
``expected.html``. Questions: the 5,452 TREC questions, short English texts in 6 / 50 classes, for
an index large enough that postings span many 128-document blocks. Every other field (numbers,
dates, rank features, vectors) is derived deterministically from the text so both engines index
exactly the same documents.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

VECTOR_DIM = 8
WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def _vector(text: str, dim: int = VECTOR_DIM) -> list[float]:
    """A deterministic bag-of-hashed-words vector (float32 values, so JSON carries them exactly)."""
    acc = np.zeros(dim, dtype=np.float64)
    for word in WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        acc[digest[0] % dim] += 1.0 if digest[1] % 2 else -1.0
        acc[digest[2] % dim] += 0.5
    if not acc.any():
        acc[0] = 1.0
    return [float(x) for x in acc.astype(np.float32)]


def _topics(text: str, limit: int = 5) -> dict[str, float]:
    counts = Counter(word for word in WORD.findall(text.lower()) if len(word) > 4)
    return {word: float(np.float32(1.0 + count / 4.0)) for word, count in counts.most_common(limit)}


def _main_text(html: str, limit: int = 4000) -> str:
    from lxml import html as lxml_html
    try:
        tree = lxml_html.fromstring(html)
    except Exception:  # noqa: BLE001 (an empty or odd page simply has no main text)
        return ""
    text = " ".join(tree.text_content().split())
    return text[:limit]


@lru_cache(maxsize=2)
def pages(shared: Path) -> tuple[dict[str, Any], ...]:
    import json
    docs = []
    root = shared / "web-pages" / "readability"
    for number, folder in enumerate(sorted(p for p in root.iterdir() if p.is_dir())):
        meta = json.loads((folder / "expected-metadata.json").read_text())
        body = _main_text((folder / "expected.html").read_text(errors="replace"))
        title = meta.get("title") or folder.name
        lang = (meta.get("lang") or "und").lower().split("-")[0]
        doc: dict[str, Any] = {
            "_id": folder.name,
            "title": title,
            "excerpt": meta.get("excerpt") or "",
            "body": body,
            "byline": meta.get("byline") or None,
            "site": meta.get("siteName") or None,
            "lang": lang,
            "readerable": bool(meta.get("readerable")),
            "length": len(body),
            "words": len(body.split()),
            "published": f"20{10 + number % 15:02d}-{1 + number % 12:02d}-{1 + number % 28:02d}",
            "quality": float(np.float32(0.05 + (len(body) % 997) / 100.0)),
            "topics": _topics(title + " " + body),
            "vec": _vector(title + " " + body),
        }
        if not doc["topics"]:
            del doc["topics"]
        docs.append({k: v for k, v in doc.items() if v is not None})
    return tuple(docs)


PAGES_MAPPING: dict[str, Any] = {
    "settings": {
        "number_of_shards": 1, "number_of_replicas": 0, "index.knn": True,
        "analysis": {"analyzer": {"folded": {"type": "custom", "tokenizer": "standard",
                                             "filter": ["lowercase", "stop"]}}},
    },
    "mappings": {"properties": {
        "title": {"type": "text", "fields": {"raw": {"type": "keyword"}, "en": {"type": "text", "analyzer": "english"}}},
        "excerpt": {"type": "text", "analyzer": "english"},
        "body": {"type": "text"},
        "byline": {"type": "text", "analyzer": "simple", "fields": {"raw": {"type": "keyword"}}},
        "site": {"type": "keyword"},
        "lang": {"type": "keyword"},
        "readerable": {"type": "boolean"},
        "length": {"type": "integer"},
        "words": {"type": "long"},
        "published": {"type": "date"},
        "quality": {"type": "rank_feature"},
        "topics": {"type": "rank_features"},
        "vec": {"type": "knn_vector", "dimension": VECTOR_DIM,
                "method": {"name": "hnsw", "engine": "lucene", "space_type": "l2"}},
    }},
}


@lru_cache(maxsize=2)
def questions(shared: Path) -> tuple[dict[str, Any], ...]:
    docs = []
    lines = (shared / "question-classes" / "trec-train.label").read_bytes().decode("latin-1").splitlines()
    for number, line in enumerate(lines):
        label, _, text = line.partition(" ")
        coarse, _, fine = label.partition(":")
        docs.append({"_id": f"q{number}", "text": text, "coarse": coarse, "fine": fine,
                     "n": len(text.split())})
    return tuple(docs)


QUESTIONS_MAPPING: dict[str, Any] = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
    "mappings": {"properties": {
        "text": {"type": "text", "fields": {"en": {"type": "text", "analyzer": "english"}}},
        "coarse": {"type": "keyword"},
        "fine": {"type": "keyword"},
        "n": {"type": "integer"},
    }},
}
