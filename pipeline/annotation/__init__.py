"""The annotation loop: export the pairs most worth labelling, import labelling passes, adjudicate, merge."""
