"""Importing agnfit makes each compiled program single-threaded unless the user chose otherwise."""

import os
import subprocess
import sys

import pytest

ONE = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _flags_after_import(env_update: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "AGNFIT_XLA_INTRA_OP")} | env_update
    code = "import os, agnfit; print(repr(os.environ.get('XLA_FLAGS')))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    return eval(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("env, expect", [
    ({}, ONE),
    ({"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}, f"--xla_force_host_platform_device_count=2 {ONE}"),
    ({"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true"}, "--xla_cpu_multi_thread_eigen=true"),
    ({"AGNFIT_XLA_INTRA_OP": "1"}, None),
])
def test_xla_threading_flags(env, expect):
    assert _flags_after_import(env) == expect
