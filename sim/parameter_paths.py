"""Real-valued parameters by dotted path, as a calibration's `free:`/`priors:` and a posterior's
columns name them: a table parameter (`users.overdose_hazard_per_use`), a policy's field by the
policy's id (`policies.ifs_entity_list.institute_penalty`) or that field of every policy of the
scenario that has it (`policies.*.institute_penalty`: China's reaction to any US sanctions).
"""

from __future__ import annotations

import dataclasses

from sim.params import TABLE

EVERY_POLICY = "*"   # `policies.*.<field>`: the field of every policy that has it


def table_paths() -> list[str]:
    """The real-valued parameters of the table."""
    return [f"{g}.{k}" for g, params in TABLE.items() for k, p in params.items()
            if isinstance(p.value, float)]


def _float_fields(policy) -> dict[str, tuple[float, float]]:
    """A policy's real-valued fields with their ranges."""
    return {f.name: (f.metadata.get("low"), f.metadata.get("high"))
            for f in dataclasses.fields(policy) if f.init and f.type in ("float", float)
            and f.metadata.get("low") is not None and f.metadata.get("high") is not None}


def parameter_range(path: str, policies) -> tuple[float, float]:
    """The range a real-valued parameter may take (a table parameter, or a field of the
    scenario's `policies` as above: the narrowest range among the policies it sets). A path
    that is neither raises ValueError with what is valid."""
    from sim.validation import suggest

    head, _, rest = path.partition(".")
    if head != "policies":
        group, _, key = path.partition(".")
        if path not in table_paths():
            raise ValueError(f"{path!r} is not a real-valued parameter. "
                             + suggest(path, table_paths()).replace("valid keys",
                                                                   "valid parameters"))
        p = TABLE[group][key]
        return float(p.low), float(p.high)
    pid, _, name = rest.partition(".")
    matching = [p for p in policies if pid in (EVERY_POLICY, p.id)]
    if not matching:
        ids = sorted({p.id for p in policies if p.id})
        raise ValueError(f"no policy with id {pid!r} acts in this scenario (ids: "
                         f"{', '.join(ids) or 'none'}; or {EVERY_POLICY} for every policy)")
    ranges = [_float_fields(p)[name] for p in matching if name in _float_fields(p)]
    if not ranges or (pid != EVERY_POLICY and len(ranges) < len(matching)):
        valid = sorted({f for p in matching for f in _float_fields(p)})
        raise ValueError(f"{name!r} is not a real-valued field of policy {pid!r}; its "
                         f"real-valued fields: {', '.join(valid) or 'none'}")
    return max(low for low, _ in ranges), min(high for _, high in ranges)
