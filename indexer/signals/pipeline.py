"""Compute every per-pin signal for a corpus, reusing cached results whose inputs did not change.

Each signal is a batch function over the corpus directory returning ``pin id -> value``. The cache
key is the signal's name and version plus a fingerprint of exactly the corpus files it reads, so
editing ``sessions.jsonl`` recomputes Pin2Vec but not annotations. Results are stored with joblib
under ``<cache_dir>/<signal>/<key>.joblib``.
"""

from __future__ import annotations

import hashlib
import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import joblib

from indexer.corpus.records import Pin
from indexer.documents import PinSignals


@dataclass(frozen=True, slots=True)
class SignalSpec:
    name: str
    function: str                 # "module:function", called as fn(corpus_dir) -> dict[pin_id, value]
    inputs: tuple[str, ...]       # corpus files (relative) the signal depends on
    version: int = 1
    trains_model: bool = False    # called with model_dir=<cache>/models/<name>, where query-side code finds it


SIGNALS: dict[str, SignalSpec] = {}


def register(spec: SignalSpec) -> None:
    SIGNALS[spec.name] = spec


@dataclass(slots=True)
class SignalSet:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)   # signal -> pin id -> value
    seconds: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def for_pin(self, pin: Pin) -> PinSignals:
        return PinSignals(
            annotations=self.values.get("annotations", {}).get(pin.id, {}),
            interests=self.values.get("interests", {}).get(pin.id, {}),
            cooccur=self.values.get("cooccur", {}).get(pin.id, {}),
            pin2vec=self.values.get("pin2vec", {}).get(pin.id),
            cohesion=self.values.get("cohesion", {}).get(pin.id))

    def summary(self) -> dict[str, Any]:
        return {name: {"pins": len(values), "seconds": round(self.seconds.get(name, 0.0), 2),
                       "cached": self.cached.get(name, False)} for name, values in self.values.items()} | {
            name: {"error": error} for name, error in self.errors.items()}


def model_dir(cache_dir: str | Path, name: str) -> Path:
    """Where a signal's trained model lives (query-side code, e.g. Q2I, loads it from here)."""
    return Path(cache_dir) / "models" / name


def fingerprint(corpus_dir: Path, inputs: tuple[str, ...]) -> str:
    digest = hashlib.sha1()
    for name in inputs:
        path = corpus_dir / name
        digest.update(name.encode())
        if path.is_file():
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        else:
            digest.update(b"<missing>")
    return digest.hexdigest()[:16]


def compute_signals(corpus_dir: str | Path, cache_dir: str | Path | None, names: list[str] | None = None,
                    *, log: Callable[[str], None] = lambda message: None, strict: bool = False) -> SignalSet:
    """Run the named signals (default: all registered) over a corpus.

    A signal that fails is reported in ``errors`` and left out (the index is still built, without it)
    unless ``strict``.
    """
    corpus_dir = Path(corpus_dir)
    result = SignalSet()
    for name in names or list(SIGNALS):
        spec = SIGNALS[name]
        key = f"v{spec.version}-{fingerprint(corpus_dir, spec.inputs)}"
        cache_file = Path(cache_dir) / name / f"{key}.joblib" if cache_dir is not None else None
        started = time.perf_counter()
        if cache_file is not None and cache_file.exists():
            result.values[name] = joblib.load(cache_file)
            result.cached[name] = True
        else:
            module_name, _, function_name = spec.function.partition(":")
            try:
                function = getattr(importlib.import_module(module_name), function_name)
                log(f"computing signal [{name}]")
                if spec.trains_model and cache_dir is not None:
                    target = model_dir(cache_dir, name)
                    if target.exists():
                        import shutil
                        shutil.rmtree(target)  # inputs changed: retrain rather than reuse a stale model
                    result.values[name] = function(corpus_dir, model_dir=target)
                else:
                    result.values[name] = function(corpus_dir)
            except Exception as exc:
                if strict:
                    raise
                result.errors[name] = f"{type(exc).__name__}: {exc}"
                log(f"signal [{name}] failed: {result.errors[name]}")
                continue
            if cache_file is not None:
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                for stale in cache_file.parent.glob("*.joblib"):
                    stale.unlink()
                joblib.dump(result.values[name], cache_file)
            result.cached[name] = False
        result.seconds[name] = time.perf_counter() - started
    return result


# The signals pinsearch computes; each module's batch function returns pin id -> value.
register(SignalSpec("cooccur", "indexer.signals.cooccurrence:cooccurrence_candidates", ("pins.jsonl", "boards.jsonl")))
register(SignalSpec("pin2vec", "indexer.signals.pin2vec:pin2vec_vectors", ("pins.jsonl", "sessions.jsonl")))
register(SignalSpec("cohesion", "indexer.cohesion:cohesion_scores", ("pins.jsonl", "pages.jsonl",
                                                                      "judgements/cohesion.jsonl")))
register(SignalSpec("interests", "indexer.interests.classify:classify_corpus",
                    ("pins.jsonl", "boards.jsonl", "judgements/interests.jsonl"), trains_model=True))
register(SignalSpec("annotations", "indexer.signals.annotation_signal:annotations_signal",
                    ("pins.jsonl", "boards.jsonl", "pages.jsonl", "search_log.jsonl",
                     "judgements/annotations.jsonl"), trains_model=True))
