"""An example third-party agnfit plugin.

It adds, through agnfit's public hooks (entry-point group ``agnfit``, module
:mod:`agnfit_plugin_example.plugin`):

* the ``medband`` filter set (12 idealised medium-band filters shipped as
  ECSV response tables) and the ``medband`` photometric system;
* the ``bc03_eigen`` host-template set for ``host_pca``: eigenspectra of
  agnfit's default SSP grid, computed when first used;
* the ``sample_adaptive`` inference backend: numpyro's Sample Adaptive MCMC.
"""

__version__ = "0.1.0"
