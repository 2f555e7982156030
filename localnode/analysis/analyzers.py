"""Analyzers = tokenizer + token filter chain, with Lucene's positions and field-length rules.

Position rules (Lucene): a tokenizer token that the filters remove entirely (a stop word) leaves a
gap, because ``FilteringTokenFilter`` adds its position increment to the next kept token; extra
tokens a filter stacks on one input token (increment 0) share its position. None of the
tokenizers here skips positions, so every output term sits at the index of the tokenizer token
it came from, and:

* ``count(text)``: the field-length contribution for BM25 norms with ``discount_overlaps``
  (OpenSearch's default): tokens with a non-zero position increment, i.e. tokenizer tokens that
  keep at least one term. Removed stop words and stacked tokens do not count.
* ``end_position(text)``: how many positions the value occupies, trailing stop words included
  (Lucene adds the final position increment of ``end()``). For a multi-valued field the next
  value's positions start at ``previous start + end_position + position_increment_gap``.

Speed: the filter chain is a pure function of the token text (see ``filters.py``), so each
analyzer memoises ``token text -> output terms`` in a bounded dict; the tokenizer's ASCII path
lowercases while it splits when the chain starts by lowercasing anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from localnode.analysis.base import Token, UnknownAnalyzerError
from localnode.analysis.filters import (ENGLISH_STOP_WORDS, EnglishPossessiveFilter, KeywordMarkerFilter,
                                        LowerCaseFilter, PorterStemFilter, StopFilter, TokenFilter)
from localnode.analysis.tokenizers import (KeywordTokenizer, LetterTokenizer, StandardTokenizer, Tokenizer,
                                           WhitespaceTokenizer)

CACHE_LIMIT = 100_000


class Analyzer:
    """A named analysis chain. Thread-safe for concurrent use (the memo is a plain dict)."""

    def __init__(self, name: str, tokenizer: Tokenizer, filters: Sequence[TokenFilter] = (), *,
                 position_increment_gap: int = 100) -> None:
        self.name = name
        self.tokenizer = tokenizer
        self.filters: tuple[TokenFilter, ...] = tuple(filters)
        self.position_increment_gap = position_increment_gap
        self._one_to_one = all(f.one_to_one for f in self.filters)
        kinds = [type(f) for f in self.filters]
        # ASCII lowercasing may move to the front when the chain starts with it (possessive
        # stripping commutes with lowercasing).
        self._lower_first = bool(kinds) and (kinds[0] is LowerCaseFilter or
                                             kinds[:2] == [EnglishPossessiveFilter, LowerCaseFilter])
        self._lower_only = kinds == [LowerCaseFilter]
        self._memo: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"<Analyzer {self.name}: {self.tokenizer.name} {[f.name for f in self.filters]}>"

    # -- the chain, memoised --------------------------------------------------------------------
    def _run_chain(self, raw: str) -> tuple[str, ...]:
        items = [(raw, False)]
        for f in self.filters:
            items = f.apply(items)
            if not items:
                break
        return tuple(t for t, _ in items)

    def _outputs(self, raw: str) -> tuple[str, ...]:
        """All terms one tokenizer token becomes (empty when removed)."""
        out = self._memo.get(raw)
        if out is None:
            out = self._run_chain(raw)
            if len(self._memo) >= CACHE_LIMIT:
                self._memo.clear()
            self._memo[raw] = out
        return out  # type: ignore[return-value]

    def _single(self, raw: str) -> str | None:
        """For one-to-one chains: the single output term, or None when the token is removed."""
        memo = self._memo
        if raw in memo:
            return memo[raw]  # type: ignore[return-value]
        out = self._run_chain(raw)
        term = out[0] if out else None
        if len(memo) >= CACHE_LIMIT:
            memo.clear()
        memo[raw] = term
        return term

    # -- public API -------------------------------------------------------------------------------
    def terms(self, text: str) -> list[str]:
        """The indexed terms, in order (the indexing hot path)."""
        raws = self.tokenizer.raw_terms(text, self._lower_first)
        if not self.filters or (self._lower_only and text.isascii()):
            return raws
        if self._one_to_one:
            memo = self._memo
            try:
                out = [memo[raw] for raw in raws]
            except KeyError:  # a token not seen before (or the memo was just cleared)
                out = [self._single(raw) for raw in raws]
            if None in out:  # removed tokens (stop words)
                return [t for t in out if t is not None]
            return out  # type: ignore[return-value]
        return [t for raw in raws for t in self._outputs(raw)]

    def terms_with_positions(self, text: str) -> tuple[list[str], list[int]]:
        """Terms and their positions (first tokenizer token = 0; removed tokens leave gaps)."""
        raws = self.tokenizer.raw_terms(text, self._lower_first)
        if not self.filters or (self._lower_only and text.isascii()):
            return raws, list(range(len(raws)))
        terms: list[str] = []
        positions: list[int] = []
        if self._one_to_one:
            for pos, raw in enumerate(raws):
                term = self._single(raw)
                if term is not None:
                    terms.append(term)
                    positions.append(pos)
        else:
            for pos, raw in enumerate(raws):
                for term in self._outputs(raw):
                    terms.append(term)
                    positions.append(pos)
        return terms, positions

    def count(self, text: str) -> int:
        """Tokens that count toward the BM25 field length (position increment > 0)."""
        raws = self.tokenizer.raw_terms(text, self._lower_first)
        if not self.filters or (self._lower_only and text.isascii()):
            return len(raws)
        if self._one_to_one:
            return sum(1 for raw in raws if self._single(raw) is not None)
        return sum(1 for raw in raws if self._outputs(raw))

    def end_position(self, text: str) -> int:
        """Positions the text occupies: tokenizer tokens, removed ones included."""
        return len(self.tokenizer.raw_terms(text, self._lower_first))

    def analyze(self, text: str) -> list[Token]:
        """Full tokens with positions, offsets (code points) and Lucene types, like ``_analyze``."""
        out: list[Token] = []
        for pos, (raw, start, end, kind) in enumerate(self.tokenizer.tokens(text)):
            terms = (self._single(raw),) if self._one_to_one else self._outputs(raw)
            out.extend(Token(t, pos, start, end, kind) for t in terms if t is not None)
        return out


# -- built-in analyzers ---------------------------------------------------------------------------

def standard_analyzer(name: str = "standard", *, stopwords: frozenset[str] = frozenset(),
                      max_token_length: int = 255) -> Analyzer:
    """Lucene ``StandardAnalyzer``: standard tokenizer, lowercase, stop (none by default)."""
    filters: list[TokenFilter] = [LowerCaseFilter()]
    if stopwords:
        filters.append(StopFilter(stopwords))
    return Analyzer(name, StandardTokenizer(max_token_length), filters)


def english_analyzer(name: str = "english", *, stopwords: frozenset[str] = ENGLISH_STOP_WORDS,
                     stem_exclusion: frozenset[str] = frozenset()) -> Analyzer:
    """Lucene ``EnglishAnalyzer``: standard tokenizer, possessive, lowercase, stop, [keyword
    marker], Porter. The order matters: "John's" loses "'s" before stop words are looked up."""
    filters: list[TokenFilter] = [EnglishPossessiveFilter(), LowerCaseFilter()]
    if stopwords:
        filters.append(StopFilter(stopwords))
    if stem_exclusion:
        filters.append(KeywordMarkerFilter(stem_exclusion))
    filters.append(PorterStemFilter())
    return Analyzer(name, StandardTokenizer(), filters)


def simple_analyzer(name: str = "simple") -> Analyzer:
    """Lucene ``SimpleAnalyzer``: letter tokenizer (``Character.isLetter`` runs) + lowercase."""
    return Analyzer(name, LetterTokenizer(), [LowerCaseFilter()])


def stop_analyzer(name: str = "stop", *, stopwords: frozenset[str] = ENGLISH_STOP_WORDS) -> Analyzer:
    """Lucene ``StopAnalyzer``: letter tokenizer, lowercase, stop (``_english_`` by default)."""
    filters: list[TokenFilter] = [LowerCaseFilter()]
    if stopwords:
        filters.append(StopFilter(stopwords))
    return Analyzer(name, LetterTokenizer(), filters)


def whitespace_analyzer(name: str = "whitespace") -> Analyzer:
    """Lucene ``WhitespaceAnalyzer``: split on ``Character.isWhitespace``, nothing else."""
    return Analyzer(name, WhitespaceTokenizer())


def keyword_analyzer(name: str = "keyword") -> Analyzer:
    """Lucene ``KeywordAnalyzer``: the whole value is one term (an empty value too)."""
    return Analyzer(name, KeywordTokenizer())


_BUILTIN_FACTORIES = {
    "standard": standard_analyzer,
    "english": english_analyzer,
    "simple": simple_analyzer,
    "stop": stop_analyzer,
    "whitespace": whitespace_analyzer,
    "keyword": keyword_analyzer,
}
#: Names of the built-in analyzers this engine implements.
ANALYZER_NAMES: tuple[str, ...] = tuple(_BUILTIN_FACTORIES)
_BUILTINS: dict[str, Analyzer] = {}


def get_analyzer(name: str) -> Analyzer:
    """A built-in analyzer by name (shared instances, so their memos are shared too)."""
    analyzer = _BUILTINS.get(name)
    if analyzer is None:
        factory = _BUILTIN_FACTORIES.get(name)
        if factory is None:
            raise UnknownAnalyzerError(f"failed to find global analyzer [{name}]")
        analyzer = _BUILTINS[name] = factory()
    return analyzer
