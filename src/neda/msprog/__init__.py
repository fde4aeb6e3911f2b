"""Drop-in replacements for pymsprog 1.0.7: same arguments, defaults and return values.

- :func:`MSprog` - confirmed disability worsening and improvement, RAW and PIRA
  (``neda.msprog.progression``);
- :func:`compute_delta`, :func:`is_event` - pymsprog's thresholds (``neda.msprog.thresholds``);
- :func:`value_milestone` - confirmed disability milestones (``neda.msprog.milestone``);
- :func:`separate_ri_ra` - relapse-independent and relapse-associated trajectories
  (``neda.msprog.relapse_split``).

All run on neda's compiled kernels (the low-level interface :mod:`neda.course.scan`, shared
with the native API :func:`neda.course.confirmed_events`). Where pymsprog behaves in a way its
documentation does not describe, the drop-ins reproduce it; each point is listed in
``docs/msprog-compatibility.md``.
"""

from .milestone import value_milestone
from .progression import MSprog
from .relapse_split import separate_ri_ra
from .thresholds import compute_delta, is_event

__all__ = ["MSprog", "compute_delta", "is_event", "separate_ri_ra", "value_milestone"]
