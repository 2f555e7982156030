"""Compute every per-pin signal for a corpus, reusing cached results whose inputs did not change.

Each signal is a batch function over the corpus directory returning ``pin id -> value``. The cache
key is the signal's name and version plus a fingerprint of exactly the corpus files it reads, so
editing ``sessions.jsonl`` recomputes Pin2Vec but not annotations. Every file a signal reads counts:
``boards.jsonl`` for all of them (a pin is only valid when its boards are, and the other files are
checked against the valid pins), and for the signals that read landing pages (``page_files``:
cohesion, annotations) the content of every HTML file ``pages.jsonl`` points to, so a re-fetched or
deleted page recomputes them even when ``pages.jsonl`` itself did not change. Plus -- for signals with tunable
parameters (Pin2Vec's ``window`` and ``epochs``) -- a digest of the parameter values in effect, so a
run with other parameters never reuses values computed with the old ones. Results are stored with
joblib under ``<cache_dir>/<signal>/<key>.joblib``.

Signals that train a model (``trains_model``) save it under ``<cache_dir>/models/<signal>``, where the
query side and instant updates load it, with ``signal.json`` beside it: the signal version, cache
key, input files and fingerprint, and parameters it was trained from, so a model found on disk can be
traced to the corpus state and settings that produced it.

``incremental=True`` (``pinsearch reindex --incremental``) lets the signals that have an instant path
(annotations, interests, cohesion: ``indexer/signals/instant.py``) skip retraining when their inputs
changed: the previous values are kept for pins whose own inputs did not change (a per-pin key stored
beside the values as ``<key>.pins.joblib``), new and changed pins are scored with the saved model, and
pins gone from the corpus are dropped. The result is cached as ``<key>.instant.joblib``, which only
incremental runs read: a full reindex recomputes (and retrains) in batch.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

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
    params: tuple[str, ...] = ()  # keyword arguments of ``function`` a run may set; part of the cache key
    settings: tuple[tuple[str, Any], ...] = ()  # their values for one run (``configure``), not set at register
    page_files: bool = False      # also reads the HTML files pages.jsonl points to: their content is in the key


SIGNALS: dict[str, SignalSpec] = {}


def register(spec: SignalSpec) -> None:
    SIGNALS[spec.name] = spec


@dataclass(slots=True)
class SignalSet:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)   # signal -> pin id -> value
    seconds: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    instant: dict[str, dict[str, int]] = field(default_factory=dict)  # signal -> {"computed", "kept", "dropped"}

    def for_pin(self, pin: Pin) -> PinSignals:
        return PinSignals(
            annotations=self.values.get("annotations", {}).get(pin.id, {}),
            interests=self.values.get("interests", {}).get(pin.id, {}),
            cooccur=self.values.get("cooccur", {}).get(pin.id, {}),
            pin2vec=self.values.get("pin2vec", {}).get(pin.id),
            cohesion=self.values.get("cohesion", {}).get(pin.id))

    def summary(self) -> dict[str, Any]:
        return {name: {"pins": len(values), "seconds": round(self.seconds.get(name, 0.0), 2),
                       "cached": self.cached.get(name, False)}
                | ({"instant": self.instant[name]} if name in self.instant else {})
                for name, values in self.values.items()} | {
            name: {"error": error} for name, error in self.errors.items()}


def model_dir(cache_dir: str | Path, name: str) -> Path:
    """Where a signal's trained model lives (query-side code, e.g. Q2I, loads it from here)."""
    return Path(cache_dir) / "models" / name


def fingerprint(corpus_dir: Path, inputs: tuple[str, ...], *, page_files: bool = False,
                memo: dict[str, str] | None = None) -> str:
    """A digest of the content of the input files (a missing file counts as ``<missing>``) and, with
    ``page_files``, of every HTML file ``pages.jsonl`` points to (:func:`page_files_digest`).
    ``memo`` shares that page digest between the signals of one run (it reads every page file)."""
    digest = hashlib.sha1()
    for name in inputs:
        path = corpus_dir / name
        digest.update(name.encode())
        if path.is_file():
            digest.update(_file_digest(path))
        else:
            digest.update(b"<missing>")
    if page_files:
        if memo is None:
            memo = {}
        if "pages" not in memo:
            memo["pages"] = page_files_digest(corpus_dir)
        digest.update(b"<page files>" + memo["pages"].encode())
    return digest.hexdigest()[:16]


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def page_files_digest(corpus_dir: str | Path) -> str:
    """A digest of every landing-page HTML file of a corpus: the ``path`` of each ``pages.jsonl`` row
    (read leniently: a line that is not JSON is skipped here, the signals' reader rejects it) and the
    file's content, or ``<missing>``. Paths the corpus reader refuses (absolute, with ``..``) are not
    read. Sorted by path, so reordering ``pages.jsonl`` rows alone changes nothing here."""
    corpus_dir = Path(corpus_dir)
    pages = corpus_dir / "pages.jsonl"
    paths: set[str] = set()
    if pages.is_file():
        with pages.open("rb") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("path"), str) and row["path"]:
                    paths.add(row["path"])
    digest = hashlib.sha1()
    for rel in sorted(paths):
        digest.update(rel.encode("utf-8", "surrogatepass") + b"\x00")
        pure = PurePosixPath(rel.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (len(rel) > 1 and rel[1] == ":"):
            digest.update(b"<not read>")
            continue
        path = corpus_dir / rel
        try:
            digest.update(_file_digest(path) if path.is_file() else b"<missing>")
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()


def _function(spec: SignalSpec) -> Callable[..., Any]:
    module_name, _, function_name = spec.function.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def signal_params(spec: SignalSpec, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The values of a signal's tunable parameters for one run: the batch function's own defaults,
    replaced by ``overrides``. Resolving the defaults (rather than keying on the overrides alone)
    makes an explicit ``--pin2vec-epochs 10`` share the cache entry of a run that left it at 10."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(spec.params))
    if unknown:
        allowed = ", ".join(spec.params) or "none"
        raise ValueError(f"signal [{spec.name}] has no parameter(s) {unknown}; tunable: {allowed}")
    if not spec.params:
        return {}
    signature = inspect.signature(_function(spec))
    values: dict[str, Any] = {}
    for name in spec.params:
        default = signature.parameters[name].default
        if name not in overrides and default is inspect.Parameter.empty:
            raise ValueError(f"signal [{spec.name}]: parameter [{name}] of {spec.function} has no default; "
                             "give it a value")
        values[name] = overrides.get(name, default)
    return values


def configure(spec: SignalSpec, overrides: Mapping[str, Any] | None = None) -> SignalSpec:
    """The spec as one run uses it: ``settings`` holds every tunable parameter's value (see
    :func:`signal_params`), which the batch function receives and the cache key includes."""
    return replace(spec, settings=tuple(sorted(signal_params(spec, overrides).items())))


def cache_key(spec: SignalSpec, corpus_dir: str | Path, *, memo: dict[str, str] | None = None) -> str:
    """``v<version>-<input fingerprint>`` (input files, and page HTML files for ``page_files`` signals),
    plus ``-p<digest>`` of the parameter values in effect for signals with tunable parameters
    (``spec.settings``, see :func:`configure`). ``memo``: see :func:`fingerprint`."""
    key = f"v{spec.version}-{fingerprint(Path(corpus_dir), spec.inputs, page_files=spec.page_files, memo=memo)}"
    params = dict(spec.settings)
    if params:
        digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]
        key += f"-p{digest}"
    return key


def compute_signals(corpus_dir: str | Path, cache_dir: str | Path | None, names: list[str] | None = None,
                    *, log: Callable[[str], None] = lambda message: None, strict: bool = False,
                    incremental: bool = False,
                    params: Mapping[str, Mapping[str, Any]] | None = None) -> SignalSet:
    """Run the named signals (default: all registered) over a corpus.

    A signal that fails is reported in ``errors`` and left out (the index is still built, without it)
    unless ``strict``. ``incremental`` allows the instant path (module docstring) where it applies.
    ``params`` sets tunable parameters per signal (``{"pin2vec": {"epochs": 20}}``); they are passed
    to the batch function and folded into the cache key. A name or parameter that does not exist is
    a ``ValueError`` before anything is computed, so a typo never silently trains with defaults.
    """
    from indexer.signals.instant import INSTANT, CorpusState

    corpus_dir = Path(corpus_dir)
    unknown = sorted(set(params or {}) - set(SIGNALS))
    if unknown:
        raise ValueError(f"parameters given for unknown signal(s) {unknown}; known: {', '.join(SIGNALS)}")
    configured = {name: configure(SIGNALS[name], (params or {}).get(name)) for name in SIGNALS
                  if name in (params or {}) or SIGNALS[name].params}
    state = CorpusState(corpus_dir)  # read lazily, once, by the signals that need it
    result = SignalSet()
    memo: dict[str, str] = {}  # the page files' digest, computed once for the signals that read pages
    for name in names or list(SIGNALS):
        spec = configured.get(name, SIGNALS[name])
        key = cache_key(spec, corpus_dir, memo=memo)
        folder = Path(cache_dir) / name if cache_dir is not None else None
        cache_file = folder / f"{key}.joblib" if folder is not None else None
        instant = INSTANT.get(name) if spec.trains_model else None
        started = time.perf_counter()
        if cache_file is not None and cache_file.exists() and _model_matches(spec, instant, cache_dir, key):
            result.values[name] = joblib.load(cache_file)
            result.cached[name] = True
        elif incremental and instant is not None and folder is not None and (folder / f"{key}.instant.joblib").exists():
            result.values[name] = joblib.load(folder / f"{key}.instant.joblib")
            result.cached[name] = True
        else:
            try:
                updated = None
                if incremental and instant is not None and folder is not None:
                    updated = _instant_update(name, instant, state, folder, model_dir(cache_dir, name), key, log)
                if updated is not None:
                    result.values[name], result.instant[name] = updated
                else:
                    result.values[name] = _batch(spec, corpus_dir, cache_dir, log, key=key)
            except Exception as exc:
                if strict:
                    raise
                result.errors[name] = f"{type(exc).__name__}: {exc}"
                log(f"signal [{name}] failed: {result.errors[name]}")
                continue
            if cache_file is not None and name not in result.instant:
                _store(folder, f"{key}.joblib", result.values[name],  # type: ignore[arg-type]
                       _pin_state(instant, state, model_dir(cache_dir, name)) if instant is not None else None)
            result.cached[name] = False
        result.seconds[name] = time.perf_counter() - started
    return result


def _batch(spec: SignalSpec, corpus_dir: Path, cache_dir: str | Path | None, log: Callable[[str], None],
           *, key: str | None = None) -> Any:
    """Compute one signal over the whole corpus with the parameter values in ``spec.settings``; a
    model-training signal retrains into ``<cache>/models/<name>`` and records there what it was
    trained from (``signal.json``). ``key`` is the cache key the caller already computed (hashing the
    input files again for the record would read the corpus twice)."""
    function = _function(spec)
    params = dict(spec.settings)
    log(f"computing signal [{spec.name}]" + (f" with {dict(params)}" if params else ""))
    if spec.trains_model and cache_dir is not None:
        target = model_dir(cache_dir, spec.name)
        if target.exists():
            import shutil
            shutil.rmtree(target)  # inputs changed: retrain rather than reuse a stale model
        values = function(corpus_dir, model_dir=target, **params)
        # written even when nothing was trained (Pin2Vec without sessions): the record says so, and the
        # cached (empty) values stay valid instead of being recomputed on every run
        target.mkdir(parents=True, exist_ok=True)
        files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        key = key or cache_key(spec, corpus_dir)
        _dump_json({"signal": spec.name, "version": spec.version, "cache_key": key,
                    "inputs": list(spec.inputs), "fingerprint": key.split("-")[1],
                    "params": dict(params), "corpus_dir": str(corpus_dir.resolve()), "model_files": files},
                   target / "signal.json")
        return values
    return function(corpus_dir, **params)


def _model_matches(spec: SignalSpec, instant: Any, cache_dir: str | Path | None, key: str) -> bool:
    """Whether cached values of a model-training signal still have their model on disk.

    Only for signals without an instant path (Pin2Vec): their saved model must be the one behind
    the cached vectors (same cache key in ``signal.json``), otherwise a deleted or replaced model
    directory would go unnoticed and the query side would load vectors the index does not hold; a
    mismatch recomputes. Instant signals keep their model across incremental updates on purpose
    (the values move on, the model stays), so their model is checked by ``_instant_update`` instead.
    """
    if not spec.trains_model or instant is not None or cache_dir is None:
        return True
    record = read_model_record(cache_dir, spec.name)
    return record is not None and record.get("cache_key") == key


def read_model_record(cache_dir: str | Path, name: str) -> dict[str, Any] | None:
    """The ``signal.json`` a full run wrote beside a signal's saved model, or None when there is none
    (never trained with this cache, or trained before the record existed)."""
    path = model_dir(cache_dir, name) / "signal.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _dump_json(value: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str))
    tmp.replace(path)


def _pin_state(instant: Any, state: Any, model: Path) -> dict[str, Any]:
    from indexer.signals.instant import model_stamp
    return {"keys": instant.pin_keys(state), "model": model_stamp(model)}


def _store(folder: Path, filename: str, values: Any, pin_state: dict[str, Any] | None) -> None:
    """Write one cache entry (values, and the per-pin keys of instant signals), then drop the older
    ones. Each file is written beside its name and renamed, so a killed run never leaves half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {folder / filename}
    if pin_state is not None:
        written.add(folder / filename.replace(".joblib", ".pins.joblib"))
        _dump(pin_state, folder / filename.replace(".joblib", ".pins.joblib"))
    _dump(values, folder / filename)
    for stale in folder.glob("*.joblib"):
        if stale not in written:
            stale.unlink()


def _dump(value: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump(value, tmp)
    tmp.replace(path)


def _instant_update(name: str, instant: Any, state: Any, folder: Path, model: Path, key: str,
                    log: Callable[[str], None]) -> tuple[dict[str, Any], dict[str, int]] | None:
    """The previous values with new and changed pins recomputed by the saved model, or None when
    there is nothing to start from (no model, no per-pin keys, or a model retrained since)."""
    from indexer.signals.instant import model_stamp

    if not instant.ready(model):
        return None
    version = key.split("-", 1)[0]
    previous = sorted(folder.glob(f"{version}-*.pins.joblib"))
    if len(previous) != 1:
        return None
    pin_state = joblib.load(previous[0])
    stamp = model_stamp(model)
    if pin_state.get("model") != stamp:
        return None
    values_file = previous[0].with_name(previous[0].name.replace(".pins.joblib", ".joblib"))
    if not values_file.exists():
        return None
    old_values: dict[str, Any] = joblib.load(values_file)
    old_keys: dict[str, str] = pin_state["keys"]
    keys = instant.pin_keys(state)
    todo = [p for p in state.pins if old_keys.get(p.id) != keys[p.id]]
    log(f"instant signal [{name}]: {len(todo)} new or changed pins, no retraining")
    fresh = instant.compute(state, model, todo) if todo else {}
    values = {p.id: fresh[p.id] if p.id in fresh else old_values[p.id] for p in state.pins
              if p.id in fresh or p.id in old_values}
    counts = {"computed": len(fresh), "kept": len(values) - len(fresh),
              "dropped": len(set(old_values) - set(keys))}
    _store(folder, f"{key}.instant.joblib", values, {"keys": keys, "model": stamp})
    return values, counts


# The signals pinsearch computes; each module's batch function returns pin id -> value. ``inputs``
# lists every corpus file the signal's readers open, including ``boards.jsonl`` everywhere: the
# validating reader checks pins' board references before it yields a pin (a garbage boards.jsonl
# rejects every pin), and sessions, logs and judgements against the valid pins.
register(SignalSpec("cooccur", "indexer.signals.cooccurrence:cooccurrence_candidates", ("pins.jsonl", "boards.jsonl")))
# pin2vec v2: trains_model, so the model behind the indexed vectors is saved (and the cache entries of
# v1, which saved none, are recomputed once). It has no instant path: when sessions change it retrains
# in batch, on incremental runs too.
register(SignalSpec("pin2vec", "indexer.signals.pin2vec:pin2vec_vectors",
                    ("pins.jsonl", "boards.jsonl", "sessions.jsonl"),
                    version=2, trains_model=True, params=("window", "epochs")))
register(SignalSpec("cohesion", "indexer.cohesion:cohesion_scores",
                    ("pins.jsonl", "boards.jsonl", "pages.jsonl", "judgements/cohesion.jsonl"),
                    version=2, trains_model=True, page_files=True))
register(SignalSpec("interests", "indexer.interests.classify:classify_corpus",
                    ("pins.jsonl", "boards.jsonl", "judgements/interests.jsonl"), trains_model=True))
register(SignalSpec("annotations", "indexer.signals.annotation_signal:annotations_signal",
                    ("pins.jsonl", "boards.jsonl", "pages.jsonl", "search_log.jsonl",
                     "judgements/annotations.jsonl"), trains_model=True, page_files=True))
