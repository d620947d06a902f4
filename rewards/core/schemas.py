"""Register each reward's ``Params`` dataclass in Hydra's ConfigStore so its YAML file is checked at compose.

``conf/reward/<name>.yaml`` starts with::

    # @package reward.terms.<name>
    defaults:
      - optional /reward_schema@params: <name>
      - _self_

The ``optional`` entry merges the schema stored here under ``params``, so a misspelt key or a wrongly typed
value in the file or on the command line fails when the config is composed. It is optional so that configs
still compose in a process that never imported ``rewards`` (the set is validated again when it is built).
"""

from __future__ import annotations

SCHEMA_GROUP = "reward_schema"


def store_params_schema(name: str, params_cls: type) -> None:
    """Store ``params_cls`` as ``reward_schema/<name>`` (idempotent; re-storing replaces it)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group=SCHEMA_GROUP, name=name, node=params_cls)
