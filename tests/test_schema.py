"""Every field pinsearch's own requests and LTR feature templates name exists in the pins mapping.

The index schema lives in ``pinsearch/mappings/pins.json`` and ``indexer/documents.py``; search,
Related Pins, the web page and the feature sets name its fields in their request bodies. A renamed
field must fail here, not at query time on a cluster (where a missing field silently matches
nothing). The requests are recorded from the real code paths on a small sample index.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

import pinsearch
from indexer.documents import load_pins_mapping
from tests.differential.harness import Recorder

LEAF_QUERIES = {"match", "match_phrase", "match_phrase_prefix", "term", "terms", "range", "prefix", "wildcard",
                "fuzzy", "regexp", "knn"}
NOT_FIELDS = {"boost", "_name", "minimum_should_match", "operator", "query", "analyzer", "value", "values"}


def mapping_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every addressable field path -> its type (objects, multi-fields included)."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        out[path] = spec.get("type", "object")
        for sub, sub_spec in (spec.get("fields") or {}).items():
            out[f"{path}.{sub}"] = sub_spec.get("type", "object")
        if "properties" in spec:
            out.update(mapping_fields(spec["properties"], path + "."))
    return out


def referenced_fields(node: Any) -> Iterator[str]:
    """Field names a query DSL body (or a fragment of one) refers to."""
    if isinstance(node, list):
        for item in node:
            yield from referenced_fields(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in LEAF_QUERIES and isinstance(value, dict):
            yield from (f for f in value if f not in NOT_FIELDS)
            for inner in value.values():
                yield from referenced_fields(inner)
        elif key == "multi_match" and isinstance(value, dict):
            yield from (f.split("^")[0] for f in value.get("fields", []))
        elif key in ("exists", "rank_feature", "field_value_factor") and isinstance(value, dict):
            if "field" in value:
                yield value["field"]
        elif key == "script" and isinstance(value, dict) and isinstance(value.get("params"), dict):
            if "field" in value["params"]:
                yield value["params"]["field"]
        elif key == "sort":
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    yield item
                elif isinstance(item, dict):
                    yield from item
        elif key == "_source" and isinstance(value, list):
            yield from (f for f in value if "*" not in f)
        else:
            yield from referenced_fields(value)


def check_field(field: str, fields: dict[str, str]) -> str | None:
    if field.startswith("_") or field in fields:
        return None
    head, _, _ = field.partition(".")
    if fields.get(head) == "rank_features":  # rank_features.<key>: keys are data, the field is the head
        return None
    if "{{" in field:  # a templated key under a field: the part before the template must exist
        base = field.split("{{")[0].rstrip(".")
        return None if base in fields else f"{field} (templated; [{base}] is not in the mapping)"
    return f"{field} is not in the pins mapping"


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    from indexer.corpus.sample import generate_sample
    from indexer.reindex import reindex_corpus
    from indexer.signals.pipeline import compute_signals
    work = tmp_path_factory.mktemp("schema")
    generate_sample(work / "xs", "XS", 0, progress=False, overwrite=True)
    corpus = work / "xs" / "corpus"
    signals = compute_signals(corpus, work / "cache")
    client = pinsearch.connect(f"embedded://{work / 'data'}")
    reindex_corpus(client, corpus, progress=False, signals=signals)
    try:
        yield client, work
    finally:
        pinsearch.close(client)


def test_every_request_body_names_mapped_fields(sample_index: tuple[Any, Path]) -> None:
    from pinsearch.server.api import ENDPOINTS
    from ranking.query_signals import query_signals_for
    from ranking.related import related_pins
    from ranking.search import search_pins
    client, work = sample_index
    recorder = Recorder(client)
    try:
        signals = query_signals_for(work / "cache")
        corpus = work / "xs" / "corpus"
        queries = [json.loads(line)["query"] for line in (corpus / "search_log.jsonl").read_text().splitlines()[:30]]
        pins = [json.loads(line)["id"] for line in (corpus / "pins.jsonl").read_text().splitlines()[:20]]
        for query in queries:
            search_pins(client, query, 10, signals=signals(query), explain=True)
            ENDPOINTS["search"](client, {"q": query}, signals)
        for pin in pins:
            related_pins(client, pin, 10, rescore=None, explain=True)
    finally:
        calls = recorder.stop()
    bodies = [json.loads(body) if isinstance(body, str) else body
              for _, url, _, body in calls if url.endswith("/_search") and body is not None]
    fields = mapping_fields(load_pins_mapping()["mappings"]["properties"])
    assert bodies, "no request was recorded"
    problems = sorted({p for body in bodies for f in referenced_fields(body) if (p := check_field(f, fields))})
    assert not problems, "\n".join(problems)
    seen = {f for body in bodies for f in referenced_fields(body)}
    assert {"title", "pin2vec", "annotations"} <= {f.split(".")[0].split("^")[0] for f in seen}, seen


@pytest.mark.parametrize("kind", ["search", "related"])
def test_feature_set_templates_name_mapped_fields(kind: str) -> None:
    from ranking.ltr.featuresets import load_featureset
    fields = mapping_fields(load_pins_mapping()["mappings"]["properties"])
    featureset = load_featureset(kind)
    problems = []
    for feature in featureset.features:
        template = feature["template"]
        if isinstance(template, str):  # mustache: a {{#toJson}} section becomes a JSON value
            template = re.sub(r"\{\{#toJson\}\}\w+\{\{/toJson\}\}", "[]", template)
        parsed = json.loads(template) if isinstance(template, str) else template
        problems += [f"{feature['name']}: {p}" for f in referenced_fields(parsed) if (p := check_field(f, fields))]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_a_missing_field() -> None:
    fields = mapping_fields(load_pins_mapping()["mappings"]["properties"])
    body = {"query": {"bool": {"should": [{"match": {"titel": "x"}}, {"multi_match": {"fields": ["title^2", "nope"]}},
                                          {"rank_feature": {"field": "annotations.any_key"}}]}}}
    problems = [p for f in referenced_fields(body) if (p := check_field(f, fields))]
    assert problems == ["titel is not in the pins mapping", "nope is not in the pins mapping"]


def test_the_first_pass_feature_is_the_first_pass_text_query() -> None:
    """LTR's ``text_first_pass`` feature must score what the first pass retrieves with."""
    from ranking.ltr.featuresets import load_featureset
    from ranking.search import build_search_body
    feature = next(f for f in load_featureset("search").features if f["name"] == "text_first_pass")
    template = feature["template"] if isinstance(feature["template"], dict) else json.loads(feature["template"])
    first_pass = build_search_body("red shoes", 10)["query"]["bool"]["must"][0]
    assert template["multi_match"] == {**first_pass["multi_match"], "query": "{{keywords}}"}
