"""Disclosure control that holds against differencing (rule set in docs/disclosure.md).

Public API:

* :func:`protection` / :func:`hidden_observation_ids` / :func:`mask_scores`: the cells the
  web withholds for a city (primary, dependency and secondary suppression);
* :func:`audit`: the attacker run against everything the web would serve;
* :func:`control`: switch disclosure control off for a block (to prove the attacker works);
* :class:`Rules`: threshold, protection range and what counts as sensitive.
"""

from inclusive_cities.disclosure.attacks import Finding
from inclusive_cities.disclosure.audit import AuditReport, audit, refuse_if_disclosive
from inclusive_cities.disclosure.errors import DisclosureError
from inclusive_cities.disclosure.publication import (
    Protection,
    hidden_observation_ids,
    mask_scores,
    protection,
    state_token,
)
from inclusive_cities.disclosure.rules import Rules, control, control_enabled

__all__ = [
    "AuditReport",
    "DisclosureError",
    "Finding",
    "Protection",
    "Rules",
    "audit",
    "control",
    "control_enabled",
    "hidden_observation_ids",
    "mask_scores",
    "protection",
    "refuse_if_disclosive",
    "state_token",
]
