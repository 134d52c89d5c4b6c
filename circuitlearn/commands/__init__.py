"""Sub-commands of the ``circuitlearn`` CLI (see :mod:`circuitlearn.cli`)."""
