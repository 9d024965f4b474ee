"""Helpers shared by the benchmark scripts: machine description, timers, simulated spectra.

The scripts import this package as ``benchlib`` (``python benchmarks/bench_*.py``
puts ``benchmarks/`` first on ``sys.path``). Nothing here imports agnfit at
module level, so a script can describe the machine before the first JAX import.
"""

from .machine import describe_machine, fresh_compilation_cache, peak_rss_mib, print_header
from .timing import CompileTimer, Stopwatch, block_time, median, run_script, table

__all__ = ["describe_machine", "fresh_compilation_cache", "peak_rss_mib", "print_header", "CompileTimer", "Stopwatch",
           "block_time", "median", "run_script", "table"]
