"""ML train / compare / deploy with tiny numpy models on data/samples/housing.csv (no scikit-learn)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from gallery_common import sample_path


def _data(context: dict):
    raw = np.genfromtxt(sample_path(context.get("dataset") or "housing.csv"), delimiter=",", names=True)
    x = np.column_stack([raw["size_m2"], raw["rooms"], raw["age_years"]])
    y = raw["price_k"]
    rng = np.random.default_rng(int(context.get("seed", 7)))
    idx = rng.permutation(len(y))
    cut = int(len(y) * 0.75)
    return x[idx[:cut]], y[idx[:cut]], x[idx[cut:]], y[idx[cut:]]


def load_training_data(context: dict) -> dict:
    """Split the data set (75/25, seeded) and describe it."""
    xt, _, xv, _ = _data(context)
    return {"train_rows": len(xt), "validation_rows": len(xv), "features": ["size_m2", "rooms", "age_years"]}


def _rmse(pred, y) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def _design(x, degree: int):
    cols = [np.ones(len(x))]
    for d in range(1, degree + 1):
        cols += [x[:, i] ** d for i in range(x.shape[1])]
    return np.column_stack(cols)


def train_linear_model(context: dict) -> dict:
    """Ordinary least squares on the raw features."""
    xt, yt, xv, yv = _data(context)
    w, *_ = np.linalg.lstsq(_design(xt, 1), yt, rcond=None)
    return {
        "linear_model": {
            "kind": "linear",
            "rmse": round(_rmse(_design(xv, 1) @ w, yv), 3),
            "weights": w.round(5).tolist(),
        }
    }


def train_polynomial_model(context: dict, degree: int = 2, ridge: float = 1e-3) -> dict:
    """Ridge regression on polynomial features (standardised)."""
    xt, yt, xv, yv = _data(context)
    mu, sd = xt.mean(0), xt.std(0) + 1e-9
    a, b = _design((xt - mu) / sd, degree), _design((xv - mu) / sd, degree)
    w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ yt)
    return {
        "polynomial_model": {
            "kind": f"polynomial(degree={degree})",
            "rmse": round(_rmse(b @ w, yv), 3),
            "weights": w.round(5).tolist(),
        }
    }


def train_knn_model(context: dict, k: int = 5) -> dict:
    """k nearest neighbours (standardised features, mean of the k prices)."""
    xt, yt, xv, yv = _data(context)
    mu, sd = xt.mean(0), xt.std(0) + 1e-9
    a, b = (xt - mu) / sd, (xv - mu) / sd
    dist = ((b[:, None, :] - a[None, :, :]) ** 2).sum(-1)
    pred = yt[np.argsort(dist, axis=1)[:, :k]].mean(1)
    return {"knn_model": {"kind": f"knn(k={k})", "rmse": round(_rmse(pred, yv), 3)}}


def compare_models(context: dict) -> dict:
    """The model with the lowest validation RMSE."""
    models = {n: context[n] for n in ("linear_model", "polynomial_model", "knn_model") if context.get(n)}
    best = min(models, key=lambda n: models[n]["rmse"])
    return {
        "best_model": best,
        "best_rmse": models[best]["rmse"],
        "leaderboard": sorted(([n, m["rmse"]] for n, m in models.items()), key=lambda r: r[1]),
    }


def deploy_best_model(context: dict) -> dict:
    """Write the best model to the model registry folder (``registry_dir`` input)."""
    out = Path(context.get("registry_dir") or "data/models")
    if not out.is_absolute():
        out = Path(__file__).resolve().parent.parent.parent / out
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{context['best_model']}.json"
    path.write_text(json.dumps(context[context["best_model"]]), encoding="utf-8")
    return {"deployed_model": context["best_model"], "deployed_path": str(path)}


def keep_current_model(context: dict) -> dict:
    """No model is good enough: keep what is in production and say why."""
    return {
        "deployed_model": None,
        "deploy_note": f"best RMSE {context['best_rmse']} is above the limit {context.get('max_rmse')}",
    }
