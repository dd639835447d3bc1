"""Data: articles, the actor registry, candidate (sentence, actor) pairs, gold labels and the splits."""
