"""Array-backed populations (structure of arrays) and a read-only view of one agent.

A population keeps one NumPy array per attribute (`slot_arrays`) and hands out a thin view per
agent (`population[i]`) for people who want to inspect one firm or one person.
"""

from __future__ import annotations


class AgentView:
    """One agent of an array-backed population, read live from the arrays."""

    def __init__(self, population: Population, index: int):
        self._population, self.index = population, index

    def __getattr__(self, name):
        if name not in self._population.slot_arrays:
            raise AttributeError(name)
        return getattr(self._population, name)[self.index].item()

    def __repr__(self):
        body = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._population.slot_arrays)
        return f"{type(self._population).__name__}[{self.index}]({body})"


class Population:
    """Size and indexing shared by array-backed populations; `slot_arrays` names the per-slot
    arrays (the first one's length is the number of slots)."""

    slot_arrays: tuple[str, ...] = ()

    def __len__(self) -> int:
        return getattr(self, self.slot_arrays[0]).size

    def __getitem__(self, index: int) -> AgentView:
        if not 0 <= index < len(self):
            raise IndexError(index)
        return AgentView(self, index)
