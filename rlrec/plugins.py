"""Plugins: modules outside rlrec that register rewards or weighting strategies, imported by name.

A plugin is any importable module whose import registers something (``@register_reward`` /
``@register_strategy``), with its YAML under a ``conf/`` folder on Hydra's searchpath. Three ways to name one,
all imported by :func:`load_plugins` (idempotent):

* the top-level config list ``plugins: [my_pkg.my_strategy, ...]`` (``plugins='[my_pkg.my_strategy]'`` on the
  command line);
* the environment variable ``RLREC_PLUGINS`` (comma-separated module names);
* the Python entry-point group ``rlrec.plugins`` of installed packages (``[project.entry-points."rlrec.plugins"]
  my_strategy = "my_pkg.my_strategy"`` in their pyproject.toml).

The Hydra entry points import the command-line, environment and entry-point plugins *before* composing, so
their ``Params`` schemas check the composed config (``experiments/common.py``); plugins listed only inside a
YAML file are imported after composing and checked when they are built. This module imports no Hydra.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from importlib.metadata import entry_points

__all__ = ["ENV_VAR", "ENTRY_POINT_GROUP", "PluginError", "load_plugins", "plugin_names"]

ENV_VAR = "RLREC_PLUGINS"
ENTRY_POINT_GROUP = "rlrec.plugins"


class PluginError(ImportError):
    """A plugin module named in config, ``RLREC_PLUGINS`` or an entry point could not be imported."""


def plugin_names(names: Iterable[str] = ()) -> list[str]:
    """Module names of the plugins to import: entry points, then ``RLREC_PLUGINS``, then ``names`` (deduplicated)."""
    found = [ep.value.split(":")[0].strip() for ep in entry_points(group=ENTRY_POINT_GROUP)]
    found += [n.strip() for n in os.environ.get(ENV_VAR, "").split(",")]
    found += [str(n).strip() for n in names]
    return list(dict.fromkeys(n for n in found if n))


def load_plugins(names: Iterable[str] = ()) -> list[str]:
    """Import every plugin module (see :func:`plugin_names`); returns the module names imported.

    A module that fails to import raises :class:`PluginError` naming it, where it came from and the fix.
    """
    modules = plugin_names(names)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise PluginError(
                f"plugin {module!r} (from plugins=[...], ${ENV_VAR} or the {ENTRY_POINT_GROUP!r} entry points) "
                f"could not be imported: {e}. Put its folder on PYTHONPATH (or pip install its package), or "
                "remove it from the list."
            ) from e
    return modules
