"""Shared helpers: scenarios written as real YAML files that extend the test scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.config import load_scenario
from sim.model import FentanylModel

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
SMALL = DATA / "small.yaml"


@pytest.fixture
def scenario_file(tmp_path):
    """Write a scenario that extends `base` with the given keys; returns its path."""
    counter = iter(range(1000))

    def write(base: Path = TINY, **keys) -> Path:
        path = tmp_path / f"scenario_{next(counter)}.yaml"
        body = {"extends": str(base), **keys}
        path.write_text(yaml.safe_dump(body, sort_keys=False))
        return path

    return write


@pytest.fixture
def run_model(scenario_file):
    """Build and run a model from a scenario extending `base`; returns the model."""

    def run(base: Path = TINY, weeks: int | None = None, **keys) -> FentanylModel:
        model = FentanylModel(load_scenario(scenario_file(base, **keys)))
        model.run(weeks)
        return model

    return run


def frame(model):
    return model.recorder.get_model_vars_dataframe()
