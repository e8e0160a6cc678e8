"""The gradebook (SPEC §6): categories and weights, rubrics, late adjustments, posting, the
discussion proposal, the grid read model and its exports."""
