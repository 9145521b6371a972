"""Everything that runs a model, each kind behind a small Protocol."""
