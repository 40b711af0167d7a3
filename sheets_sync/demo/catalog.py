"""The product catalogue: real-looking devices with a base price and a popularity.

The catalogue is fixed (not drawn at random) so product ids are stable across
seeds; the seed only changes who bids on what and what happens to orders.
Smartphones carry ~80% of the volume and iPhones dominate them.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

CATEGORY_SHARE: dict[str, float] = {
    "smartphone": 0.80,
    "tablet": 0.07,
    "laptop": 0.05,
    "console": 0.05,
    "smartwatch": 0.03,
}
"""Share of orders per category (docs/design.md §3: smartphones ~80% of volume)."""

STORAGE_POPULARITY = (0.45, 0.33, 0.16, 0.06)
"""How often the 1st, 2nd, 3rd, 4th storage tier of a model is traded in."""

STORAGE_STEP = {"smartphone": 1.12, "tablet": 1.12, "laptop": 1.18, "console": 1.10}
"""Price multiplier per storage tier up (a 256 GB is worth a bit more than a 128 GB)."""

# category, brand, model, release year, storage tiers (GB), good-grade price (EUR) of the
# smallest tier, relative popularity within the category.
_MODELS: tuple[tuple[str, str, str, int, tuple[int | None, ...], int, float], ...] = (
    ("smartphone", "Apple", "iPhone XR", 2018, (64, 128), 90, 3.0),
    ("smartphone", "Apple", "iPhone XS", 2018, (64, 256), 100, 1.5),
    ("smartphone", "Apple", "iPhone 11", 2019, (64, 128, 256), 150, 6.0),
    ("smartphone", "Apple", "iPhone 11 Pro", 2019, (64, 256, 512), 190, 3.0),
    ("smartphone", "Apple", "iPhone 11 Pro Max", 2019, (64, 256, 512), 220, 2.5),
    ("smartphone", "Apple", "iPhone SE (2020)", 2020, (64, 128, 256), 80, 2.0),
    ("smartphone", "Apple", "iPhone 12 mini", 2020, (64, 128, 256), 170, 1.5),
    ("smartphone", "Apple", "iPhone 12", 2020, (64, 128, 256), 230, 6.0),
    ("smartphone", "Apple", "iPhone 12 Pro", 2020, (128, 256, 512), 300, 3.5),
    ("smartphone", "Apple", "iPhone 12 Pro Max", 2020, (128, 256, 512), 350, 3.0),
    ("smartphone", "Apple", "iPhone 13 mini", 2021, (128, 256, 512), 260, 1.5),
    ("smartphone", "Apple", "iPhone 13", 2021, (128, 256, 512), 330, 7.0),
    ("smartphone", "Apple", "iPhone 13 Pro", 2021, (128, 256, 512, 1024), 430, 4.0),
    ("smartphone", "Apple", "iPhone 13 Pro Max", 2021, (128, 256, 512, 1024), 490, 3.5),
    ("smartphone", "Apple", "iPhone SE (2022)", 2022, (64, 128, 256), 140, 1.5),
    ("smartphone", "Apple", "iPhone 14", 2022, (128, 256, 512), 400, 5.0),
    ("smartphone", "Apple", "iPhone 14 Plus", 2022, (128, 256, 512), 440, 1.5),
    ("smartphone", "Apple", "iPhone 14 Pro", 2022, (128, 256, 512, 1024), 540, 4.0),
    ("smartphone", "Apple", "iPhone 14 Pro Max", 2022, (128, 256, 512, 1024), 600, 3.5),
    ("smartphone", "Apple", "iPhone 15", 2023, (128, 256, 512), 520, 3.0),
    ("smartphone", "Apple", "iPhone 15 Plus", 2023, (128, 256, 512), 560, 1.0),
    ("smartphone", "Apple", "iPhone 15 Pro", 2023, (128, 256, 512, 1024), 680, 2.5),
    ("smartphone", "Apple", "iPhone 15 Pro Max", 2023, (256, 512, 1024), 780, 2.5),
    ("smartphone", "Samsung", "Galaxy S21", 2021, (128, 256), 170, 1.5),
    ("smartphone", "Samsung", "Galaxy S21 FE", 2022, (128, 256), 140, 0.8),
    ("smartphone", "Samsung", "Galaxy S22", 2022, (128, 256), 240, 1.5),
    ("smartphone", "Samsung", "Galaxy S22 Ultra", 2022, (128, 256, 512), 380, 1.0),
    ("smartphone", "Samsung", "Galaxy S23", 2023, (128, 256), 350, 1.5),
    ("smartphone", "Samsung", "Galaxy S23 Ultra", 2023, (256, 512), 560, 1.0),
    ("smartphone", "Samsung", "Galaxy S24", 2024, (128, 256), 450, 1.0),
    ("smartphone", "Samsung", "Galaxy S24 Ultra", 2024, (256, 512, 1024), 700, 0.8),
    ("smartphone", "Samsung", "Galaxy A54", 2023, (128, 256), 140, 1.2),
    ("smartphone", "Samsung", "Galaxy A34", 2023, (128, 256), 110, 0.8),
    ("smartphone", "Samsung", "Galaxy Z Flip5", 2023, (256, 512), 400, 0.5),
    ("smartphone", "Samsung", "Galaxy Z Fold5", 2023, (256, 512, 1024), 650, 0.4),
    ("smartphone", "Google", "Pixel 7", 2022, (128, 256), 200, 0.6),
    ("smartphone", "Google", "Pixel 7 Pro", 2022, (128, 256), 260, 0.4),
    ("smartphone", "Google", "Pixel 8", 2023, (128, 256), 310, 0.5),
    ("smartphone", "Google", "Pixel 8 Pro", 2023, (128, 256), 420, 0.3),
    ("smartphone", "Xiaomi", "Xiaomi 13", 2023, (256,), 260, 0.4),
    ("smartphone", "Xiaomi", "Redmi Note 12 Pro", 2023, (128, 256), 90, 0.5),
    ("smartphone", "OnePlus", "OnePlus 11", 2023, (128, 256), 250, 0.3),
    ("tablet", "Apple", "iPad (9th gen)", 2021, (64, 256), 130, 3.0),
    ("tablet", "Apple", "iPad (10th gen)", 2022, (64, 256), 220, 2.5),
    ("tablet", "Apple", "iPad Air (5th gen)", 2022, (64, 256), 300, 2.0),
    ("tablet", "Apple", "iPad mini (6th gen)", 2021, (64, 256), 240, 1.2),
    ("tablet", "Apple", 'iPad Pro 11" (4th gen)', 2022, (128, 256, 512, 1024), 480, 1.5),
    ("tablet", "Apple", 'iPad Pro 12.9" (6th gen)', 2022, (128, 256, 512, 1024), 600, 1.0),
    ("tablet", "Samsung", "Galaxy Tab S8", 2022, (128, 256), 270, 0.8),
    ("tablet", "Samsung", "Galaxy Tab S9", 2023, (128, 256), 380, 0.6),
    ("laptop", "Apple", 'MacBook Air 13" M1', 2020, (256, 512), 380, 3.0),
    ("laptop", "Apple", 'MacBook Air 13" M2', 2022, (256, 512, 1024), 560, 2.5),
    ("laptop", "Apple", 'MacBook Air 15" M2', 2023, (256, 512), 680, 1.0),
    ("laptop", "Apple", 'MacBook Pro 14" M1 Pro', 2021, (512, 1024), 900, 1.5),
    ("laptop", "Apple", 'MacBook Pro 14" M3', 2023, (512, 1024), 1150, 0.8),
    ("laptop", "Apple", 'MacBook Pro 16" M1 Pro', 2021, (512, 1024), 1050, 0.8),
    ("laptop", "Dell", "XPS 13 9310", 2021, (256, 512), 330, 0.8),
    ("laptop", "Lenovo", "ThinkPad X1 Carbon Gen 10", 2022, (256, 512), 480, 0.7),
    ("laptop", "HP", "EliteBook 840 G8", 2021, (256, 512), 260, 0.5),
    ("laptop", "Microsoft", "Surface Laptop 5", 2022, (256, 512), 380, 0.5),
    ("console", "Sony", "PlayStation 5", 2020, (825,), 260, 4.0),
    ("console", "Sony", "PlayStation 5 Digital Edition", 2020, (825,), 210, 2.0),
    ("console", "Sony", "PlayStation 4 Pro", 2016, (1000,), 110, 1.5),
    ("console", "Sony", "PlayStation 4 Slim", 2016, (500, 1000), 80, 1.5),
    ("console", "Microsoft", "Xbox Series X", 2020, (1000,), 240, 1.5),
    ("console", "Microsoft", "Xbox Series S", 2020, (512,), 130, 1.5),
    ("console", "Nintendo", "Switch OLED", 2021, (64,), 170, 3.0),
    ("console", "Nintendo", "Switch", 2019, (32,), 110, 2.5),
    ("console", "Nintendo", "Switch Lite", 2019, (32,), 70, 1.5),
    ("console", "Valve", "Steam Deck", 2022, (64, 256, 512), 200, 0.8),
    ("smartwatch", "Apple", "Watch Series 7 45mm", 2021, (None,), 130, 2.0),
    ("smartwatch", "Apple", "Watch Series 8 45mm", 2022, (None,), 170, 2.5),
    ("smartwatch", "Apple", "Watch Series 9 45mm", 2023, (None,), 220, 2.0),
    ("smartwatch", "Apple", "Watch SE (2nd gen)", 2022, (None,), 110, 1.5),
    ("smartwatch", "Apple", "Watch Ultra", 2022, (None,), 380, 1.0),
    ("smartwatch", "Apple", "Watch Ultra 2", 2023, (None,), 480, 0.8),
    ("smartwatch", "Samsung", "Galaxy Watch5", 2022, (None,), 90, 1.0),
    ("smartwatch", "Samsung", "Galaxy Watch6", 2023, (None,), 130, 0.8),
    ("smartwatch", "Garmin", "Fenix 7", 2022, (None,), 250, 0.6),
)


def _slug(*parts: object) -> str:
    text = "-".join(str(p) for p in parts if p is not None).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _model_rows(model: tuple[str, str, str, int, tuple[int | None, ...], int, float]) -> list[dict]:
    """One product per storage tier of a model, with its base price and volume weight."""
    category, brand, name, year, tiers, price, popularity = model
    step = STORAGE_STEP.get(category, 1.0)
    shares = np.array(STORAGE_POPULARITY[: len(tiers)])
    shares = shares / shares.sum()
    return [
        {
            "product_id": _slug(brand, name, f"{gb}gb" if gb else None),
            "category": category,
            "brand": brand,
            "model": name,
            "storage_gb": gb,
            "release_year": year,
            "base_cents": round(price * step**tier) * 100,
            "weight": popularity * float(shares[tier]),
        }
        for tier, gb in enumerate(tiers)
    ]


def catalog() -> pd.DataFrame:
    """Every product with its good-grade base price (cents) and its share of orders.

    ``weight`` sums to 1 over the catalogue: category share × the model's share
    of its category × the storage tier's share of the model.
    """
    frame = pd.DataFrame([row for model in _MODELS for row in _model_rows(model)])
    within = frame["weight"] / frame.groupby("category")["weight"].transform("sum")
    frame["weight"] = within * frame["category"].map(CATEGORY_SHARE)
    frame["storage_gb"] = frame["storage_gb"].astype("Int64")
    return frame.sort_values("product_id", ignore_index=True)


PRODUCT_COLUMNS = ("product_id", "category", "brand", "model", "storage_gb", "release_year")
