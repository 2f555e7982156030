"""Landing pages: where each pin links, and the HTML found there.

Cohesion asks "is the linked page about the pin?". To make that learnable and measurable, most
pins link to an article about their own phrases, wrapped in the boilerplate every site has
(cookie banner, "free shipping", newsletter box, "privacy policy", sidebar links) so keyword
extraction must see past it; a configured share link somewhere unrelated (another topic, spam, a
parked domain, an expired page as a soft or hard 404, a server error), which is the cohesive=0 gold
label. Several pins share each domain, near-duplicate pins usually share the page itself.
Pages are small (2-8 KB) and, for the M and L presets, only a share of them is written to disk.
"""

from __future__ import annotations

import html
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from indexer.corpus.sample.config import SampleConfig
from indexer.corpus.sample.jsonl import JsonlWriter, iso
from indexer.corpus.sample.lexicon import PAGE_INTROS, SEASONS, SENTENCES, TIER1
from indexer.corpus.sample.rng import stream
from indexer.corpus.sample.vocab import Vocabulary
from indexer.corpus.sample.world import pick_weighted

__all__ = ["PAGE_KINDS", "PagePlanner", "PageRef"]

#: Page kinds; every kind but ``article`` is unrelated to the pin (cohesive = 0).
PAGE_KINDS: tuple[str, ...] = ("article", "other_topic", "spam", "parked", "soft_404",
                               "hard_404", "server_error")
_STATUS = {"hard_404": 404, "server_error": 500}
_PREFIXES = ("the", "my", "daily", "simple", "little", "happy", "urban", "wild", "modern", "honest")
_SUFFIXES = ("journal", "hub", "blog", "co", "life", "lab", "studio", "diaries", "corner", "hq")
_TLDS = (".com", ".com", ".com", ".net", ".co", ".blog", ".org")
_SPAM_DOMAINS = ("best-deals-4u.biz", "free-prize-winner.info", "cheap-pills-online.xyz",
                 "crypto-double-now.top", "win-big-casino.click", "replica-watch-sale.shop",
                 "hot-singles-near.site", "miracle-weight-loss.icu")
_SPAM_SENTENCES = (
    "Congratulations! You have been selected to receive a free gift card worth $1000.",
    "Cheap replica watches and designer bags at 90% off, limited time only.",
    "Double your crypto in 24 hours with our guaranteed investment program.",
    "Click here to claim your prize before it expires today.",
    "Best online casino bonus: 500 free spins, no deposit required.",
    "Doctors hate this one weird trick to lose weight fast.",
    "Buy followers and likes instantly, 100% safe and cheap.",
)
_PARKED_WORDS = ("insurance", "loans", "hosting", "domains", "vacation", "credit", "mortgage",
                 "lawyer", "dating", "software", "degree", "rehab")
_NAMES = ("Anna", "Ben", "Carla", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas",
          "Klara", "Leo", "Maya", "Noah", "Olivia", "Paul", "Rosa", "Sam")
_NAV = ("Home", "Shop", "Blog", "Recipes", "About", "Contact", "Gallery", "Guides")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "post"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass(slots=True)
class PageRef:
    url: str
    kind: str
    cohesive: int
    status: int
    page_id: int
    fetched: bool
    topic: int  # interest index the page is about (-1 when none)


class PagePlanner:
    """Decides each pin's link and writes the page (HTML file + ``pages.jsonl`` row)."""

    def __init__(self, vocab: Vocabulary, cfg: SampleConfig, seed: int, corpus_dir: Path,
                 out: JsonlWriter, fetched_base: int) -> None:
        self.vocab = vocab
        self.cfg = cfg
        self.seed = seed
        self.corpus_dir = corpus_dir
        self.out = out
        self.fetched_base = fetched_base
        self.rng = stream(seed, "pages")
        self.n_pages = 0
        self.n_written = 0
        self.bytes_written = 0
        self._kinds = list(cfg.unrelated_kinds)
        acc, self._kind_cum = 0.0, []
        for k in self._kinds:
            acc += cfg.unrelated_kinds[k]
            self._kind_cum.append(acc)
        self.domains: list[list[str]] = []
        for t1, label in enumerate(vocab.tier1_labels):
            r = stream(seed, "domains", t1)
            site = TIER1[label].site_words
            pool: list[str] = []
            while len(pool) < 6:
                d = f"{r.choice(_PREFIXES)}{r.choice(site)}{r.choice(_SUFFIXES)}{r.choice(_TLDS)}"
                if d not in pool:
                    pool.append(d)
            self.domains.append(pool)
        self._made_dirs: set[int] = set()
        self._tier1_interests: dict[int, list] = {}
        for it in vocab.interests:
            self._tier1_interests.setdefault(it.tier1, []).append(it)
        self._domain_cum = []
        acc = 0.0
        for rank in range(6):
            acc += 1.0 / (rank + 1)
            self._domain_cum.append(acc)

    # -- planning ---------------------------------------------------------------------------------
    def plan(self, interest: int, phrases: list[int], lang: str) -> PageRef:
        rng = self.rng
        kind = "article"
        if rng.random() < self.cfg.unrelated_page_share:
            kind = self._kinds[pick_weighted(self._kind_cum, rng)]
        page_id = self.n_pages
        self.n_pages += 1
        fetched = rng.random() < self.cfg.page_fraction
        topic, topic_phrases = interest, phrases
        t1 = self.vocab.interests[interest].tier1
        if kind == "other_topic":
            while True:
                other = pick_weighted(self.vocab.interest_cum_weights, rng)
                if self.vocab.interests[other].tier1 != t1:
                    break
            topic = other
            it = self.vocab.interests[other]
            topic_phrases = [it.phrases[pick_weighted(it.cum_weights, rng)] for _ in range(4)]
            t1 = it.tier1
        domain = self.domains[t1][pick_weighted(self._domain_cum, rng)]
        slug = _slug(self.vocab.text[lang][topic_phrases[0]])
        if kind in ("article", "other_topic"):
            url = f"https://{domain}/blog/{slug}-{page_id}"
        elif kind == "spam":
            domain = rng.choice(_SPAM_DOMAINS)
            url = f"http://{domain}/go/{page_id:x}{rng.randrange(16 ** 4):04x}"
            topic = -1
        elif kind == "parked":
            domain = f"{rng.choice(_PARKED_WORDS)}{rng.choice(_PARKED_WORDS)}{page_id % 997}.com"
            url = f"http://{domain}/lander?ref={page_id}"  # unique: one pages.jsonl row per URL
            topic = -1
        else:
            url = f"https://{domain}/{2015 + page_id % 8}/{slug}-{page_id}"
            topic = -1
        ref = PageRef(url=url, kind=kind, cohesive=int(kind == "article"),
                      status=_STATUS.get(kind, 200), page_id=page_id, fetched=fetched,
                      topic=topic)
        if fetched:
            self._write(ref, domain, lang, topic_phrases if topic >= 0 else phrases, rng)
        return ref

    # -- writing ----------------------------------------------------------------------------------
    def _write(self, ref: PageRef, domain: str, lang: str, phrases: list[int],
               rng: random.Random) -> None:
        rel = f"pages/{ref.page_id % 256:02x}/{ref.page_id:08d}.html"
        if ref.kind in ("article", "other_topic"):
            doc = self._article(ref, domain, lang, phrases, rng)
        elif ref.kind == "spam":
            doc = self._spam(domain, rng)
        elif ref.kind == "parked":
            doc = self._parked(domain, rng)
        elif ref.kind in ("soft_404", "hard_404"):
            doc = self._not_found(domain, rng)
        else:
            doc = ("<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
                   "<body><center><h1>500 Internal Server Error</h1></center><hr>"
                   "<center>nginx</center></body></html>\n")
        data = doc.encode("utf-8")
        path = self.corpus_dir / rel
        shard = ref.page_id % 256
        if shard not in self._made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(shard)
        with open(path, "wb") as fh:
            fh.write(data)
        self.n_written += 1
        self.bytes_written += len(data)
        self.out.write({"url": ref.url, "fetched_at": iso(self.fetched_base + ref.page_id % 86400),
                        "path": rel, "status": ref.status})

    def _site(self, domain: str) -> str:
        return domain.split(".")[0].replace("-", " ").title()

    def _chrome(self, domain: str, rng: random.Random, title: str, desc: str, body: str,
                sidebar: list[str], lang: str, url: str | None = None) -> str:
        site = self._site(domain)
        twitter = ('<meta name="twitter:card" content="summary_large_image">\n'
                   if rng.random() < 0.4 else "")
        nav = " ".join(f'<a href="/{n.lower()}">{n}</a>' for n in rng.sample(_NAV, 5))
        side = "".join(f'<li><a href="/blog/{_slug(s)}">{_e(s)}</a></li>' for s in sidebar)
        canonical = f'<link rel="canonical" href="{_e(url)}">\n' if url else ""
        return (
            f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)} | {_e(site)}</title>\n"
            f'<meta name="description" content="{_e(desc)}">\n'
            f'<meta property="og:title" content="{_e(title)}">\n'
            f'<meta property="og:description" content="{_e(desc)}">\n'
            f'<meta property="og:site_name" content="{_e(site)}">\n'
            f"{twitter}{canonical}"
            '<link rel="stylesheet" href="/assets/main.css">\n</head>\n<body>\n'
            '<div class="cookie-banner" id="cookies">We use cookies to improve your experience '
            'and for marketing. By continuing to browse you accept our '
            '<a href="/privacy-policy">privacy policy</a> and cookie policy. '
            "<button>Accept all cookies</button> <button>Manage settings</button></div>\n"
            '<div class="promo-bar">Free shipping on all orders over $50! Use code WELCOME10 '
            "for 10% off your first order.</div>\n"
            f'<header class="site-header"><a class="logo" href="/">{_e(site)}</a>\n'
            f'<nav class="main-nav">{nav}</nav>\n'
            '<form class="search" action="/search"><input type="search" name="q" '
            'placeholder="Search..."></form></header>\n'
            f'<main class="content">\n{body}\n'
            '<aside class="sidebar">\n<section class="popular"><h3>Popular posts</h3>'
            f"<ul>{side}</ul></section>\n"
            '<section class="newsletter"><h3>Sign up for our newsletter</h3>'
            "<p>Get new posts, free printables and exclusive deals delivered to your inbox "
            "every week. No spam, unsubscribe at any time.</p>"
            '<form><input type="email" placeholder="Your email address">'
            "<button>Subscribe</button></form></section>\n</aside>\n</main>\n"
            f'<footer class="site-footer"><p>&copy; {2016 + len(domain) % 8} {_e(site)}. '
            "All rights reserved.</p>\n"
            '<ul><li><a href="/privacy-policy">Privacy policy</a></li>'
            '<li><a href="/terms">Terms of service</a></li>'
            '<li><a href="/shipping">Free shipping &amp; returns</a></li>'
            '<li><a href="/contact">Contact us</a></li>'
            '<li><a href="/affiliate-disclosure">Affiliate disclosure</a></li></ul>\n'
            "<p>As an Amazon Associate we earn from qualifying purchases.</p></footer>\n"
            "</body>\n</html>\n"
        )

    def _article(self, ref: PageRef, domain: str, lang: str, phrases: list[int],
                 rng: random.Random) -> str:
        vocab = self.vocab
        text = vocab.text[lang]
        topic = vocab.interests[ref.topic]
        pool = list(dict.fromkeys(phrases + [topic.phrases[pick_weighted(topic.cum_weights, rng)]
                                             for _ in range(4)]))
        focus = text[pool[0]]
        title = focus[:1].upper() + focus[1:]
        if rng.random() < 0.5:
            title = f"{title}: {text[pool[1 % len(pool)]]}"
        intro = rng.choice(PAGE_INTROS[lang]).format(p=focus, P=focus[:1].upper() + focus[1:])
        paragraphs = [intro]
        for _ in range(rng.randint(3, 8)):
            sents = []
            for _ in range(rng.randint(2, 4)):
                p, q = rng.choice(pool), rng.choice(pool)
                sents.append(rng.choice(SENTENCES[lang]).format(
                    p=text[p], q=text[q], season=rng.choice(SEASONS[lang])))
            paragraphs.append(" ".join(sents))
        desc = paragraphs[1].split(". ")[0][:155]
        body = (f'<article class="post">\n<h1 class="entry-title">{_e(title)}</h1>\n'
                f'<p class="byline">By {rng.choice(_NAMES)} &middot; Updated '
                f"{iso(self.fetched_base - rng.randrange(400) * 86400)[:10]}</p>\n"
                + "\n".join(f"<p>{_e(p)}</p>" for p in paragraphs)
                + '\n<div class="share">Share this: <a href="#">Pinterest</a> '
                '<a href="#">Facebook</a> <a href="#">Email</a></div>\n</article>')
        siblings = self._tier1_interests[vocab.interests[ref.topic].tier1]
        sidebar = [text[rng.choice(rng.choice(siblings).phrases)] for _ in range(5)]
        return self._chrome(domain, rng, title, desc, body, sidebar, lang, ref.url)

    def _spam(self, domain: str, rng: random.Random) -> str:
        sents = [rng.choice(_SPAM_SENTENCES) for _ in range(rng.randint(6, 14))]
        links = "".join(f'<a href="http://{rng.choice(_SPAM_DOMAINS)}/r/{rng.randrange(10**6)}">'
                        "CLICK HERE</a> " for _ in range(8))
        return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>!!! You are today's lucky winner !!!</title>\n"
                f'<meta name="description" content="{_e(sents[0])}">\n</head>\n<body>\n'
                "<h1>CONGRATULATIONS!!!</h1>\n"
                + "\n".join(f"<p>{_e(s)}</p>" for s in sents)
                + f"\n<div>{links}</div>\n<p>Free shipping worldwide. Privacy policy. "
                "Unsubscribe.</p>\n</body>\n</html>\n")

    def _parked(self, domain: str, rng: random.Random) -> str:
        related = rng.sample(_PARKED_WORDS, 6)
        items = "".join(f'<li><a href="/search?q={w}">{w.title()} {rng.choice(_PARKED_WORDS)}'
                        "</a></li>" for w in related)
        return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>{_e(domain)} - This domain may be for sale!</title>\n</head>\n<body>\n"
                f"<h1>{_e(domain)}</h1>\n<p>This domain may be for sale. Buy this domain.</p>\n"
                f"<h2>Related searches</h2>\n<ul>{items}</ul>\n"
                "<p>Privacy policy | Copyright 2024 | All rights reserved.</p>\n"
                "</body>\n</html>\n")

    def _not_found(self, domain: str, rng: random.Random) -> str:
        body = ('<article class="error-404"><h1>Oops! Page not found</h1>\n'
                "<p>Sorry, the page you are looking for doesn't exist or has been moved. "
                "It may have expired or the link may be broken.</p>\n"
                '<p>Try searching our site or go back to the <a href="/">home page</a>.</p>'
                "</article>")
        return self._chrome(domain, rng, "Page not found", "Page not found", body,
                            ["Latest posts", "Shop our favorites", "About us", "Gift guide",
                             "Contact"], "en")
