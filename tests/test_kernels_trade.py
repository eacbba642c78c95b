"""The trade phases' kernels of issue 20's sixth pass (precursor trade, labs, loads north,
receive), each against its NumPy twin on a live model's state."""

import numpy as np
import pytest

from sim.actors.buyers import buyers
from sim.kernels import shipments as ks
from sim.kernels import trade as kt
from sim.model import FentanylModel
from sim.trade import DELIVERED
from tests.conftest import SMALL
from tests.test_week_kernels import _same, _twins


@pytest.fixture(scope="module")
def model():
    """The small baseline after a year, so stocks, seizures and the pipeline are live."""
    model = FentanylModel(SMALL, weeks=80)
    model.run(52)
    return model


def test_receive_week_takes_the_slot_and_adds_deliveries_as_its_twin(model):
    pipeline, network = model.pipeline, model.network
    rings = pipeline.rings()
    full = [s for s in range(pipeline.weeks) if pipeline.by_route[:, s].any()]
    assert full   # goods are on their way
    for slot in (full[0], full[-1]):
        args = (slot, *rings, DELIVERED, network.route_owner, network.route_entry,
                len(buyers(model)), len(network.entry_names))
        (a, after_a), (b, after_b) = _twins(kt.receive_week, kt.receive_week_np, *args)
        _same(a, b)
        _same(after_a, after_b)
        for ring, taken in zip(rings, a[:4], strict=True):
            assert np.array_equal(taken, ring[:, slot] if ring.ndim == 3 else ring[slot])
        for ring in after_a[1:5]:   # the slot is emptied, the others kept
            assert not (ring[:, slot] if ring.ndim == 3 else ring[slot]).any()
        assert np.array_equal(after_a[1][:, slot + 1:], rings[0][:, slot + 1:])
        assert a[4].sum() > 0 or a[6] == 0
        (c, _), (d, _) = _twins(ks.take_slot, ks.take_slot_np, *rings, slot)
        _same(c, d)


def test_pending_by_owner_reads_only_the_weeks_goods_can_still_land_in(model):
    pipeline, network = model.pipeline, model.network
    kinds = np.array([1, 2], np.int64)
    n, horizon = len(buyers(model)), int(network.routes.transit_weeks.max())
    week = model.week
    full = ks.pending_by_owner(pipeline.by_route, kinds, network.route_owner, n)
    assert full.sum() > 0   # goods are on their way
    windowed = ks.pending_by_owner(pipeline.by_route, kinds, network.route_owner, n, week,
                                   horizon)
    assert np.array_equal(windowed, full)   # nothing is due beyond the longest transit
    assert np.array_equal(windowed, ks.pending_by_owner_np(pipeline.by_route, kinds,
                                                           network.route_owner, n, week, horizon))
    # a slot outside the window is not read, by the kernel as by its twin
    ring = pipeline.by_route.copy()
    ring[kinds[0], (week + horizon + 1) % pipeline.weeks] += 5.0
    short = ks.pending_by_owner(ring, kinds, network.route_owner, n, week, horizon)
    assert np.array_equal(short, full)
    assert np.array_equal(short, ks.pending_by_owner_np(ring, kinds, network.route_owner, n,
                                                        week, horizon))
    assert ks.pending_by_owner(ring, kinds, network.route_owner, n).sum() > full.sum()
