"""Hydra sweeper ``lofi_optuna``: Optuna's sweeper, numbering a resumed study's trials on.

With a persistent study (``hydra.sweeper.storage=sqlite:///optuna.db``), a second session of the
same search asks Optuna for trials numbered after the stored ones, but Hydra's job number
(``hydra.job.num``: the trial folders ``trial<k>`` and MLflow names ``...-trial<k>``) restarts at
0 and would reuse the first session's folders and names; and a seeded sampler, restarted, would
draw the first session's parameters again. This sweeper starts the job numbers at the number of
trials already in the study, so trial folder ``trial<k>`` is Optuna's trial ``k``, and moves the
sampler's random stream on by that number (the same resumed search draws the same trials, for
samplers with a seeded stream such as TPE's). Sessions of one study run one after another: a
study with trials still RUNNING is refused.
(Hydra finds sweepers only in the ``hydra_plugins`` package.)
"""

from __future__ import annotations

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper


def _commit_schema_stamp() -> None:
    """Let Optuna 2 create a study in a database (``storage=sqlite:///...``) under SQLAlchemy 2.

    Optuna 2.10 (the newest the Hydra sweeper accepts) records its schema version through a
    connection it never commits; SQLAlchemy 2 (which MLflow 3 needs) no longer commits on its own,
    so the record is lost and every new stored study fails with a bare ``AssertionError``. This
    replaces that one private method of Optuna's with one that commits (a no-op elsewhere).
    """
    import alembic.migration
    import optuna
    import sqlalchemy
    from optuna.storages._rdb import storage

    manager = getattr(storage, "_VersionManager", None)
    if manager is None or not optuna.__version__.startswith("2.") or sqlalchemy.__version__.startswith("1."):
        return

    def set_alembic_revision(self, revision: str) -> None:
        with self.engine.begin() as connection:  # committed when the block ends
            context = alembic.migration.MigrationContext.configure(connection)
            context.stamp(self._create_alembic_script(), revision)

    manager._set_alembic_revision = set_alembic_revision


class ResumingOptunaSweeper(OptunaSweeper):
    """:class:`OptunaSweeper` whose job numbers continue a stored study's trial numbers."""

    def sweep(self, arguments: list[str]) -> None:
        _commit_schema_stamp()
        stored = stored_trials(self.sweeper.storage, self.sweeper.study_name)
        self.sweeper.job_idx = stored
        if stored:
            reseed(self.sweeper.sampler, stored)
        return super().sweep(arguments)


def reseed(sampler: object, offset: int) -> None:
    """Move a seeded sampler's random streams to new ones derived from its seed and ``offset`` (its
    ``_rng`` and its startup sampler's: Optuna's private attributes; where a sampler has none, it is
    reseeded at random by Optuna's ``reseed_rng``)."""
    import numpy as np

    streams = [getattr(s, "_rng", None) for s in (sampler, getattr(sampler, "_random_sampler", None))]
    streams = [rng for rng in streams if isinstance(rng, np.random.RandomState)]
    if not streams:
        sampler.reseed_rng()
    for rng in streams:
        rng.seed((int(rng.randint(0, 2**31 - 1)) + offset) % 2**31)


def stored_trials(storage: object, study_name: str | None) -> int:
    """Trials of study ``study_name`` already in ``storage`` (0 for an in-memory or new study)."""
    import optuna

    if not storage or not study_name:
        return 0
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:  # no such study yet: this session creates it
        return 0
    running = [t.number for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    if running:  # another session at work, or one that crashed: its trial numbers are taken
        raise ValueError(
            f"Optuna study {study_name!r} in {storage} has trials still RUNNING ({running}): resume a "
            "search only after the last session has ended (sessions of one study run one after another); "
            "after a crash, start a new study (hydra.sweeper.study_name=...)"
        )
    return len(study.trials)
