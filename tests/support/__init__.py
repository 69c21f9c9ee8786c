"""Helpers shared by test folders (imported as ``tests.support.<module>``; the repository
root is on ``sys.path`` through pytest's ``pythonpath`` setting):

- :mod:`.toy_plugin`: tiny components recording their calls (core, CLI, trainers);
- :mod:`.aws_lambda`: components and packs for the reward-Lambda tests;
- :mod:`.judges`: a scripted judge backend and pack factory;
- :mod:`.suites`: pack-suite reading, verdict books and expectation checks;
- :mod:`.metadata_plugin`: components whose values come from sample metadata;
- :mod:`.calibration_data`: a synthetic calibration data set with known weights;
- :mod:`.report`: scored runs for the report tests.
"""
