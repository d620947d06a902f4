import pytest

from rlrec.registry import Registry, RegistryError


def test_register_get_and_metadata():
    reg: Registry = Registry("widget")

    @reg.register("alpha", higher_is_better=True, range=(0.0, 1.0))
    def alpha():
        return 1

    assert reg.get("alpha") is alpha
    assert reg.metadata("alpha") == {"higher_is_better": True, "range": (0.0, 1.0)}
    assert reg.names() == ["alpha"] and "alpha" in reg and len(reg) == 1


def test_duplicate_name_raises_naming_both():
    reg: Registry = Registry("widget")
    reg.add("alpha", object())
    with pytest.raises(RegistryError, match="already registered"):
        reg.add("alpha", object())


def test_unknown_name_suggests_close_match_and_lists_known():
    reg: Registry = Registry("reward")
    for name in ("semantic_cosine", "ctcvr", "format"):
        reg.add(name, object())
    with pytest.raises(RegistryError) as err:
        reg.get("semantic_cosin")
    msg = str(err.value)
    assert "Did you mean 'semantic_cosine'?" in msg
    assert "ctcvr, format, semantic_cosine" in msg


def test_unknown_name_without_close_match_has_no_suggestion():
    reg: Registry = Registry("reward")
    reg.add("ctcvr", object())
    with pytest.raises(RegistryError) as err:
        reg.get("zzzzzz")
    assert "Did you mean" not in str(err.value)
