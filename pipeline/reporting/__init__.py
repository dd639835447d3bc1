"""The visual report of scored rows (`stance report`): one self-contained HTML page."""
