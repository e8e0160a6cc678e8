"""The live panel room's rules and operations: commands, read models, reports, payloads and the event schema."""
