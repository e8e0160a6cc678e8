"""The rules and workflows of a course: the one policy, accounts, roster, papers, sign-up, reviewing, similarity, the panel. The viewer and ``now`` are parameters; operations flush, never commit."""
