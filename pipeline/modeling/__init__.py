"""Modeling: build the scikit-learn Pipeline from params, persist it safely, predict with it."""
