"""A polite, bounded, incremental page fetcher (``pinsearch pages fetch``).

Why each guard: landing pages are third-party servers we must not hammer and must not trust.

* **Timeouts** (connect and read) and a **byte cap** (the body is streamed and cut at
  ``max_bytes``, flagged ``truncated``) bound time and memory per URL.
* **Redirects** are followed by hand, at most ``max_redirects``, each hop checked against
  robots.txt; only ``http``/``https``.
* **robots.txt** per host (RFC 9309: 4xx means allow all, 5xx or unreachable means disallow all),
  cached for the run; its ``Crawl-delay`` raises the per-host delay.
* **Politeness**: at least ``host_delay`` seconds between two requests to one host.
* **Retries** on connection errors, 429 and 5xx, with exponential backoff (``Retry-After``
  honoured up to ``max_backoff``).
* **Incremental refresh**: ``OUT/state.json`` keeps each URL's ETag, Last-Modified and the SHA-256
  of its body; the next run sends conditional headers, and a 304 or an identical hash marks the
  page ``unchanged`` (its file is not rewritten, so downstream jobs skip it).

Output is a corpus fragment: ``OUT/pages.jsonl`` (``url``, ``status``, ``path``, ``fetched_at``,
the format of ``docs/corpus-format.md``) and ``OUT/pages/<xx>/<sha1(url)>.html``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

__all__ = ["FetchConfig", "FetchResult", "Fetcher", "fetch_urls_file", "read_urls_file"]

DEFAULT_UA = "pinsearch-fetcher/0.1 (+cohesion; polite)"


@dataclass(slots=True)
class FetchConfig:
    timeout: float = 10.0
    max_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 30.0
    host_delay: float = 1.0
    user_agent: str = DEFAULT_UA
    respect_robots: bool = True


@dataclass(slots=True)
class FetchResult:
    url: str
    final_url: str | None = None
    status: int | None = None
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None
    sha256: str | None = None
    truncated: bool = False
    unchanged: bool = False
    attempts: int = 0
    redirects: int = 0
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Fetcher:
    """Fetch URLs one at a time with the guards in the module doc. ``sleep``/``clock`` are injectable."""

    def __init__(self, config: FetchConfig | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        import requests

        self.config = config or FetchConfig()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = self.config.user_agent
        self._robots: dict[str, RobotFileParser | bool] = {}
        self._last: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._sleep = sleep
        self._clock = clock
        self.requests_made = 0

    def close(self) -> None:
        self._session.close()

    # -- politeness ------------------------------------------------------------------------------
    def _wait(self, host: str) -> None:
        delay = max(self.config.host_delay, self._delay.get(host, 0.0))
        last = self._last.get(host)
        if last is not None:
            remaining = last + delay - self._clock()
            if remaining > 0:
                self._sleep(remaining)
        self._last[host] = self._clock()

    def _get(self, url: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        host = urlsplit(url).netloc.lower()
        self._wait(host)
        self.requests_made += 1
        return self._session.get(url, headers=headers or {}, timeout=self.config.timeout,
                                 allow_redirects=False, stream=True)

    def _read(self, resp) -> tuple[bytes, bool]:  # type: ignore[no-untyped-def]
        chunks, size = [], 0
        deadline = self._clock() + self.config.timeout * 3
        for chunk in resp.iter_content(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > self.config.max_bytes:
                resp.close()
                return b"".join(chunks)[: self.config.max_bytes], True
            if self._clock() > deadline:
                resp.close()
                raise TimeoutError(f"body not read within {self.config.timeout * 3:g} s")
        return b"".join(chunks), False

    # -- robots.txt ------------------------------------------------------------------------------
    def allowed(self, url: str) -> bool:
        if not self.config.respect_robots:
            return True
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc.lower()}"
        rp = self._robots.get(key)
        if rp is None:
            rp = self._load_robots(key)
            self._robots[key] = rp
        if isinstance(rp, bool):
            return rp
        return rp.can_fetch(self.config.user_agent, url)

    def _load_robots(self, base: str) -> RobotFileParser | bool:
        import requests

        try:
            resp = self._get(base + "/robots.txt")
            body, _ = self._read(resp)
        except (requests.RequestException, TimeoutError):
            return False  # unreachable: RFC 9309 says assume complete disallow
        if 400 <= resp.status_code < 500:
            return True
        if resp.status_code >= 300:
            return resp.status_code < 500  # 3xx left unfollowed: allow; 5xx: disallow all
        rp = RobotFileParser()
        rp.parse(body.decode("utf-8", "replace").splitlines())
        delay = rp.crawl_delay(self.config.user_agent)
        if delay:
            self._delay[urlsplit(base).netloc.lower()] = min(float(delay), 60.0)
        return rp

    # -- fetching --------------------------------------------------------------------------------
    def fetch(self, url: str, previous: dict[str, Any] | None = None) -> FetchResult:
        """Fetch ``url``; never raises for network or HTTP trouble (see ``FetchResult.error``)."""
        import requests

        res = FetchResult(url=url)
        current = url
        cond: dict[str, str] = {}
        if previous:
            if previous.get("etag"):
                cond["If-None-Match"] = previous["etag"]
            if previous.get("last_modified"):
                cond["If-Modified-Since"] = previous["last_modified"]
        for hop in range(self.config.max_redirects + 1):
            if urlsplit(current).scheme not in ("http", "https") or not urlsplit(current).netloc:
                res.error = f"bad_url: {current!r} is not an absolute http(s) URL"
                return res
            if not self.allowed(current):
                res.error = f"robots: disallowed by {urlsplit(current).netloc}/robots.txt"
                return res
            resp = None
            for attempt in range(self.config.retries + 1):
                res.attempts += 1
                try:
                    resp = self._get(current, cond if hop == 0 else None)
                except requests.RequestException as exc:
                    resp, res.error = None, f"network: {type(exc).__name__}: {exc}"
                else:
                    if resp.status_code == 429 or resp.status_code >= 500:
                        res.error = f"http_{resp.status_code}"
                        if attempt < self.config.retries:
                            wait = self._retry_after(resp, attempt)
                            resp.close()
                            self._sleep(wait)
                            continue
                    break
                if attempt < self.config.retries:
                    self._sleep(min(self.config.max_backoff, self.config.backoff * 2 ** attempt))
            if resp is None:
                return res
            if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                res.redirects += 1
                current = urljoin(current, resp.headers["Location"])
                resp.close()
                continue
            res.final_url, res.status = current, resp.status_code
            res.error = None if resp.status_code < 400 else f"http_{resp.status_code}"
            res.etag = resp.headers.get("ETag")
            res.last_modified = resp.headers.get("Last-Modified")
            res.content_type = resp.headers.get("Content-Type", "")
            res.charset = _charset(res.content_type)
            if resp.status_code == 304 and previous:
                res.unchanged, res.status, res.sha256 = True, previous.get("status", 200), previous.get("sha256")
                res.etag = res.etag or previous.get("etag")
                res.last_modified = res.last_modified or previous.get("last_modified")
                resp.close()
                return res
            try:
                res.body, res.truncated = self._read(resp)
            except (requests.RequestException, TimeoutError) as exc:
                res.error = f"network: {type(exc).__name__}: {exc}"
                return res
            res.sha256 = hashlib.sha256(res.body).hexdigest()
            res.unchanged = bool(previous and previous.get("sha256") == res.sha256)
            return res
        res.error = f"too_many_redirects: more than {self.config.max_redirects}"
        return res

    def _retry_after(self, resp, attempt: int) -> float:  # type: ignore[no-untyped-def]
        base = self.config.backoff * 2 ** attempt
        try:
            base = max(base, float(resp.headers.get("Retry-After", "")))
        except ValueError:
            pass
        return min(self.config.max_backoff, base)


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip("\"'")
    return None


def read_urls_file(path: Path | str) -> list[str]:
    """URLs, one per line; blank lines and ``#`` comments skipped; repeats collapsed."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: URLs file not found")
    urls: list[str] = []
    for n, line in enumerate(p.read_text("utf-8", "replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if urlsplit(line).scheme not in ("http", "https"):
            raise ValueError(f"{p}: line {n}: {line!r} is not an absolute http(s) URL")
        urls.append(line)
    return list(dict.fromkeys(urls))


def fetch_urls_file(urls_file: Path | str, out_dir: Path | str, config: FetchConfig | None = None, *,
                    progress: bool = False, fetcher: Fetcher | None = None) -> dict[str, Any]:
    """Fetch every URL of ``urls_file`` into ``out_dir`` (see module doc); returns a summary."""
    return fetch_urls(read_urls_file(urls_file), out_dir, config, progress=progress, fetcher=fetcher)


def fetch_urls(urls: Iterable[str], out_dir: Path | str, config: FetchConfig | None = None, *,
               progress: bool = False, fetcher: Fetcher | None = None) -> dict[str, Any]:
    out = Path(out_dir)
    (out / "pages").mkdir(parents=True, exist_ok=True)
    state_path = out / "state.json"
    state: dict[str, dict[str, Any]] = json.loads(state_path.read_text("utf-8")) if state_path.is_file() else {}
    own = fetcher is None
    fetcher = fetcher or Fetcher(config)
    counts = {"fetched": 0, "changed": 0, "unchanged": 0, "errors": 0, "robots_blocked": 0, "truncated": 0}
    errors: list[dict[str, str]] = []
    changed: list[str] = []
    urls = list(urls)
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("fetching", total=len(urls))
    t0 = time.perf_counter()
    try:
        for url in urls:
            res = fetcher.fetch(url, state.get(url))
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if res.status is None:
                counts["errors"] += 1
                counts["robots_blocked"] += int(bool(res.error and res.error.startswith("robots")))
                errors.append({"url": url, "error": res.error or "unknown"})
            else:
                counts["fetched"] += 1
                counts["truncated"] += int(res.truncated)
                entry = state.get(url, {})
                if res.unchanged:
                    counts["unchanged"] += 1
                else:
                    counts["changed"] += 1
                    changed.append(url)
                    digest = hashlib.sha1(url.encode()).hexdigest()
                    rel = f"pages/{digest[:2]}/{digest}.html"
                    (out / rel).parent.mkdir(parents=True, exist_ok=True)
                    (out / rel).write_bytes(res.body)
                    entry = {"path": rel}
                entry.update({"status": res.status, "sha256": res.sha256, "etag": res.etag,
                              "last_modified": res.last_modified, "fetched_at": now,
                              "final_url": res.final_url})
                state[url] = entry
                if res.error:
                    errors.append({"url": url, "error": res.error})
            if bar:
                bar.advance(task)
    finally:
        if bar:
            bar.stop()
        if own:
            fetcher.close()
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True), "utf-8")
        tmp.replace(state_path)
    with open(out / "pages.jsonl", "w", encoding="utf-8") as fh:
        for url, e in sorted(state.items()):
            fh.write(json.dumps({"url": url, "status": e["status"], "path": e.get("path"),
                                 "fetched_at": e.get("fetched_at")}) + "\n")
    return {**counts, "urls": len(urls), "requests": fetcher.requests_made,
            "seconds": round(time.perf_counter() - t0, 3), "changed_urls": changed, "errors_detail": errors}
