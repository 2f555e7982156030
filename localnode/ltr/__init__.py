"""Learning to Rank (opensearch-ltr 2.19) for the embedded engine: the engine-independent parts.

- :mod:`localnode.ltr.templates`: feature templates -- mustache exactly as the plugin renders
  them, the "Missing required param(s)" check, compiled features (mustache / derived / unsupported).
- :mod:`localnode.ltr.expressions`: the ``derived_expression`` language (Lucene expressions).
- :mod:`localnode.ltr.elements`: store elements (feature, featureset, model), body parsing and
  validation, ``_addfeatures`` / ``_createmodel``, the stored ``_source`` documents.
- :mod:`localnode.ltr.rankers`: model parsers (``model/linear``, ``model/xgboost+json``) producing
  float32-exact rankers, feature normalizers.
- :mod:`localnode.ltr.xcontent`: Java/Jackson/XContent compatibility helpers shared by the above.
"""
