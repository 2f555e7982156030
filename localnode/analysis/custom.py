"""Analyzers defined in index settings (``settings.analysis``), as OpenSearch builds them.

Supported, because these are what the engine implements exactly:

* analyzer types ``standard`` (``stopwords``, ``max_token_length``), ``english`` (``stopwords``,
  ``stem_exclusion``), ``simple``, ``stop`` (``stopwords``), ``whitespace``, ``keyword`` and
  ``custom`` (``tokenizer``, ``filter``, ``position_increment_gap``; ``char_filter`` only empty);
* tokenizers ``standard``, ``whitespace``, ``letter``, ``lowercase``, ``keyword``, by name or as
  ``settings.analysis.tokenizer.<name>`` with those types (``max_token_length`` where Lucene has it);
* token filters ``lowercase``, ``stop``, ``porter_stem``, ``asciifolding``, ``keyword_marker``,
  ``stemmer`` (languages ``english``/``porter`` = Porter, ``possessive_english``), by name or
  defined under ``settings.analysis.filter.<name>``;
* ``stopwords``: ``_english_``, ``_none_``, a list, or a comma-separated string (named lists may
  be mixed with words, as OpenSearch allows).

Anything else raises :class:`UnknownAnalyzerError` naming the component, which the engine
reports as a 400 ``illegal_argument_exception``, instead of silently analysing differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localnode.analysis.analyzers import (ANALYZER_NAMES, Analyzer, english_analyzer, get_analyzer,
                                          keyword_analyzer, simple_analyzer, standard_analyzer, stop_analyzer,
                                          whitespace_analyzer)
from localnode.analysis.base import UnknownAnalyzerError
from localnode.analysis.filters import (ENGLISH_STOP_WORDS, ASCIIFoldingFilter, EnglishPossessiveFilter,
                                        KeywordMarkerFilter, LowerCaseFilter, PorterStemFilter, StopFilter,
                                        TokenFilter)
from localnode.analysis.tokenizers import (KeywordTokenizer, LetterTokenizer, StandardTokenizer, Tokenizer,
                                           WhitespaceTokenizer)

_NAMED_STOPWORDS = {"_english_": ENGLISH_STOP_WORDS}


def _section(analysis: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    if not analysis:
        return {}
    if "analysis" in analysis and isinstance(analysis["analysis"], Mapping):
        analysis = analysis["analysis"]
    value = analysis.get(key) or {}
    return value if isinstance(value, Mapping) else {}


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise UnknownAnalyzerError(f"Failed to parse value [{value}] as only [true] or [false] are allowed. ({what})")


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UnknownAnalyzerError(f"Failed to parse value [{value}] for setting [{what}]") from None


def parse_stopwords(value: Any, default: frozenset[str], what: str) -> frozenset[str]:
    """OpenSearch ``stopwords``: absent -> default; ``_none_``; names like ``_english_``; words."""
    if value is None:
        return default
    if isinstance(value, str):
        if value == "_none_":
            return frozenset()
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        raise UnknownAnalyzerError(f"[{what}] stopwords must be a string or a list, got [{value}]")
    words: set[str] = set()
    for item in items:
        if item.startswith("_") and item.endswith("_") and len(item) > 2:
            if item == "_none_":
                continue
            named = _NAMED_STOPWORDS.get(item)
            if named is None:
                raise UnknownAnalyzerError(
                    f"[{what}] uses stopwords [{item}], which the embedded engine does not support "
                    f"(supported: _english_, _none_, or a word list)")
            words |= named
        else:
            words.add(item)
    return frozenset(words)


# Settings OpenSearch honours but this engine does not implement. Other unknown settings are
# ignored, as OpenSearch ignores them.
_UNSUPPORTED_SETTINGS = {"stopwords_path", "keywords_path", "keywords_pattern", "stem_exclusion_path",
                         "rules_path", "language", "version", "articles", "articles_path"}


def _check_keys(definition: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for key in definition:
        if key not in allowed and key in _UNSUPPORTED_SETTINGS:
            raise UnknownAnalyzerError(f"{what} has the setting [{key}], which the embedded engine does not support")


# -- tokenizers -----------------------------------------------------------------------------------

def _tokenizer(spec: Any, analysis: Mapping[str, Any] | None, analyzer: str) -> tuple[Tokenizer, bool]:
    """The tokenizer and whether it lowercases itself (the deprecated ``lowercase`` tokenizer)."""
    if isinstance(spec, Mapping):
        definition, label = spec, "tokenizer definition"
    elif isinstance(spec, str):
        defined = _section(analysis, "tokenizer").get(spec)
        if defined is None:
            return _builtin_tokenizer(spec, analyzer), spec == "lowercase"
        definition, label = defined, f"tokenizer [{spec}]"
    else:
        raise UnknownAnalyzerError(f"analyzer [{analyzer}] must specify a tokenizer")
    kind = definition.get("type")
    if kind in ("standard", "whitespace", "letter"):
        _check_keys(definition, {"type", "max_token_length"}, label)
        length = _int(definition.get("max_token_length", 255), "max_token_length")
        try:
            if kind == "standard":
                return StandardTokenizer(length), False
            return (WhitespaceTokenizer(length) if kind == "whitespace" else LetterTokenizer(length)), False
        except ValueError as exc:
            raise UnknownAnalyzerError(str(exc)) from None
    if kind == "keyword":
        _check_keys(definition, {"type", "buffer_size"}, label)
        return KeywordTokenizer(), False
    if kind == "lowercase":
        _check_keys(definition, {"type"}, label)
        return LetterTokenizer(), True
    raise UnknownAnalyzerError(
        f"{label} of analyzer [{analyzer}] has type [{kind}], which the embedded engine does not support")


def _builtin_tokenizer(name: str, analyzer: str) -> Tokenizer:
    if name == "standard":
        return StandardTokenizer()
    if name == "whitespace":
        return WhitespaceTokenizer()
    if name in ("letter", "lowercase"):
        return LetterTokenizer()
    if name == "keyword":
        return KeywordTokenizer()
    raise UnknownAnalyzerError(f"Custom Analyzer [{analyzer}] failed to find tokenizer under name [{name}] "
                               f"(the embedded engine supports standard, whitespace, letter, lowercase, keyword)")


# -- token filters --------------------------------------------------------------------------------

_BUILTIN_FILTERS = {
    "lowercase": LowerCaseFilter,
    "stop": StopFilter,
    "porter_stem": PorterStemFilter,
    "asciifolding": ASCIIFoldingFilter,
}


def _filter(spec: Any, analysis: Mapping[str, Any] | None, analyzer: str) -> TokenFilter:
    if isinstance(spec, Mapping):
        return _filter_from_definition(spec, "filter definition", analyzer)
    if not isinstance(spec, str):
        raise UnknownAnalyzerError(f"Custom Analyzer [{analyzer}] has an invalid filter [{spec}]")
    defined = _section(analysis, "filter").get(spec)
    if defined is not None:
        if not isinstance(defined, Mapping):
            raise UnknownAnalyzerError(f"filter [{spec}] must be an object")
        return _filter_from_definition(defined, f"filter [{spec}]", analyzer)
    factory = _BUILTIN_FILTERS.get(spec)
    if factory is None:
        raise UnknownAnalyzerError(
            f"Custom Analyzer [{analyzer}] failed to find filter under name [{spec}] (the embedded engine "
            f"supports {', '.join(sorted(_BUILTIN_FILTERS))} and defined filters of types "
            f"{', '.join(_FILTER_TYPES)})")
    return factory()


_FILTER_TYPES = ("lowercase", "stop", "porter_stem", "asciifolding", "keyword_marker", "stemmer")


def _filter_from_definition(definition: Mapping[str, Any], label: str, analyzer: str) -> TokenFilter:
    kind = definition.get("type")
    if kind == "lowercase":
        _check_keys(definition, {"type"}, label)
        return LowerCaseFilter()
    if kind == "stop":
        _check_keys(definition, {"type", "stopwords", "ignore_case", "remove_trailing"}, label)
        return StopFilter(parse_stopwords(definition.get("stopwords"), ENGLISH_STOP_WORDS, label),
                          _bool(definition.get("ignore_case", False), "ignore_case"))
    if kind == "porter_stem":
        _check_keys(definition, {"type"}, label)
        return PorterStemFilter()
    if kind == "asciifolding":
        _check_keys(definition, {"type", "preserve_original"}, label)
        return ASCIIFoldingFilter(_bool(definition.get("preserve_original", False), "preserve_original"))
    if kind == "keyword_marker":
        _check_keys(definition, {"type", "keywords", "ignore_case"}, label)
        keywords = definition.get("keywords", [])
        if isinstance(keywords, str):
            keywords = [k.strip() for k in keywords.split(",") if k.strip()]
        return KeywordMarkerFilter([str(k) for k in keywords], _bool(definition.get("ignore_case", False),
                                                                       "ignore_case"))
    if kind == "stemmer":
        _check_keys(definition, {"type", "language", "name"}, label)
        language = str(definition.get("language", definition.get("name", "english"))).lower()
        if language in ("english", "porter"):
            return PorterStemFilter()
        if language == "possessive_english":
            return EnglishPossessiveFilter()
        raise UnknownAnalyzerError(
            f"{label} of analyzer [{analyzer}] uses stemmer language [{language}], which the embedded engine "
            f"does not support (supported: english, porter, possessive_english)")
    raise UnknownAnalyzerError(
        f"{label} of analyzer [{analyzer}] has type [{kind}], which the embedded engine does not support")


# -- analyzers ------------------------------------------------------------------------------------

def _custom(name: str, definition: Mapping[str, Any], analysis: Mapping[str, Any] | None) -> Analyzer:
    _check_keys(definition, {"type", "tokenizer", "filter", "char_filter", "position_increment_gap",
                             "offset_gap"}, f"analyzer [{name}]")
    if "tokenizer" not in definition:
        raise UnknownAnalyzerError(f"analyzer [{name}] must specify either an analyzer type, or a tokenizer")
    char_filters = definition.get("char_filter") or []
    if isinstance(char_filters, str):
        char_filters = [char_filters]
    if char_filters:
        raise UnknownAnalyzerError(
            f"Custom Analyzer [{name}] uses char_filter [{char_filters[0]}]; char filters are not supported "
            f"by the embedded engine")
    tokenizer, lowercases = _tokenizer(definition["tokenizer"], analysis, name)
    specs = definition.get("filter") or []
    if isinstance(specs, str):
        specs = [specs]
    filters: list[TokenFilter] = [LowerCaseFilter()] if lowercases else []
    filters.extend(_filter(spec, analysis, name) for spec in specs)
    gap = _int(definition.get("position_increment_gap", 100), "position_increment_gap")
    return Analyzer(name, tokenizer, filters, position_increment_gap=gap)


def _typed(name: str, definition: Mapping[str, Any], analysis: Mapping[str, Any] | None) -> Analyzer:
    kind = definition.get("type")
    label = f"analyzer [{name}]"
    if kind == "custom" or (kind is None and "tokenizer" in definition):
        return _custom(name, definition, analysis)
    if kind is None:
        raise UnknownAnalyzerError(f"analyzer [{name}] must specify either an analyzer type, or a tokenizer")
    if kind == "standard":
        _check_keys(definition, {"type", "stopwords", "max_token_length"}, label)
        length = _int(definition.get("max_token_length", 255), "max_token_length")
        if length < 1:
            raise UnknownAnalyzerError("maxTokenLength must be greater than zero")
        return standard_analyzer(name, stopwords=parse_stopwords(definition.get("stopwords"), frozenset(), label),
                                 max_token_length=length)
    if kind == "english":
        _check_keys(definition, {"type", "stopwords", "stem_exclusion"}, label)
        exclusion = definition.get("stem_exclusion") or []
        if isinstance(exclusion, str):
            exclusion = [e.strip() for e in exclusion.split(",") if e.strip()]
        return english_analyzer(name, stopwords=parse_stopwords(definition.get("stopwords"), ENGLISH_STOP_WORDS,
                                                                label),
                                stem_exclusion=frozenset(str(e) for e in exclusion))
    if kind == "stop":
        _check_keys(definition, {"type", "stopwords"}, label)
        return stop_analyzer(name, stopwords=parse_stopwords(definition.get("stopwords"), ENGLISH_STOP_WORDS, label))
    if kind in ("simple", "whitespace", "keyword"):
        _check_keys(definition, {"type"}, label)
        return {"simple": simple_analyzer, "whitespace": whitespace_analyzer, "keyword": keyword_analyzer}[kind](name)
    raise UnknownAnalyzerError(f"Unknown analyzer type [{kind}] for [{name}]")


def build_analyzer(name_or_definition: str | Mapping[str, Any],
                   index_settings_analysis: Mapping[str, Any] | None = None) -> Analyzer:
    """Build an analyzer from a name (index-defined first, then built-in) or a definition.

    ``index_settings_analysis`` is the index's ``settings.analysis`` object
    (``{"analyzer": {...}, "tokenizer": {...}, "filter": {...}}``).
    Raises :class:`UnknownAnalyzerError` for anything the engine cannot build exactly.
    """
    if isinstance(name_or_definition, Mapping):
        return _typed("_anonymous_", name_or_definition, index_settings_analysis)
    if not isinstance(name_or_definition, str):
        raise UnknownAnalyzerError(f"analyzer name must be a string, got [{name_or_definition}]")
    name = name_or_definition
    definition = _section(index_settings_analysis, "analyzer").get(name)
    if definition is not None:
        if not isinstance(definition, Mapping):
            raise UnknownAnalyzerError(f"analyzer [{name}] must be an object")
        return _typed(name, definition, index_settings_analysis)
    if name in ANALYZER_NAMES:
        return get_analyzer(name)
    raise UnknownAnalyzerError(f"failed to find analyzer [{name}]")
