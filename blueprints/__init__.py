"""Feature blueprints: one module per feature."""
