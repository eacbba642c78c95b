"""US-China diplomacy: ruptures and deals move China's cooperation and enforcement."""

from __future__ import annotations

from dataclasses import dataclass

from sim.policies.base import Levers, Policy, register, spec


@register("diplomatic_shock")
@dataclass
class DiplomaticShock(Policy):
    """A rupture (August 2022, after the House Speaker's visit to Taiwan): China suspends
    counternarcotics cooperation. Changes China's cooperation target: capped at
    `cooperation_level` while active (cooperation then decays toward it)."""

    story = ("China stops cooperating on counternarcotics, so it enforces less")

    cooperation_level: float = spec(0.05, low=0.0, high=1.0, unit="cooperation (0-1)",
                                    doc="assumption: suspension leaves little")
    order = 2

    def modify(self, levers: Levers, model) -> None:
        levers.cooperation_cap = min(levers.cooperation_cap, self.cooperation_level)


@register("bilateral_deal")
@dataclass
class BilateralDeal(Policy):
    """The US-China deal (Woodside, November 2023): China resumes cooperation, warns firms and
    marketplaces, and acts against precursor exports.

    Changes: China's cooperation target rises by `cooperation_boost`; China's enforcement rises
    by `enforcement_bonus`; raids on online sellers are multiplied by `marketplace_crackdown`.
    With `requires_sanction_lifted`, none of this acts while an objected-to sanction stands.
    """

    story = ("China cooperates more and cracks down on online sellers")

    cooperation_boost: float = spec(0.35, low=0.0, high=1.0, unit="cooperation (0-1)",
                                    doc="assumption")
    enforcement_bonus: float = spec(0.1, low=0.0, high=1.0, unit="enforcement (0-1)",
                                    doc="assumption")
    marketplace_crackdown: float = spec(2.0, low=1.0, high=20.0, unit="x raid rate on online "
                                        "sellers", doc="assumption")
    requires_sanction_lifted: bool = spec(True, doc="seed article 000: talks were conditioned "
                                          "on lifting the Institute's listing")
    order = 1

    def modify(self, levers: Levers, model) -> None:
        if self.requires_sanction_lifted and levers.objected_sanctions > 0:
            return
        levers.cooperation_shift += self.cooperation_boost
        levers.china_enforcement_bonus += self.enforcement_bonus
        levers.online_raid_multiplier *= self.marketplace_crackdown


@register("economic_pressure")
@dataclass
class EconomicPressure(Policy):
    """China's economic downturn (from 2021) or US trade threats tied to fentanyl (the 2025
    tariffs): China needs good relations for capital and exports, so its interest in
    cooperating rises. Changes China's cooperation target (+ `cooperation_boost`).

    Its end removes that pressure. A tariff cut traded for China's commitments (November 2025)
    is therefore two dated entries on the same day: this pressure ends and a `bilateral_deal`
    for the commitments starts, so cooperation does not fall when the tariff is lowered."""

    story = ("China's need for good relations shifts its cooperation")

    cooperation_boost: float = spec(0.1, low=0.0, high=1.0, unit="cooperation (0-1)",
                                    doc="assumption")
    order = 1

    def modify(self, levers: Levers, model) -> None:
        levers.cooperation_shift += self.cooperation_boost
