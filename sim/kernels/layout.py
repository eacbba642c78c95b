"""Random-draw index layouts: how each decision's draw index is formed, all in one place.

A draw is `uniform(stream_key(seed, stream, week), index)` (`sim.kernels.rng`): two decisions of
one stream in one week get the same number exactly when they use the same index. Each layout
packs who draws (a buyer, a maker slot, a load, a post along a route) into disjoint ranges of the
index. Sizes a scenario fixes are checked when it loads (`size_problem`, `check_route_posts`)
and when a model is built (`check_sizes`);
sizes that grow during a run (labs, loads, search tries) are checked where the index is formed.
Either way a scenario that would overflow a range is refused with a `LayoutError` (exit 2)
instead of letting two agents silently share random numbers.

| stream(s) | week | index | bound |
|---|---|---|---|
| SETUP | 0 | maker slot x MAKER_DRAWS + k | k < MAKER_DRAWS |
| SETUP | 0 | USERS_SETUP_OFFSET + user slot | maker draws below the offset |
| SETUP | 1 | buyer x SETUP_LINK_SPAN + maker slot | maker slots <= SETUP_LINK_SPAN |
| ENTRANT | week | maker slot x MAKER_DRAWS + k | as SETUP |
| ORDER_QUEUE, REFUSE | week | `order_index`: maker slot x buyers + buyer | |
| PRECURSOR_INSPECT | week | order index x MAX_POSTS_PER_ROUTE + position | posts on a route |
| LOAD_INSPECT | week | `load_index` x MAX_POSTS_PER_ROUTE + position | loads per entry < KEY_SPAN |
| LINK_LOSS, LINK_CUT | week | buyer x KEY_SPAN + maker slot | maker slots < KEY_SPAN |
| SUPPLIER_SEARCH | week | buyer x KEY_SPAN + draw | draws < KEY_SPAN |
| LAB_RAID, LAB_RAID_SUCCESS | week | buyer x KEY_SPAN + lab | labs < KEY_SPAN |
| MAKER_RAID, MAKER_RELIST, DELIST | week | maker slot | |
| MAKER_SWITCH | week | maker slot; slot + slots for quitting (`maker_week`) | |
| MAKER_ENTRY | week | 0 | |
| OVERDOSE, STATE_CHANGE | week | user slot, hashed as 32 bits (`bits31`) | slots <= MAX_USER_SLOTS |
"""

import numpy as np

from sim.validation import ScenarioError

KEY_SPAN = 1 << 20             # indices per buyer: maker slots, labs, loads per entry, search draws
SETUP_LINK_SPAN = 100_000      # indices per buyer for its first supplier links (SETUP, week 1)
MAKER_DRAWS = 8                # draws per maker slot when a firm is created (SETUP or ENTRANT)
USERS_SETUP_OFFSET = 2**40     # users' SETUP draws start here, past every maker's
MAX_POSTS_PER_ROUTE = 16       # inspection draws per shipment: one per post along its route
MAX_USER_SLOTS = 2**31 - 1     # user slots are hashed as 32-bit integers


class LayoutError(ScenarioError):
    """A scenario whose sizes would make two decisions share random numbers."""


def maker_slots(firms: int, slot_headroom: float) -> int:
    """Maker slots a scenario allocates: room for its firms and entrants."""
    return int(np.ceil(firms * slot_headroom))


def user_slots(agents: int, slot_headroom: float) -> int:
    """Person-agent slots a scenario allocates: room for its users and those who start later."""
    return int(np.ceil(agents * slot_headroom))


def size_problem(parameters: dict) -> tuple[tuple[str, ...], str] | None:
    """(key path, message) when the parameters' populations pass a layout's range, else None."""
    makers, users = parameters["makers"], parameters["users"]
    slots = maker_slots(makers["firms"], makers["slot_headroom"])
    if slots > SETUP_LINK_SPAN:
        return ("makers", "firms"), (
            f"{makers['firms']:,} firms x slot_headroom {makers['slot_headroom']:g} = "
            f"{slots:,} maker slots, more than the {SETUP_LINK_SPAN:,} the random-draw layout "
            "gives each buyer (SETUP_LINK_SPAN in sim/kernels/layout.py); lower makers.firms "
            "or makers.slot_headroom")
    slots = user_slots(users["agents"], users["slot_headroom"])
    if slots > MAX_USER_SLOTS:
        return ("users", "agents"), (f"{slots:,} user slots, more than the {MAX_USER_SLOTS:,} "
                                     "the users kernel can hash")
    return None


def check_sizes(parameters: dict) -> None:
    """Refuse parameters whose populations pass a layout's range (`LayoutError`)."""
    problem = size_problem(parameters)
    if problem is not None:
        path, message = problem
        raise LayoutError(f"parameters.{'.'.join(path)}: {message}")


def check_route_posts(posts_per_route: np.ndarray, route_names: list[str], file) -> None:
    """Refuse a network with a route through more customs posts than it draws for."""
    if posts_per_route.size and posts_per_route.max() > MAX_POSTS_PER_ROUTE:
        r = int(posts_per_route.argmax())
        raise LayoutError(f"{file}: edges: route {route_names[r]} passes {posts_per_route[r]} "
                          f"customs posts; the random-draw layout supports "
                          f"{MAX_POSTS_PER_ROUTE} (MAX_POSTS_PER_ROUTE in sim/kernels/layout.py)")


def within_span(count: int, what: str) -> None:
    """Refuse `count` draws of one buyer in one week beyond its KEY_SPAN (`LayoutError`)."""
    if count > KEY_SPAN:
        raise LayoutError(f"{count:,} {what} in one week, more than the {KEY_SPAN:,} the "
                          "random-draw layout gives each buyer (KEY_SPAN in "
                          "sim/kernels/layout.py)")


def maker_index(slots: np.ndarray, k: int) -> np.ndarray:
    """Draw k (< MAKER_DRAWS) of each maker slot created (SETUP or ENTRANT)."""
    return slots * MAKER_DRAWS + k


def user_setup_index(slots: np.ndarray) -> np.ndarray:
    """The SETUP draw of each user slot."""
    return slots + USERS_SETUP_OFFSET


def setup_link_index(buyer: int, slots: np.ndarray) -> np.ndarray:
    """A buyer's SETUP draw (week 1) for each maker slot it may link to first."""
    return buyer * SETUP_LINK_SPAN + slots


def buyer_index(buyer: int, items: np.ndarray, what: str) -> np.ndarray:
    """A buyer's draw for each of its items (maker slots, labs, search draws: `what`)."""
    within_span(int(items.max(initial=-1)) + 1, what)
    return buyer * KEY_SPAN + items


def order_index(maker: np.ndarray, n_buyers: int, buyer: np.ndarray) -> np.ndarray:
    """The draw of each (maker slot, buyer) order: its place in the queue, refusal, inspection."""
    return maker * n_buyers + buyer


def load_index(buyer: int, n_entries: int, entry: np.ndarray, load: np.ndarray) -> np.ndarray:
    """The draw of each fentanyl load: load number `load` to US entry `entry`."""
    within_span(int(load.max(initial=-1)) + 1, "loads to one US entry")
    return (buyer * n_entries + entry) * KEY_SPAN + load
