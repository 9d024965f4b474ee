"""Built-in plugin: the reference data files agnfit uses, with source URL and sha256.

Paths are relative to the data directory (``AGNFIT_DATA_DIR``) and mirror
its layout. URLs point at each file's public origin (see the data README).
"""

from ..registry.hookspecs import hookimpl

_PYQSOFIT = "https://raw.githubusercontent.com/legolason/PyQSOFit/master/src/pyqsofit"
_QSOSPEC = "https://raw.githubusercontent.com/qsospec/qsospec/main/qsospec/data"
_SDSS = "https://data.sdss.org/sas/dr17/sdss/spectro/redux/26/spectra/lite"
_SFD = "https://dataverse.harvard.edu/api/access/datafile/:persistentId?persistentId=doi:10.7910/DVN/EWCNL5"
_AGNFIT_DATA = "https://github.com/agnfit/agnfit-data/raw/main"

FILES = {
    "sdss/spec-0332-52367-0639.fits": (
        f"{_SDSS}/0332/spec-0332-52367-0639.fits",
        "96b3361718b8fd9166c66723b6b1e13cc1968ff99317cd544fcfc962cd6a426e",
    ),
    "sdss/spec-0266-51602-0013.fits": (
        f"{_SDSS}/0266/spec-0266-51602-0013.fits",
        "47110160c6b2a19e4c62106d292f5b16e1a0906c575ae481590835382a4d3f35",
    ),
    "sdss/spec-0266-51602-0107.fits": (
        f"{_SDSS}/0266/spec-0266-51602-0107.fits",
        "a2a6915a0547ce129bae5191c2b085ee4fc11c21dfcfd60c28ea7b6fe17f8111",
    ),
    "feii/pyqsofit_fe_uv.txt": (
        f"{_PYQSOFIT}/fe_uv.txt",
        "f2bbdd82c6c66337f61e858fe7abd0c9666eee586818fc9db1e06567a659eb7d",
    ),
    "feii/pyqsofit_fe_optical.txt": (
        f"{_PYQSOFIT}/fe_optical.txt",
        "096c6ed6ca2f97a401ffca24b2d8577d46c699d06fe77569cb491aa15a6ee300",
    ),
    "feii/vw01_uv.txt": (f"{_QSOSPEC}/iron/vw01_uv.txt", "697019860ac325d93cf117122a0a35eb1d00236e2dfc4f3847b3d98809243121"),
    "feii/bg92_optical.txt": (
        f"{_QSOSPEC}/iron/bg92_optical.txt",
        "07d6886663b285cdd5fefae147f471b557bb97246609209ca1b6c7c32163fd26",
    ),
    "feii/veron04_optical.txt": (
        f"{_QSOSPEC}/iron/veron04_optical.txt",
        "9da7f2b9f35047be7cf277325a42a1df5b13048f903e8fe42e9f6882c39677b4",
    ),
    "feii/park22_optical.txt": (
        f"{_QSOSPEC}/iron/park22_optical.txt",
        "7e28c4d6e103841c3a22661acdfffdc11b4ad79d984bf310e530241fc89525e4",
    ),
    "balmer/balmer_caseB_T15000_logNe09_n007_n050_sh95.csv": (
        f"{_QSOSPEC}/balmer/balmer_caseB_T15000_logNe09_n007_n050_sh95.csv",
        "6beb05c34893e172f05aedd6105650600e6bbd30f7d7ee81a4b335fd60992d9f",
    ),
    "balmer/balmer_caseB_T15000_logNe10_n007_n050_sh95.csv": (
        f"{_QSOSPEC}/balmer/balmer_caseB_T15000_logNe10_n007_n050_sh95.csv",
        "75e0c8f4043125dc15e6f9865c24e7703f7d8c258f32e856af87033e3ec75b6c",
    ),
    "balmer/balmer_caseB_T15000_logNe09_n007_n400_sh95_k13full_ext.csv": (
        f"{_QSOSPEC}/balmer/balmer_caseB_T15000_logNe09_n007_n400_sh95_k13full_ext.csv",
        "677dc38c2316a95abcb76f623fd1ba97695cea87285eaf5e90d9889fd90e7a5a",
    ),
    "ssp/bc03_miles_chabrier.h5": (
        f"{_AGNFIT_DATA}/ssp/bc03_miles_chabrier.h5",
        "5b88dfee09619764344805a72ee1d32320294bfd023fb3b0d1f941547f6af727",
    ),
    "pca/gal_eigenspec_Yip2004.fits": (
        f"{_PYQSOFIT}/pca/Yip_pca_templates/gal_eigenspec_Yip2004.fits",
        "05422a4ff5acd87d90b3640109af42cc4d5c71c96e22b18a007a002dfac58263",
    ),
    "pca/qso_eigenspec_Yip2004_global.fits": (
        f"{_PYQSOFIT}/pca/Yip_pca_templates/qso_eigenspec_Yip2004_global.fits",
        "88fc94dc7970e0977de5741a6cbd9a17cdd900c55020f4a776f2db766134591b",
    ),
    "dust/sfd/SFD_dust_4096_ngp.fits": (
        f"{_SFD}/SFD_dust_4096_ngp.fits",
        "50b6aaad0b880762d0fd081177802dcc17c39d7044a410dd5649e2dfd0503e97",
    ),
    "dust/sfd/SFD_dust_4096_sgp.fits": (
        f"{_SFD}/SFD_dust_4096_sgp.fits",
        "84891a59054adab44a7be54051e4dcf0e66e3f13eee0d845ce3739242f553b83",
    ),
}


@hookimpl
def register_data_files():
    return dict(FILES)
