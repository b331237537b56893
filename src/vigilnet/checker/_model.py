"""The model API: what a model is, independently of how it is checked.

A model is plain Python.  It says

* which states are initial (:attr:`Model.init_states`),
* which labelled actions lead from a state to its successors
  (:attr:`Model.actions`; an action yields ``(args, next_state)`` pairs, one
  per enabled instance, so ``RMPrepare`` yields ``(("r1",), s1)``,
  ``(("r2",), s2)`` ...),
* which named properties must hold (:class:`Property`, tagged ``always`` /
  ``sometimes`` / ``eventually`` / ``leads_to`` as in Stateright),
* optionally a state constraint (:attr:`Model.within_boundary`), the
  ``ASSUME`` facts about its constants (:attr:`Model.assumptions`), a symmetry
  (:attr:`Model.symmetry`: a function mapping a state to the canonical
  representative of its orbit), weak fairness of named actions
  (:attr:`Model.fairness`) and a vectorised kernel (:attr:`Model.kernel`).

States must be hashable and compare by value (frozen dataclasses, tuples,
frozensets).  :attr:`Model.view` maps a state to its TLA+ variables (name to
value) for traces, diffs and ITF files.

A :class:`ModelFamily` groups the models built from one specification: a
builder taking constants, named bounded configurations, and mutants
(known-bad variants that the checker must kill).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from vigilnet.errors import ModelError

if TYPE_CHECKING:
    from vigilnet.checker._vector import VectorKernel

__all__ = [
    "Action",
    "Assumption",
    "Constants",
    "ConstantsError",
    "Kind",
    "Model",
    "ModelError",
    "ModelFamily",
    "Property",
    "WeakFairness",
]

S = TypeVar("S", bound=Hashable)

#: The constants a model is built from (``RM = 3``).
Constants = Mapping[str, object]

#: An integer constant lies in ``[-2**63, 2**63)``: a bounded model has no use
#: for more, and a larger one (from ``--const`` or a trace) only makes the
#: builder hang or fail somewhere deep.
CONSTANT_INT_BITS = 63


class ConstantsError(ModelError):
    """Constants a model cannot be built from: a name it does not have, a
    value of another type than its configuration's, or values its builder
    refuses.  The blame lies with whoever chose the constants (``--const``,
    a trace's overrides), not with the model."""


class Kind(enum.Enum):
    """How a property is judged."""

    #: Holds in every reachable state (an invariant).  A violation has a
    #: shortest counterexample.
    ALWAYS = "always"
    #: Holds in at least one reachable state (a witness).  Pairs with an
    #: always-property so that nothing passes vacuously.
    SOMETIMES = "sometimes"
    #: Every fair behaviour eventually reaches a state where it holds (``<>P``).
    EVENTUALLY = "eventually"
    #: Whenever ``trigger`` holds, ``holds`` holds then or later on every
    #: fair behaviour (``P ~> Q``).
    LEADS_TO = "leads_to"

    @property
    def is_liveness(self) -> bool:
        return self in (Kind.EVENTUALLY, Kind.LEADS_TO)


@dataclass(frozen=True, slots=True, kw_only=True)
class Property(Generic[S]):
    """A named property.  Build one with :meth:`always`, :meth:`sometimes`,
    :meth:`eventually` or :meth:`leads_to`."""

    name: str
    kind: Kind
    holds: Callable[[S], bool]
    trigger: Callable[[S], bool] | None = None

    @staticmethod
    def always(name: str, holds: Callable[[S], bool]) -> Property[S]:
        return Property(name=name, kind=Kind.ALWAYS, holds=holds)

    @staticmethod
    def sometimes(name: str, holds: Callable[[S], bool]) -> Property[S]:
        return Property(name=name, kind=Kind.SOMETIMES, holds=holds)

    @staticmethod
    def eventually(name: str, holds: Callable[[S], bool]) -> Property[S]:
        return Property(name=name, kind=Kind.EVENTUALLY, holds=holds)

    @staticmethod
    def leads_to(
        name: str, trigger: Callable[[S], bool], holds: Callable[[S], bool]
    ) -> Property[S]:
        return Property(name=name, kind=Kind.LEADS_TO, holds=holds, trigger=trigger)


@dataclass(frozen=True, slots=True, kw_only=True)
class Action(Generic[S]):
    """A labelled action.  ``step(state)`` yields ``(args, next_state)`` for
    each enabled instance of the action (``args`` is ``()`` for an action
    without parameters); it yields nothing where the action is disabled."""

    name: str
    step: Callable[[S], Iterable[tuple[tuple[Hashable, ...], S]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Assumption:
    """A fact about the constants, checked before the search (TLA+ ``ASSUME``).
    A false assumption is a model error."""

    name: str
    holds: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WeakFairness:
    """``WF_vars(A)`` where ``A`` is the disjunction of the instances of the
    named ``actions`` whose arguments equal ``args`` (every instance when
    ``args`` is ``None``).  ``WF(proc(0))`` in Peterson is
    ``WeakFairness(name="proc(0)", actions=frozenset({...}), args=(0,))``."""

    name: str
    actions: frozenset[str]
    args: tuple[Hashable, ...] | None = None

    def covers(self, action: str, args: tuple[Hashable, ...]) -> bool:
        return action in self.actions and (self.args is None or self.args == args)


def _always_within(_state: Any) -> bool:
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Model(Generic[S]):
    """One bounded model: a specification with its constants fixed."""

    name: str
    constants: Constants
    variables: tuple[str, ...]
    init_states: Callable[[], Iterable[S]]
    actions: tuple[Action[S], ...]
    properties: tuple[Property[S], ...]
    view: Callable[[S], Mapping[str, object]]
    within_boundary: Callable[[S], bool] | None = None
    assumptions: tuple[Assumption, ...] = ()
    symmetry: Callable[[S], S] | None = None
    fairness: tuple[WeakFairness, ...] = ()
    check_deadlock: bool = False
    kernel: VectorKernel | None = None
    config: str = ""
    mutant: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        names = [action.name for action in self.actions]
        if len(set(names)) != len(names):
            raise ModelError(f"model {self.name}: duplicate action names {names}")
        props = [prop.name for prop in self.properties]
        if len(set(props)) != len(props):
            raise ModelError(f"model {self.name}: duplicate property names {props}")
        for prop in self.properties:
            if (prop.kind is Kind.LEADS_TO) != (prop.trigger is not None):
                raise ModelError(f"property {prop.name}: only leads_to takes a trigger")

    def check_assumptions(self) -> None:
        """Raise :class:`ModelError` naming the first false assumption."""
        for assumption in self.assumptions:
            if not assumption.holds:
                raise ModelError(
                    f"model {self.name}: assumption {assumption.name} is false "
                    f"for constants {dict(self.constants)}"
                )

    def boundary(self) -> Callable[[S], bool]:
        return self.within_boundary if self.within_boundary is not None else _always_within

    @property
    def has_liveness(self) -> bool:
        return any(prop.kind.is_liveness for prop in self.properties)


def _no_mutants() -> dict[str, Callable[[Constants], Model[Any]]]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelFamily:
    """Every model built from one specification.

    ``configs`` maps a configuration name to its constants; ``default_config``
    names the one ``vigilnet check MODEL`` runs.  ``mutants`` maps a mutant's
    name to a builder like :attr:`build`; ``mutant_configs`` names, where it
    is not the default, the configuration in which a mutant is killed (used
    by ``--mutant`` without ``--config``, and by ``--all``).  ``--const K=V``
    overrides start from the chosen configuration's constants.
    """

    name: str
    summary: str
    build: Callable[[Constants], Model[Any]]
    configs: Mapping[str, Constants]
    default_config: str
    mutants: Mapping[str, Callable[[Constants], Model[Any]]] = field(default_factory=_no_mutants)
    #: The configuration a mutant is checked in when none is named (its
    #: killing scope); mutants not listed use ``default_config``.
    mutant_configs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default_config not in self.configs:
            raise ModelError(f"model {self.name}: default config {self.default_config} missing")
        for mutant, config in self.mutant_configs.items():
            if mutant not in self.mutants:
                raise ModelError(
                    f"model {self.name}: mutant_configs names unknown mutant {mutant!r}"
                )
            if config not in self.configs:
                raise ModelError(
                    f"model {self.name}: mutant {mutant} names unknown config {config!r}"
                )

    def instantiate(
        self,
        *,
        config: str | None = None,
        overrides: Mapping[str, object] | None = None,
        mutant: str | None = None,
    ) -> Model[Any]:
        """Build the model for a configuration, constant overrides and mutant.

        Raises :class:`ConstantsError` for an override the configuration
        does not have or of another type than its value (see
        :meth:`constants`) and when the builder refuses the constants."""
        name = self.config_name(config=config, mutant=mutant)
        constants = self.constants(name, overrides)
        label = (
            name
            if not overrides
            else f"{name}+" + ",".join(f"{k}={constants[k]}" for k in overrides)
        )
        if mutant is None:
            builder = self.build
        else:
            if not isinstance(mutant, str) or mutant not in self.mutants:
                known = ", ".join(self.mutants) or "none"
                raise ModelError(f"model {self.name}: no mutant {_short(mutant)} (known: {known})")
            builder = self.mutants[mutant]
        try:
            model = builder(constants)
        except ModelError:
            raise
        except (ValueError, TypeError, KeyError, ArithmeticError) as error:
            raise ConstantsError(
                f"model {self.name} cannot be built from the constants {constants}: {error}"
            ) from error
        return _relabel(model, config=label, mutant=mutant, source=self.name)

    def config_name(self, *, config: str | None = None, mutant: str | None = None) -> str:
        """The configuration :meth:`instantiate` starts from: ``config``, else
        the mutant's killing configuration, else the default."""
        if config is not None:
            name = config
        elif mutant is not None:
            if not isinstance(mutant, str):
                raise ModelError(f"model {self.name}: a mutant is named by a string")
            name = self.mutant_configs.get(mutant, self.default_config)
        else:
            name = self.default_config
        if not isinstance(name, str) or name not in self.configs:
            known = ", ".join(self.configs)
            raise ModelError(f"model {self.name}: no config {_short(name)} (known: {known})")
        return name

    def constants(
        self, config: str, overrides: Mapping[str, object] | None = None
    ) -> dict[str, object]:
        """The constants of configuration ``config`` with ``overrides``.

        Every override must name a constant of the configuration and have
        its value's type: an ``int`` constant takes an ``int`` in
        ``[-2**63, 2**63)``, a ``bool`` takes a ``bool``, a ``str`` takes a
        ``str`` or an ``int`` (written as its decimal text, so ``--const
        Byz=3`` sets the string ``"3"``); a constant of any other type
        takes any value.  Anything else raises :class:`ConstantsError`."""
        constants = dict(self.configs[config])
        for key, value in (overrides or {}).items():
            if not isinstance(key, str) or key not in constants:
                known = ", ".join(constants) or "none"
                raise ConstantsError(
                    f"model {self.name} has no constant {_short(key)} (its constants: {known})"
                )
            constants[key] = self._typed(key, constants[key], value)
        return constants

    def _typed(self, key: str, default: object, value: object) -> object:
        def refuse(what: str) -> ConstantsError:
            return ConstantsError(
                f"constant {key} of model {self.name} is {what}, not {_short(value)}"
            )

        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise refuse("TRUE or FALSE")
            return value
        if isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool):
                raise refuse("an integer")
            if not -(1 << CONSTANT_INT_BITS) <= value < 1 << CONSTANT_INT_BITS:
                raise refuse(f"an integer in [-2^{CONSTANT_INT_BITS}, 2^{CONSTANT_INT_BITS})")
            return value
        if isinstance(default, str):
            if isinstance(value, int) and not isinstance(value, bool):
                if not -(1 << CONSTANT_INT_BITS) <= value < 1 << CONSTANT_INT_BITS:
                    raise refuse("a string")
                return str(value)
            if not isinstance(value, str):
                raise refuse("a string")
            return value
        return value


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (values may come from a
    file someone else wrote)."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python prints
        text = f"<{type(value).__name__} too large to print>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _relabel(model: Model[Any], *, config: str, mutant: str | None, source: str) -> Model[Any]:
    return replace(model, config=config, mutant=mutant, source=source)
