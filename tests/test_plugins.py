"""A strategy and a reward written outside the repository (one module + one YAML each) compose, build and train.

Nothing in rlrec, rewards or conf/ is edited: the modules are named by ``plugins=[…]``, their YAML files are found
through ``hydra.searchpath``. The entry points import command-line plugins before composing
(``experiments.common.load_plugins_for_compose``), so their ``Params`` check the composed config.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from experiments.common import CONFIG_PATH, load_plugins_for_compose, plugins_from_overrides, to_config
from rewards import REWARDS, build_reward_set
from rlrec.plugins import ENV_VAR, PluginError, load_plugins, plugin_names
from rlrec.weighting import WEIGHTING_STRATEGIES, build_strategy

STRATEGY_MODULE = '''
from dataclasses import dataclass

import torch

from rlrec.weighting import StrategyParams, WeightingStrategy, register_strategy


@register_strategy("tilted", equation="none: a test plugin")
class Tilted(WeightingStrategy):
    """Weights (tilt, 1 - tilt) from the first rollout batch on; remembers the rewards it saw."""

    @dataclass
    class Params(StrategyParams):
        tilt: float = 0.5

    seen = []

    def observe_rewards(self, rewards, num_generations):
        Tilted.seen.append(rewards.detach().cpu().clone())
        self._weights = torch.tensor([self.params.tilt, 1.0 - self.params.tilt], dtype=torch.float64)
        self.updates += 1
        return {"tilted/calls": float(len(Tilted.seen))}
'''

STRATEGY_YAML = """
defaults:
  - optional /weighting_schema@params: tilted
  - _self_
name: tilted
initial_weights: null
params:
  tilt: 0.8
"""

REWARD_MODULE = '''
from dataclasses import dataclass

from rewards import Reward, RewardParams, register_reward


@register_reward("char_count", higher_is_better=True, range=(0.0, 1.0), description="answer length / 40, capped")
class CharCount(Reward):
    @dataclass
    class Params(RewardParams):
        scale: float = 1.0

    def scorable(self, parsed):
        return True  # every completion, parseable or not

    def score(self, prompts, parsed, columns):
        return [self.params.scale * min(1.0, len(p.answer_text) / 40.0) for p in parsed]
'''

REWARD_YAML = """# @package reward.terms.char_count
defaults:
  - optional /reward_schema@params: char_count
  - _self_
weight: 0.5
params:
  scale: 0.5
"""

MODULES = ("rlrec_test_tilted", "rlrec_test_char_count")


@pytest.fixture()
def external(tmp_path, monkeypatch):
    """Plugin modules + a conf/ folder in tmp_path; registry entries and modules removed afterwards."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / f"{MODULES[0]}.py").write_text(STRATEGY_MODULE)
    (tmp_path / "pkg" / f"{MODULES[1]}.py").write_text(REWARD_MODULE)
    for group, name, text in (("weighting", "tilted", STRATEGY_YAML), ("reward", "char_count", REWARD_YAML)):
        (tmp_path / "conf" / group).mkdir(parents=True)
        (tmp_path / "conf" / group / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    yield tmp_path
    WEIGHTING_STRATEGIES._entries.pop("tilted", None)
    REWARDS._entries.pop("char_count", None)
    for module in MODULES:
        sys.modules.pop(module, None)


def _overrides(root, *extra):
    return [f"hydra.searchpath=[file://{root / 'conf'}]", f"plugins=[{','.join(MODULES)}]", "weighting=tilted",
            "reward=char_count", *extra]


def _compose(overrides):
    from hydra import compose, initialize_config_dir

    load_plugins_for_compose(overrides)  # what every entry point does with sys.argv before @hydra.main composes
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        return to_config(compose(config_name="config", overrides=overrides))


def test_plugins_from_overrides_reads_every_spelling():
    assert plugins_from_overrides(["plugins=[a.b,c]", "seed=1", "+plugins=d", "++plugins=[e]", "rl=quick"]) == [
        "a.b", "c", "d", "e",
    ]
    assert plugins_from_overrides(["weighting=popo", "reward.terms.x.params.plugins=1"]) == []


def test_env_var_and_unknown_module(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "json, os.path")
    assert plugin_names(["json", "math"])[-3:] == ["json", "os.path", "math"]  # deduplicated, env before config
    with pytest.raises(PluginError, match="no_such_plugin_module.*PYTHONPATH"):
        load_plugins(["no_such_plugin_module"])


def test_external_strategy_and_reward_compose_and_build(external):
    config = _compose(_overrides(external, "weighting.params.tilt=0.7"))
    assert config.plugins == list(MODULES)
    assert type(config.weighting.params).__name__ == "Params" and config.weighting.params.tilt == 0.7
    assert config.reward.terms["char_count"].params.scale == 0.5
    reward_set = build_reward_set(config)
    assert reward_set.names == ["char_count"] and reward_set.initial_weights == [0.5]
    strategy = build_strategy(config.weighting, ["char_count", "other"])
    assert type(strategy).__name__ == "Tilted" and strategy.params.tilt == 0.7
    assert REWARDS.metadata("char_count")["description"].startswith("answer length")


@pytest.mark.parametrize(
    "typo",
    [
        "weighting.params.tlit=0.7",
        "+weighting.params.tlit=0.7",  # Hydra appends it; to_config refuses what the schema does not declare
        "weighting.params.tilt=high",  # typed only by the schema
        "reward.terms.char_count.params.scal=2",
        "reward.terms.char_count.params.scale=big",
    ],
)
def test_typos_in_external_params_fail_at_compose(external, typo):
    from hydra.errors import ConfigCompositionException

    key = typo.split("=")[0].lstrip("+")
    with pytest.raises((ConfigCompositionException, ValueError), match=key.replace(".", r"\.")) as info:
        _compose(_overrides(external, typo))
    if typo.startswith("+"):
        assert "Did you mean 'tilt'" in str(info.value)


def test_typo_in_an_external_yaml_fails_at_compose(external):
    from hydra.errors import ConfigCompositionException

    yaml = external / "conf" / "weighting" / "tilted.yaml"
    yaml.write_text(yaml.read_text().replace("tilt: 0.8", "tlit: 0.8"))
    with pytest.raises(ConfigCompositionException) as info:
        _compose(_overrides(external))
    assert "tlit" in str(info.value.__cause__ or info.value)


def test_one_trainer_step_uses_the_external_strategys_weights(external, tiny_lm_path, tmp_path):
    import torch

    from tests.trainers.conftest import make_trainer, vowel_rate

    config = _compose(_overrides(external))
    reward = build_reward_set(config).rewards[0]  # the external char_count reward
    trainer = make_trainer(tiny_lm_path, tmp_path / "out", config.weighting, rewards=(reward, vowel_rate), max_steps=1)
    trainer.train()
    tilted = sys.modules[MODULES[0]].Tilted
    assert len(tilted.seen) == 1 and tilted.seen[0].shape == (8, 2)  # B = 2 prompts x G = 4, K = 2
    assert trainer.strategy.weights().tolist() == pytest.approx([0.8, 0.2])
    logged = trainer.state.log_history[0]
    assert logged["weights/char_count"] == pytest.approx(0.8) and logged["tilted/calls"] == 1.0
    # TRL's logged reward is the batch mean of Σ_k w_k r_k with the plugin's weights, not the initial 0.5 / 0.5
    expected = (tilted.seen[0] * torch.tensor([0.8, 0.2])).nansum(dim=1).mean().item()
    uniform = (tilted.seen[0] * 0.5).nansum(dim=1).mean().item()
    assert logged["reward"] == pytest.approx(expected, abs=1e-6) and abs(expected - uniform) > 1e-4


def test_entry_point_imports_command_line_plugins_before_compose(external):
    """``python -m experiments.train_rl plugins=[…]``: the schema exists when @hydra.main composes (--cfg job)."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(CONFIG_PATH).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(external / "pkg")]), "HF_HUB_OFFLINE": "1"}

    def run(*extra):
        cmd = [sys.executable, "-m", "experiments.train_rl", "--cfg", "job", *_overrides(external, *extra)]
        return subprocess.run(cmd, cwd=external, env=env, capture_output=True, text=True, timeout=300)

    ok = run("weighting.params.tilt=0.6")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "name: tilted" in ok.stdout and "tilt: 0.6" in ok.stdout
    # only the plugin's Params schema types the value (an untyped params mapping would take the string)
    wrong = run("weighting.params.tilt=high")
    assert wrong.returncode != 0 and "weighting.params.tilt=high" in wrong.stderr


def test_external_reward_and_strategy_train_with_train_rl_and_report_as_an_objective(external, tiny_lm_path,
                                                                                   tiny_embedder_path, tmp_path):
    """Issue #13's acceptance: a reward and a strategy written outside the repository are composed, trained with by
    ``experiments.train_rl`` (which runs the pipeline's data / simulator / RL stages) and reported by
    ``experiments.evaluate`` as ``objective/char_count`` with their registered direction — no other edit."""
    import json
    import os
    import subprocess
    from pathlib import Path

    root = Path(CONFIG_PATH).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(external / "pkg")]), "HF_HUB_OFFLINE": "1",
           "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    common = ["experiment=quick", f"artifacts_dir={tmp_path / 'artifacts'}", f"model.policy={tiny_lm_path}",
              f"model.embedder={tiny_embedder_path}", "model.max_new_tokens=8", "data.max_users=30",
              "data.history_len=8", "data.prompt_token_budget=192", "simulator.epochs=1", "eval.max_examples=3",
              "eval.bootstrap_samples=20"]

    def run(module, *extra):
        cmd = [sys.executable, "-m", module, f"hydra.searchpath=[file://{external / 'conf'}]",
               f"plugins=[{','.join(MODULES)}]", "weighting=tilted", "reward=[char_count,format]", *common, *extra]
        done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        return done

    rl_dir = tmp_path / "rl_run"
    run("experiments.train_rl", "rl.max_steps=1", "rl.max_prompts=2", "rl.max_completion_length=8",
        f"hydra.run.dir={rl_dir}")
    assert json.loads((rl_dir / "rl" / "weights.json").read_text()) == pytest.approx({"char_count": 0.8, "format": 0.2})
    rows = [json.loads(line) for line in (rl_dir / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("weights/char_count") == pytest.approx(0.8) for r in rows)  # the external strategy's weight
    eval_dir = tmp_path / "eval_run"
    run("experiments.evaluate", f"eval.checkpoint={rl_dir / 'rl' / 'final'}", "eval.label=rl",
        "eval.objectives=[Semantic_Cosine,CTCVR,char_count]", f"hydra.run.dir={eval_dir}")
    summary = json.loads((eval_dir / "summary.json").read_text())
    assert summary["objectives"] == ["Semantic_Cosine", "CTCVR", "char_count"]
    assert summary["objective/char_count"] == summary["eval/rl/char_count"]
    assert summary["higher_is_better"]["char_count"] is True and "objective/CTCVR" in summary
