"""Learning to rank inside the engine: feature sets, click model, RankSVM, export, upload, evaluation.

The loop (see ``pipeline.train_and_activate``): impressions -> position bias -> COEC -> triplets ->
features logged by the engine (``ext.ltr_log``) -> RankSVM -> ``model/linear`` -> parity check ->
activation -> search with an ``sltr`` rescore. ``related_pipeline`` runs the same loop for Related
Pins (key: the query pin), whose requests then carry the active Related Pins model's rescore.
"""
