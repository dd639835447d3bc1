"""Evaluation: metrics and baselines, the behavioural suite, annotator agreement, the model card."""
