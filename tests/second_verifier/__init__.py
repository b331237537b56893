"""An independent second verifier of vigilnet's vector files, used only by tests.

Written from the format pages (docs/encoding.md, docs/crypto.md,
docs/merkle.md, docs/thresholds.md and the vector file headers), not from
vigilnet's code: it imports nothing from ``vigilnet``.  Every rule it checks
can be broken on purpose by naming a *bug* in the ``bugs`` set passed to
:func:`verify_case`; ``docs/vectors/bugs.md`` catalogues the bugs and
``tests/test_bug_catalogue.py`` checks that each one makes some committed
vector fail.
"""

from tests.second_verifier._bugs import BUGS, Bug
from tests.second_verifier._dispatch import FAMILIES, verify_case, verify_file

__all__ = ["BUGS", "FAMILIES", "Bug", "verify_case", "verify_file"]
