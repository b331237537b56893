"""Executable models checked by ``vigilnet check``.

:data:`REGISTRY` maps a model's name to the ``"module:attribute"`` of its
:class:`vigilnet.checker.ModelFamily`; modules are imported only when the
model is used.  Registering a model is one line here.
"""

from __future__ import annotations

__all__ = ["REGISTRY"]

REGISTRY: dict[str, str] = {
    "diehard": "vigilnet.models.diehard:FAMILY",
    "twophase": "vigilnet.models.twophase:FAMILY",
    "peterson": "vigilnet.models.peterson:FAMILY",
    "sscr": "vigilnet.models.sscr:FAMILY",
    "shap": "vigilnet.models.shap:FAMILY",
    "sdbc": "vigilnet.models.sdbc:FAMILY",
    "admission": "vigilnet.models.admission:FAMILY",
}
