"""What happens when two plugins register one name (a pack, a component type, a judge
backend, a metric function): the rule, kept out of ``core/plugins.py``.

- An installed package that reuses a name rewardsmith itself registers (a pack it calls
  ``json-extraction``) loses that one name: the built-in stays, the package's registration
  is skipped with a warning naming it and its distribution, and the message is kept in
  ``PluginHost.skipped``. Otherwise installing it would break every command, and a
  built-in cannot be uninstalled.
- Any other clash (two installed packages, an in-process plugin) still fails, naming both:
  which one the user meant is a guess, and uninstalling one or ``REWARDSMITH_PLUGINS``
  settles it (docs/decisions.md, "Fix-agent — duplicate registrations").
"""

from __future__ import annotations

import logging
from typing import Any

from rewardsmith.core.errors import PluginError

BUILT_IN_DISTRIBUTION = "rewardsmith"
_IN_PROCESS = "<local>"
_log = logging.getLogger("rewardsmith.plugins")


def _third_party(distribution: str) -> bool:
    return distribution not in (BUILT_IN_DISTRIBUTION, _IN_PROCESS)


def settle(kind: str, name: str, first: Any, info: Any, skipped: list[str]) -> bool:
    """Decide a second registration of ``name``: ``first`` is the ``Registered`` entry
    already there (``.plugin``, ``.distribution``), ``info`` the newcomer's ``PluginInfo``
    (``.name``, ``.distribution``). Returns True when the newcomer replaces ``first``,
    False when it is skipped (a warning is logged and appended to ``skipped``); raises
    PluginError when the clash cannot be settled."""
    plugin, distribution = info.name, info.distribution
    what = f"{kind[:-1].replace('_', ' ')} {name!r}"
    by = f"plugin {plugin!r} ({distribution})"
    was = f"plugin {first.plugin!r} ({first.distribution})"
    if first.distribution == BUILT_IN_DISTRIBUTION and _third_party(distribution):
        culprit, keep_first = by, True
    elif distribution == BUILT_IN_DISTRIBUTION and _third_party(first.distribution):
        culprit, keep_first = was, False
    else:
        raise PluginError(f"{what} is registered twice: by {was} and by {by}; uninstall one "
                          "or restrict loading with REWARDSMITH_PLUGINS")
    message = (f"{what} from {culprit} is skipped: rewardsmith has a built-in {what}; "
               "rename it in that package")
    skipped.append(message)
    _log.warning("%s", message)
    return not keep_first
