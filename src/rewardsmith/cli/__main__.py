"""``python -m rewardsmith.cli``: the same as the ``rewardsmith`` console script."""

from rewardsmith.cli.main import main

main()
