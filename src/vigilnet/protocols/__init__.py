"""The three vigilnet protocols as pure state machines (no I/O, no clock, no
randomness): :mod:`~vigilnet.protocols.sdbc` (hub consensus),
:mod:`~vigilnet.protocols.shap` (hierarchical aggregation) and
:mod:`~vigilnet.protocols.sscr` (partition resolver)."""
