"""The reward-Lambda deployment: a zip with rewardsmith, the pack and its dependencies
(:mod:`.build`) and an AWS SAM template for it (:mod:`.template`). The command is
``rewardsmith lambda package`` (:mod:`rewardsmith.cli.lambda_`).
"""
