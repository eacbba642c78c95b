"""Mass balances hold every week, stocks never go negative, deaths never exceed users."""

import numpy as np
import pytest

from sim.actors.buyers import buyers
from sim.config import load_scenario
from sim.model import FentanylModel
from tests.conftest import SMALL, frame

SEIZED = ("fentanyl_seized_kg", "fentanyl_seized_mx_kg", "fentanyl_seized_origin_kg")


@pytest.fixture(scope="module")
def checked_run():
    """Run the small baseline, checking balances and stocks after every week."""
    scenario = load_scenario(SMALL).with_overrides(weeks=260)
    model = FentanylModel(scenario)
    ring = model.pipeline.ring
    dealers = model.dealers
    initial_fentanyl_kg = (sum(b.fentanyl_stock_kg for b in buyers(model))
                           + dealers.held_kg())
    problems = []
    for week in range(scenario.weeks):
        model.step()
        df = model.recorder.get_model_vars_dataframe()
        pending_precursor = ring["precursor_delivered_kg"].sum() + ring["precursor_seized_kg"].sum()
        shipped = df["precursor_shipped_kg"].sum()
        accounted = df["precursor_delivered_kg"].sum() + df["precursor_seized_kg"].sum()
        if abs(shipped - accounted - pending_precursor) > 1e-6 * max(shipped, 1):
            problems.append((week, "precursor", shipped, accounted, pending_precursor))
        held = (sum(b.fentanyl_stock_kg for b in buyers(model)) + dealers.held_kg()
                + ring["fentanyl_delivered_kg"].sum() + ring["fentanyl_seized_kg"].sum()
                + ring["finished_delivered_kg"].sum() + ring["finished_seized_kg"].sum())
        made = initial_fentanyl_kg + df["fentanyl_made_kg"].sum()
        gone = df["fentanyl_sold_kg"].sum() + sum(df[c].sum() for c in SEIZED)
        if abs(made - gone - held) > 1e-6 * made:
            problems.append((week, "fentanyl", made, gone, held))
        stocks = [v for b in buyers(model) for v in (b.fentanyl_stock_kg, b.precursor_stock_kg)]
        if min(stocks) < -1e-9 or dealers.stock_kg.min() < -1e-9:
            problems.append((week, "negative stock", stocks))
    return model, problems


def test_precursor_and_fentanyl_balances_hold_every_week(checked_run):
    model, problems = checked_run
    assert problems == []
    df = frame(model)
    assert df["precursor_seized_kg"].sum() > 0 and df["fentanyl_seized_kg"].sum() > 0
    assert df["fentanyl_sold_kg"].sum() > 0 and df["fentanyl_made_kg"].sum() > 0


def test_deaths_never_exceed_users_and_counts_are_whole_people(checked_run):
    model, _ = checked_run
    df = frame(model)
    assert (df["overdose_deaths"] <= df["users_active"].shift(1).fillna(np.inf)).all()
    assert (df["overdose_deaths"] <= df["overdoses"]).all()
    per_agent = df["overdose_deaths"] / model.users.people_per_agent
    assert np.allclose(per_agent, np.round(per_agent))
    assert (df.drop(columns=["date"]) >= 0).all().all()


def test_shares_are_shares(checked_run):
    df = frame(checked_run[0])
    share_columns = [c for c in df.columns if "share" in c] + ["china_cooperation"]
    assert ((df[share_columns] >= 0) & (df[share_columns] <= 1 + 1e-12)).all().all()
    routes = df[[c for c in df.columns if c.startswith("route_share_")]].sum(axis=1)
    assert np.allclose(routes[routes > 0], 1.0)
