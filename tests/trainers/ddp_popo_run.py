"""Run under ``accelerate launch --cpu --num_processes 2`` by test_distributed.py: a few POPO steps (gloo).

Each rank writes ``rank<r>.json`` with its local Gram matrices, the all-reduced ones, the weights after every
update, the weights in its log history, whether each update assembled the real gradient (``popo/assembled``)
and a checksum of the parameters after training (equal on both ranks only if DDP all-reduced the gradients).
Usage: ddp_popo_run.py <tiny model folder> <output folder> [completions per rank, default 4]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

import torch  # noqa: E402

from rlrec.config import WeightingConfig  # noqa: E402
from tests.trainers.conftest import make_trainer, weight_trajectory  # noqa: E402


def main(policy: str, out: str, batch_size: str = "4") -> None:
    trainer = make_trainer(
        Path(policy), Path(out) / "run", WeightingConfig(name="popo", params={"mu": 1e-3, "eta": 1e-3}), max_steps=3,
        batch_size=int(batch_size),
    )
    record = {"local_grams": [], "reduced_grams": [], "weights": []}
    reduce_gram, observe_gram = trainer._reduce_gram, trainer.strategy.observe_gram

    def recording_reduce(gram):
        record["local_grams"].append(gram.tolist())
        reduced = reduce_gram(gram)
        record["reduced_grams"].append(reduced.tolist())
        return reduced

    def recording_observe(gram, lr):
        metrics = observe_gram(gram, lr)
        record["weights"].append(trainer.strategy.weights().tolist())
        return metrics

    trainer._reduce_gram, trainer.strategy.observe_gram = recording_reduce, recording_observe
    trainer.train()
    record["logged_weights"] = weight_trajectory(trainer, ["vowel_rate", "length_score"])
    record["assembled"] = [h["popo/assembled"] for h in trainer.state.log_history if "popo/assembled" in h]
    record["param_checksum"] = sum(float(p.detach().double().abs().sum()) for p in trainer.model.parameters())
    record["world_size"] = trainer.accelerator.num_processes
    record["backend"] = torch.distributed.get_backend() if torch.distributed.is_initialized() else None
    rank = trainer.accelerator.process_index
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:4])
