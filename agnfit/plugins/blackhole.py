"""Single-epoch black-hole mass calibrations and bolometric corrections.

Virial estimators of the form

    log10(M_BH / Msun) = a + b * log10(L / L0) + c * log10(FWHM / 1000 km/s)

with L a continuum luminosity lambda L_lambda or a line luminosity (erg/s).

=============  =====  ===========  ======  =====  ====  =========================================
name           line   luminosity   L0      a      b     reference
=============  =====  ===========  ======  =====  ====  =========================================
VP06_Hbeta     Hb     L5100        1e44    6.91   0.50  Vestergaard & Peterson (2006), eq. 5
VP06_CIV       CIV    L1350        1e44    6.66   0.53  Vestergaard & Peterson (2006), eq. 7
S11_MgII       MgII   L3000        1e44    6.74   0.62  Shen et al. (2011), eq. 10 (a=0.740+6)
VO09_MgII      MgII   L3000        1e44    6.86   0.50  Vestergaard & Osmer (2009), eq. 1
GH05_Halpha    Ha     L_Ha line    1e42    6.30   0.55  Greene & Ho (2005), eq. 6 (2.0e6 Msun; c=2.06)
=============  =====  ===========  ======  =====  ====  =========================================

Bolometric corrections L_bol = BC * lambda L_lambda: BC5100 = 9.26, BC3000 = 5.15,
BC1350 = 3.81 (Richards et al. 2006; as adopted by Shen et al. 2011). The
Eddington luminosity is 1.26e38 (M_BH / Msun) erg/s.
"""

from __future__ import annotations

import dataclasses

import numpy as np

L_EDD_PER_MSUN = 1.26e38


@dataclasses.dataclass(frozen=True)
class VirialCalibration:
    line: str
    luminosity: str  # "L5100", "L3000", "L1350" or "line" (the line's own luminosity)
    l0: float
    a: float
    b: float
    c: float
    reference: str

    def log_mbh(self, lum, fwhm_kms):
        """log10(M_BH/Msun) for luminosity ``lum`` (erg/s) and FWHM (km/s)."""
        return self.a + self.b * np.log10(lum / self.l0) + self.c * np.log10(fwhm_kms / 1000.0)


CALIBRATIONS = {
    "VP06_Hbeta": VirialCalibration("Hb", "L5100", 1e44, 6.91, 0.50, 2.0, "Vestergaard & Peterson 2006, ApJ 641, 689"),
    "VP06_CIV": VirialCalibration("CIV", "L1350", 1e44, 6.66, 0.53, 2.0, "Vestergaard & Peterson 2006, ApJ 641, 689"),
    "S11_MgII": VirialCalibration("MgII", "L3000", 1e44, 6.74, 0.62, 2.0, "Shen et al. 2011, ApJS 194, 45"),
    "VO09_MgII": VirialCalibration("MgII", "L3000", 1e44, 6.86, 0.50, 2.0, "Vestergaard & Osmer 2009, ApJ 699, 800"),
    "GH05_Halpha": VirialCalibration("Ha", "line", 1e42, np.log10(2.0e6), 0.55, 2.06, "Greene & Ho 2005, ApJ 630, 122"),
}
