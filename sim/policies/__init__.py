"""Policies: small registered classes with a start and an end that change agents' parameters
(through the weekly `Levers`) or rules. They never touch outputs.

YAML `type:` names map to classes through `POLICY_TYPES`; `build_policy` validates a YAML entry.
"""

from sim.policies import (  # noqa: F401  (importing registers the types)
    demand,
    diplomacy,
    enforcement,
    naloxone,
    pandemic,
    regulation,
    sanctions,
)
from sim.policies.base import POLICY_TYPES, Levers, Policy, build_policy, register

__all__ = ["POLICY_TYPES", "Levers", "Policy", "build_policy", "register"]
