"""Features: tokens, the cue lexicon, the holder rules and cue features, PairView, embeddings."""
