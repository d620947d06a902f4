"""Hold-out evaluation of the simulator and its baselines: AUC, log-loss, ECE, reliability plot, bootstrap.

Baselines, fitted on the same training impressions in the same run:

* ``popularity`` — the item's number of training positives (clicks for CTR, click ∧ conversion for
  CTCVR), mapped to a probability by Platt scaling (1-d logistic regression on log1p(count)).
* ``item_knn`` — item co-occurrence: cosine similarity of item columns of the user × item training-click
  matrix, top ``knn_neighbors`` per item (self-similarity 1 included, so repeat purchases score); the
  score of (context, item) is the summed similarity of the item to the context's last ``L`` items,
  Platt-scaled on log1p(score) separately for CTR and CTCVR labels.

The simulator *beats* a baseline only when the user-bootstrap 95% CI of its CTCVR AUC margin lies above 0
(:func:`margin_verdict`); :func:`baseline_warnings` words what the card and the build log say otherwise.

Dims: ``N`` impressions, ``C`` contexts, ``L`` history length, ``I`` catalogue rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

__all__ = [
    "auc", "log_loss", "ece", "reliability_curve", "bootstrap_auc_margin", "PlattScaler",
    "PopularityBaseline", "ItemKNNBaseline", "binary_metrics", "reliability_plot", "evaluate_holdout",
    "BASELINES", "margin_verdict", "baseline_warnings",
]

EPS = 1e-7


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC; NaN when ``y`` has a single class."""
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy in nats, ``p`` clipped to [1e-7, 1 - 1e-7]."""
    p = np.clip(p.astype(np.float64), EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-width bins on [0, 1]: (mean prediction ``[bins]``, positive rate ``[bins]``, count ``[bins]``).

    Empty bins have NaN mean / rate and count 0. ``p == 1`` falls in the last bin.
    """
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(which, weights=p, minlength=bins) / count
        rate = np.bincount(which, weights=y, minlength=bins) / count
    return mean_p, rate, count


def ece(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: Σ_b (n_b / N) · |mean p_b − positive rate_b| over equal-width bins."""
    mean_p, rate, count = reliability_curve(y, p, bins)
    filled = count > 0
    return float(np.sum(count[filled] / count.sum() * np.abs(mean_p[filled] - rate[filled])))


def binary_metrics(y: np.ndarray, p: np.ndarray, bins: int) -> dict[str, float]:
    return {"auc": auc(y, p), "log_loss": log_loss(y, p), "ece": ece(y, p, bins),
            "mean_pred": float(p.mean()), "positive_rate": float(y.mean())}


def bootstrap_auc_margin(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, groups: np.ndarray, reps: int,
                         seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """AUC(a) − AUC(b) with a percentile CI from resampling ``groups`` (users) with replacement.

    Returns (point estimate, lower, upper); the bounds are NaN when ``reps`` is 0.
    """
    point = auc(y, p_a) - auc(y, p_b)
    if reps <= 0:
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    diffs = []
    for _ in range(reps):
        idx = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        diffs.append(auc(y[idx], p_a[idx]) - auc(y[idx], p_b[idx]))
    lo, hi = np.nanpercentile(diffs, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return point, float(lo), float(hi)


BASELINES = {"popularity": "popularity", "item_knn": "item-kNN"}  # metrics key → name in the card and log


def _finite(x: float | None) -> bool:
    return x is not None and bool(np.isfinite(x))


def margin_verdict(margin: dict) -> str:
    """``"beats"`` when the CI of ``margin`` (``{"margin", "ci95_low", "ci95_high"}``, AUC(simulator) −
    AUC(baseline)) lies above 0, ``"beaten"`` when below, ``"tie"`` when it spans 0, ``"no_ci"`` without a CI
    (``simulator.bootstrap=0``, or a class missing in every resample)."""
    lo, hi = margin.get("ci95_low"), margin.get("ci95_high")
    if not (_finite(lo) and _finite(hi)):
        return "no_ci"
    return "beats" if lo > 0 else "beaten" if hi < 0 else "tie"


def baseline_warnings(metrics: dict) -> list[str]:
    """One warning per baseline the simulator does not beat on CTCVR AUC (``metrics`` as from
    :func:`evaluate_holdout`), saying what it means for rewards built on the simulator."""
    out = []
    sim = metrics["simulator"]["ctcvr"]["auc"]
    for key, name in BASELINES.items():
        margin = metrics["margins"][f"ctcvr_auc_vs_{key}"]
        base = metrics[key]["ctcvr"]["auc"]
        verdict = margin_verdict(margin)
        numbers = (f"CTCVR AUC {_num(sim)} vs {name} {_num(base)}, margin {_num(margin['margin'], '+.4f')}, "
                   f"95% CI [{_num(margin.get('ci95_low'))}, {_num(margin.get('ci95_high'))}]")
        if verdict == "beaten":
            out.append(f"the {name} baseline BEATS the simulator ({numbers}): rewards built on this simulator rank "
                       f"items worse than {name} does and are close to noise. Do not train on them as they are: add "
                       "data, train longer (simulator.epochs), or check the labels (simulator.labels and its "
                       "thresholds), then rebuild (simulator.rebuild=true).")
        elif verdict == "tie":
            out.append(f"the simulator does not beat the {name} baseline ({numbers}; the CI spans 0): its rewards "
                       f"carry no measurable signal beyond {name}. Add data or train longer (simulator.epochs), "
                       "then rebuild (simulator.rebuild=true).")
        elif verdict == "no_ci" and not (_finite(margin["margin"]) and margin["margin"] > 0):
            out.append(f"the simulator does not beat the {name} baseline ({numbers}) and there is no CI "
                       "(simulator.bootstrap=0 or too few hold-out users).")
    return out


def _num(x: float | None, spec: str = ".4f") -> str:
    return format(x, spec) if _finite(x) else "n/a"


class PlattScaler:
    """p = σ(a · log1p(score) + b), fitted by (nearly unregularised) logistic regression."""

    def __init__(self) -> None:
        self.model = LogisticRegression(C=1e4, max_iter=1000)

    def fit(self, score: np.ndarray, y: np.ndarray) -> PlattScaler:
        self.model.fit(np.log1p(score)[:, None], y)
        return self

    def __call__(self, score: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(np.log1p(score)[:, None])[:, 1]


@dataclass
class PopularityBaseline:
    """Item popularity from training positives, Platt-scaled per label."""

    clicks: np.ndarray  # [I + 2] training clicks per catalogue row (0 for the extra rows)
    ctcvr_counts: np.ndarray  # [I + 2] training click ∧ conversion per row
    ctr_scale: PlattScaler
    ctcvr_scale: PlattScaler

    @classmethod
    def fit(cls, item: np.ndarray, click: np.ndarray, conv: np.ndarray, num_rows: int) -> PopularityBaseline:
        """``item`` / ``click`` / ``conv``: the training impressions ``[N]`` (rows, 0/1, 0/1)."""
        clicks = np.bincount(item, weights=click, minlength=num_rows + 2)
        ctcvr = np.bincount(item, weights=click * conv, minlength=num_rows + 2)
        return cls(clicks, ctcvr, PlattScaler().fit(clicks[item], click), PlattScaler().fit(ctcvr[item], click * conv))

    def predict(self, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pCTR, pCTCVR) ``[N]`` for catalogue rows."""
        return self.ctr_scale(self.clicks[item]), self.ctcvr_scale(self.ctcvr_counts[item])


@dataclass
class ItemKNNBaseline:
    """Item-item co-occurrence (cosine) similarity summed over the context's history, Platt-scaled per label."""

    keys: np.ndarray  # sorted int64 keys i * (I + 2) + j of the kept similarities
    values: np.ndarray  # [nnz] similarity of each key
    width: int  # I + 2
    ctr_scale: PlattScaler | None = None
    ctcvr_scale: PlattScaler | None = None

    @classmethod
    def from_clicks(cls, users: np.ndarray, items: np.ndarray, num_rows: int, neighbors: int) -> ItemKNNBaseline:
        """Similarities from training clicks (``users`` / ``items``: ``[P]`` user codes and catalogue rows)."""
        width = num_rows + 2
        x = sp.csr_matrix((np.ones(len(items)), (users, items)), shape=(int(users.max()) + 1, width))
        x.data[:] = 1.0  # binary: did the user ever click the item
        co = (x.T @ x).tocsr()  # [I+2, I+2] co-occurrence counts, diagonal = item user counts
        norm = np.sqrt(np.maximum(co.diagonal(), 1.0))
        keys, values = [], []
        for i in np.flatnonzero(np.diff(co.indptr)):
            cols = co.indices[co.indptr[i] : co.indptr[i + 1]]
            sims = co.data[co.indptr[i] : co.indptr[i + 1]] / (norm[i] * norm[cols])
            if len(sims) > neighbors:
                keep = np.argpartition(-sims, neighbors - 1)[:neighbors]
                cols, sims = cols[keep], sims[keep]
            keys.append(i * width + cols.astype(np.int64))
            values.append(sims)
        keys_arr, values_arr = np.concatenate(keys), np.concatenate(values)
        order = np.argsort(keys_arr)
        return cls(keys_arr[order], values_arr[order], width)

    def score(self, hist_rows: np.ndarray, ctx: np.ndarray, item: np.ndarray) -> np.ndarray:
        """``[N]`` summed similarity of ``item`` to the rows of ``hist_rows[ctx]`` (``[C, L]``, padding -1)."""
        hist = hist_rows[ctx]  # [N, L]
        query = item[:, None].astype(np.int64) * self.width + np.where(hist < 0, self.width - 1, hist)
        pos = np.minimum(np.searchsorted(self.keys, query), len(self.keys) - 1)
        found = (self.keys[pos] == query) & (hist >= 0)
        return np.where(found, self.values[pos], 0.0).sum(1)

    def calibrate(self, score: np.ndarray, click: np.ndarray, conv: np.ndarray) -> ItemKNNBaseline:
        self.ctr_scale = PlattScaler().fit(score, click)
        self.ctcvr_scale = PlattScaler().fit(score, click * conv)
        return self

    def predict(self, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pCTR, pCTCVR) ``[N]`` from raw scores."""
        return self.ctr_scale(score), self.ctcvr_scale(score)


def reliability_plot(curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], bins: int, path: Path,
                     title: str) -> Path:
    """Two panels (CTR, CTCVR): positive rate vs mean prediction per bin for each model. PNG at ``path``.

    ``curves[task][model] = (y, p)`` with ``task`` in {"ctr", "ctcvr"}.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4.5))
    for ax, (task, models) in zip(np.atleast_1d(axes), curves.items()):
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
        for name, (y, p) in models.items():
            mean_p, rate, count = reliability_curve(y, p, bins)
            filled = count > 0
            ax.plot(mean_p[filled], rate[filled], marker="o", label=f"{name} (ECE {ece(y, p, bins):.3f})")
        ax.set_title(f"{task.upper()} reliability ({bins} bins)")
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed positive rate")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def evaluate_holdout(scorer, log, labelled, train, holdout, config) -> tuple[dict, dict]:
    """Simulator vs popularity vs item-kNN on the hold-out impressions (all fitted on ``train``).

    Returns (metrics, curves): ``metrics[model][task]`` = :func:`binary_metrics` for task ctr / ctcvr, plus
    ``metrics["margins"]`` (CTCVR AUC margins with user-bootstrap CIs); ``curves`` feeds :func:`reliability_plot`.
    """
    num_rows = len(scorer.features.item_ids)
    ctx_users = labelled.ctx_user
    profiles = [log.profile(u) for u in ctx_users]
    p_ctr, p_cvr = scorer.predict_contexts(ctx_users, labelled.ctx_hist, profiles, holdout.ctx, holdout.item)
    predictions = {"simulator": (p_ctr.astype(np.float64), (p_ctr * p_cvr).astype(np.float64))}

    pop = PopularityBaseline.fit(train.item, train.click, train.conv, num_rows)
    predictions["popularity"] = pop.predict(holdout.item)

    _, user_code = np.unique(np.array(ctx_users), return_inverse=True)
    clicked = train.click > 0
    knn = ItemKNNBaseline.from_clicks(user_code[train.ctx[clicked]], train.item[clicked], num_rows,
                                      config.knn_neighbors)
    rng = np.random.default_rng(config.seed + 3)
    fit = rng.choice(len(train), size=min(len(train), 50_000), replace=False)  # Platt fits one slope + bias
    knn.calibrate(knn.score(labelled.ctx_hist, train.ctx[fit], train.item[fit]), train.click[fit], train.conv[fit])
    predictions["item_knn"] = knn.predict(knn.score(labelled.ctx_hist, holdout.ctx, holdout.item))

    y_ctr, y_ctcvr = holdout.click, holdout.ctcvr
    metrics: dict = {
        name: {"ctr": binary_metrics(y_ctr, ctr, config.ece_bins), "ctcvr": binary_metrics(y_ctcvr, ctcvr, config.ece_bins)}
        for name, (ctr, ctcvr) in predictions.items()
    }
    on_clicks = y_ctr > 0
    metrics["simulator"]["cvr_on_clicks"] = {"auc": auc(holdout.conv[on_clicks], p_cvr[on_clicks].astype(np.float64)),
                                             "positive_rate": float(holdout.conv[on_clicks].mean())}
    groups = user_code[holdout.ctx]
    metrics["margins"] = {}
    for baseline in ("popularity", "item_knn"):
        point, lo, hi = bootstrap_auc_margin(y_ctcvr, predictions["simulator"][1], predictions[baseline][1], groups,
                                             config.bootstrap, seed=config.seed)
        metrics["margins"][f"ctcvr_auc_vs_{baseline}"] = {"margin": point, "ci95_low": lo, "ci95_high": hi}
    metrics["holdout"] = {"impressions": len(holdout), "users": int(len(np.unique(groups))),
                          "clicks": int(y_ctr.sum()), "click_and_conversion": int(y_ctcvr.sum())}
    curves = {"ctr": {n: (y_ctr, p[0]) for n, p in predictions.items()},
              "ctcvr": {n: (y_ctcvr, p[1]) for n, p in predictions.items()}}
    return metrics, curves
