"""The real local judge for the ``real_judge`` tests: a running server named by
``REWARDSMITH_JUDGE_SERVER_URL``, else llama-server started from the judge-model folder when
it has been built and the model assembled (``rewardsmith judge-model build`` / ``fetch``);
otherwise those tests skip and say why. The replay tests need none of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rewardsmith.judgemodel.assets import QWEN_0_5B, cache_dir
from rewardsmith.judgemodel.build import server_binary
from rewardsmith.judgemodel.server import JudgeServer, configured_server_url


@pytest.fixture(scope="session")
def live_judge_url() -> Iterator[str]:
    configured = configured_server_url()
    if configured:
        yield configured
        return
    binary = server_binary()
    model = cache_dir() / "models" / QWEN_0_5B.filename
    if not binary.exists() or not model.exists():
        pytest.skip(f"no real judge: set REWARDSMITH_JUDGE_SERVER_URL, or build it with "
                    f"`rewardsmith judge-model build` and `fetch` (looked for {binary} and "
                    f"{model}); CI replays the recorded cassettes instead")
    with JudgeServer(binary, model) as server:
        yield server.base_url
