"""Every config field is read somewhere (issue 14 #4: ``rl.output_dir`` was declared, documented and read by nothing).

Static, over the source tree's syntax (strings and comments do not count): a field ``f`` of a config dataclass
counts as read where some ``x.f`` is, with ``x`` a name the code holds that dataclass under — its field name in
the parent (``config.rl.f``, ``rl.f``), a parameter or variable annotated with its type (``cfg: SFTConfig``), or
a variable assigned from one of those (``sim = config.simulator``) — or where a YAML file interpolates it
(``${experiment_name}``). A plugin's ``Params`` field counts where ``params.f`` (or an alias of ``params``) is read
in the plugin's package. Validation in the ``rlrec/config/`` package itself does not count.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import typing
from pathlib import Path

import pytest

from rewards import REWARDS
from rlrec import config as C
from rlrec.weighting import WEIGHTING_STRATEGIES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rlrec", "rewards", "experiments", "analysis")

# Read in ways the syntax scan cannot see; each says where.
READ_INDIRECTLY = {
    "data.split.test": "the share left after sft and rl (rlrec.data.prepare); read by name: getattr(cfg.split, name)",
}


def _label(node: ast.AST) -> str | None:
    """The name an expression ends in: ``x`` -> x, ``a.b.x`` -> x; None for anything else (calls, subscripts)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Scan:
    """Attribute reads ``(holder, attribute)``, annotations ``type name -> variables`` and assignments of the files."""

    def __init__(self, files: list[Path]) -> None:
        self.reads: set[tuple[str | None, str]] = set()
        self.annotated: dict[str, set[str]] = {}
        self.assigned: list[tuple[str | None, str | None]] = []
        for path in files:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                self._visit(node)

    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Attribute):
            self.reads.add((_label(node.value), node.attr))
        elif isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
            name = node.arg if isinstance(node, ast.arg) else _label(node.target)
            for part in ast.walk(node.annotation):
                names = {_label(part)} if isinstance(part, (ast.Name, ast.Attribute)) else set()
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    names = set(re.findall(r"\w+", part.value))  # "SFTConfig | None"
                for type_name in names - {None}:
                    self.annotated.setdefault(type_name, set()).add(name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):  # a, b = x.y, x.z
                    self.assigned += [(_label(t), _label(v)) for t, v in zip(target.elts, node.value.elts)]
                else:
                    self.assigned.append((_label(target), _label(node.value)))

    def aliases(self, names: set[str]) -> set[str]:
        """``names`` and every variable assigned from one of them (transitively)."""
        names = set(names)
        while True:
            more = {t for t, v in self.assigned if v in names and t} - names
            if not more:
                return names
            names |= more

    def unread(self, cls: type, names: set[str], prefix: str = "") -> list[str]:
        holders = self.aliases(names | self.annotated.get(cls.__name__, set()))
        return [f"{prefix}{f.name}" for f in dataclasses.fields(cls) if not any((h, f.name) in self.reads for h in holders)]


def _sources(*packages: str) -> list[Path]:
    return [p for d in packages for p in (ROOT / d).rglob("*.py") if (ROOT / "rlrec" / "config") not in p.parents]


def _groups(cls: type, path: tuple[str, ...] = ()):
    """``(dataclass, its dotted path)`` for the root config and every nested config dataclass."""
    yield cls, path
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _groups(hints[f.name], path + (f.name,))


def test_every_config_field_is_read():
    scan = _Scan(_sources(*PACKAGES))
    yaml = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "conf").rglob("*.yaml"))
    unread = []
    for cls, path in _groups(C.Config):
        names = {path[-1]} if path else {"config", "cfg"}
        prefix = "".join(f"{p}." for p in path)
        unread += [f for f in scan.unread(cls, names, prefix) if "${" + f not in yaml]
    assert sorted(unread) == sorted(READ_INDIRECTLY), (
        "config fields nothing reads (remove them, or list them in READ_INDIRECTLY with where they are read): "
        f"{sorted(set(unread) - set(READ_INDIRECTLY))}; listed but now read: {sorted(set(READ_INDIRECTLY) - set(unread))}"
    )


@pytest.mark.parametrize("registry", [REWARDS, WEIGHTING_STRATEGIES], ids=["rewards", "strategies"])
def test_every_plugin_parameter_is_read(registry):
    for name in registry.names():
        owner = registry.get(name)
        if not owner.__module__.startswith(("rewards.", "rlrec.")):
            continue  # a plugin another test registered: its package is its own
        package = Path(inspect.getsourcefile(owner)).resolve().parent
        scan = _Scan(sorted(package.rglob("*.py")) + _sources("rlrec/trainers"))
        assert scan.unread(owner.Params, {"params"}) == [], f"{registry.kind} {name!r}: Params fields nothing reads"


def test_the_scan_finds_a_dead_field(tmp_path):
    """The check itself: a field only declared and validated is reported; one read through an alias is not."""
    source = tmp_path / "use.py"
    source.write_text("def run(rl: RLConfig):\n    r = rl\n    return r.learning_rate, args.output_dir, 'rl.output_dir'\n")

    @dataclasses.dataclass
    class RLConfig:
        learning_rate: float = 1.0
        output_dir: str = ""

    assert _Scan([source]).unread(RLConfig, {"rl"}) == ["output_dir"]
