"""emorec.desktop.recording: where recordings and snapshots go."""

import pytest

from emorec.common.errors import OutputError
from emorec.desktop.recording import default_output_dir, ensure_folder


def test_default_output_folder(tmp_path):
    assert default_output_dir(tmp_path) == tmp_path / "emorec"
    (tmp_path / "Pictures").mkdir()
    assert default_output_dir(tmp_path) == tmp_path / "Pictures" / "emorec"
    assert ensure_folder(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match="part of that path is a file"):
        ensure_folder(tmp_path / "f" / "b")
