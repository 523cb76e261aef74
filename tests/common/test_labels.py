"""Constants defined once, and where things live: the shipped model and cascade in a checkout, the caches in
the user's cache folder."""

from emorec.common import labels


def test_every_class_has_one_colour_in_both_notations():
    assert len(labels.EMOTIONS) == labels.NUM_CLASSES == 7
    assert set(labels.COLORS_BGR) == set(labels.COLORS_HEX) == set(labels.EMOTIONS)
    assert len(set(labels.COLORS_HEX.values())) == 7
    assert labels.COLORS_HEX["angry"] == "#dc2828"                   # BGR (40, 40, 220) is red


def test_a_checkout_finds_its_shipped_model_and_cascade():
    assert labels.DEFAULT_MODEL.is_file() and labels.DEFAULT_MODEL.parent.name == "default"
    assert labels.CASCADE_PATH.is_file()


def test_caches_go_to_the_users_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert labels.user_cache_dir() == tmp_path / "emorec"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert labels.user_cache_dir().parts[-2:] == (".cache", "emorec")
