"""Judge-service simulators and pytest fixtures for plugin and pack authors.

* :class:`ConverseSimulator` — Amazon Bedrock Converse on loopback, for a real boto3 client;
* :class:`OpenAISimulator` — OpenAI chat completions on loopback, for the ``openai`` backend;
* :class:`FaultPolicy` — latency, throttling, 5xx, model timeouts/errors, validation errors,
  malformed verdicts, refusals and hangs, at random rates or scripted per request;
* :func:`default_verdict` — the deterministic verdict policy steered by ``[[PASS]]``/
  ``[[FAIL]]`` markers (see :mod:`rewardsmith.simulators.faults`);
* pytest fixtures in :mod:`rewardsmith.pytest_plugin` (``pytest_plugins =
  ["rewardsmith.pytest_plugin"]`` in a ``conftest.py``).

``rewardsmith simulate bedrock|openai`` runs a simulator from the command line and
``rewardsmith loadtest`` scores a pack against one (see :mod:`rewardsmith.simulators.loadtest`).
"""

from rewardsmith.simulators._server import RecordedRequest, SimulatorServer
from rewardsmith.simulators.converse_sim import ConverseSimulator
from rewardsmith.simulators.faults import (
    FAULT_KINDS,
    FaultPolicy,
    VerdictPolicy,
    VerdictRequest,
    default_verdict,
    schema_instance,
)
from rewardsmith.simulators.openai_sim import OpenAISimulator

__all__ = [
    "FAULT_KINDS",
    "ConverseSimulator",
    "FaultPolicy",
    "OpenAISimulator",
    "RecordedRequest",
    "SimulatorServer",
    "VerdictPolicy",
    "VerdictRequest",
    "default_verdict",
    "schema_instance",
]
