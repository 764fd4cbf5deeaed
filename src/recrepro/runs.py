"""Where a run's files live, and how to read its key back from a path.

One run = (dataset, protocol, model, setting, seed); its files are under
``results/runs/{dataset}/{protocol}/{model}/{setting}/seed{seed}/``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

#: ``metrics.json["status"]``: a finished run, or one the model refused for this dataset
#: (:class:`recrepro.errors.ModelNotApplicable`; no metrics, a ``reason`` instead).
STATUS_OK = "ok"
STATUS_NOT_APPLICABLE = "not_applicable"
RUN_FILES = ("metrics.json", "per_user.parquet", "topk.parquet", "history.csv", "provenance.json")
_RUN_DIR = re.compile(
    r"runs/(?P<dataset>[^/]+)/(?P<protocol>[^/]+)/(?P<model>[^/]+)/(?P<setting>[^/]+)/seed(?P<seed>\d+)"
)


@dataclass(frozen=True, order=True)
class RunKey:
    dataset: str
    protocol: str
    model: str
    setting: str
    seed: int

    def path(self, results: str | Path = "results") -> Path:
        """The run's folder under ``results``."""
        return (
            Path(results) / "runs" / self.dataset / self.protocol / self.model / self.setting
            / f"seed{self.seed}"
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_run_path(path: str | Path) -> RunKey:
    """The :class:`RunKey` of a run folder or of any file inside one."""
    match = _RUN_DIR.search(Path(path).as_posix())
    if match is None:
        raise ValueError(f"not a run path: {path}")
    parts = match.groupdict()
    return RunKey(parts["dataset"], parts["protocol"], parts["model"], parts["setting"], int(parts["seed"]))
