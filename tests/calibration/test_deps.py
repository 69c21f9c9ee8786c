from __future__ import annotations

import sys

import pytest

from rewardsmith.calibration import MissingDependency, rank_correlations
from rewardsmith.calibration._deps import INSTALL_HINT


@pytest.mark.parametrize("module", ["numpy", "scipy"])
def test_a_missing_numerical_stack_names_the_extra(monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(MissingDependency) as info:
        rank_correlations([1.0, 2.0, 3.0], [1.0, 3.0, 2.0], n_resamples=0)
    assert INSTALL_HINT in str(info.value)
    assert INSTALL_HINT == "pip install 'rewardsmith[calibrate]'"
