"""The term project (SPEC §5): groups, milestones, documents, proposals, talks and peer feedback."""
