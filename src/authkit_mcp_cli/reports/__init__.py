"""doctor's reports, each rendered from the same results (checks.model):
``formats.render`` is the one entry point."""
