"""The result of a training run, as :func:`~circuitlearn.train` and
:func:`~circuitlearn.fit` return it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.training.checkpoint import Best

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """What a training run produced.

    Attributes
    ----------
    status : str
        ``"completed"`` (``t_end`` reached), ``"converged"`` (early stop),
        ``"stopped"`` (step limit), ``"diverged"`` or ``"interrupted"``.
    reason : str
        Why the run ended early (empty when completed); for a divergence, the step,
        the time and a smaller ``dt``/``alpha`` to try.
    curves : dict of str to ndarray
        The columns of ``curves.csv`` (:data:`~circuitlearn.training.io.COLUMNS`;
        NaN where a value is undefined), the last row at the last step taken.
    k : ndarray, shape (E,)
        Conductances after the last step taken (S).
    circuit : Circuit
        The network with conductances :attr:`k`.
    initial : Circuit
        The network before training.
    best : Best or None
        The recorded state with the lowest test loss (train loss without a test
        set): ``step``, ``t`` (s), ``loss`` (V^2), ``k`` (S).
    summary : dict
        The content of ``summary.json`` (final metrics, resolved configuration...).
    folder : Path or None
        Where the run's files are (None for an in-memory :func:`fit`).
    """

    status: str
    reason: str
    curves: dict[str, np.ndarray]
    k: np.ndarray
    circuit: Circuit
    initial: Circuit
    best: Best | None
    summary: dict[str, Any]
    folder: Path | None = None

    @property
    def best_circuit(self) -> Circuit | None:
        """The network at the best state's conductances (``best.cir``)."""
        return None if self.best is None else self.initial.with_conductance(self.best.k)

    @property
    def final(self) -> dict[str, float | None]:
        """Metrics at the last step taken (``summary["final"]``)."""
        return self.summary["final"]

    def to_pandas(self) -> pandas.DataFrame:
        """The curves as a :class:`pandas.DataFrame` (needs pandas), indexed by step."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        frame = pd.DataFrame(self.curves)
        frame["step"] = frame["step"].astype(int)
        return frame.set_index("step")

    def __repr__(self) -> str:
        final = self.summary.get("final", {})
        return (f"TrainingResult(status={self.status!r}, steps={self.summary.get('steps')}, "
                f"train_loss={final.get('train_loss')!r}, test_loss={final.get('test_loss')!r})")
