"""The deterministic discrete-event simulator of the deployment.

The engine (:class:`Simulator`), the network model (:class:`Network`,
:class:`LinkProfile`, partitions as :class:`Cut`), the seed tree every random
choice comes from (:class:`SeedTree`), and the driver shape shared with the
node runtime (:class:`Driver`, :class:`Host`); synthetic agents with ground
truth (:class:`Population`).
"""

from vigilnet.sim._agents import AgentMix, Population, Profile
from vigilnet.sim._engine import Driver, Host, Observation, Simulator
from vigilnet.sim._network import Cut, LinkProfile, Network
from vigilnet.sim._seeds import PathPart, SeedTree, path_key

__all__ = [
    "AgentMix",
    "Cut",
    "Driver",
    "Host",
    "LinkProfile",
    "Network",
    "Observation",
    "PathPart",
    "Population",
    "Profile",
    "SeedTree",
    "Simulator",
    "path_key",
]
