"""The two small types every analysis module shares: :class:`Token` and :class:`UnknownAnalyzerError`."""

from __future__ import annotations

from dataclasses import dataclass

from localnode.errors import IllegalArgumentError


@dataclass(frozen=True, slots=True)
class Token:
    """One emitted token, shaped like an entry of OpenSearch's ``_analyze`` response.

    ``start_offset``/``end_offset`` index the Python string (code points). Java counts UTF-16
    units, so the two differ only after a character outside the BMP (emoji, rare CJK).
    ``type`` is Lucene's: ``<ALPHANUM>``, ``<NUM>``, ``<EMOJI>`` ... for the standard tokenizer,
    ``word`` for the whitespace, letter and keyword tokenizers.
    """

    term: str
    position: int
    start_offset: int
    end_offset: int
    type: str


class UnknownAnalyzerError(IllegalArgumentError):
    """An analyzer, tokenizer, token filter or char filter the engine cannot build.

    It is an ``illegal_argument_exception`` (HTTP 400), which is what OpenSearch answers for a
    bad analysis definition; the message names the offending component.
    """
