"""Hand-built logs with hand-computed expectations (no data files involved)."""

from __future__ import annotations

from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item, UserProfile

CATALOG = Catalog([
    Item("A", "Apples", ("produce", "fresh fruits")),
    Item("B", "Bread", ("bakery", "bread")),
    Item("C", "Cheddar", ("dairy eggs", "packaged cheese")),
    Item("D", "Dates", ("produce", "fresh fruits")),
    Item("E", "Eggs", ("dairy eggs", "eggs")),
])


def basket_log(orders: list[tuple[float, list[str]]], user: str = "u", **kwargs) -> InteractionLog:
    """One user; ``orders`` = [(day, [item ids in add-to-cart order]), …]; seq is the running index."""
    events, seq = [], 0
    for number, (day, items) in enumerate(orders, start=1):
        for cart, item in enumerate(items, start=1):
            events.append(Interaction(user, item, time=day, seq=seq, group=f"o{number}",
                                      attributes={"order_number": number, "add_to_cart_order": cart, "reordered": 0,
                                                  "order_dow": number % 7, "order_hour_of_day": 10}))
            seq += 1
    return InteractionLog("toy-basket", CATALOG, {user: events}, time_unit_s=86400.0, **kwargs)


def rating_log(ratings: list[tuple[float, str, float]], user: str = "r") -> InteractionLog:
    """One user; ``ratings`` = [(unix time, item, rating), …] in file order."""
    events = [Interaction(user, item, time=t, seq=i, behavior="rating", rating=r)
              for i, (t, item, r) in enumerate(ratings)]
    return InteractionLog("toy-rating", CATALOG, {user: events}, profiles={user: UserProfile(user, {"age": "30"})})
