"""fit_batch: vmapped MAP / Laplace give each object's one-by-one result; bad objects are reported, not lost."""

import numpy as np
import pytest

import agnfit
from agnfit import Observation, fit, fit_batch, load_config, simulate
from agnfit.errors import InputError

CONFIG = {
    "data": {"deredden": False, "wave_range": [4200.0, 5600.0]},
    "components": {
        "pl": {"type": "power_law", "wave0": 5100.0},
        "broad": {"type": "broad_lines", "lines": ["Hb"]},
        "narrow": {"type": "narrow_lines", "lines": ["Hb", "OIII_4959", "OIII_5007"]},
    },
}


def _spectra(n):
    cfg = load_config(CONFIG)
    out = []
    for i in range(n):
        truth = {"pl.norm": 10.0 + i, "pl.alpha": -1.5 + 0.1 * i, "broad.Hb_flux": 500.0 + 50 * i,
                 "broad.Hb_fwhm": 3500.0 + 400 * i, "narrow.OIII_5007_flux": 200.0, "narrow.Hb_fwhm": 400.0}
        # different redshifts and pixel counts, all in one length bucket
        spec, _ = simulate(cfg, truth, Observation(z=0.10 + 0.01 * i, snr=20, seed=i, name=f"obj{i}"))
        out.append(spec)
    return cfg, out


@pytest.fixture(scope="module")
def spectra():
    return _spectra(3)


@pytest.mark.parametrize("backend", ["optax", "optax+laplace"])
def test_batch_equals_one_by_one(spectra, backend):
    cfg, specs = spectra
    batch = fit_batch(specs, cfg, backend=backend, batch_size=2)  # chunks of 2 and 1 (padded)
    assert [r.name for r in batch] == [s.name for s in specs]
    for spec, rb in zip(specs, batch):
        r1 = fit(spec, cfg, backend=backend)
        assert rb.info["converged"] == r1.info["converged"] and r1.info["converged"]
        for k, v in r1.point.items():
            assert rb.point[k] == pytest.approx(v, rel=1e-5, abs=1e-8), k
        for k in ("broad.Hb.fwhm", "L5100"):
            assert rb.derived[k]["median"] == pytest.approx(r1.derived[k]["median"], rel=1e-5)
            assert rb.derived[k]["std"] == pytest.approx(r1.derived[k]["std"], rel=1e-3, abs=1e-12)


def test_bad_object_is_reported_not_dropped(spectra):
    cfg, specs = spectra
    out = fit_batch([specs[0], "not a spectrum", specs[1]], cfg)
    assert isinstance(out[0], agnfit.FitResult) and isinstance(out[2], agnfit.FitResult)
    assert isinstance(out[1], InputError) and "not an agnfit.Spectrum" in str(out[1])
    assert out[0].name == "obj0" and out[2].name == "obj1"
    assert np.isfinite(out[2].point["pl.alpha"])


def test_cpu_lanes_divide_the_batch():
    import os

    from agnfit.plugins.map import cpu_lanes

    cores = len(os.sched_getaffinity(0))
    for n in (1, 2, 3, 7, 8, 32):
        k = cpu_lanes(n)
        assert 1 <= k <= min(n, cores) and n % k == 0
    assert cpu_lanes(1) == 1
    if cores >= 2:
        assert cpu_lanes(32) >= 2  # a batch on a multi-core CPU runs in parallel lanes
