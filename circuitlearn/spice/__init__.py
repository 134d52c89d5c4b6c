"""Re-solve netlists with the real ngspice, as a reference for circuitlearn's solver.

Two backends compute the same DC operating points:

* ``"pyspice"`` -- ngspice's shared library (libngspice) loaded in this process
  through PySpice (``pip install circuitlearn[spice]``);
* ``"batch"`` -- the ``ngspice`` program run as ``ngspice -b`` (standard library
  only), results read from its binary rawfiles.

Results use ngspice's names in lower case: nodes ``"1"``, ``"x1.mid"``; voltage
source currents ``"v1"``, ``"v.x1.v2"`` (SPICE sign: from n+ through the source to
n-). ngspice itself spells them ``V(1)`` / ``x1.mid`` / ``v1#branch`` in the shared
library and ``v(1)`` / ``v(x1.mid)`` / ``i(v1)`` in rawfiles.

>>> from circuitlearn.spice import run_op
>>> run_op("divider\\nV1 1 0 1\\nR1 1 0 1k\\n")  # doctest: +SKIP
SpiceResult(node_voltages={'1': 1.0}, source_currents={'v1': -0.001}, warnings=[], ...)

ngspice 39 re-orders its sparse matrix at every ``op``, which costs seconds for
networks of 10^4 resistors; for many operating points of such a network use
``run_op_batch(..., method="superposition")``.
"""

from circuitlearn.errors import SpiceFailed, SpiceUnavailable
from circuitlearn.spice.api import BACKENDS, available_backends, run_op, run_op_batch
from circuitlearn.spice.common import INSTALL_HINT, SpiceResult

__all__ = [
    "BACKENDS",
    "INSTALL_HINT",
    "SpiceFailed",
    "SpiceResult",
    "SpiceUnavailable",
    "available_backends",
    "run_op",
    "run_op_batch",
]
