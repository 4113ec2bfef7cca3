"""Regenerate the predictions files of the model-quality stories (deterministic: same bytes every run).

    python tests/scenarios/production-sample-worse-on-one-input-type/make_predictions.py

The claims router's predictions on two labelled datasets, one row per claim: claim_id, input_type, label
(the route an adjuster confirmed), prediction, confidence. The model is calibrated (a prediction made
with confidence c is right with probability c), which is how the pilot looked:
- pilot.csv: the pilot's curated set, 1200 claims; every input type, scanned PDFs included, was cleaned
  and re-keyed, so the model is confident and right on all of them;
- production-sample.csv: 2400 claims sampled from last month's intake as it arrived; web forms and emails
  look like the pilot, but scanned PDFs (photographed forms, handwriting) get low confidence and many
  wrong routes.
It also writes the real-tools example's pair (examples/claims-triage/real-tools/evaluation/): the same
pilot, and a production sample on which scanned PDFs are fair, so that example passes on model quality.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROUTES = ("fast_track", "adjuster", "fraud_investigation")
ROUTE_WEIGHTS = (0.6, 0.3, 0.1)


def confident(rng: random.Random) -> float:
    """A clean input: mostly very confident, some in the band a person reviews."""
    return rng.uniform(0.975, 1.0) if rng.random() < 0.88 else rng.uniform(0.8, 0.92)


def fair(rng: random.Random) -> float:
    """A scanned PDF once the OCR was fixed: a little less sure than a web form, still mostly right."""
    return rng.uniform(0.975, 1.0) if rng.random() < 0.7 else rng.uniform(0.75, 0.92)


def unsure(rng: random.Random) -> float:
    """A scanned PDF in production: the model sees a bad OCR and is unsure."""
    return rng.uniform(0.55, 0.97)


def rows(seed: int, mix: dict[str, tuple[int, object]], prefix: str) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for input_type, (count, draw) in mix.items():
        for _ in range(count):
            label = rng.choices(ROUTES, ROUTE_WEIGHTS)[0]
            confidence = round(draw(rng), 4)
            right = rng.random() < confidence
            prediction = label if right else rng.choice([r for r in ROUTES if r != label])
            out.append([input_type, label, prediction, f"{confidence:.4f}"])
    rng.shuffle(out)
    return [[f"{prefix}-{i:05d}", *row] for i, row in enumerate(out, 1)]


def write(path: Path, table: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["claim_id", "input_type", "label", "prediction", "confidence"])
        writer.writerows(table)


def main() -> None:
    pilot = rows(7,
                 {"web_form": (720, confident), "email": (300, confident), "scanned_pdf": (180, confident)},
                 "P")
    production = rows(11,
                      {"web_form": (1680, confident), "email": (360, confident),
                       "scanned_pdf": (360, unsure)}, "C")
    write(HERE / "predictions" / "pilot.csv", pilot)
    write(HERE / "predictions" / "production-sample.csv", production)
    write(HERE.parent / "evaluated-only-on-the-pilot" / "predictions" / "pilot.csv", pilot)
    example = HERE.parents[2] / "examples" / "claims-triage" / "real-tools" / "evaluation"
    if example.is_dir():
        fair_sample = rows(13,
                           {"web_form": (1680, confident), "email": (360, confident),
                            "scanned_pdf": (360, fair)}, "C")
        write(example / "pilot.csv", pilot)
        write(example / "production-sample.csv", fair_sample)


if __name__ == "__main__":
    main()
