"""The record phase's kernel (`sim.kernels.record.week_row`) against its readable twin, the
actors' `observe` functions (`sim.metrics.observe`) placed by `Recorder.record`: the same row,
bit for bit, every week of a run."""

import numpy as np

from sim import metrics
from sim.model import PHASES, FentanylModel, Week
from sim.recorder import Recorder
from tests.conftest import SMALL


def _run_with_twin(model: FentanylModel, weeks: int) -> Recorder:
    """Step the model `weeks` weeks as `FentanylModel.step` does, recording each week's row
    through the actors' `observe` into a second recorder too."""
    twin = Recorder(model.recorder.columns, 1, model.scenario.start)
    for _ in range(weeks):
        week = Week(model.week)
        for phase in PHASES:
            phase.run(model, week)
        twin.record(week.number, metrics.observe(model, week))
        model.week += 1
    return twin


def test_the_week_row_kernel_writes_what_the_actors_observe():
    # a horizon shorter than the run: both recorders grow past it
    model = FentanylModel(SMALL, weeks=20, seed=3)
    twin = _run_with_twin(model, 70)
    rec = model.recorder
    assert rec.rows == twin.rows == 70 and rec.columns == twin.columns
    frame, expected = rec.get_model_vars_dataframe(), twin.get_model_vars_dataframe()
    for name in rec.columns:
        got, want = frame[name].to_numpy(), expected[name].to_numpy()
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), name
    # the run exercised the columns: seizures, sales, shares and makers are not all zero
    for name in ("fentanyl_seized_kg", "fentanyl_seized_gross_kg",
                 "fentanyl_sold_kg", "pills_ge_2mg_share", "active_precursor_makers",
                 "cartel_revenue_usd", "overdose_deaths"):
        assert frame[name].to_numpy().any(), name
    assert 0 < frame["unscheduled_precursor_share"].max() <= 1


def test_the_row_places_cover_every_column_once():
    model = FentanylModel(SMALL, weeks=5)
    places = model.recorder.places(metrics.VALUES + metrics.BLOCKS)
    columns = model.recorder.columns
    assert [columns[i] for i in places[: len(metrics.VALUES)]] == list(metrics.VALUES)
    for prefix, start in zip(metrics.BLOCKS, places[len(metrics.VALUES):], strict=True):
        assert columns[start].startswith(prefix) and not columns[start - 1].startswith(prefix)
