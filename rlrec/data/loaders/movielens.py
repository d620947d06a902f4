"""MovieLens-100k in RecBole's atomic-file layout (``recbole`` dataset_example/ml-100k).

* Items: ``movie_title`` is the title, ``release_year`` goes into the attributes, and genres
  (``class``, a space-separated token sequence) become the categories. Genres are NOT a hierarchy:
  Category L1 = the first genre listed, Category L2 = the second genre (absent for single-genre movies,
  833 of 1,682). All genres stay in ``attributes["genres"]``. The listed order is MovieLens's fixed
  genre order, so L1 is not a "main" genre — category accuracy on this dataset measures genre overlap.
* Interactions: one per rating; ``time`` = unix timestamp (seconds), ``seq`` = row in the file, so
  events are ordered by (timestamp, file row); ``behavior`` = "rating", ``rating`` = 1-5.
* Profile: age, gender, occupation (zip code is left out).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd

from rlrec import assets
from rlrec.config import DataConfig
from rlrec.data.loaders.base import DATA_LOADERS
from rlrec.data.schema import Catalog, Interaction, InteractionLog, Item, UserProfile

ML100K_DIR = "dataset_example/ml-100k"
_GENDERS = {"M": "male", "F": "female"}


def read_atomic(path: Path, required: list[str]) -> pd.DataFrame:
    """A RecBole atomic file (tab-separated, header ``name:type``) as strings, columns renamed to ``name``."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    frame.columns = [c.split(":", 1)[0] for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (has {list(frame.columns)}); reinstall "
                         f"{assets.RECBOLE.install_line} --force-reinstall")
    return frame


def movie_item(item_id: str, title: str, year: str, genres: str) -> Item:
    names = tuple(genres.split())
    attributes = {"release_year": int(year) if year.isdigit() else None, "genres": list(names)}
    return Item(item_id, title, names[:2], attributes)


ML100K_FILES = ("ml-100k.inter", "ml-100k.item", "ml-100k.user")


def movielens_files(cfg: DataConfig) -> list[Path]:
    """The three atomic files the loader reads (they key the data stage by content)."""
    return [assets.package_dir(assets.RECBOLE) / ML100K_DIR / name for name in ML100K_FILES]


@DATA_LOADERS.register("movielens100k", files=movielens_files)
def load_movielens100k(cfg: DataConfig) -> InteractionLog:
    """MovieLens-100k: 943 users, 1,682 movies, 100,000 ratings (see the module docstring)."""
    root = assets.package_dir(assets.RECBOLE) / ML100K_DIR
    for name in ML100K_FILES:
        assets.package_file(assets.RECBOLE, f"{ML100K_DIR}/{name}")  # clear error if one is missing
    inter = read_atomic(root / "ml-100k.inter", ["user_id", "item_id", "rating", "timestamp"])
    items = read_atomic(root / "ml-100k.item", ["item_id", "movie_title", "release_year", "class"])
    users = read_atomic(root / "ml-100k.user", ["user_id", "age", "gender", "occupation"])

    catalog = Catalog(movie_item(*row) for row in zip(
        items["item_id"], items["movie_title"], items["release_year"], items["class"]))

    skipped: Counter = Counter()
    inter["row"] = range(len(inter))
    rating = pd.to_numeric(inter["rating"], errors="coerce")
    stamp = pd.to_numeric(inter["timestamp"], errors="coerce")
    known = inter["item_id"].isin(set(catalog.ids))
    for reason, bad in (("item_id not in ml-100k.item", ~known), ("rating or timestamp not a number",
                                                                  known & (rating.isna() | stamp.isna()))):
        if bad.any():
            skipped[reason] += int(bad.sum())
    keep = known & rating.notna() & stamp.notna()

    histories: dict[str, list[Interaction]] = {}
    columns = (inter["user_id"][keep], inter["item_id"][keep], rating[keep], stamp[keep], inter["row"][keep])
    for user, item, r, t, row in zip(*(c.to_numpy() for c in columns)):
        histories.setdefault(user, []).append(
            Interaction(user_id=user, item_id=item, time=float(t), seq=int(row), behavior="rating", rating=float(r)))
    profiles = {
        user: UserProfile(user, {"age": age, "gender": _GENDERS.get(gender, gender), "occupation": occupation})
        for user, age, gender, occupation in zip(users["user_id"], users["age"], users["gender"], users["occupation"])
    }
    return InteractionLog(
        name="movielens100k", catalog=catalog, histories=histories, profiles=profiles, skipped=skipped,
        description="MovieLens-100k ratings (GroupLens; research use only), RecBole atomic files",
        time_unit_s=1.0,
    )
