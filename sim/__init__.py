"""Agent-based simulation of the illicit fentanyl supply chain, for testing drug-control policy.

The public API (docs/api.md):

    import sim
    scenario = sim.load_scenario("classroom_small").with_overrides({"users.naloxone_coverage": 0.6})
    result = sim.run(scenario, seed=1, weeks=52)          # .timeseries, .totals, .summary
    table = sim.compare(["baseline", "demand_reduction"], replicates=4)
    indices = sim.sensitivity("baseline", "demand_reduction", method="morris", n=8)
    boxes = sim.discover("baseline", "taskforce_with_china", n=100)
    model = sim.FentanylModel("classroom_small", seed=1)  # Mesa-native (batch_run, DataCollector)

`sim.exploration` builds EMA Workbench models and SALib problems (the `explore` extra).
"""

import importlib
import sys
import types

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {"FentanylModel": "sim.model", "Result": "sim.api", "Scenario": "sim.config",
        "ScenarioError": "sim.validation", "calibrate": "sim.calibrate",
        "calibrate_posterior": "sim.posterior", "compare": "sim.study",
        "discover": "sim.discovery", "load_scenario": "sim.api", "run": "sim.api",
        "sensitivity": "sim.sensitivity", "sweep": "sim.study"}
__all__ = sorted(_API)


def _public(name: str) -> property:
    """A public name, loaded from its module on first use: `import sim` imports none of the
    package's modules (which import `sim` themselves: no cycle, and `import sim.validation`
    stays light). `compare`, `calibrate` and `sensitivity` are also modules of the package;
    importing one binds it as the package's attribute, which the setter ignores, so
    `sim.compare` stays the function (the modules are in sys.modules and `from sim.compare
    import ...` works)."""

    def get(module):
        return getattr(importlib.import_module(_API[name]), name)

    def keep(module, value):
        """The import system binding a submodule of the same name: the function stays."""

    return property(get, keep, doc=f"`{_API[name]}.{name}`")


def _dir(module) -> list[str]:
    return sorted({*types.ModuleType.__dir__(module), *_API})


# the module `sim`, with its public API as properties (`_public`)
sys.modules[__name__].__class__ = type("Package", (types.ModuleType,),
                                       {**{name: _public(name) for name in _API}, "__dir__": _dir})
