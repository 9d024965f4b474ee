"""The reference data registry: local copy, checksums, clear offline errors."""

import pytest

from agnfit import data
from agnfit.errors import DataFileError


def test_local_copy_is_found_and_verified(data_dir):
    p = data.fetch("feii/vw01_uv.txt")
    assert p.is_file() and p.parent.parent == data_dir


def test_every_registered_file_has_url_and_sha():
    files = data.registered_files()
    assert "ssp/bc03_miles_chabrier.h5" in files
    for path, (url, sha) in files.items():
        assert url.startswith("https://"), path
        assert len(sha) == 64, path


def test_missing_file_offline_names_file_url_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("AGNFIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGNFIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AGNFIT_OFFLINE", "1")
    with pytest.raises(DataFileError) as exc:
        data.fetch("feii/vw01_uv.txt")
    msg = str(exc.value)
    assert "feii/vw01_uv.txt" in msg and "https://" in msg and "AGNFIT_DATA_DIR" in msg


def test_corrupt_local_copy_fails_checksum(tmp_path, monkeypatch):
    (tmp_path / "feii").mkdir()
    (tmp_path / "feii" / "vw01_uv.txt").write_text("not the template\n")
    monkeypatch.setenv("AGNFIT_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match="checksum"):
        data.fetch("feii/vw01_uv.txt")


def test_unregistered_file():
    with pytest.raises(DataFileError, match="not a registered data file"):
        data.fetch("nothing/here.txt")


def test_dustmaps_offline_sfd(data_dir):
    from agnfit.plugins.dust import sfd_ebv

    assert sfd_ebv(184.0307, -2.2383) == pytest.approx(0.0286, abs=5e-4)
