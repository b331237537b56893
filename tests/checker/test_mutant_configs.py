"""A mutant is checked in the configuration that kills it unless one is named."""

from __future__ import annotations

import pytest
from vigilnet.models import twophase

from vigilnet.checker import ModelFamily
from vigilnet.errors import ModelError


def _family(**mutant_configs: str) -> ModelFamily:
    base = twophase.FAMILY
    return ModelFamily(
        name="twophase-variant",
        summary=base.summary,
        build=base.build,
        configs={"rm2": {"RM": 2}, "rm3": {"RM": 3}},
        default_config="rm2",
        mutants=base.mutants,
        mutant_configs=mutant_configs,
    )


def test_mutant_uses_its_config_unless_one_is_named() -> None:
    mutant = next(iter(twophase.FAMILY.mutants))
    family = _family(**{mutant: "rm3"})
    assert family.instantiate(mutant=mutant).constants["RM"] == 3
    assert family.instantiate(mutant=mutant, config="rm2").constants["RM"] == 2
    assert family.instantiate().constants["RM"] == 2


def test_mutant_configs_must_name_known_mutants_and_configs() -> None:
    mutant = next(iter(twophase.FAMILY.mutants))
    with pytest.raises(ModelError, match="unknown mutant"):
        _family(no_such_mutant="rm2")
    with pytest.raises(ModelError, match="unknown config"):
        _family(**{mutant: "rm9"})


def test_sdbc_quorum_mutant_is_killed_where_it_is_wrong() -> None:
    from vigilnet.models import sdbc

    model = sdbc.FAMILY.instantiate(mutant="quorum_from_assumed_f")
    assert model.config == "n5f1"
