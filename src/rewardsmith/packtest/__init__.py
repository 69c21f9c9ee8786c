"""Pack test suites: expected outcomes per case (``tests/*.jsonl`` beside a pack), run
against the real components with judges replayed from cassettes or simulated; ``rewardsmith
packs test`` is the command (see ``docs/pack-tests.md``)."""
