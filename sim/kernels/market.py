"""The US retail market's per-region work (`sim.actors.retail`): supply cover and shortage,
stock traded between regions, each region's market cleared and its sales taken from stock.
Every operation is the one NumPy did before, in the same order, so results are the same to the
bit: NumPy's pairwise sums (`sim.kernels.sums`) and its dot product (BLAS, as `np.dot` is here
too). Powers and logarithms stay with NumPy, between the kernels (`sim.actors.retail.sell`):
its SIMD `power` and `log` round differently from the C library's in a few cases in a hundred.
"""

from typing import NamedTuple

import numba
import numpy as np

from sim.kernels.sums import pairwise_sum

MG_PER_KG = 1e6
PILL_GE_MG = 2.0   # DEA's threshold for a potentially lethal pill (pills_ge_2mg_share)
# rows of `sell`'s output, per region
SHARE, MG, SIGMA, SOLD, PRICE, PURITY = range(6)
N_ROWS = 6


class MarketRules(NamedTuple):
    """The market's rules as the kernels take them (all float64; units as in the parameter
    tables, `sim.actors.retail.PARAMS` and `sim.actors.users.PARAMS`). Built with
    `market_rules`."""

    uses_per_week: float          # uses per person-week
    target_mg: float              # mg pure per dose at the reference supply
    sigma_fentanyl: float         # log-sd of mg per fentanyl dose at full potency
    turnover: float               # share of stock offered a week
    cut_elasticity: float         # d log potency / d log supply cover
    potency_min: float            # x the reference mg per dose
    potency_max: float            # x the reference mg per dose
    cut_sigma_gain: float         # log-sd added per unit log cut
    price_ref: float              # US$/mg pure at cover 1
    scarcity_exponent: float      # d log price / d log shortage
    purity_ref: float             # pure share of powder at the reference dose
    trade_rate: float             # share of a region's excess stock sent a week
    trade_cost_share: float       # price gap (share of the mean) that moving stock costs


# each rule's place: the kernels read rules[TURNOVER] and so on, from a `MarketRules` or, cheaper
# to pass (a NamedTuple costs Numba's dispatch about 3 us a call), its values as a float64 array
(USES_PER_WEEK, TARGET_MG, SIGMA_FENTANYL, TURNOVER, CUT_ELASTICITY, POTENCY_MIN, POTENCY_MAX,
 CUT_SIGMA_GAIN, PRICE_REF, SCARCITY_EXPONENT, PURITY_REF, TRADE_RATE,
 TRADE_COST_SHARE) = range(len(MarketRules._fields))


def market_rules(market: dict, users: dict) -> MarketRules:
    """The rules from the market's and the users' parameters (dicts of the two groups)."""
    potency_min = market["potency_ratio_min"]
    return MarketRules(*(float(v) for v in (
        users["uses_per_week"], users["fentanyl_dose_target_mg"], users["dose_sigma_fentanyl"],
        market["retail_turnover"], market["cut_elasticity"], potency_min,
        max(potency_min, users["fentanyl_dose_max_mg"] / users["fentanyl_dose_target_mg"]),
        market["cut_sigma_gain"], market["retail_price_ref_usd_per_mg"],
        market["price_scarcity_exponent"], market["powder_purity_ref"],
        market["regional_trade_rate"], market["regional_trade_cost_share"])))


@numba.njit(cache=True)
def cover_and_shortage(stock_kg, people_using, rules):
    """Per region, supply cover (mg pure dealers offer this week / mg users want at the
    reference dose; 0 where nobody wants any) and shortage (its inverse, 10 where nothing is
    offered, clipped to 0.1-10)."""
    n = stock_kg.size
    cover, shortage = np.empty(n), np.empty(n)
    for r in range(n):
        offered = stock_kg[r] * MG_PER_KG * rules[TURNOVER]
        wanted = people_using[r] * rules[USES_PER_WEEK] * rules[TARGET_MG]
        cover[r] = offered / wanted if wanted > 0 else 0.0
        shortage[r] = min(max(wanted / offered if offered > 0 else 10.0, 0.1), 10.0)
    return cover, shortage


@numba.njit(cache=True)
def trade(stock_kg, in_transit_kg, people_using, scarcity, rules):
    """Stock moves toward higher prices (price_ref x scarcity, the shortage to the scarcity
    exponent): regions priced below the people-weighted mean by more than half the trade cost
    send trade_rate of their stock above their people-weighted share; regions above it by as
    much take it in proportion to what they lack, into in_transit_kg (both updated in place)."""
    n = stock_kg.size
    people = pairwise_sum(people_using)
    if people <= 0:
        return
    price = np.empty(n)
    for r in range(n):
        price[r] = rules[PRICE_REF] * scarcity[r]
    mean = np.dot(price, people_using) / people
    half_cost = 0.5 * rules[TRADE_COST_SHARE]
    national = pairwise_sum(stock_kg)
    sent, pull = np.zeros(n), np.zeros(n)
    for r in range(n):
        gap = price[r] / mean - 1.0
        excess = stock_kg[r] - national * people_using[r] / people
        if gap < -half_cost:
            sent[r] = rules[TRADE_RATE] * max(excess, 0.0)
        if gap > half_cost:
            pull[r] = max(-excess, 0.0)
    total_sent, total_pull = pairwise_sum(sent), pairwise_sum(pull)
    if total_sent <= 0 or total_pull <= 0:
        return
    for r in range(n):
        stock_kg[r] -= sent[r]
        in_transit_kg[r] += total_sent * pull[r] / total_pull


@numba.njit(cache=True)
def sell(cover, cut, scarcity, people_using, rules):
    """Each region's market, from its cover, cover^cut_elasticity (cut) and shortage^scarcity
    exponent (scarcity): potency (x the reference mg per dose) is cut within its bounds and the
    share of doses with fentanyl takes the rest of the cover. Returns rows SHARE, MG (mean mg
    pure in a fentanyl dose), SOLD (kg pure), PRICE (US$/mg pure) and PURITY (of powder) per
    region, SIGMA left for `settle`, and 1 / potency, whose logarithm `settle` takes."""
    n = cover.size
    out, inverse = np.empty((N_ROWS, n)), np.empty(n)
    for r in range(n):
        potency = min(max(cut[r], rules[POTENCY_MIN]), rules[POTENCY_MAX])
        share = min(1.0, cover[r] / potency)
        mg = rules[TARGET_MG] * potency
        out[SHARE, r], out[MG, r], out[SIGMA, r] = share, mg, np.nan
        out[SOLD, r] = share * (people_using[r] * rules[USES_PER_WEEK]) * mg / MG_PER_KG
        out[PRICE, r] = rules[PRICE_REF] * scarcity[r]
        out[PURITY, r] = min(1.0, rules[PURITY_REF] * potency)
        inverse[r] = 1.0 / potency
    return out, inverse


@numba.njit(cache=True)
def trade_and_sell(stock_kg, in_transit_kg, people_using, rules):
    """`trade`, then `sell` on the cover after it, in one call, for rules whose cut elasticity
    and scarcity exponent are both 0.5: NumPy's `x ** 0.5` is its square root (correctly
    rounded, as the kernel's), so the powers need not leave the kernel. Returns `sell`'s rows
    and `ratios`' of them (the numbers whose logarithms `settle` and the pills' column take)."""
    _, shortage = cover_and_shortage(stock_kg, people_using, rules)
    trade(stock_kg, in_transit_kg, people_using, np.sqrt(shortage), rules)
    cover, shortage = cover_and_shortage(stock_kg, people_using, rules)
    out, inverse = sell(cover, np.sqrt(cover), np.sqrt(shortage), people_using, rules)
    return out, ratios(out, inverse)


@numba.njit(cache=True)
def ratios(out, inverse):
    """Per region, from `sell`'s rows and 1 / potency: rows [1 / potency, PILL_GE_MG / mg per
    dose], whose logarithms (NumPy's, in one call) give the product's spread (`settle`) and
    where 2 mg stands in a pill (`lognormal_z`)."""
    both = np.empty((2, inverse.size))
    for r in range(inverse.size):
        both[0, r], both[1, r] = inverse[r], PILL_GE_MG / out[MG, r]
    return both


@numba.njit(cache=True)
def settle(out, log_inverse, stock_kg, people_using, rules):
    """After `sell`: each region's SIGMA row (log-sd of mg in a fentanyl dose, wider the more
    the product is cut: log_inverse is log(1 / potency)), its sales taken from stock_kg (in
    place). Returns the price averaged over regions by people using (US$/mg pure)."""
    n = stock_kg.size
    weighted = np.empty(n)
    people = max(pairwise_sum(people_using), 1e-12)
    for r in range(n):
        out[SIGMA, r] = rules[SIGMA_FENTANYL] + rules[CUT_SIGMA_GAIN] * max(log_inverse[r], 0.0)
        stock_kg[r] = max(0.0, stock_kg[r] - out[SOLD, r])
        weighted[r] = out[PRICE, r] * (people_using[r] / people)
    return pairwise_sum(weighted)


@numba.njit(cache=True)
def weighted_mean(values, weights, fallback):
    """values averaged by weights, or by fallback weights when the weights do not sum above 0."""
    if not pairwise_sum(weights) > 0:
        weights = fallback
    return pairwise_sum(values * weights) / pairwise_sum(weights)


@numba.njit(cache=True)
def pill_mix(sold_kg, mg, pill_share, fallback):
    """Of the kg pure sold per region, the share sold as pills (pill_share of each region's),
    and the mg per pill averaged over the pills sold (by fallback weights when none were)."""
    pills = pill_share * sold_kg
    sold = pairwise_sum(sold_kg)
    return (pairwise_sum(pills) / sold if sold > 0 else 0.0,
            weighted_mean(mg, pills / mg, fallback))


@numba.njit(cache=True)
def lognormal_z(log_ratio, sigma):
    """Per region, (log_ratio + sigma^2 / 2) / max(sigma, 1e-9): where a threshold x stands
    in a lognormal of mean m and log-sd sigma, in standard deviations, for log_ratio =
    log(x / m)."""
    z = np.empty(log_ratio.size)
    for r in range(log_ratio.size):
        s = sigma[r]
        z[r] = (log_ratio[r] + 0.5 * (s * s)) / (s if s >= 1e-9 or s != s else 1e-9)
    return z


@numba.njit(cache=True)
def columns(share, mg, sold_kg, purity, ge_2mg, pill_share, people_using):
    """The week's market columns from `clear`'s rows per region (and each region's share of
    pills at or above 2 mg): kg sold; the share of doses with fentanyl and their mg, averaged
    by people using; powder purity averaged by powder kg sold; mg per pill and the share of
    pills at or above 2 mg, by pills sold; the share of kg sold as pills. An average whose
    weights are all 0 is taken by people using."""
    weights = people_using / max(pairwise_sum(people_using), 1e-12)
    pills_share, pill_mg = pill_mix(sold_kg, mg, pill_share, weights)
    return (pairwise_sum(sold_kg), pairwise_sum(share * weights), pairwise_sum(mg * weights),
            weighted_mean(purity, sold_kg - pill_share * sold_kg, weights), pill_mg,
            weighted_mean(ge_2mg, pill_share * sold_kg / mg, weights), pills_share)


def cover_and_shortage_np(stock_kg, people_using, rules):
    """NumPy twin of `cover_and_shortage`."""
    offered = stock_kg * MG_PER_KG * rules.turnover
    wanted = people_using * rules.uses_per_week * rules.target_mg
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.where(wanted > 0, offered / wanted, 0.0),
                np.clip(np.where(offered > 0, wanted / offered, 10.0), 0.1, 10.0))


def trade_np(stock_kg, in_transit_kg, people_using, scarcity, rules):
    """NumPy twin of `trade`."""
    if people_using.sum() <= 0:
        return
    price = rules.price_ref * scarcity
    gap = price / (price @ people_using / people_using.sum()) - 1.0
    half_cost = 0.5 * rules.trade_cost_share
    excess = stock_kg - stock_kg.sum() * people_using / people_using.sum()
    sent = np.where(gap < -half_cost, rules.trade_rate * np.maximum(excess, 0.0), 0.0)
    pull = np.where(gap > half_cost, np.maximum(-excess, 0.0), 0.0)
    if sent.sum() <= 0 or pull.sum() <= 0:
        return
    stock_kg -= sent
    in_transit_kg += sent.sum() * pull / pull.sum()


def sell_np(cover, cut, scarcity, people_using, rules):
    """NumPy twin of `sell`."""
    potency = np.clip(cut, rules.potency_min, rules.potency_max)
    share = np.minimum(1.0, cover / potency)
    mg = rules.target_mg * potency
    return (np.stack([share, mg, np.full(cover.size, np.nan),
                      share * (people_using * rules.uses_per_week) * mg / MG_PER_KG,
                      rules.price_ref * scarcity, np.minimum(1.0, rules.purity_ref * potency)]),
            1.0 / potency)


def trade_and_sell_np(stock_kg, in_transit_kg, people_using, rules):
    """NumPy twin of `trade_and_sell`."""
    _, shortage = cover_and_shortage_np(stock_kg, people_using, rules)
    trade_np(stock_kg, in_transit_kg, people_using, shortage ** 0.5, rules)
    cover, shortage = cover_and_shortage_np(stock_kg, people_using, rules)
    out, inverse = sell_np(cover, cover ** 0.5, shortage ** 0.5, people_using, rules)
    return out, ratios_np(out, inverse)


def ratios_np(out, inverse):
    """NumPy twin of `ratios`."""
    return np.stack((inverse, PILL_GE_MG / out[MG]))


def settle_np(out, log_inverse, stock_kg, people_using, rules):
    """NumPy twin of `settle`."""
    out[SIGMA] = rules.sigma_fentanyl + rules.cut_sigma_gain * log_inverse.clip(0)
    stock_kg[:] = np.maximum(0.0, stock_kg - out[SOLD])
    weights = people_using / max(people_using.sum(), 1e-12)
    return float((out[PRICE] * weights).sum())


def weighted_mean_np(values, weights, fallback):
    """NumPy twin of `weighted_mean`."""
    weights = weights if weights.sum() > 0 else fallback
    return float((values * weights).sum() / weights.sum())


def pill_mix_np(sold_kg, mg, pill_share, fallback):
    """NumPy twin of `pill_mix`."""
    pills = pill_share * sold_kg
    return (float(pills.sum() / sold_kg.sum()) if sold_kg.sum() > 0 else 0.0,
            weighted_mean_np(mg, pills / mg, fallback))


def lognormal_z_np(log_ratio, sigma):
    """NumPy twin of `lognormal_z`."""
    return (log_ratio + 0.5 * sigma**2) / np.maximum(sigma, 1e-9)


def columns_np(share, mg, sold_kg, purity, ge_2mg, pill_share, people_using):
    """NumPy twin of `columns`."""
    weights = people_using / max(people_using.sum(), 1e-12)
    pills = pill_share * sold_kg
    pills_share, pill_mg = pill_mix_np(sold_kg, mg, pill_share, weights)
    return (float(sold_kg.sum()), float((share * weights).sum()), float((mg * weights).sum()),
            weighted_mean_np(purity, sold_kg - pills, weights), pill_mg,
            weighted_mean_np(ge_2mg, pills / mg, weights), pills_share)
