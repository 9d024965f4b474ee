"""The default configuration, as commented TOML (``agnfit config --default``).

The TOML text is the single source: ``DEFAULT_CONFIG`` is parsed from it.
"""

from __future__ import annotations

import tomllib

DEFAULT_TOML = """\
# agnfit fit configuration. Every section is optional; unknown keys are errors.
# Parameters are addressed as "<component name>.<param>" (see `agnfit plugins`).

[data]
deredden = true              # correct for Galactic extinction (SFD E(B-V) at ra/dec)
# ebv = 0.03                 # override E(B-V) (mag)
extinction_law = "F99"       # F99 (Fitzpatrick 1999), CCM89, O94, F19, G23
rv = 3.1
# wave_range = [3500.0, 7500.0]   # rest-frame window to fit (A)
# resolution_r = 2000.0      # constant resolving power when the file has no LSF
buckets = [1024, 2048, 4096, 8192]   # padded lengths: one compilation per bucket
sort_wavelengths = false     # sort (and de-duplicate) unsorted wavelengths instead of failing

# ---- AGN continuum: power law + Fe II + Balmer continuum (point sources)
[components.power_law]
type = "power_law"
wave0 = 3000.0               # normalisation wavelength (A, rest)

[components.feii_uv]
type = "feii"
template = "vw01_uv"         # Vestergaard & Wilkes 2001

[components.feii_optical]
type = "feii"
template = "bg92_optical"    # Boroson & Green 1992

[components.balmer_continuum]
type = "balmer_continuum"

# ---- host galaxy (extended): DSPS SSP mixture with velocity dispersion
[components.host]
type = "host_dsps"
# ssp_file = "my_ssp.h5"     # any DSPS-format SSP file (default: BC03+MILES, Chabrier)
ages = [0.1, 0.5, 1.0, 3.0, 10.0]        # Gyr
logzsol = [0.0]                          # log10 Z/Zsun: solar (see docs/model.md); e.g. [-0.5, 0.0, 0.3] fits it
metallicity = "interpolated"  # with several logzsol: one log Z for all ages, interpolated ("mixture": a fraction each)

# ---- emission lines: broad (point) and narrow (extended)
[components.broad_lines]
type = "broad_lines"

[components.narrow_lines]
type = "narrow_lines"
shared_kinematics = true     # one width and shift for all narrow lines (false: one per complex)

# ---- flux-calibration distortion of the fiber spectrum
[components.poly]
type = "legendre_poly"
degree = 3

# ---- PSF photometry (used when bands are listed and magnitudes are given)
[aperture]
type = "eta_delta_m"         # f_PSF = s [AGN + eta host + broad + eta narrow], s = 10^(-0.4 dm)

[photometry]
system = "speclite"
bands = []                   # e.g. ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"]
coverage = 0.97              # drop bands whose response the spectrum covers less than this
extra_scatter = true         # fit an extra magnitude scatter term

[likelihood]
frac_jitter = true           # sigma^2 = err^2 + (f_frac * model)^2 + sigma_add^2
add_jitter = true

# ---- inference: stages run in order, each starting from the previous result
[[inference]]
type = "map"                 # staged optax MAP (continuum warm start, then everything)
# [[inference]]
# type = "nuts"              # NUTS from the MAP point
# num_chains = 4

[priors]
# "power_law.alpha" = { dist = "Normal", loc = -1.5, scale = 0.5 }

[derived]
host_fraction_wavelengths = [2500.0, 4200.0, 5100.0]
continuum_wavelengths = [1350.0, 3000.0, 5100.0]
mbh_calibrations = ["VP06_Hbeta", "GH05_Halpha", "S11_MgII", "VP06_CIV"]
cosmology = { H0 = 70.0, Om0 = 0.3 }
"""

DEFAULT_CONFIG = tomllib.loads(DEFAULT_TOML)
