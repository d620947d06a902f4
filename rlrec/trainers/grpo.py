"""GRPO with a reward-weighting strategy (Taiji Eq. 5–9), as one subclass of TRL's ``GRPOTrainer``.

One optimizer step, as TRL runs it, with what this subclass adds (▶):

    rollout: generate B*G completions ──► rewards [B*G, K] gathered from all ranks
      ▶ strategy.observe_rewards (POPO-light Eq. 7) ──► TRL's reward_weights = w
      ──► TRL's advantage of r̃ = Σ w_k r_k (Eq. 9), group-normalised (Eq. 8), either aggregation
      ▶ POPO: the rollout record (per-reward advantages A^k, advantage moments; rlrec.trainers.types)
    TRL shuffles the rows and splits them into micro-batches; each row carries its index into the record
    train: one forward (logps [n, T])
      ▶ POPO, first micro-batch of a rollout: K per-reward VJPs on the retained graph ──► Gram [K, K]
        all-reduced (mean over ranks) ──► I = Gram·1, w̃ ← w̃ ⊙ exp(η I / μ) ──► advantages re-formed for
        the new w (same forward, same step)
      ──► TRL's loss (any loss_type, KL, clipping) ──► backward ──► optimizer step
      ▶ POPO, when the new advantage is Σ_k c_k A^k with c shared by the micro-batch (scale_rewards none /
        batch, normalize_then_sum) and the loss is linear in it: the backward hands out Σ_k c_k ∇L_k, assembled
        from the K products, instead of running through the network (K backward passes per step, not K + 1)

POPO's one-forward design, the content of the per-reward objectives and the parameter subset are documented
in :mod:`rlrec.trainers.per_reward`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer

from rlrec.trainers.monitor import monitor_metrics
from rlrec.trainers.per_reward import (
    AssembledLoss,
    assembled_gradients,
    per_reward_gradients,
    select_parameters,
    shared_coefficients,
    surrogate_cotangents,
)
from rlrec.trainers.types import ROW_INDEX_KEY, PopoRollout, PopoUpdate
from rlrec.weighting import WeightingStrategy
from rlrec.weighting.maths import gram_matrix

__all__ = ["WeightedGRPOTrainer", "WEIGHTING_STATE_FILE"]

WEIGHTING_STATE_FILE = "weighting_state.json"

log = logging.getLogger("rlrec")


class WeightedGRPOTrainer(GRPOTrainer):
    """TRL's GRPOTrainer whose reward weights come from a :class:`~rlrec.weighting.WeightingStrategy`.

    Everything TRL offers stays available (vLLM generation, PEFT, accelerate / DeepSpeed ZeRO-1/2, loss types,
    ``multi_objective_aggregation``, ``scale_rewards``, logging). TRL hooks overridden, and why (each calls
    TRL's own by keyword, or passes TRL's arguments through untouched):

    * ``_calculate_rewards`` — the one place TRL holds the gathered ``[B*G, K]`` rewards: a non-finite value
      (a plain callable's inf; :class:`rewards.Reward` already returns None for those) becomes NaN, i.e. "not
      applicable", with a warning naming the reward, instead of zeroing the advantage of its whole group (or,
      with ``scale_rewards=batch``, of the batch); the strategy observes them and its weights become
      ``self.reward_weights``, so TRL's own advantage code applies Eq. 9 then
      Eq. 8; for POPO the rollout record (:class:`~rlrec.trainers.types.PopoRollout`) is built from them. The
      reward-hacking monitor (``monitor/*``, :mod:`rlrec.trainers.monitor`) is computed on the completions.
    * ``_generate_and_score_completions`` — POPO only: gives each row its index into the rollout record, so
      the rows find their record entries after TRL's shuffle and split; a strategy whose ``advantages()`` is not
      None (advantage-level combination: GDPO, MO-GRPO, DVAO, SAW) replaces TRL's advantages with its own.
    * ``compute_loss`` — POPO only: re-forms the micro-batch's advantages for the current weights and, in the
      first micro-batch of a rollout, arms the update (:class:`~rlrec.trainers.types.PopoUpdate`). When the
      update could assemble the real gradient from the per-reward ones (:meth:`_assemble`), the returned loss
      is an :class:`~rlrec.trainers.per_reward.AssembledLoss`: same value, and its backward hands out that
      gradient instead of running through the network (logged ``popo/assembled`` = 1).
    * ``_get_per_token_logps_and_entropies`` — POPO only, when armed: right after TRL's training forward, the
      update :meth:`_popo_step` (TRL reads the advantages after this forward, so the real update of the same
      step uses the new weights). It is the only way to reach the forward's logps with their graph.
    * ``log`` — merges ``reward_stats()`` (e.g. ``RewardSet.pop_stats``) into each log.
    * ``_save_checkpoint`` / ``_load_optimizer_and_scheduler`` — the strategy state lives in every checkpoint
      (``weighting_state.json``) and is restored on resume.

    POPO timing: one update per rollout batch (when ``global_step % weighting.params.every == 0``), in the
    first micro-batch of that batch; later micro-batches (``steps_per_generation > 1``) and iterations
    (``num_iterations > 1``) reuse its weights. With the defaults (one micro-batch per rollout) the Gram is
    exactly that of the step's full local batch. ``A^k`` is reward k alone, group-centred and scaled per
    ``scale_rewards``. TRL's logged ``reward`` uses the weights from before the step's POPO update. In
    evaluation the weights do not move, so TRL's advantages are used as they are.

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
        self._popo_params: list[torch.nn.Parameter] | None = None  # the gradient subset, chosen at the first update
        self._popo_rollout: PopoRollout | None = None  # the current rollout batch (training, POPO only)
        self._popo_armed: PopoUpdate | None = None  # set by compute_loss, consumed by the training forward
        self._popo_assembled: list[torch.Tensor | None] | None = None  # the real gradient, when assembled
        self._popo_told: set[str] = set()  # reasons for a real backward already logged
        self._strategy_advantages: torch.Tensor | None = None  # [B*G] from strategy.advantages(), this rollout
        if strategy.gradient_spec is not None and self.is_deepspeed_enabled:
            if self.accelerator.state.deepspeed_plugin.zero_stage == 3:
                raise ValueError(
                    "weighting=popo needs unsharded parameters for its per-reward gradients; DeepSpeed ZeRO-3 shards "
                    "them. Use ZeRO-1/2 (or DDP), or weighting=popo_light / fixed with ZeRO-3."
                )

    @property
    def _popo(self) -> bool:
        """Whether this is a POPO training step (a gradient-based strategy, in training mode)."""
        return self.strategy.gradient_spec is not None and self.model.training

    # ------------------------------------------------------------------------------------ rewards → weights

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(
            inputs=inputs, prompts=prompts, completions=completions, completion_ids_list=completion_ids_list
        )  # [B*G, K], gathered from all ranks
        rewards = self._exclude_nonfinite(rewards)
        if self.model.training:
            self._log_metrics(monitor_metrics(completions))  # reward-hacking monitor (this rank's completions)
            self._log_metrics(self.strategy.observe_rewards(rewards, self.num_generations))
            self._strategy_advantages = self.strategy.advantages(rewards, self.num_generations)  # None = TRL's
            if self.strategy.gradient_spec is None:
                self._log_metrics(self.strategy.weight_metrics())
        if self._popo:
            rank, n_local = self.accelerator.process_index, len(prompts)
            self._popo_rollout = PopoRollout.from_rewards(
                rewards, rows=slice(rank * n_local, (rank + 1) * n_local), num_generations=self.num_generations,
                aggregation=self.multi_objective_aggregation, scale=self.scale_rewards,
            )
        self.reward_weights = self.strategy.weights()
        return rewards

    def _exclude_nonfinite(self, rewards: torch.Tensor) -> torch.Tensor:
        """``rewards`` [B*G, K] with ±inf replaced by NaN (excluded like None), counted in
        ``rewards/nonfinite/<name>`` and warned about by reward name."""
        bad = torch.isinf(rewards)  # [B*G, K]; NaN already means "not applicable"
        if not bad.any():
            return rewards
        counts = bad.sum(dim=0).tolist()  # [K]
        names = list(self.strategy.names)
        named = {n: int(c) for n, c in zip(names, counts) if c}
        log.warning(
            "rewards returned infinite values (%s) out of %d completions; they are excluded like None. Fix the "
            "reward so it returns a finite number or None.",
            ", ".join(f"{n}: {c}" for n, c in named.items()), rewards.shape[0],
        )
        self._log_metrics({f"rewards/nonfinite/{n}": float(c) for n, c in zip(names, counts)})
        return torch.where(bad, torch.full_like(rewards, float("nan")), rewards)

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        advantages, self._strategy_advantages = self._strategy_advantages, None
        if advantages is not None:  # the strategy combined per-reward advantages itself: keep this rank's rows
            n_local, rank = output["advantages"].shape[0], self.accelerator.process_index
            output["advantages"] = advantages[rank * n_local : (rank + 1) * n_local].to(output["advantages"])
        if self._popo:
            advantages = output["advantages"]  # [N], this rank's rows in rollout order
            output[ROW_INDEX_KEY] = torch.arange(advantages.shape[0], device=advantages.device)  # [N]
        return output

    # ------------------------------------------------------------------------------------------ POPO update

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self._popo:
            return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        rollout = self._popo_rollout.rows(inputs[ROW_INDEX_KEY])  # this micro-batch's n rows
        first_of_rollout = self._step % (self.args.steps_per_generation * self.num_iterations) == 0
        if first_of_rollout and self.state.global_step % self.strategy.gradient_spec.every == 0:
            self._popo_armed = PopoUpdate.of(rollout, inputs)  # consumed by the training forward below
        inputs["advantages"] = rollout.combined_advantages(self.strategy.weights())  # [n], for the current weights
        loss = super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        if self._popo_assembled is not None:  # the real gradient is known: its backward skips the network
            grads, self._popo_assembled = self._popo_assembled, None
            loss = AssembledLoss.apply(loss.detach(), grads, *self._popo_params)
        if self._popo_armed is not None:
            self._popo_armed = None
            raise RuntimeError(
                "POPO update was armed but TRL's _compute_loss never called _get_per_token_logps_and_entropies; "
                "this TRL version (or loss path, e.g. use_liger_kernel) is not supported by WeightedGRPOTrainer"
            )
        if first_of_rollout:
            self._log_metrics(self.strategy.weight_metrics())
        return loss

    def _get_per_token_logps_and_entropies(self, *args, **kwargs):
        out = super()._get_per_token_logps_and_entropies(*args, **kwargs)  # TRL's arguments, passed through as given
        update, self._popo_armed = self._popo_armed, None
        if update is not None:
            self._popo_step(logps=out[0], update=update)
        return out

    def _popo_step(self, logps: torch.Tensor, update: PopoUpdate) -> None:
        """One POPO weight update (Eq. 5–6) from the training forward's ``logps`` [n, T], still on its graph."""
        spec = self.strategy.gradient_spec
        if self._popo_params is None:
            self._popo_params = [p for _, p in select_parameters(self.model, spec.params)]
        start = time.perf_counter()
        # 1. ∂L_k/∂logps of the K per-reward objectives (Eq. 8 driven by A^k alone), closed form, no graph.
        cotangents = surrogate_cotangents(
            logps, logps if update.old_logps is None else update.old_logps, update.rollout.advantages, update.mask,
            self.epsilon_low, self.epsilon_high, ref_logps=update.ref_logps, beta=self.beta if spec.include_kl else 0.0,
        )  # [K, n, T]
        # 2. ∇θ L_k as K vector-Jacobian products through the forward TRL just ran: no extra forward.
        grads = per_reward_gradients(logps, self._popo_params, cotangents, unused_as_none=True)  # P x K x [*shape]
        grads_done = time.perf_counter()
        # 3. Their Gram matrix, averaged over ranks: identical on every rank, so the weights stay identical.
        present = [g for g in grads if g is not None]
        num_rewards = len(self.strategy.names)
        local = gram_matrix(present) if present else torch.zeros(num_rewards, num_rewards, dtype=torch.float64)
        gram_done = time.perf_counter()
        gram = self._reduce_gram(local)  # [K, K]
        # 4. Eq. 6 then Eq. 5 (or its scale-free form): I = Gram · 1, w̃ ← w̃ ⊙ exp(step).
        lr = self.lr_scheduler.get_last_lr()[0] if self.lr_scheduler is not None else self.args.learning_rate
        metrics = self.strategy.observe_gram(gram, lr)
        # 5. TRL's loss reads the advantages after this forward: re-form them for the new weights.
        update.batch["advantages"] = update.rollout.combined_advantages(self.strategy.weights())  # [n]
        update_done = time.perf_counter()
        # 6. The real gradient from the same K products, when it is their linear combination.
        self._popo_assembled = self._assemble(logps, update, grads)
        del grads
        metrics["popo/assembled"] = float(self._popo_assembled is not None)
        metrics["popo/time/per_reward_grads_s"] = grads_done - start
        metrics["popo/time/gram_s"] = gram_done - grads_done
        metrics["popo/time/gram_update_s"] = update_done - grads_done
        metrics["popo/time/assemble_s"] = time.perf_counter() - update_done
        self._log_metrics(metrics)

    def _assemble(self, logps: torch.Tensor, update: PopoUpdate, grads) -> list[torch.Tensor | None] | None:
        """``∇L = Σ_k c_k ∇L_k`` per parameter (TRL's loss normaliser included), or None: run the real backward.

        Exact when (a) the per-reward gradients cover every trainable parameter, (b) TRL's loss is the plain
        GRPO surrogate (``loss_type=grpo``, β = 0, no entropy bonus / entropy mask / off-policy mask / vLLM
        importance weights / MoE aux loss, token-level ratios), (c) no completion token is outside the trust
        region (then the surrogate is linear in the advantage: always true on-policy, ρ = 1) and (d) the new
        advantage is ``Σ_k c_k A^k`` with ``c`` shared by the micro-batch (:func:`shared_coefficients`).
        The first time a condition fails, it is logged (``popo/assembled`` is 0 for that update).
        """
        reason = self._assembly_blocker(logps, update)
        coefficients = None
        if reason is None:
            coefficients = shared_coefficients(update.rollout.advantages, update.batch["advantages"])
            if coefficients is None:
                reason = (f"the advantage is not one linear combination of the per-reward advantages for the whole "
                          f"micro-batch (scale_rewards={self.scale_rewards}; per-group scaling, or NaN rewards)")
        if reason is not None:
            if reason not in self._popo_told:
                self._popo_told.add(reason)
                log.info("POPO runs the real backward too (K + 1 backward passes per update): %s", reason)
            return None
        return assembled_gradients(grads, coefficients, 1.0 / self.current_gradient_accumulation_steps, in_place=True)

    def _assembly_blocker(self, logps: torch.Tensor, update: PopoUpdate) -> str | None:
        """Why the real gradient cannot be assembled from the per-reward ones (None: it can)."""
        trainable = {id(p) for p in self.model.parameters() if p.requires_grad}
        if trainable != {id(p) for p in self._popo_params}:
            return "weighting.params.grad_params selects a subset of the trainable parameters"
        if self.loss_type != "grpo":
            return f"rl.loss_type={self.loss_type} (only grpo's normaliser is mirrored by the per-reward objectives)"
        if self.beta != 0.0:
            return "rl.beta > 0 (the KL gradient would be one more product)"
        extras = {
            "an entropy bonus": getattr(self, "_entropy_bonus_enabled", True),
            "top_entropy_quantile < 1": getattr(self, "top_entropy_quantile", 0.0) < 1.0,
            "an off-policy mask": getattr(self, "off_policy_mask_threshold", 0.0) is not None,
            "vLLM importance weights": self.use_vllm and getattr(self, "vllm_importance_sampling_correction", True),
            "an MoE aux loss": getattr(self, "aux_loss_enabled", True),
            "sequence-level importance ratios": getattr(self, "importance_sampling_level", None) != "token",
        }
        for name, present in extras.items():
            if present:
                return f"TRL's loss has {name}"
        if update.old_logps is not None:
            ratio = torch.exp(logps.detach() - update.old_logps)  # [n, T]
            outside = (ratio > 1 + self.epsilon_high) | (ratio < 1 - self.epsilon_low)
            if self.args.delta is not None:
                outside = outside | (ratio > self.args.delta)
            if (outside & update.mask.bool()).any():
                return "a token left the trust region (the clipped surrogate is not linear in the advantage)"
        return None

    def _reduce_gram(self, gram: torch.Tensor) -> torch.Tensor:
        """Mean of the per-rank Gram matrices (all-reduce of K x K numbers; every rank gets the same result).

        This is the Gram of the per-rank gradients averaged over ranks, not the Gram of the rank-averaged
        gradient: it adds the per-rank gradient noise to the diagonal, the price of not all-reducing K
        gradient vectors. With one process the two coincide.
        """
        return self.accelerator.reduce(gram, reduction="mean")

    # ------------------------------------------------------------------------------------ logging, checkpoints

    def _log_metrics(self, metrics: dict[str, float]) -> None:
        mode = "train" if self.model.training else "eval"
        for key, value in metrics.items():
            self._metrics[mode][key].append(float(value))

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self.reward_stats is not None:
            logs.update(self.reward_stats())
        super().log(logs=logs, start_time=start_time)

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model=model, trial=trial)
        if self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            with open(os.path.join(folder, WEIGHTING_STATE_FILE), "w") as f:
                json.dump(self.strategy.state_dict(), f, indent=2)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint=checkpoint)
        if checkpoint is None:
            return
        path = os.path.join(checkpoint, WEIGHTING_STATE_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} is missing: this checkpoint was not written by WeightedGRPOTrainer, so the reward weights "
                "cannot be restored. Resume from a checkpoint of an rlrec RL run, or start a fresh run."
            )
        with open(path) as f:
            state = json.load(f)
        try:
            self.strategy.load_state_dict(state)
        except ValueError as err:  # another strategy's or reward set's state: say which file
            raise ValueError(f"cannot resume from {checkpoint}: {err}") from None
        self.reward_weights = self.strategy.weights()
