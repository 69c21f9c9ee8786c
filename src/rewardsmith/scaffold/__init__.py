"""Tools for third-party authors: ``rewardsmith packs new`` scaffolds a pip-installable
rubric-pack package (see ``docs/writing-packs.md``); the pytest fixtures live in
:mod:`rewardsmith.pytest_plugin`.
"""
