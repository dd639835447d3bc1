"""The DVC stages, thin orchestrators run by `stance prepare | train | evaluate`. Nothing imports them but the CLI."""
