"""GRPO with a reward-weighting strategy (Taiji Eq. 5–9), as one subclass of TRL's ``GRPOTrainer``.

One optimizer step, as TRL runs it, with what this subclass adds (▶):

    rollout: generate B*G completions ──► rewards [B*G, K] gathered from all ranks
      ▶ strategy.observe_rewards (POPO-light Eq. 7) ──► TRL's reward_weights = w
      ──► TRL's advantage of r̃ = Σ w_k r_k (Eq. 9), group-normalised (Eq. 8), either aggregation
      ▶ POPO: per-reward advantages A^k and the advantage moments ride along with the rows
    train: one forward (logps [B, T])
      ▶ POPO, first micro-batch of a rollout: K per-reward VJPs on the retained graph ──► Gram [K, K]
        all-reduced (mean over ranks) ──► I = Gram·1, w̃ ← w̃ ⊙ exp(η I / μ) ──► advantages re-formed for
        the new w (same forward, same step)
      ──► TRL's loss (any loss_type, KL, clipping) ──► backward ──► optimizer step

POPO's one-forward design, the content of the per-reward objectives and the parameter subset are documented
in :mod:`rlrec.trainers.per_reward`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer

from rlrec.alignment.monitor import monitor_metrics
from rlrec.trainers.per_reward import per_reward_gradients, select_parameters, surrogate_cotangents
from rlrec.weighting import WeightingStrategy, advantage_moments, combined_advantages, per_reward_advantages
from rlrec.weighting.maths import gram_matrix

__all__ = ["WeightedGRPOTrainer", "WEIGHTING_STATE_FILE"]

WEIGHTING_STATE_FILE = "weighting_state.json"


class WeightedGRPOTrainer(GRPOTrainer):
    """TRL's GRPOTrainer whose reward weights come from a :class:`~rlrec.weighting.WeightingStrategy`.

    Everything TRL offers stays available (vLLM generation, PEFT, accelerate / DeepSpeed ZeRO-1/2, loss types,
    ``multi_objective_aggregation``, ``scale_rewards``, logging). Hooks overridden, and why:

    * ``_calculate_rewards`` — after TRL gathers the ``[B*G, K]`` rewards, the strategy observes them and its
      weights become ``self.reward_weights``, so TRL's own advantage code applies Eq. 9 then Eq. 8. The
      reward-hacking monitor (``monitor/*``: format-valid rate, top-10 answer-token share, distinct-1/2;
      :mod:`rlrec.alignment.monitor`) is computed here on the step's completions, whatever the rewards.
    * ``_generate_and_score_completions`` — POPO only: attaches per-reward advantages ``A^k`` and the advantage
      moments (:mod:`rlrec.weighting.advantages`) to the rows, for the update in the training forward.
    * ``compute_loss`` — POPO only: re-forms the advantages for the current weights and arms the update.
    * ``_get_per_token_logps_and_entropies`` — POPO only, when armed: right after TRL's training forward,
      per-reward gradients → Gram → weight update → advantages for the new weights (TRL reads the advantages
      after this forward, so the real update of the same step uses them).
    * ``log`` — merges ``reward_stats()`` (e.g. ``RewardSet.pop_stats``) into each log.
    * ``_save_checkpoint`` / ``_load_optimizer_and_scheduler`` — the strategy state lives in every checkpoint
      (``weighting_state.json``) and is restored on resume.

    POPO timing: one update per rollout batch (when ``global_step % weighting.every == 0``), in the first
    micro-batch of that batch; later micro-batches (``steps_per_generation > 1``) and iterations
    (``num_iterations > 1``) reuse its weights. With the defaults (one micro-batch per rollout) the Gram is
    exactly that of the step's full local batch. ``A^k`` is reward k alone, group-centred and scaled per
    ``scale_rewards``. TRL's logged ``reward`` uses the weights from before the step's POPO update.

    Args (beyond GRPOTrainer's): ``strategy``; ``reward_names`` — the K names (default: TRL's callable names);
    ``reward_stats`` — a callable returning extra scalars to log each time the trainer logs.
    """

    def __init__(
        self,
        *args: Any,
        strategy: WeightingStrategy,
        reward_names: Sequence[str] | None = None,
        reward_stats: Callable[[], dict[str, float]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        names = list(reward_names) if reward_names is not None else list(self.reward_func_names)
        if list(strategy.names) != names:
            raise ValueError(
                f"the weighting strategy is for rewards {list(strategy.names)} but the trainer has {names}; "
                "build the strategy from the same reward set, in the same order"
            )
        if self.args.reward_weights is not None:
            raise ValueError("GRPOConfig.reward_weights is set: weights come from the strategy (weighting.*) instead")
        self.strategy = strategy
        self.reward_stats = reward_stats
        self.reward_weights = strategy.weights()
        self._popo_params: list[torch.nn.Parameter] | None = None
        self._popo_pending: dict[str, Any] | None = None
        self._last_rewards: torch.Tensor | None = None
        spec = strategy.gradient_spec
        if spec is not None and self.is_deepspeed_enabled:
            stage = self.accelerator.state.deepspeed_plugin.zero_stage
            if stage == 3:
                raise ValueError(
                    "weighting=popo needs unsharded parameters for its per-reward gradients; DeepSpeed ZeRO-3 shards "
                    "them. Use ZeRO-1/2 (or DDP), or weighting=popo_light / fixed with ZeRO-3."
                )

    # ------------------------------------------------------------------------------------ rewards → weights

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)  # [B*G, K], all ranks
        self._last_rewards = rewards
        if self.model.training:
            self._log_metrics(monitor_metrics(completions))  # reward-hacking monitor (this rank's completions)
            metrics = self.strategy.observe_rewards(rewards, self.num_generations)
            self._log_metrics(metrics)
            if self.strategy.gradient_spec is None:
                self._log_metrics(self.strategy.weight_metrics())
        self.reward_weights = self.strategy.weights()
        return rewards

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if self.strategy.gradient_spec is None:
            return output
        rewards = self._last_rewards
        num_generations = self.num_generations if self.model.training else self.num_generations_eval
        n_local = output["advantages"].shape[0]
        rows = slice(self.accelerator.process_index * n_local, (self.accelerator.process_index + 1) * n_local)
        moments = advantage_moments(rewards, num_generations, self.multi_objective_aggregation, self.scale_rewards)
        output["popo_advantages"] = per_reward_advantages(rewards, num_generations, self.scale_rewards)[rows]  # [B, K]
        output["popo_deviation"] = moments.deviation[rows]  # [B, K]
        output["popo_covariance"] = None if moments.covariance is None else moments.covariance[rows]  # [B, K, K]
        return output

    # ------------------------------------------------------------------------------------------ POPO update

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        spec = self.strategy.gradient_spec
        if spec is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        first_of_rollout = self._step % (self.args.steps_per_generation * self.num_iterations) == 0
        if self.model.training and first_of_rollout and self.state.global_step % spec.every == 0:
            self._popo_pending = inputs  # consumed by the training forward below
        inputs["advantages"] = self._advantages_for_current_weights(inputs)
        loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if self._popo_pending is not None:
            self._popo_pending = None
            raise RuntimeError(
                "POPO update was armed but TRL's _compute_loss never called _get_per_token_logps_and_entropies; "
                "this TRL version is not supported by WeightedGRPOTrainer"
            )
        if self.model.training and first_of_rollout:
            self._log_metrics(self.strategy.weight_metrics())
        return loss

    def _get_per_token_logps_and_entropies(self, model, *args, **kwargs):
        out = super()._get_per_token_logps_and_entropies(model, *args, **kwargs)
        inputs, self._popo_pending = self._popo_pending, None
        if inputs is not None:
            self._popo_update(out[0], inputs)
        return out

    def _popo_update(self, logps: torch.Tensor, inputs: dict[str, Any]) -> None:
        """Per-reward gradients of this forward → all-reduced Gram → weight update → new advantages."""
        spec = self.strategy.gradient_spec
        if self._popo_params is None:
            self._popo_params = [p for _, p in select_parameters(self.model, spec.params)]
        start = time.perf_counter()
        mask = inputs["completion_mask"] if "tool_mask" not in inputs else inputs["completion_mask"] * inputs["tool_mask"]
        old = inputs.get("old_per_token_logps")
        beta = self.beta if spec.include_kl else 0.0
        cotangents = surrogate_cotangents(
            logps, logps if old is None else old, inputs["popo_advantages"], mask, self.epsilon_low,
            self.epsilon_high, ref_logps=inputs.get("ref_per_token_logps"), beta=beta,
        )  # [K, B, T]
        grads = per_reward_gradients(logps, self._popo_params, cotangents)  # P x [K, *shape]
        grads_done = time.perf_counter()
        gram = self._reduce_gram(gram_matrix(grads))  # [K, K], identical on all ranks
        del grads
        lr = self.lr_scheduler.get_last_lr()[0] if self.lr_scheduler is not None else self.args.learning_rate
        metrics = self.strategy.observe_gram(gram, lr)
        inputs["advantages"] = self._advantages_for_current_weights(inputs)
        end = time.perf_counter()
        metrics["popo/time/per_reward_grads_s"] = grads_done - start
        metrics["popo/time/gram_update_s"] = end - grads_done
        self._log_metrics(metrics)

    def _reduce_gram(self, gram: torch.Tensor) -> torch.Tensor:
        """Mean of the per-rank Gram matrices (all-reduce of K x K numbers; every rank gets the same result).

        This is the Gram of the per-rank gradients averaged over ranks, not the Gram of the rank-averaged
        gradient: it adds the per-rank gradient noise to the diagonal, the price of not all-reducing K
        gradient vectors. With one process the two coincide.
        """
        return self.accelerator.reduce(gram, reduction="mean")

    def _advantages_for_current_weights(self, inputs: dict[str, Any]) -> torch.Tensor:
        return combined_advantages(inputs["popo_deviation"], inputs["popo_covariance"], self.strategy.weights())

    # ------------------------------------------------------------------------------------ logging, checkpoints

    def _log_metrics(self, metrics: dict[str, float]) -> None:
        mode = "train" if self.model.training else "eval"
        for key, value in metrics.items():
            self._metrics[mode][key].append(float(value))

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self.reward_stats is not None:
            logs.update(self.reward_stats())
        super().log(logs, start_time)

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            with open(os.path.join(folder, WEIGHTING_STATE_FILE), "w") as f:
                json.dump(self.strategy.state_dict(), f, indent=2)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = os.path.join(checkpoint, WEIGHTING_STATE_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} is missing: this checkpoint was not written by WeightedGRPOTrainer, so the reward weights "
                "cannot be restored. Resume from a checkpoint of an rlrec RL run, or start a fresh run."
            )
        with open(path) as f:
            self.strategy.load_state_dict(json.load(f))
        self.reward_weights = self.strategy.weights()
